/** The page as one character per byte (lib/fast_crypto.ts latin1): what page.ts searches. */
import { latin1, latin1Portable } from "../lib/fast_crypto.ts";
import { readPageBytes } from "../lib/page.ts";
import { A, assert, assertEquals, PAGES } from "./helpers.ts";

const encoder = new TextEncoder();

Deno.test("latin1: every byte is the one character of its value, on any alignment, in both decoders", () => {
  const every = new Uint8Array(256).map((_, i) => i);
  const long = new Uint8Array(50_000).map((_, i) => (i * 7919) & 255); // past the portable decoder's chunks
  for (const bytes of [every, long, new Uint8Array(0), every.subarray(3, 200)]) {
    for (const decode of [latin1, latin1Portable]) {
      const text = decode(bytes);
      assertEquals(text.length, bytes.length, decode.name);
      assert([...bytes].every((b, i) => text.charCodeAt(i) === b), `${decode.name}: byte ${bytes.length}`);
    }
  }
});

Deno.test("latin1: positions in the searched page are the bytes' offsets, whatever characters come before", () => {
  const html = PAGES[A].replace("<main", "<p>é … \u{1F600} 日本</p><main");
  const bytes = encoder.encode(html);
  const page = readPageBytes(bytes);
  assertEquals(page.html, html);
  for (const t of page.tags) {
    const tag = new TextDecoder().decode(bytes.subarray(t.start, t.end));
    assert(tag.startsWith("<section") && tag.endsWith(">") && tag.includes(`data-section="${t.id}"`), tag);
  }
  assertEquals(page.tags.length, 6);
});
