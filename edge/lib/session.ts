/**
 * The two signed cookies of logging in:
 *
 * - `__Host-cp_login`: the login transaction between /auth/login and /auth/callback — state,
 *   nonce, PKCE verifier, where to return; 10 minutes; cleared by the callback.
 * - `__Host-cp_session`: a reference to a server-side session (session_store.ts): a random
 *   session id, the display name and the expiry, signed. What the session stands for (subject,
 *   subscriber status) lives in the database row only, so logging out revokes every copy of
 *   the cookie at once.
 *
 * Both `HttpOnly; Secure; SameSite=Lax` (the provider's redirect back to the callback is a
 * top-level GET, which carries Lax cookies).
 */
import { b64urlEncode, randomToken } from "./b64.ts";
import { cookieValues } from "./cookies.ts";
import type { Keyring } from "./keys.ts";
import { SESSION_DAYS } from "./limits.ts";
import { returnPath } from "./return_path.ts";
import { signCookie, verifyCookie } from "./signed_cookie.ts";

export { randomToken };

export const SESSION_COOKIE = "__Host-cp_session";
export const LOGIN_COOKIE = "__Host-cp_login";
/**
 * Set by the callback for the page the visitor returns to after signing in: the redirect
 * chain back from the provider is a cross-site navigation, yet reading that page is what the
 * visitor asked for. Holds the (encoded) path; two minutes; used once.
 */
export const CONTINUE_COOKIE = "__Host-cp_continue";
export const LOGIN_SECONDS = 600;
export const SESSION_DAYS_VARIABLE = "CODEPAGES_SESSION_DAYS";
/** Clock skew tolerated between edge nodes, seconds. */
const SKEW = 300;

/** What the session cookie says (verified signature; the database decides whether it still counts). */
export interface SessionCookie {
  /** the random session id (43 characters); the database keys the session by its SHA-256 */
  sid: string;
  /** what the header shows: email or name */
  name: string;
  expiresAt: number;
}

export interface LoginTransaction {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  issuedAt: number;
  expiresAt: number;
}

const SAFE_TEXT = /^[\x20-\x7e\u00a0-\uffff]{0,200}$/;
const RANDOM = /^[A-Za-z0-9_-]{43}$/;

export function sessionDays(get: (name: string) => string | undefined): number {
  const text = get(SESSION_DAYS_VARIABLE)?.trim();
  const value = text && /^[0-9]{1,3}$/.test(text) ? Number(text) : NaN;
  return value >= SESSION_DAYS.min && value <= SESSION_DAYS.max ? value : SESSION_DAYS.default;
}

function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value < 1e11;
}

export function encodeSessionCookie(session: SessionCookie, keyring: Keyring): Promise<string> {
  return signCookie("session", { sid: session.sid, nm: session.name, exp: session.expiresAt }, keyring);
}

/** The first session cookie that verifies and has not expired, or null. */
export async function readSessionCookie(
  cookieHeader: string | null,
  keyring: Keyring,
  now: number,
): Promise<SessionCookie | null> {
  for (const value of cookieValues(cookieHeader, SESSION_COOKIE).slice(0, 4)) {
    const verified = await verifyCookie("session", value, keyring);
    if (!verified) continue;
    const { sid, nm, exp } = verified.data;
    if (typeof sid !== "string" || !RANDOM.test(sid)) continue;
    if (typeof nm !== "string" || !SAFE_TEXT.test(nm)) continue;
    if (!isTime(exp) || exp <= now) continue;
    return { sid, name: nm, expiresAt: exp };
  }
  return null;
}

/** The database key of a session id: base64url SHA-256 (43 characters). */
export async function sessionIdHash(sid: string): Promise<string> {
  return b64urlEncode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sid))));
}

export function encodeLogin(login: LoginTransaction, keyring: Keyring): Promise<string> {
  return signCookie("login", {
    st: login.state,
    nn: login.nonce,
    cv: login.verifier,
    rt: login.returnTo,
    iat: login.issuedAt,
    exp: login.expiresAt,
  }, keyring);
}

export async function readLogin(
  cookieHeader: string | null,
  keyring: Keyring,
  now: number,
): Promise<LoginTransaction | null> {
  for (const value of cookieValues(cookieHeader, LOGIN_COOKIE).slice(0, 4)) {
    const verified = await verifyCookie("login", value, keyring);
    if (!verified) continue;
    const { st, nn, cv, rt, iat, exp } = verified.data;
    if (typeof st !== "string" || !RANDOM.test(st) || typeof nn !== "string" || !RANDOM.test(nn)) continue;
    if (typeof cv !== "string" || !RANDOM.test(cv) || typeof rt !== "string" || returnPath(rt) !== rt) {
      continue;
    }
    if (!isTime(iat) || !isTime(exp) || iat > now + SKEW || exp <= now) continue;
    return { state: st, nonce: nn, verifier: cv, returnTo: rt, issuedAt: iat, expiresAt: exp };
  }
  return null;
}
