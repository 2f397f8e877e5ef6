/** The edge opens what the build sealed (fixtures written by codepages/sealing.py). */
import { b64urlDecode, b64urlEncode } from "../lib/b64.ts";
import { inflateRaw, inflateRawWeb } from "../lib/fast_crypto.ts";
import { KeyConfigError } from "../lib/keys.ts";
import { MAX_SEALED_PLAINTEXT_BYTES as MAX_PLAINTEXT_BYTES } from "../lib/limits.ts";
import { importSealKeys, openPageSeal, type SealKeyring } from "../lib/seal.ts";
import {
  A,
  assert,
  assertEquals,
  B,
  KEYS,
  pageSealOf,
  PLAINTEXTS,
  randomKey,
  sealBundleForTest,
  sealForTest,
} from "./helpers.ts";

const page = (path: string) =>
  Deno.readTextFileSync(new URL(`./fixtures/${PLAINTEXTS[path].file}`, import.meta.url));
/** the ids of a page's protected sections, in page order, as its markup lists them */
const idsOf = (path: string) => Object.keys(PLAINTEXTS[path].sections);

/** The opened sections as id → HTML, or null. */
async function opened(
  keyring: SealKeyring,
  token: string,
  path: string,
  ids = idsOf(path),
): Promise<Record<string, string> | null> {
  const sections = await openPageSeal(keyring, token, path, ids);
  return sections && Object.fromEntries([...sections].map(([id, section]) => [id, section.html]));
}

Deno.test("seal: every page of the Python-sealed fixtures opens to its sections' plaintext", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  let sections = 0;
  for (const [path, { sections: expected }] of Object.entries(PLAINTEXTS)) {
    const html = page(path);
    for (const plain of Object.values(expected)) {
      assert(!html.includes(plain), "the fixture holds no plaintext");
    }
    assertEquals(await opened(keyring, pageSealOf(html), path), expected, path);
    const bytes = await openPageSeal(keyring, pageSealOf(html), path, idsOf(path));
    for (const [id, section] of bytes!) {
      assertEquals(
        new TextDecoder().decode(section.bytes),
        expected[id],
        `${path} ${id}: bytes and text agree`,
      );
    }
    sections += Object.keys(expected).length;
  }
  assertEquals(sections, 18);
});

Deno.test("seal: a page's seal opens only on its own page, with exactly its sections in their order", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  const token = pageSealOf(page(A));
  for (const path of [B, "/cpt/62326", "/CPT/62326/", "/cpt/623/62326", `${A}x/`]) {
    assertEquals(await openPageSeal(keyring, token, path, idsOf(A)), null, path);
  }
  const ids = idsOf(A);
  for (
    const [name, other] of Object.entries({
      "two sections swapped": [ids[1], ids[0], ...ids.slice(2)],
      "one section missing": ids.slice(1),
      "one section more": [...ids, "extra"],
      "one section renamed": ["overview", ...ids.slice(1)],
      "a section twice": [ids[0], ...ids],
      "none": [],
      "an id the markup cannot hold": ["Summary", ...ids.slice(1)],
    })
  ) {
    assertEquals(await openPageSeal(keyring, token, A, other), null, name);
  }
});

Deno.test("seal: any malformed, foreign or tampered token is null, never an exception", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  const token = pageSealOf(page(A));
  const [v, kid, nonce, sealed] = token.split(".");
  const bytes = b64urlDecode(sealed)!;
  const flip = (i: number) => {
    const copy = bytes.slice();
    copy[i] ^= 1;
    return `${v}.${kid}.${nonce}.${b64urlEncode(copy)}`;
  };
  const other = await importSealKeys(`kt1:${randomKey("x").split(":")[1]}`);
  const bad = [
    "",
    "v2",
    `v1.${kid}.${nonce}.${sealed}`, // the old per-section format
    `v3.${kid}.${nonce}.${sealed}`,
    `v2.k9.${nonce}.${sealed}`, // unknown kid
    `v2.${kid}.${nonce}.${sealed}=`,
    `v2.${kid}.${nonce}.${sealed.slice(0, -1)}`, // truncated (and non-canonical)
    `v2.${kid}.${nonce}.${sealed.slice(0, 20)}`,
    `v2.${kid}.${nonce.slice(0, 15)}.${sealed}`,
    `v2.${kid}.${nonce}A.${sealed}`,
    `v2.${kid}.${nonce}.${sealed.replace(/.$/, "+")}`,
    `v2.${kid}.${nonce}.${sealed}.extra`,
    flip(0),
    flip(bytes.length - 1), // the tag
    `v2.${kid}.${nonce}.${"A".repeat(600000)}`,
  ];
  for (const t of bad) assertEquals(await openPageSeal(keyring, t, A, idsOf(A)), null, t.slice(0, 40));
  assertEquals(await openPageSeal(other, token, A, idsOf(A)), null, "same kid, other key");
});

