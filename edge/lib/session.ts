/**
 * The two signed cookies of logging in:
 *
 * - `__Host-cp_login`: the login transaction between /auth/login and /auth/callback — state,
 *   nonce, PKCE verifier, where to return; 10 minutes; cleared by the callback.
 * - `__Host-cp_session`: the session after a verified ID token — subject, display name,
 *   subscriber flag, issued/expiry times. Our own signed cookie: the ID token is not kept.
 *
 * Both `HttpOnly; Secure; SameSite=Lax` (the provider's redirect back to the callback is a
 * top-level GET, which carries Lax cookies).
 */
import { cookieValues } from "./meter_cookie.ts";
import { type CookieKeyring, signCookie, verifyCookie } from "./signed_cookie.ts";

export const SESSION_COOKIE = "__Host-cp_session";
export const LOGIN_COOKIE = "__Host-cp_login";
export const LOGIN_SECONDS = 600;
export const DEFAULT_SESSION_DAYS = 7;
export const SESSION_DAYS_VARIABLE = "CODEPAGES_SESSION_DAYS";
/** Clock skew tolerated between edge nodes, seconds. */
const SKEW = 300;

export interface Session {
  /** the provider's subject (`sub`), with the issuer it came from */
  subject: string;
  issuer: string;
  /** what the header shows: email or name */
  name: string;
  subscriber: boolean;
  issuedAt: number;
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

export function sessionDays(get: (name: string) => string | undefined): number {
  const text = get(SESSION_DAYS_VARIABLE)?.trim();
  const value = text && /^[0-9]{1,3}$/.test(text) ? Number(text) : NaN;
  return value >= 1 && value <= 90 ? value : DEFAULT_SESSION_DAYS;
}

export function encodeSession(session: Session, keyring: CookieKeyring): Promise<string> {
  return signCookie("session", {
    sub: session.subject,
    iss: session.issuer,
    name: session.name,
    sr: session.subscriber ? 1 : 0,
    iat: session.issuedAt,
    exp: session.expiresAt,
  }, keyring);
}

function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value < 1e11;
}

/** A valid, unexpired session from the Cookie header (the first that verifies), or null. */
export async function readSession(
  cookieHeader: string | null,
  keyring: CookieKeyring,
  now: number,
  issuer?: string,
): Promise<Session | null> {
  for (const value of cookieValues(cookieHeader, SESSION_COOKIE).slice(0, 4)) {
    const verified = await verifyCookie("session", value, keyring);
    if (!verified) continue;
    const { sub, iss, name, sr, iat, exp } = verified.data;
    if (typeof sub !== "string" || sub === "" || sub.length > 255) continue;
    if (typeof iss !== "string" || (issuer !== undefined && iss !== issuer)) continue;
    if (typeof name !== "string" || !SAFE_TEXT.test(name)) continue;
    if ((sr !== 0 && sr !== 1) || !isTime(iat) || !isTime(exp)) continue;
    if (iat > now + SKEW || exp <= now) continue;
    return { subject: sub, issuer: iss, name, subscriber: sr === 1, issuedAt: iat, expiresAt: exp };
  }
  return null;
}

export function encodeLogin(login: LoginTransaction, keyring: CookieKeyring): Promise<string> {
  return signCookie("login", {
    st: login.state,
    nn: login.nonce,
    cv: login.verifier,
    rt: login.returnTo,
    iat: login.issuedAt,
    exp: login.expiresAt,
  }, keyring);
}

const RANDOM = /^[A-Za-z0-9_-]{43}$/;

export async function readLogin(
  cookieHeader: string | null,
  keyring: CookieKeyring,
  now: number,
): Promise<LoginTransaction | null> {
  for (const value of cookieValues(cookieHeader, LOGIN_COOKIE).slice(0, 4)) {
    const verified = await verifyCookie("login", value, keyring);
    if (!verified) continue;
    const { st, nn, cv, rt, iat, exp } = verified.data;
    if (typeof st !== "string" || !RANDOM.test(st) || typeof nn !== "string" || !RANDOM.test(nn)) continue;
    if (typeof cv !== "string" || !RANDOM.test(cv) || typeof rt !== "string" || safeReturnPath(rt) !== rt) {
      continue;
    }
    if (!isTime(iat) || !isTime(exp) || iat > now + SKEW || exp <= now) continue;
    return { state: st, nonce: nn, verifier: cv, returnTo: rt, issuedAt: iat, expiresAt: exp };
  }
  return null;
}

/**
 * A same-site path to return to after logging in or out ("/" when `candidate` is anything
 * else): an absolute path, no scheme, no host (`//evil`, `/\evil`), no control characters.
 */
export function safeReturnPath(candidate: string | null | undefined, origin?: string): string {
  if (!candidate) return "/";
  let path = candidate;
  if (origin !== undefined && !candidate.startsWith("/")) {
    try {
      const url = new URL(candidate);
      if (url.origin !== origin) return "/";
      path = url.pathname + url.search;
    } catch {
      return "/";
    }
  }
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return "/";
  // deno-lint-ignore no-control-regex
  if (path.length > 512 || /[\x00-\x20\x7f\\]/.test(path)) return "/";
  if (path.startsWith("/auth/")) return "/";
  return path;
}

/** 32 random bytes, base64url (43 characters): state, nonce, PKCE verifier. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
