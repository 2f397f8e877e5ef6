/** The strict base64url decoder: the native path and the table decoder accept exactly the same texts. */
import { b64urlDecode, b64urlDecodeTable, b64urlEncode } from "../lib/b64.ts";
import { assert, assertEquals } from "./helpers.ts";

const hasNative = typeof (Uint8Array as unknown as { fromBase64?: unknown }).fromBase64 === "function";

function same(text: string): void {
  const native = b64urlDecode(text);
  const table = b64urlDecodeTable(text);
  assertEquals(
    native === null ? null : [...native],
    table === null ? null : [...table],
    JSON.stringify(text),
  );
}

Deno.test("b64: canonical unpadded base64url decodes to its bytes, on both paths", () => {
  assert(hasNative, "this Deno has Uint8Array.fromBase64 (else only the table decoder is tested)");
  for (let length = 0; length < 70; length++) {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    const text = b64urlEncode(bytes);
    assertEquals([...b64urlDecode(text)!], [...bytes]);
    assertEquals([...b64urlDecodeTable(text)!], [...bytes]);
  }
  assertEquals([...b64urlDecode("")!], []);
  assertEquals([...b64urlDecode("QUFB")!], [65, 65, 65]);
  assertEquals([...b64urlDecode("-_-_")!], [251, 255, 191]);
});

Deno.test("b64: anything else is null on both paths (padding, whitespace, other alphabets, unused bits)", () => {
  const rejected = [
    "Q", // one character left over
    "QUFBQ",
    "QR", // unused bits set
    "QUF",
    "QQ==", // padding
    "QQ=",
    "QUE=",
    "=",
    "QU FB", // whitespace, which fromBase64 would skip
    "QUFB\n",
    "\tQUFB",
    "QU\fFBQUFB",
    "QUFB\r",
    "QU+B", // standard alphabet
    "QU/B",
    "QU.B",
    "QUFÄ", // not ASCII
    "QUF\u0100",
    "QUFB\u00a0",
    "\u2028QUF",
  ];
  for (const text of rejected) {
    assertEquals(b64urlDecode(text), null, JSON.stringify(text));
    assertEquals(b64urlDecodeTable(text), null, JSON.stringify(text));
  }
  // the last character of a partial group: every value, both lengths
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (const c of alphabet) {
    same(`QU${c}`);
    same(`Q${c}`);
    same(`QUFBQU${c}`);
  }
  // random texts over the alphabet, padding and whitespace
  const chars = alphabet + "=+/ \n\t.";
  for (let i = 0; i < 2000; i++) {
    const length = i % 24;
    let text = "";
    for (let j = 0; j < length; j++) {
      text += Math.random() < 0.9
        ? alphabet[(Math.random() * 64) | 0]
        : chars[(Math.random() * chars.length) | 0];
    }
    same(text);
  }
});

Deno.test("b64: a token-sized text decodes the same on both paths, and fails on one bad character", () => {
  const bytes = crypto.getRandomValues(new Uint8Array(12000));
  const text = b64urlEncode(bytes);
  assertEquals(b64urlDecode(text)!.length, 12000);
  same(text);
  for (const bad of [" ", "=", "+", "\u00e9"]) {
    const broken = text.slice(0, 5000) + bad + text.slice(5001);
    assertEquals(b64urlDecode(broken), null);
    same(broken);
  }
  // a slice of a larger string, as tokens are taken out of a page
  const page = `<section data-sealed="v2.k1.${text}">…</section>`;
  const slice = page.slice(page.indexOf("k1.") + 3, page.indexOf('">'));
  assertEquals([...b64urlDecode(slice)!], [...bytes]);
});
