/**
 * Signed cookies holding a small JSON object (the session, the login transaction).
 *
 * Value: `v1.<kid>.<base64url JSON>.<base64url HMAC-SHA-256>`; the MAC covers a purpose string
 * (`codepages/<purpose>/v1|`), the key id and the payload, so a cookie of one purpose (a login
 * transaction) never verifies as another (a session). Keys: `CODEPAGES_SESSION_KEYS`, the same
 * `kid:base64key,...` list as the meter keys (first signs, all verify: rotation). Anything
 * malformed, foreign, tampered, too large or expired reads as no cookie.
 */
import { b64urlDecode, b64urlEncode } from "./b64.ts";
import { parseKeyList } from "./keys.ts";

export const SESSION_KEYS_VARIABLE = "CODEPAGES_SESSION_KEYS";
export const MAX_SIGNED_COOKIE_CHARS = 3072;

const FORMAT = /^v1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{2,4000})\.([A-Za-z0-9_-]{43})$/;
const encoder = new TextEncoder();

export interface CookieKeyring {
  currentId: string;
  keys: Map<string, CryptoKey>;
}

/** Import `kid1:base64key,...` (32-64 byte keys). Throws KeyConfigError when missing or malformed. */
export async function importCookieKeys(
  value: string | undefined,
  variable = SESSION_KEYS_VARIABLE,
): Promise<CookieKeyring> {
  const raw = parseKeyList(value, variable, { min: 32, max: 64 });
  const keys = new Map<string, CryptoKey>();
  for (const { kid, raw: bytes } of raw) {
    keys.set(
      kid,
      await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
        "verify",
      ]),
    );
  }
  return { currentId: raw[0].kid, keys };
}

function signedText(purpose: string, kid: string, payload: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`codepages/${purpose}/v1|${kid}.${payload}`);
}

/** Sign `data` (JSON-serialisable) for `purpose` with the current key. */
export async function signCookie(purpose: string, data: unknown, keyring: CookieKeyring): Promise<string> {
  const key = keyring.keys.get(keyring.currentId);
  if (!key) throw new Error("cookie keyring has no current key");
  const payload = b64urlEncode(encoder.encode(JSON.stringify(data)));
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, signedText(purpose, keyring.currentId, payload)),
  );
  const value = `v1.${keyring.currentId}.${payload}.${b64urlEncode(mac)}`;
  if (value.length > MAX_SIGNED_COOKIE_CHARS) throw new Error("signed cookie too large");
  return value;
}

/** The verified JSON object of a cookie value, or null. */
export async function verifyCookie(
  purpose: string,
  value: string,
  keyring: CookieKeyring,
): Promise<{ data: Record<string, unknown>; kid: string } | null> {
  if (value.length > MAX_SIGNED_COOKIE_CHARS) return null;
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

/** Set-Cookie for a `__Host-` cookie: HttpOnly, Secure, SameSite=Lax, whole site. */
export function setCookieHeader(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/; Max-Age=${
    Math.max(0, Math.floor(maxAgeSeconds))
  }; HttpOnly; Secure; SameSite=Lax`;
}

export function clearCookieHeader(name: string): string {
  return `${name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
}
