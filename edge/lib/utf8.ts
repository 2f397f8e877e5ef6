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
