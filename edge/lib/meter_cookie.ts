/**
 * The guest meter cookie: signed state (HMAC-SHA-256), nothing secret in it.
 *
 * Value (all ASCII, cookie-safe):
 *   v1.<kid>.<visitor id>.<period start>.<issued at>.<page keys>.<signature>
 * - kid: the signing key's id from CODEPAGES_METER_KEYS (first key signs, all verify)
 * - visitor id: 16 random bytes, base64url (22 chars)
 * - period start, issued at: epoch seconds, decimal, no leading zeros
 * - page keys: 16-hex-digit hashes of canonical page paths (see meter.ts), joined by "-",
 *   empty when none
 * - signature: base64url HMAC-SHA-256 over everything before the last ".", 43 chars
 * Anything else (size over 3 KB, another format, unknown kid, bad signature, duplicate
 * pages, timestamps in the future) reads as no cookie.
 */
import { b64urlDecode, b64urlEncode } from "./b64.ts";
import { cookieValues, setCookie } from "./cookies.ts";
import { equalBytes, hmacSha256Sync } from "./fast_crypto.ts";
import { importKeyring, type Keyring } from "./keys.ts";
import { MAX_COOKIE_CHARS } from "./limits.ts";

export const METER_KEYS_VARIABLE = "CODEPAGES_METER_KEYS";
export const METER_COOKIE = "__Host-cp_meter";
/** How far a timestamp may lie in the future (clock skew between edge nodes), seconds. */
const SKEW = 300;

const FORMAT =
  /^v1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{22})\.(0|[1-9][0-9]{0,10})\.(0|[1-9][0-9]{0,10})\.((?:[0-9a-f]{16}(?:-[0-9a-f]{16})*)?)\.([A-Za-z0-9_-]{43})$/;
const encoder = new TextEncoder();

export interface MeterState {
  visitorId: string;
  /** epoch seconds */
  periodStart: number;
  /** page keys unlocked in this period, oldest first */
  pages: string[];
  /** epoch seconds */
  issuedAt: number;
}

export interface ReadCookie {
  state: MeterState;
  /** the key id that signed it: not the current one means "re-sign when writing" */
  kid: string;
}

/** Import `kid1:base64key,...` (32-64 byte keys, tests and tools). Throws KeyConfigError when unusable. */
export function importMeterKeys(value: string | undefined): Promise<Keyring> {
  return importKeyring(value, METER_KEYS_VARIABLE, "hmac");
}

/** Parse and verify one cookie value; null if it is anything but a valid, current cookie of ours. */
export async function verifyMeterCookie(
  value: string,
  keyring: Keyring,
  now: number,
): Promise<ReadCookie | null> {
  if (value.length > MAX_COOKIE_CHARS) return null;
  const match = FORMAT.exec(value);
  if (!match) return null;
  const [, kid, visitorId, start, issued, pageList, signatureText] = match;
  const key = keyring.keys.get(kid);
  const signature = b64urlDecode(signatureText);
  if (!key || !signature || signature.length !== 32) return null;
  const signed = value.slice(0, value.length - signatureText.length - 1);
  const raw = keyring.raw?.get(kid);
  const expected = raw ? hmacSha256Sync(raw, encoder.encode(signed)) : undefined;
  if (
    expected
      ? !equalBytes(expected, signature)
      : !(await crypto.subtle.verify("HMAC", key, signature, encoder.encode(signed)))
  ) {
    return null;
  }
  if (b64urlDecode(visitorId)?.length !== 16) return null;
  const periodStart = Number(start);
  const issuedAt = Number(issued);
  if (periodStart > now + SKEW || issuedAt > now + SKEW || issuedAt + SKEW < periodStart) return null;
  const pages = pageList === "" ? [] : pageList.split("-");
  if (new Set(pages).size !== pages.length) return null;
  return { state: { visitorId, periodStart, pages, issuedAt }, kid };
}

/** The first valid meter cookie in the request's Cookie header, or null. */
export async function readMeterCookie(
  cookieHeader: string | null,
  keyring: Keyring,
  now: number,
): Promise<ReadCookie | null> {
  for (const value of cookieValues(cookieHeader, METER_COOKIE).slice(0, 4)) {
    const read = await verifyMeterCookie(value, keyring, now);
    if (read) return read;
  }
  return null;
}

/** The signed cookie value for `state`, signed with the current key. */
export async function encodeMeterCookie(state: MeterState, keyring: Keyring): Promise<string> {
  const key = keyring.keys.get(keyring.currentId);
  if (!key) throw new Error("meter keyring has no current key");
  const body = [
    "v1",
    keyring.currentId,
    state.visitorId,
    String(Math.floor(state.periodStart)),
    String(Math.floor(state.issuedAt)),
    state.pages.join("-"),
  ].join(".");
  const raw = keyring.raw?.get(keyring.currentId);
  const signature = (raw ? hmacSha256Sync(raw, encoder.encode(body)) : undefined) ??
    new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
  const value = `${body}.${b64urlEncode(signature)}`;
  if (!FORMAT.test(value) || value.length > MAX_COOKIE_CHARS) {
    throw new Error("meter state does not fit the cookie");
  }
  return value;
}

/** The Set-Cookie header value. */
export function meterSetCookie(value: string, maxAgeSeconds: number): string {
  return setCookie(METER_COOKIE, value, maxAgeSeconds);
}
