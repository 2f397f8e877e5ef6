/**
 * Every limit the edge enforces, defined once. The site settings' JSON Schema
 * (codepages/schema/site.schema.json, `meter`) states the same ranges, so the build refuses
 * what the edge would ignore; tests/limits.test.ts fails when the two disagree.
 */

/** Ranges of the meter settings (content/site.yaml `meter:`, and their environment overrides). */
export const METER_LIMITS = {
  /** the guest meter lives in a cookie of at most 3 KB: 100 page keys fit with room to spare */
  guest_views: { min: 0, max: 100, default: 1 },
  free_account_extra_views: { min: 0, max: 100000, default: 5 },
  period_days: { min: 1, max: 366, default: 30 },
  /** fresh guest views per network (IPv4 address or IPv6 /64) and UTC day, counted in the database */
  network_daily_views: { min: 0, max: 100000, default: 20 },
} as const;

export type MeterSetting = keyof typeof METER_LIMITS;

/** Key sizes in bytes per key list variable. */
export const KEY_BYTES = {
  CODEPAGES_SEAL_KEYS: { min: 32, max: 32 },
  CODEPAGES_METER_KEYS: { min: 32, max: 64 },
  CODEPAGES_SESSION_KEYS: { min: 32, max: 64 },
} as const;

export type KeyVariable = keyof typeof KEY_BYTES;

/** Session lifetime (CODEPAGES_SESSION_DAYS). */
export const SESSION_DAYS = { min: 1, max: 90, default: 7 } as const;

/** Subscriber status older than this is re-read from the provider (refresh token) before it counts. */
export const CLAIMS_MAX_AGE_SECONDS = 15 * 60;

/** How long the edge waits for the database before it serves the gated page. */
export const DATABASE_WAIT_MS = 4000;
/**
 * The database gives up on a meter statement this long before the edge stops waiting, and
 * rolls it back: a view is charged only when the page that shows it is served.
 */
export const DATABASE_MARGIN_MS = 1000;

/** What one page's sealed sections may inflate to (codepages/sealing.py MAX_PLAINTEXT_BYTES, the same). */
export const MAX_SEALED_PLAINTEXT_BYTES = 4_194_304;

/** Cookie values larger than this read as no cookie. */
export const MAX_COOKIE_CHARS = 3072;
/** Paths longer than this are not code pages. */
export const MAX_PATH_CHARS = 512;
/** Return addresses longer than this become "/". */
export const MAX_RETURN_PATH_CHARS = 512;
