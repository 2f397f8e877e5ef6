/** Byte offsets of a decoded page (lib/utf8.ts): the page is searched as text and written as bytes. */
import { decodePage, indexOfBytes, isUtf8, nearIndexOf, needle } from "../lib/utf8.ts";
import { assert, assertEquals } from "./helpers.ts";

const encoder = new TextEncoder();

function checkEveryIndex(text: string, bytes: Uint8Array): void {
  const page = decodePage(bytes);
  assertEquals(page.text, text);
  const offsets = page.offsets!;
  assert(offsets !== null, JSON.stringify(text));
  for (let i = 0; i <= text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xdc00 && code < 0xe000) continue; // the second half of a surrogate pair: inside a character
    assertEquals(offsets(i), encoder.encode(text.slice(0, i)).length, `${JSON.stringify(text)} at ${i}`);
  }
}

Deno.test("utf8: every character's byte offset, for 1- to 4-byte characters anywhere", () => {
  const samples = [
    "",
    "plain ASCII",
    "…",
    "a…b",
    "®…–é",
    "x\u{1F600}y",
    "\u{1F600}\u{1F600}",
    "日本語のページ",
  ];
  for (const s of samples) checkEveryIndex(s, encoder.encode(s));
  // random mixes, long enough to cross the 32-bit word scan, at every alignment
  const chars = ["a", "<", "\n", "é", "…", "®", "\u{1F600}", "\u0800", "\u07ff", "\uffef"];
  for (let i = 0; i < 200; i++) {
    let text = "";
    for (let j = 0; j < (i % 37) + 1; j++) {
      text += Math.random() < 0.7 ? "abcdef<>"[j % 8] : chars[(Math.random() * chars.length) | 0];
    }
    const bytes = encoder.encode(text);
    const padded = new Uint8Array(bytes.length + 3);
    for (let shift = 0; shift < 4; shift++) {
      const view = new Uint8Array(padded.buffer, shift, bytes.length);
      view.set(bytes);
      checkEveryIndex(text, view);
    }
  }
});

Deno.test("utf8: no offsets where the text is not the bytes character for character", () => {
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x61]);
  assertEquals(decodePage(bom).text, "a", "the decoder drops the byte order mark");
  assertEquals(decodePage(bom).offsets, null);
  for (const bad of [[0x61, 0xff], [0x61, 0xe2, 0x80], [0xc3, 0x28], [0xed, 0xa0, 0x80]]) {
    const page = decodePage(new Uint8Array(bad));
    assert(page.text.includes("\ufffd"));
    assertEquals(page.offsets, null, JSON.stringify(bad));
  }
  // a page that holds U+FFFD itself is written from text too (it cannot be told from a replacement)
  assertEquals(decodePage(encoder.encode("a\ufffdb")).offsets, null);
});

Deno.test("utf8: isUtf8 agrees with the fatal TextDecoder (every 1- and 2-byte text, 3- and 4-byte edges, random texts)", () => {
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const decodes = (bytes: Uint8Array) => {
    try {
      fatal.decode(bytes);
      return true;
    } catch {
      return false;
    }
  };
  const check = (bytes: Uint8Array) =>
    assertEquals(isUtf8(bytes), decodes(bytes), JSON.stringify([...bytes]));
  check(new Uint8Array(0));
  for (let a = 0; a < 256; a++) {
    check(new Uint8Array([a]));
    for (let b = 0; b < 256; b++) check(new Uint8Array([a, b]));
  }
  const edges = [
    0x00,
    0x41,
    0x7f,
    0x80,
    0x8f,
    0x90,
    0x9f,
    0xa0,
    0xbf,
    0xc0,
    0xc1,
    0xc2,
    0xdf,
    0xe0,
    0xed,
    0xef,
    0xf0,
    0xf4,
    0xf5,
    0xff,
  ];
  for (const a of edges.filter((x) => x >= 0xc0)) {
    for (const b of edges) {
      for (const c of edges) {
        check(new Uint8Array([a, b, c]));
        for (const d of [0x41, 0x80, 0xbf, 0xc0]) check(new Uint8Array([a, b, c, d]));
      }
    }
  }
  const pieces = [
    [0x41],
    [0xc3, 0xa9],
    [0xe2, 0x80, 0xa6],
    [0xf0, 0x9f, 0x98, 0x80],
    [0xed, 0xa0, 0x80],
    [0xff],
    [0xc3],
    [0x80],
  ];
  for (let i = 0; i < 5000; i++) {
    const bytes: number[] = [];
    for (let j = 0; j < (i % 13) + 1; j++) bytes.push(...pieces[(Math.random() * pieces.length) | 0]);
    check(new Uint8Array(bytes));
  }
  // a long text with one bad byte near the end (past the ASCII fast path)
  const long = new TextEncoder().encode("<p>" + "a".repeat(10001) + "…</p>");
  assert(isUtf8(long));
  long[long.length - 5] = 0xff;
  assert(!isUtf8(long));
});

Deno.test("utf8: byte searches find what String.prototype.indexOf finds (ASCII texts)", () => {
  const encoder = new TextEncoder();
  const words = ['data-sealed="', "<section", "</section>", "<!--locked:a-->", "d", "aa", "<"];
  for (let i = 0; i < 300; i++) {
    let text = "";
    for (let j = 0; j < (i % 40) + 1; j++) {
      text += Math.random() < 0.3
        ? words[(Math.random() * words.length) | 0]
        : 'ad<"s-='[(Math.random() * 8) | 0];
    }
    const bytes = encoder.encode(text);
    for (const word of words) {
      for (const from of [0, 1, 5, text.length >> 1, text.length, text.length + 3]) {
        const expected = text.indexOf(word, from);
        assertEquals(
          indexOfBytes(bytes, needle(word), from),
          from > text.length ? -1 : expected,
          `${text} ${word} ${from}`,
        );
        assertEquals(
          nearIndexOf(bytes, encoder.encode(word), from),
          from > text.length ? -1 : expected,
          `${text} ${word} ${from}`,
        );
      }
    }
  }
});

Deno.test("utf8: isUtf8 on page-sized texts at every alignment, with one bad byte anywhere", () => {
  const text = new TextEncoder().encode("<p>" + "abcdefgh".repeat(40) + "…é</p>" + "x".repeat(100));
  const buffer = new Uint8Array(text.length + 4);
  for (let shift = 0; shift < 4; shift++) {
    const view = new Uint8Array(buffer.buffer, shift, text.length);
    view.set(text);
    assert(isUtf8(view), `shift ${shift}`);
    for (const at of [0, 1, 2, 3, 4, 63, 64, 65, 200, 323, text.length - 1]) {
      const saved = view[at];
      view[at] = 0x80;
      assertEquals(isUtf8(view), false, `shift ${shift}, bad byte at ${at}`);
      view[at] = saved;
    }
  }
});
