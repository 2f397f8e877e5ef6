/**
 * Base64 helpers: strict, unpadded base64url for tokens and cookies (one text per byte
 * string, so a token cannot be re-spelt); lenient decoding for keys as operators paste them.
 *
 * Opening the sealed sections of a page decodes 10-30 KB of base64url per request: the strict
 * decoder uses the runtime's native `Uint8Array.fromBase64` where there is one (about 8x
 * faster than the table decoder in JavaScript, bench/edge_bench.py) and the table decoder
 * otherwise; both accept exactly the same texts.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** char code → 6-bit value, or -1; only codes below 128 are looked up */
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

export function b64urlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

type FromBase64 = (text: string, options: object) => Uint8Array<ArrayBuffer>;
const fromBase64 = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;
const NATIVE = { alphabet: "base64url", lastChunkHandling: "loose" };

/** Unpadded base64url, canonical form only (unused trailing bits zero); null if it is not. */
export function b64urlDecode(text: string): Uint8Array<ArrayBuffer> | null {
  return fromBase64 ? b64urlDecodeNative(fromBase64, text) : b64urlDecodeTable(text);
}

/**
 * `fromBase64` skips whitespace and padding and ignores unused trailing bits: a text with any
 * of those decodes to fewer bytes than its length calls for, and the last character's unused
 * bits are checked here.
 */
function b64urlDecodeNative(decode: FromBase64, text: string): Uint8Array<ArrayBuffer> | null {
  const n = text.length;
  const rest = n & 3;
  if (rest === 1) return null;
  let out: Uint8Array<ArrayBuffer>;
  try {
    out = decode(text, NATIVE);
  } catch {
    return null;
  }
  if (out.length !== (n >> 2) * 3 + (rest === 0 ? 0 : rest - 1)) return null;
  if (rest > 0 && DECODE[text.charCodeAt(n - 1)] & (rest === 2 ? 15 : 3)) return null;
  return out;
}

/** The same decoder in JavaScript (runtimes without `Uint8Array.fromBase64`; tests compare the two). */
export function b64urlDecodeTable(text: string): Uint8Array<ArrayBuffer> | null {
  const n = text.length;
  const rest = n & 3;
  if (rest === 1) return null;
  const out = new Uint8Array((n >> 2) * 3 + (rest === 0 ? 0 : rest - 1));
  const whole = n - rest;
  let j = 0;
  for (let i = 0; i < whole; i += 4) {
    const ca = text.charCodeAt(i);
    const cb = text.charCodeAt(i + 1);
    const cc = text.charCodeAt(i + 2);
    const cd = text.charCodeAt(i + 3);
    if ((ca | cb | cc | cd) > 127) return null;
    const a = DECODE[ca], b = DECODE[cb], c = DECODE[cc], d = DECODE[cd];
    if ((a | b | c | d) < 0) return null;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[j] = v >> 16;
    out[j + 1] = (v >> 8) & 255;
    out[j + 2] = v & 255;
    j += 3;
  }
  if (rest > 0) {
    const ca = text.charCodeAt(whole);
    const cb = text.charCodeAt(whole + 1);
    const cc = rest === 3 ? text.charCodeAt(whole + 2) : 65; // 'A'
    if ((ca | cb | cc) > 127) return null;
    const a = DECODE[ca], b = DECODE[cb], c = DECODE[cc];
    if ((a | b | c) < 0) return null;
    if (rest === 2) {
      if (b & 15) return null; // non-canonical: unused bits set
      out[j] = (a << 2) | (b >> 4);
    } else {
      if (c & 3) return null;
      out[j] = (a << 2) | (b >> 4);
      out[j + 1] = ((b & 15) << 4) | (c >> 2);
    }
  }
  return out;
}

const B64_ANY = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Standard or URL-safe base64, padding optional (how operators paste keys); null if invalid. */
export function b64DecodeLenient(text: string): Uint8Array<ArrayBuffer> | null {
  if (!B64_ANY.test(text)) return null;
  const plain = text.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  if (plain.length % 4 === 1) return null;
  try {
    const binary = atob(
      plain.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (plain.length % 4)) % 4),
    );
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** `bytes` random bytes, base64url (32 → 43 characters). */
export function randomToken(bytes = 32): string {
  return b64urlEncode(crypto.getRandomValues(new Uint8Array(bytes)));
}
