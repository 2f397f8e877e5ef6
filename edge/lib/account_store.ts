/**
 * Account meters, held server-side (db/migrations/0001 and 0002): one row per account and
 * unlocked page in a period, decided and recorded in ONE statement
 * (`codepages_meter_view_within`) that takes a per-account advisory lock before counting, so of
 * two parallel requests for the last view exactly one gets it, and that rolls itself back when
 * it outlives the edge's wait (a view is charged only when shown).
 */
import { type Database, database, StoreUnavailableError } from "./db.ts";

export { closePools, StoreUnavailableError } from "./db.ts";

export interface ViewRequest {
  subject: string;
  /** canonical page path, e.g. /cpt/623/62323/ */
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
  /** this request took a view (false: already unlocked, not charged, or out of views) */
  charged: boolean;
}

export interface AccountMeterStore {
  view(request: ViewRequest): Promise<ViewResult>;
}

const GUEST_KEY = /^[0-9a-f]{16}$/;
const VISITOR_ID = /^[A-Za-z0-9_-]{22}$/;

export class PostgresAccountMeterStore implements AccountMeterStore {
  constructor(private readonly db: Database) {}

  async view(request: ViewRequest): Promise<ViewResult> {
    const guest = request.guest && VISITOR_ID.test(request.guest.visitorId)
      ? { visitorId: request.guest.visitorId, keys: request.guest.pageKeys.filter((k) => GUEST_KEY.test(k)) }
      : null;
    const rows = await this.db.rows(
      "SELECT unlocked, used, charged FROM codepages_meter_view_within($1, $2, $3, $4, $5, $6, $7, $8)",
      [
        request.subject,
        request.pagePath,
        Math.max(0, Math.floor(request.quota)),
        Math.max(1, Math.floor(request.periodDays)),
        guest && guest.keys.length > 0 ? guest.visitorId : null,
        guest && guest.keys.length > 0 ? guest.keys : null,
        request.charge,
        this.db.budgetMs,
      ],
    );
    const row = rows[0];
    if (!row || typeof row.unlocked !== "boolean") throw new StoreUnavailableError("unexpected answer");
    return { unlocked: row.unlocked, used: Number(row.used), charged: row.charged === true };
  }
}

export function accountStore(get: (name: string) => string | undefined): AccountMeterStore | null {
  const db = database(get);
  return db ? new PostgresAccountMeterStore(db) : null;
}
