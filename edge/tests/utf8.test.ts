/** Byte offsets of a decoded page (lib/utf8.ts): the page is searched as text and written as bytes. */
import { decodePage } from "../lib/utf8.ts";
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
