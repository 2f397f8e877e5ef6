/**
 * Who is asking: a guest, a signed-in account (its server-side session, with subscriber status
 * no older than CLAIMS_MAX_AGE_SECONDS), or an account whose session cannot be read right now.
 */
import { type Database, database } from "./db.ts";
import type { Flow } from "./flow.ts";
import { KeyConfigError, type Keyring, keyringFromEnv } from "./keys.ts";
import { CLAIMS_MAX_AGE_SECONDS } from "./limits.ts";
import { errorText, logOnce } from "./log.ts";
import { discover, oidcSettings, refreshTokens, verifyIdToken } from "./oidc.ts";
import { readSessionCookie, SESSION_COOKIE, type SessionCookie, sessionIdHash } from "./session.ts";
import { openRefreshToken, sealRefreshToken, type SessionRecord, SessionStore } from "./session_store.ts";
import { SESSION_KEYS_VARIABLE } from "./signed_cookie.ts";

export const CLAIMS_MAX_AGE_VARIABLE = "CODEPAGES_CLAIMS_MAX_AGE_SECONDS";

export type Visitor =
  /** no session; `staleCookie`: the request carried a session cookie that no longer counts */
  | { kind: "guest"; staleCookie: boolean }
  | {
    kind: "account";
    cookie: SessionCookie;
    idHash: string;
    record: SessionRecord;
    /** subscriber per claims read within the bound */
    subscriber: boolean;
    /** the record says subscriber, but that could not be confirmed within the bound */
    unconfirmed: boolean;
    db: Database;
  }
  /** a valid session cookie whose session cannot be looked up (database down): nothing unlocks */
  | { kind: "unknown"; cookie: SessionCookie };

const GUEST: Visitor = { kind: "guest", staleCookie: false };
const STALE: Visitor = { kind: "guest", staleCookie: true };
/** a refresh that failed is not retried for a minute (per isolate) */
const refreshFailures = new Map<string, number>();

export function claimsMaxAge(get: (name: string) => string | undefined): number {
  const text = get(CLAIMS_MAX_AGE_VARIABLE)?.trim();
  const value = text && /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  return value >= 0 && value <= CLAIMS_MAX_AGE_SECONDS ? value : CLAIMS_MAX_AGE_SECONDS;
}

export async function sessionKeyring(flow: Flow): Promise<Keyring | null> {
  const keys = await keyringFromEnv(SESSION_KEYS_VARIABLE, "hmac", flow.get);
  if (keys instanceof KeyConfigError) {
    logOnce("sessions", `${keys.message}: nobody can be signed in`);
    return null;
  }
  return keys;
}

export async function resolveVisitor(flow: Flow): Promise<Visitor> {
  const header = flow.request.headers.get("cookie");
  if (!header || !header.includes(SESSION_COOKIE)) return GUEST;
  const issuer = flow.get("OIDC_ISSUER")?.trim();
  const keys = await sessionKeyring(flow);
  if (!keys || !issuer) return STALE;
  const cookie = await readSessionCookie(header, keys, flow.now);
  if (!cookie) return STALE;
  const db = database(flow.get);
  if (!db) {
    logOnce("sessions", "neither DATABASE_URL nor NETLIFY_DB_URL is set: nobody can be signed in");
    return STALE;
  }
  const store = new SessionStore(db);
  const idHash = await sessionIdHash(cookie.sid);
  let record: SessionRecord | null;
  try {
    record = await store.find(idHash);
  } catch (error) {
    logOnce("sessions", `sessions cannot be read (${errorText(error)}): signed-in visitors see gated pages`);
    return { kind: "unknown", cookie };
  }
  if (!record || record.issuer !== issuer) return STALE;
  let subscriber = record.subscriber;
  let unconfirmed = false;
  if (flow.now - record.claimsAt >= claimsMaxAge(flow.get)) {
    const fresh = await refreshClaims(flow, keys, store, idHash, record);
    if (fresh) {
      record = fresh;
      subscriber = fresh.subscriber;
    } else if (record.subscriber) {
      subscriber = false; // fail closed: an unconfirmed subscription is metered like a free account
      unconfirmed = true;
    }
  }
  return { kind: "account", cookie, idHash, record, subscriber, unconfirmed, db };
}

/**
 * Re-read the account's claims with the session's refresh token: the new ID token is verified
 * like a login's (same issuer, audience, algorithms, age) and must name the same account.
 * The updated record, or null when that is not possible now (no refresh token, provider down,
 * token refused).
 */
export async function refreshClaims(
  flow: Flow,
  keys: Keyring,
  store: SessionStore,
  idHash: string,
  record: SessionRecord,
  force = false,
): Promise<SessionRecord | null> {
  if (!record.refreshToken) return null;
  const failedAt = refreshFailures.get(idHash);
  if (!force && failedAt !== undefined && flow.now - failedAt < 60) return null;
  try {
    const settings = oidcSettings(flow.get);
    const discovery = await discover(settings.issuer);
    const token = await openRefreshToken(keys, record.refreshToken, idHash);
    if (!token) return null;
    const answer = await refreshTokens(settings, discovery, token);
    const identity = await verifyIdToken(
      settings,
      discovery,
      answer.idToken,
      null,
      new Date(),
      record.subject,
    );
    const sealed = answer.refreshToken ? await sealRefreshToken(keys, answer.refreshToken, idHash) : null;
    await store.updateClaims(idHash, {
      name: identity.name,
      subscriber: identity.subscriber,
      refreshToken: sealed,
    });
    refreshFailures.delete(idHash);
    return {
      ...record,
      name: identity.name,
      subscriber: identity.subscriber,
      claimsAt: flow.now,
      refreshToken: sealed ?? record.refreshToken,
    };
  } catch (error) {
    if (refreshFailures.size > 10000) refreshFailures.clear();
    refreshFailures.set(idHash, flow.now);
    logOnce("sessions", `subscriber status could not be refreshed (${errorText(error)})`);
    return null;
  }
}
