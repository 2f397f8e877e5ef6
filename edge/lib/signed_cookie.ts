/**
 * Signed cookies holding a small JSON object (the session reference, the login transaction).
 *
 * Value: `v1.<kid>.<base64url JSON>.<base64url HMAC-SHA-256>`; the MAC covers a purpose string
 * (`codepages/<purpose>/v1|`), the key id and the payload, so a cookie of one purpose (a login
 * transaction) never verifies as another (a session). Keys: `CODEPAGES_SESSION_KEYS`. Anything
 * malformed, foreign, tampered or too large reads as no cookie.
 */
import { b64urlDecode, b64urlEncode } from "./b64.ts";
import type { Keyring } from "./keys.ts";
import { MAX_COOKIE_CHARS } from "./limits.ts";

export const SESSION_KEYS_VARIABLE = "CODEPAGES_SESSION_KEYS";

const FORMAT = /^v1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{2,4000})\.([A-Za-z0-9_-]{43})$/;
const encoder = new TextEncoder();

function signedText(purpose: string, kid: string, payload: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`codepages/${purpose}/v1|${kid}.${payload}`);
}

/** Sign `data` (JSON-serialisable) for `purpose` with the current key. */
export async function signCookie(purpose: string, data: unknown, keyring: Keyring): Promise<string> {
  const key = keyring.keys.get(keyring.currentId);
  if (!key) throw new Error("cookie keyring has no current key");
  const payload = b64urlEncode(encoder.encode(JSON.stringify(data)));
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, signedText(purpose, keyring.currentId, payload)),
  );
  const value = `v1.${keyring.currentId}.${payload}.${b64urlEncode(mac)}`;
  if (value.length > MAX_COOKIE_CHARS) throw new Error("signed cookie too large");
  return value;
}

/** The verified JSON object of a cookie value, or null. */
export async function verifyCookie(
  purpose: string,
  value: string,
  keyring: Keyring,
): Promise<{ data: Record<string, unknown>; kid: string } | null> {
  if (value.length > MAX_COOKIE_CHARS) return null;
  const match = FORMAT.exec(value);
  if (!match) return null;
  const [, kid, payload, macText] = match;
  const key = keyring.keys.get(kid);
  const mac = b64urlDecode(macText);
  if (!key || !mac || mac.length !== 32) return null;
  if (!(await crypto.subtle.verify("HMAC", key, mac, signedText(purpose, kid, payload)))) return null;
  const bytes = b64urlDecode(payload);
  if (!bytes) return null;
  try {
    const data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (data === null || typeof data !== "object" || Array.isArray(data)) return null;
    return { data, kid };
  } catch {
    return null;
  }
}
