/**
 * Key lists as the operator sets them: `kid1:base64key,kid2:base64key`. The first key is the
 * current one (seals, signs); every listed key opens or verifies, which is how keys are
 * rotated: put the new key first, keep the old one after it until nothing needs it.
 *
 * One keyring type for every variable; each is imported once per distinct value of its
 * variable, and a missing or malformed value is a KeyConfigError naming the variable.
 */
import { b64DecodeLenient } from "./b64.ts";
import { getEnv } from "./env.ts";
import { KEY_BYTES, type KeyVariable } from "./limits.ts";

export const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const GENERATE =
  `python -c "import secrets,base64;print('k1:'+base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"`;

export class KeyConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(message);
    this.name = "KeyConfigError";
  }
}

export type KeyUse = "hmac" | "aes-gcm";

export interface Keyring {
  variable: string;
  /** the key that seals or signs */
  currentId: string;
  keys: Map<string, CryptoKey>;
  /** the same keys' bytes, for the synchronous hot path (fast_crypto.ts); absent in hand-made keyrings */
  raw?: Map<string, Uint8Array>;
}

export interface RawKey {
  kid: string;
  raw: Uint8Array<ArrayBuffer>;
}

export function parseKeyList(value: string | undefined, variable: KeyVariable): RawKey[] {
  const bytes = KEY_BYTES[variable];
  if (value === undefined || value.trim() === "") {
    throw new KeyConfigError(variable, `${variable} is not set (generate a key with: ${GENERATE})`);
  }
  const keys: RawKey[] = [];
  for (const [index, entry] of value.split(",").map((e) => e.trim()).entries()) {
    const colon = entry.indexOf(":");
    const kid = colon < 0 ? "" : entry.slice(0, colon).trim();
    if (!KEY_ID.test(kid)) {
      throw new KeyConfigError(
        variable,
        `${variable}: entry ${index + 1} is not <key id>:<base64 key> (generate a key with: ${GENERATE})`,
      );
    }
    if (keys.some((k) => k.kid === kid)) {
      throw new KeyConfigError(variable, `${variable}: key id ${kid} is listed twice`);
    }
    const raw = b64DecodeLenient(entry.slice(colon + 1).trim());
    if (raw === null) throw new KeyConfigError(variable, `${variable}: key ${kid} is not base64`);
    if (raw.length < bytes.min || raw.length > bytes.max) {
      throw new KeyConfigError(
        variable,
        `${variable}: key ${kid} is ${raw.length} bytes, expected ${bytes.min}` +
          (bytes.max === bytes.min ? "" : `-${bytes.max}`) + ` (generate a key with: ${GENERATE})`,
      );
    }
    keys.push({ kid, raw });
  }
  return keys;
}

/** Import a key list for HMAC-SHA-256 (sign, verify) or AES-256-GCM (decrypt). */
export async function importKeyring(
  value: string | undefined,
  variable: KeyVariable,
  use: KeyUse,
): Promise<Keyring> {
  const raw = parseKeyList(value, variable);
  const keys = new Map<string, CryptoKey>();
  for (const { kid, raw: bytes } of raw) {
    keys.set(
      kid,
      use === "hmac"
        ? await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, [
          "sign",
          "verify",
        ])
        : await crypto.subtle.importKey("raw", bytes, { name: "AES-GCM" }, false, ["decrypt"]),
    );
  }
  return { variable, currentId: raw[0].kid, keys, raw: new Map(raw.map((k) => [k.kid, k.raw])) };
}

const cache = new Map<string, { value: string | undefined; keyring: Promise<Keyring | KeyConfigError> }>();

/**
 * The keyring of `variable` from the environment (imported once per distinct value), or the
 * KeyConfigError that makes it unusable (the caller decides what fails closed and logs it).
 */
export function keyringFromEnv(
  variable: KeyVariable,
  use: KeyUse,
  get: (name: string) => string | undefined = getEnv,
): Promise<Keyring | KeyConfigError> {
  const value = get(variable);
  const cacheKey = `${variable}|${use}`;
  const cached = cache.get(cacheKey);
  if (cached && cached.value === value) return cached.keyring;
  const keyring = importKeyring(value, variable, use).catch((error: unknown) =>
    error instanceof KeyConfigError ? error : new KeyConfigError(variable, `${variable}: ${error}`)
  );
  cache.set(cacheKey, { value, keyring });
  return keyring;
}

/** An empty keyring: nothing opens, nothing verifies. */
export const EMPTY_KEYRING: Keyring = { variable: "", currentId: "", keys: new Map() };
