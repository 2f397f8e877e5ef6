/** Base64 helpers: strict, unpadded base64url for tokens and cookies; lenient decoding for keys. */

const B64URL = /^[A-Za-z0-9_-]*$/;
const B64_ANY = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function b64urlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBinary(binary: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Unpadded base64url, canonical form only (one text per byte string); null if it is not. */
export function b64urlDecode(text: string): Uint8Array<ArrayBuffer> | null {
  if (!B64URL.test(text) || text.length % 4 === 1) return null;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = fromBinary(atob(padded));
  } catch {
    return null;
  }
  return b64urlEncode(bytes) === text ? bytes : null;
}

/** Standard or URL-safe base64, padding optional (how operators paste keys); null if invalid. */
export function b64DecodeLenient(text: string): Uint8Array<ArrayBuffer> | null {
  if (!B64_ANY.test(text)) return null;
  const plain = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  if (plain.length % 4 === 1) return null;
  try {
    return fromBinary(atob(plain + "=".repeat((4 - (plain.length % 4)) % 4)));
  } catch {
    return null;
  }
}
