/**
 * A static page as bytes and as text, with the byte offset of any character of the text: the
 * page is searched as text (string search is native and fast) and written out as bytes
 * (encoding a whole page that holds one non-Latin-1 character, such as "…", from UTF-16 to
 * UTF-8 took more CPU than opening its sections, bench/edge_bench.py).
 */
const decoder = new TextDecoder();

export interface DecodedPage {
  bytes: Uint8Array;
  text: string;
  /** the byte offset where character `index` of `text` starts; null when the text is not a one-to-one decoding */
  offsets: ((index: number) => number) | null;
}

export function decodePage(bytes: Uint8Array): DecodedPage {
  const text = decoder.decode(bytes);
  return { bytes, text, offsets: offsetsOf(bytes, text) };
}

/**
 * The decoder drops a byte order mark and turns invalid bytes into U+FFFD: then the text and
 * the bytes do not correspond character for character, and there is no mapping.
 */
function offsetsOf(bytes: Uint8Array, text: string): ((index: number) => number) | null {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return null;
  if (text.includes("\ufffd")) return null;
  // for each character that is not ASCII: its index in the text, and the bytes beyond one
  // per UTF-16 unit up to and including it
  const at: number[] = [];
  const extra: number[] = [];
  let total = 0;
  const lead = (b: number) => {
    const byte = bytes[b];
    if (byte < 0xc0) return; // ASCII or a continuation byte
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    at.push(b - total);
    total += length - (length === 4 ? 2 : 1);
    extra.push(total);
  };
  // whole 32-bit words first: pages are almost all ASCII
  const head = Math.min(bytes.length, (4 - (bytes.byteOffset & 3)) & 3); // bytes before the first aligned word
  const count = (bytes.length - head) >> 2;
  for (let b = 0; b < head; b++) lead(b);
  if (count > 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + head, count);
    for (let w = 0; w < count; w++) {
      if ((words[w] & 0x80808080) === 0) continue;
      const b = head + w * 4;
      lead(b);
      lead(b + 1);
      lead(b + 2);
      lead(b + 3);
    }
  }
  for (let b = head + count * 4; b < bytes.length; b++) lead(b);
  return (index: number) => {
    // the last non-ASCII character before `index`
    let lo = 0;
    let hi = at.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (at[mid] < index) lo = mid + 1;
      else hi = mid;
    }
    return index + (lo > 0 ? extra[lo - 1] : 0);
  };
}

/**
 * Whether `bytes` is UTF-8 as the fatal TextDecoder reads it (no overlong forms, surrogates,
 * code points past U+10FFFF or cut sequences): an opened section is checked without being
 * decoded, since the page takes its bytes.
 */
export function isUtf8(bytes: Uint8Array): boolean {
  const n = bytes.length;
  let i = 0;
  // whole aligned 32-bit words of ASCII first (a page is almost all ASCII)
  const head = Math.min(n, (4 - (bytes.byteOffset & 3)) & 3);
  while (i < head && bytes[i] < 0x80) i++;
  if (i === head && n - head >= 64) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + head, (n - head) >> 2);
    let w = 0;
    while (w < words.length && (words[w] & 0x80808080) === 0) w++;
    i = head + w * 4;
  }
  while (i < n) {
    // runs of ASCII four bytes at a time
    while (i + 4 <= n && (bytes[i] | bytes[i + 1] | bytes[i + 2] | bytes[i + 3]) < 0x80) i += 4;
    if (i >= n) break;
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // the second byte's range depends on the first (WHATWG Encoding, UTF-8 decoder)
    let more: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) more = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      more = 2;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      more = 3;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else return false;
    if (i + more >= n) return false; // cut off at the end
    const second = bytes[i + 1];
    if (second < low || second > high) return false;
    for (let k = 2; k <= more; k++) {
      const c = bytes[i + k];
      if (c < 0x80 || c > 0xbf) return false;
    }
    i += more + 1;
  }
  return true;
}

/** `text` (ASCII) as bytes, and the skip table of a Horspool search for it. */
export interface Needle {
  bytes: Uint8Array;
  skip: Int32Array;
}

export function needle(text: string): Needle {
  const bytes = new TextEncoder().encode(text);
  const skip = new Int32Array(256).fill(bytes.length);
  for (let i = 0; i < bytes.length - 1; i++) skip[bytes[i]] = bytes.length - 1 - i;
  return { bytes, skip };
}

/** The first index at or after `from` where `n` occurs in `hay`, or -1 (String.prototype.indexOf for bytes). */
export function indexOfBytes(hay: Uint8Array, n: Needle, from = 0): number {
  const { bytes, skip } = n;
  const last = bytes.length - 1;
  const tail = bytes[last];
  for (let i = Math.max(0, from); i + last < hay.length;) {
    const c = hay[i + last];
    if (c === tail) {
      let k = last - 1;
      while (k >= 0 && hay[i + k] === bytes[k]) k--;
      if (k < 0) return i;
    }
    i += skip[c];
  }
  return -1;
}

/** indexOfBytes for a needle expected close to `from` (no table: each candidate starts with its first byte). */
export function nearIndexOf(hay: Uint8Array, text: Uint8Array, from: number): number {
  for (
    let i = hay.indexOf(text[0], from);
    i >= 0 && i + text.length <= hay.length;
    i = hay.indexOf(text[0], i + 1)
  ) {
    let k = 1;
    while (k < text.length && hay[i + k] === text[k]) k++;
    if (k === text.length) return i;
  }
  return -1;
}
