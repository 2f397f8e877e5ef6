/** The edge opens what the build sealed (fixtures written by codepages/sealing.py). */
import { b64urlDecode, b64urlEncode } from "../lib/b64.ts";
import { KeyConfigError } from "../lib/keys.ts";
import { importSealKeys, openSealed } from "../lib/seal.ts";
import { A, assert, assertEquals, B, KEYS, PLAINTEXTS, randomKey, sealForTest } from "./helpers.ts";

function tokenOf(html: string, section: string): string {
  return new RegExp(`data-section="${section}" data-sealed="([^"]+)"`).exec(html)![1];
}
const page = (path: string) =>
  Deno.readTextFileSync(new URL(`./fixtures/${PLAINTEXTS[path].file}`, import.meta.url));

Deno.test("seal: every section of the Python-sealed fixtures opens to its plaintext", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  let opened = 0;
  for (const [path, { sections }] of Object.entries(PLAINTEXTS)) {
    const html = page(path);
    for (const [section, plain] of Object.entries(sections)) {
      assert(!html.includes(plain), "the fixture itself holds no plaintext");
      assertEquals(
        await openSealed(keyring, tokenOf(html, section), path, section),
        plain,
        `${path} ${section}`,
      );
      opened++;
    }
  }
  assertEquals(opened, 18);
});

Deno.test("seal: a token opens only on its own page and section", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  const token = tokenOf(page(A), "summary");
  assertEquals(await openSealed(keyring, token, B, "summary"), null);
  assertEquals(await openSealed(keyring, token, A, "coding-tips"), null);
  assertEquals(await openSealed(keyring, token, "/cpt/62326", "summary"), null);
  assertEquals(await openSealed(keyring, token, "/CPT/62326/", "summary"), null);
  assertEquals(await openSealed(keyring, token, A, "SUMMARY"), null);
});

Deno.test("seal: any malformed, foreign or tampered token is null, never an exception", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  const token = tokenOf(page(A), "summary");
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
    "v1",
    `v2.${kid}.${nonce}.${sealed}`,
    `v1.k9.${nonce}.${sealed}`, // unknown kid
    `v1.${kid}.${nonce}.${sealed}=`,
    `v1.${kid}.${nonce}.${sealed.slice(0, -1)}`, // truncated (and non-canonical)
    `v1.${kid}.${nonce}.${sealed.slice(0, 20)}`,
    `v1.${kid}.${nonce.slice(0, 15)}.${sealed}`,
    `v1.${kid}.${nonce}A.${sealed}`,
    `v1.${kid}.${nonce}.${sealed.replace(/.$/, "+")}`,
    `v1.${kid}.${nonce}.${sealed}.extra`,
    flip(0),
    flip(bytes.length - 1), // the tag
    `v1.${kid}.${nonce}.${"A".repeat(600000)}`,
  ];
  for (const t of bad) assertEquals(await openSealed(keyring, t, A, "summary"), null, t.slice(0, 40));
  assertEquals(await openSealed(other, token, A, "summary"), null, "same kid, other key");
  assertEquals(await openSealed(keyring, token, A, "bad id!"), null);
});

Deno.test("seal: rotation — every listed key opens, the order does not matter for opening", async () => {
  const fresh = randomKey("kt2");
  const keyring = await importSealKeys(`${fresh},${KEYS.CODEPAGES_SEAL_KEYS}`);
  const old = tokenOf(page(A), "summary");
  assertEquals(await openSealed(keyring, old, A, "summary"), PLAINTEXTS[A].sections.summary);
  const sealedNew = await sealForTest(fresh, A, "summary", "<p>new</p>");
  assertEquals(await openSealed(keyring, sealedNew, A, "summary"), "<p>new</p>");
  const oldOnly = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  assertEquals(await openSealed(oldOnly, sealedNew, A, "summary"), null);
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
