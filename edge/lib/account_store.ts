/**
 * Account meters, held server-side in PostgreSQL (Netlify Database in production).
 *
 * The schema and the meter itself are in db/migrations/: one row per account and unlocked
 * page in a period (`codepages_account_views`), and the function `codepages_meter_view(...)`
 * that decides and records a view in ONE statement. It takes a per-account advisory lock
 * (`pg_advisory_xact_lock`) before counting, so of two parallel requests for the last view
 * exactly one gets it; the lock is released when the statement's transaction commits.
 *
 * Connection: `@netlify/database`. On Netlify it reads `NETLIFY_DB_URL` (set by the platform)
 * and picks its serverless driver; anywhere else (local preview, tests) `DATABASE_URL` is
 * passed as its `connectionString` and it uses node-postgres. Same queries either way.
 */
// `@netlify/database` is imported on first use (a guest's request never loads the driver).
type NetlifyDatabase = typeof import("npm:@netlify/database@2.0.1");
let driver: Promise<NetlifyDatabase> | null = null;
function netlifyDatabase(): Promise<NetlifyDatabase> {
  driver ??= import("npm:@netlify/database@2.0.1");
  driver.catch(() => (driver = null));
  return driver;
}

export const DATABASE_VARIABLES = ["DATABASE_URL", "NETLIFY_DB_URL"] as const;
/** A database call slower than this counts as an outage (the page is served gated). */
export const STORE_TIMEOUT_MS = 4000;

export interface ViewRequest {
  subject: string;
  /** canonical page path, e.g. /cpt/62323/ */
  pagePath: string;
  /** distinct pages per period for this account (guest views + free account extra views) */
  quota: number;
  periodDays: number;
  /** false: only tell whether the page is already unlocked (nothing is recorded) */
  charge: boolean;
  /** the visitor's guest meter, carried into the account (within the quota) */
  guest?: { visitorId: string; pageKeys: string[] } | null;
}

export interface ViewResult {
  /** the page is unlocked for this account in the current period */
  unlocked: boolean;
  /** distinct pages unlocked in the current period (after this request) */
  used: number;
}

export interface AccountMeterStore {
  view(request: ViewRequest): Promise<ViewResult>;
}

/** The part of a pg-compatible pool the store uses (node-postgres Pool, Neon's Pool). */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreUnavailableError";
  }
}

const GUEST_KEY = /^[0-9a-f]{16}$/;
const VISITOR_ID = /^[A-Za-z0-9_-]{22}$/;

export class PostgresAccountMeterStore implements AccountMeterStore {
  constructor(private readonly pool: Queryable, private readonly timeoutMs = STORE_TIMEOUT_MS) {}

  async view(request: ViewRequest): Promise<ViewResult> {
    const guest = request.guest && VISITOR_ID.test(request.guest.visitorId)
      ? { visitorId: request.guest.visitorId, keys: request.guest.pageKeys.filter((k) => GUEST_KEY.test(k)) }
      : null;
    const query = this.pool.query(
      "SELECT unlocked, used FROM codepages_meter_view($1, $2, $3, $4, $5, $6, $7)",
      [
        request.subject,
        request.pagePath,
        Math.max(0, Math.floor(request.quota)),
        Math.max(1, Math.floor(request.periodDays)),
        guest && guest.keys.length > 0 ? guest.visitorId : null,
        guest && guest.keys.length > 0 ? guest.keys : null,
        request.charge,
      ],
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError("database timeout")), this.timeoutMs);
    });
    try {
      const { rows } = await Promise.race([query, timeout]);
      const row = rows[0];
      if (!row || typeof row.unlocked !== "boolean") throw new StoreUnavailableError("unexpected answer");
      return { unlocked: row.unlocked, used: Number(row.used) };
    } catch (error) {
      query.catch(() => {}); // a late failure after the timeout is not unhandled
      if (error instanceof StoreUnavailableError) throw error;
      throw new StoreUnavailableError(error instanceof Error ? error.message : "database error");
    } finally {
      clearTimeout(timer);
    }
  }
}

type Pool = Queryable & {
  on?: (event: string, listener: (error: unknown) => void) => void;
  end?: () => Promise<void>;
};

const pools = new Map<string, Promise<Pool>>();

/** A pool for `DATABASE_URL` (anywhere) or Netlify Database (`NETLIFY_DB_URL`); null when neither is set. */
export function databasePool(get: (name: string) => string | undefined): Queryable | null {
  const explicit = get("DATABASE_URL")?.trim();
  const netlify = get("NETLIFY_DB_URL")?.trim();
  if (!explicit && !netlify) return null;
  const cacheKey = explicit ? `url:${explicit}` : `netlify:${netlify}`;
  let pool = pools.get(cacheKey);
  if (!pool) {
    pool = netlifyDatabase().then(({ getDatabase }) => {
      const db = explicit ? getDatabase({ connectionString: explicit }) : getDatabase();
      const created = db.pool as unknown as Pool;
      // an idle connection dropped by the server emits "error": it must not crash the function
      created.on?.("error", () => {});
      return created;
    });
    pool.catch(() => pools.delete(cacheKey));
    pools.set(cacheKey, pool);
  }
  const ready = pool;
  return { query: async (text, values) => (await ready).query(text, values) };
}

export function accountStore(get: (name: string) => string | undefined): AccountMeterStore | null {
  const pool = databasePool(get);
  return pool ? new PostgresAccountMeterStore(pool) : null;
}

/** Close every pool opened here (tests, shutdown). */
export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map(async (pool) => (await pool.catch(() => null))?.end?.().catch(() => {})));
}
