/**
 * The database of accounts, sessions and guest networks: PostgreSQL (Netlify Database in
 * production), through `@netlify/database`. On Netlify it reads `NETLIFY_DB_URL` (set by the
 * platform) and picks its serverless driver; anywhere else (local preview, tests) `DATABASE_URL`
 * is passed as its `connectionString` and it uses node-postgres. Same SQL either way.
 *
 * Every call is bounded: the edge waits at most `waitMs` (DATABASE_WAIT_MS, or
 * CODEPAGES_DATABASE_WAIT_MS) and then serves the gated page; metering statements get
 * `budgetMs` = waitMs - margin, past which the database rolls them back itself
 * (db/migrations/0002: lock_timeout and codepages_deadline), so a view is recorded only when
 * the page that shows it is served.
 */
import { DATABASE_MARGIN_MS, DATABASE_WAIT_MS } from "./limits.ts";

// `@netlify/database` is imported on first use (a guest's request without a database never loads it).
type NetlifyDatabase = typeof import("npm:@netlify/database@2.0.1");
let driver: Promise<NetlifyDatabase> | null = null;
function netlifyDatabase(): Promise<NetlifyDatabase> {
  driver ??= import("npm:@netlify/database@2.0.1");
  driver.catch(() => (driver = null));
  return driver;
}

export const DATABASE_VARIABLES = ["DATABASE_URL", "NETLIFY_DB_URL"] as const;
export const DATABASE_WAIT_VARIABLE = "CODEPAGES_DATABASE_WAIT_MS";

/** The part of a pg-compatible pool the stores use (node-postgres Pool, Neon's Pool). */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreUnavailableError";
  }
}

export interface Database {
  /** milliseconds the edge waits for an answer */
  readonly waitMs: number;
  /** milliseconds a metering statement may run before the database rolls it back */
  readonly budgetMs: number;
  /** rows of `text`, or StoreUnavailableError (unreachable, error, or no answer within waitMs) */
  rows(text: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
}

export function waitFrom(get: (name: string) => string | undefined): number {
  const text = get(DATABASE_WAIT_VARIABLE)?.trim();
  const value = text && /^[0-9]{2,5}$/.test(text) ? Number(text) : NaN;
  return value >= 200 && value <= 20000 ? value : DATABASE_WAIT_MS;
}

export class BoundedDatabase implements Database {
  readonly budgetMs: number;
  constructor(private readonly pool: Queryable, readonly waitMs = DATABASE_WAIT_MS) {
    this.budgetMs = Math.max(50, waitMs - Math.min(DATABASE_MARGIN_MS, Math.floor(waitMs / 4)));
  }

  async rows(text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
    const query = this.pool.query(text, values);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError("database timeout")), this.waitMs);
    });
    try {
      return (await Promise.race([query, timeout])).rows;
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

/** The bounded database of this environment, or null when none is configured. */
export function database(get: (name: string) => string | undefined): Database | null {
  const pool = databasePool(get);
  return pool ? new BoundedDatabase(pool, waitFrom(get)) : null;
}

/** Close every pool opened here (tests, shutdown). */
export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map(async (pool) => (await pool.catch(() => null))?.end?.().catch(() => {})));
}