Deno.test("seal: a sealed plaintext that is not a bundle of the sections opens to nothing", async () => {
  const key = KEYS.CODEPAGES_SEAL_KEYS;
  const keyring = await importSealKeys(key);
  const ids = ["summary"];
  const sealBundle = (...parts: (string | Uint8Array<ArrayBuffer>)[]) =>
    sealBundleForTest(key, A, ids, new Blob(parts));
  const good = await sealBundle("[5]\n", "<p>a>");
  assertEquals(await opened(keyring, good, A, ids), { summary: "<p>a>" }, "the well-formed bundle opens");
  const bad = {
    "no header line": await sealBundle("<p>a</p>"),
    "empty header": await sealBundle("[]\n"),
    "header not JSON": await sealBundle("[5\n<p>a>"),
    "header not a list": await sealBundle('{"summary":5}\n<p>a>'),
    "more lengths than sections": await sealBundle("[2,3]\n", "<p>a>"),
    "length short of the data": await sealBundle("[4]\n", "<p>a>"),
    "length past the data": await sealBundle("[6]\n", "<p>a>"),
    "negative length": await sealBundle("[-1]\n"),
    "fractional length": await sealBundle("[0.5]\n", "x"),
    "a section that is not UTF-8": await sealBundle("[2]\n", new Uint8Array([0xc3, 0x28])),
    "more than a page may inflate to": await sealBundle(
      `[${MAX_PLAINTEXT_BYTES}]\n`,
      new Uint8Array(MAX_PLAINTEXT_BYTES),
    ),
    "not compressed": await sealBundleForTest(key, A, ids, new Blob(["[5]\n<p>a>"]), false),
  };
  for (const [name, token] of Object.entries(bad)) {
    assertEquals(await openPageSeal(keyring, token, A, ids), null, name);
  }
});

Deno.test("seal: rotation — every listed key opens, the order does not matter for opening", async () => {
  const fresh = randomKey("kt2");
  const keyring = await importSealKeys(`${fresh},${KEYS.CODEPAGES_SEAL_KEYS}`);
  const old = pageSealOf(page(A));
  assertEquals(await opened(keyring, old, A), PLAINTEXTS[A].sections);
  const sealedNew = await sealForTest(fresh, A, { summary: "<p>new</p>" });
  assertEquals(await opened(keyring, sealedNew, A, ["summary"]), { summary: "<p>new</p>" });
  const oldOnly = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  assertEquals(await openPageSeal(oldOnly, sealedNew, A, ["summary"]), null);
});

Deno.test("seal: key list format errors name the variable", async () => {
  const good = KEYS.CODEPAGES_SEAL_KEYS.split(":")[1];
  for (
    const value of [
      undefined,
      "",
      "nokid",
      `k1:${good},k1:${good}`,
      "k1:***",
      `k1:${good.slice(0, 20)}`,
      `a.b:${good}`,
      `k1:${good},`,
    ]
  ) {
    let error: unknown = null;
    try {
      await importSealKeys(value);
    } catch (e) {
      error = e;
    }
    assert(error instanceof KeyConfigError, `no error for ${value}`);
    assert((error as Error).message.includes("CODEPAGES_SEAL_KEYS"), (error as Error).message);
    assert(!(error as Error).message.includes(good), "key material in an error message");
  }
  // standard base64 with padding, and spaces around entries, are accepted
  const std = btoa(String.fromCharCode(...b64urlDecode(good.replace(/=+$/, ""))!));
  assertEquals((await importSealKeys(` k1:${std} , ${KEYS.CODEPAGES_SEAL_KEYS}`)).keys.size, 2);
});

Deno.test("seal: node:zlib's inflate and the web's DecompressionStream agree, limit included", async () => {
  const deflate = async (bytes: Uint8Array<ArrayBuffer>) =>
    await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate-raw"))).bytes();
  const text = new TextEncoder().encode(JSON.stringify(PLAINTEXTS).repeat(20));
  const compressed = await deflate(text);
  for (const inflate of [inflateRaw, inflateRawWeb]) {
    assertEquals([...(await inflate(compressed, text.length))!], [...text], inflate.name);
    assertEquals(await inflate(compressed, text.length - 1), null, `${inflate.name}: over the limit`);
    // Deno's DecompressionStream ends a truncated stream without an error; what it gives is a
    // prefix, which the bundle's lengths then reject (and AES-GCM's tag already covers the whole)
    const truncated = await inflate(compressed.subarray(0, 40), text.length);
    if (inflate === inflateRaw) assertEquals(truncated, null, "node:zlib: truncated");
    else assert(truncated === null || text.slice(0, truncated.length).every((b, i) => b === truncated[i]));
    assertEquals(
      await inflate(new Uint8Array([0xff, 0xff, 0xff]), 100),
      null,
      `${inflate.name}: not DEFLATE`,
    );
  }
});
