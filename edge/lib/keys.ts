/**
 * Key lists as the operator sets them: `kid1:base64key,kid2:base64key`. The first key is
 * the current one (seals, signs); every listed key opens or verifies, which is how keys are
 * rotated: put the new key first, keep the old one after it until nothing needs it.
 */
import { b64DecodeLenient } from "./b64.ts";

export const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export class KeyConfigError extends Error {}

export interface RawKey {
  kid: string;
  raw: Uint8Array<ArrayBuffer>;
}

export function parseKeyList(
  value: string | undefined,
  variable: string,
  bytes: { min: number; max: number },
): RawKey[] {
  if (value === undefined || value.trim() === "") throw new KeyConfigError(`${variable} is not set`);
  const keys: RawKey[] = [];
  for (const [index, entry] of value.split(",").map((e) => e.trim()).entries()) {
    const colon = entry.indexOf(":");
    const kid = colon < 0 ? "" : entry.slice(0, colon).trim();
    if (!KEY_ID.test(kid)) {
      throw new KeyConfigError(`${variable}: entry ${index + 1} is not <key id>:<base64 key>`);
    }
    if (keys.some((k) => k.kid === kid)) {
      throw new KeyConfigError(`${variable}: key id ${kid} is listed twice`);
    }
    const raw = b64DecodeLenient(entry.slice(colon + 1).trim());
    if (raw === null) throw new KeyConfigError(`${variable}: key ${kid} is not base64`);
    if (raw.length < bytes.min || raw.length > bytes.max) {
      throw new KeyConfigError(
        `${variable}: key ${kid} is ${raw.length} bytes, expected ${bytes.min}` +
          (bytes.max === bytes.min ? "" : `-${bytes.max}`),
      );
    }
    keys.push({ kid, raw });
  }
  return keys;
}
