/**
 * Attack battery against the real handler. Every case checks that no protected plaintext
 * leaves unless the meter allows it, and that the meter stays exact (quota 1 unless said).
 */
import { b64urlEncode } from "../lib/b64.ts";
import { pageKey } from "../lib/meter.ts";
import {
  A,
  assert,
  assertEquals,
  assertFull,
  assertGated,
  assertPersonalised,
  B,
  bannerOf,
  BASE_ENV,
  C,
  call,
  type Env,
  KEYS,
  mintCookie,
  NOW,
  PAGES,
  pageSealOf,
  PLAINTEXTS,
  randomKey,
  RANGE,
  RANGE_PAGE,
  type Result,
  stateOf,
  staticServer,
} from "./helpers.ts";

const NO_GUEST_VIEWS: Env = { ...BASE_ENV, CODEPAGES_GUEST_VIEWS: "0" };

/** A cookie that reads as no cookie: the visitor is treated as new (a fresh meter, never more). */
async function assertTreatedAsNew(cookie: string, env: Env = BASE_ENV): Promise<void> {
  const claimed = await call(B, { cookie, env });
  assertFull(claimed, B, "fresh meter: one page");
  const fresh = (await stateOf(claimed.cookie, env.CODEPAGES_METER_KEYS!))!;
  assert(fresh !== null, "a new, valid cookie replaces the bad one");
  assertEquals(fresh.pages, [await pageKey(fresh.visitorId, B)], "the new meter holds exactly this page");
  const next = await call(C, { cookie: claimed.cookie, env });
  assertGated(next, "no second page on the fresh meter");
  // and with no guest views at all, the bad cookie's claims grant nothing
  const none = await call(A, { cookie, env: { ...env, CODEPAGES_GUEST_VIEWS: "0" } });
  assertGated(none, "claims of a bad cookie are never honoured");
  assertEquals(none.setCookie, null);
}

async function unlockedA(): Promise<string> {
  const r = await call(A);
  assertFull(r, A);
  return r.cookie!;
}

Deno.test("attack 01: no cookie — exactly one page per fresh meter", async () => {
  const r = await call(A);
  assertFull(r, A);
  const second = await call(B, { cookie: null });
  assertFull(second, B, "no cookie = a new guest (the guest meter lives only in its cookie)");
  assertGated(await call(C, { cookie: second.cookie }), "but that new meter is spent too");
});

Deno.test("attack 02: malformed cookies read as none", async () => {
  const legit = await mintCookie([A, B, C], { keys: KEYS.CODEPAGES_METER_KEYS });
  for (
    const bad of [
      "x",
      "v1",
      "v1......",
      legit.replace(/\./g, "|"),
      legit.toUpperCase(),
      `"${legit}"`,
      "%00",
      legit.replace("v1.", "v1.."),
    ]
  ) {
    await assertTreatedAsNew(bad);
  }
});

Deno.test("attack 03: forged signature (attacker's key under our key id) reads as none", async () => {
  const forged = await mintCookie([A, B, C], { keys: randomKey("mk1") });
  await assertTreatedAsNew(forged);
});

Deno.test("attack 04: truncated cookies read as none", async () => {
  const legit = await mintCookie([A]);
  for (
    const cut of [
      legit.slice(0, -1),
      legit.slice(0, -43),
      legit.slice(0, legit.length / 2),
      legit.slice(0, legit.lastIndexOf(".")),
    ]
  ) {
    await assertTreatedAsNew(cut);
  }
});

const FOREIGN_PAGE_KEY = "ffffffffffffffff";

Deno.test("attack 05: payload edited (page added, visitor swapped, period moved) reads as none", async () => {
  const legit = await mintCookie([A]);
  const parts = legit.split(".");
  const edits = [
    parts.map((p, i) => (i === 5 ? `${p}-${"0".repeat(16)}` : p)).join("."),
    parts.map((p, i) => (i === 5 ? FOREIGN_PAGE_KEY : p)).join("."),
    parts.map((p, i) => (i === 2 ? b64urlEncode(new Uint8Array(16)) : p)).join("."),
    parts.map((p, i) => (i === 3 ? String(Number(p) + 1) : p)).join("."),
    parts.map((p, i) => (i === 6 ? p.slice(0, -2) + (p.endsWith("AA") ? "AQ" : "AA") : p)).join("."),
  ];
  for (const edit of edits) await assertTreatedAsNew(edit);
});

Deno.test("attack 06: cookie signed with an old key is accepted while listed, then re-signed with the new key", async () => {
  const newKey = randomKey("mk2");
  const rotated: Env = { ...BASE_ENV, CODEPAGES_METER_KEYS: `${newKey},${KEYS.CODEPAGES_METER_KEYS}` };
  const old = await unlockedA();
  const reopen = await call(A, { cookie: old, env: rotated });
  assertFull(reopen, A, "old-key cookie honoured");
  assert(reopen.cookie!.startsWith("v1.mk2."), "re-signed with the current key");
  assertEquals((await stateOf(reopen.cookie, newKey))!.pages, (await stateOf(old))!.pages, "same meter");
  assertGated(await call(B, { cookie: old, env: rotated }), "and exact: B still gated");
  assertGated(await call(B, { cookie: reopen.cookie, env: rotated }));
});

Deno.test("attack 07: cookie signed with a key removed from the list reads as none", async () => {
  const newKey = randomKey("mk2");
  const old = await unlockedA();
  await assertTreatedAsNew(old, { ...BASE_ENV, CODEPAGES_METER_KEYS: newKey });
});

Deno.test("attack 08: unknown key id reads as none", async () => {
  const other = randomKey("zz9");
  const cookie = await mintCookie([A], { keys: other });
  await assertTreatedAsNew(cookie);
});

Deno.test("attack 09: a cookie copied from another visitor grants exactly that visitor's meter", async () => {
  const victim = await unlockedA();
  for (let visitor = 0; visitor < 2; visitor++) {
    assertFull(await call(A, { cookie: victim }), A, "the page the meter already unlocked");
    const b = await call(B, { cookie: victim });
    assertGated(b, "nothing beyond it");
    assertEquals(b.setCookie, null);
  }
});

Deno.test("attack 10: a cookie claiming more pages than the quota grants only the quota's first pages", async () => {
  const greedy = await mintCookie([A, B, C]);
  const a = await call(A, { cookie: greedy });
  assertFull(a, A, "first listed page");
  assert(bannerOf(a.body)!.startsWith("You unlocked this code page earlier"), bannerOf(a.body)!);
  for (const path of [B, C, "/hcpcs/J1040/"]) {
    const r = await call(path, {
      cookie: greedy,
      server: staticServer({ ...PAGES, "/hcpcs/J1040/": PAGES[C] }),
    });
    assertGated(r, path);
    assertEquals(r.setCookie, null);
  }
});

Deno.test("attack 11: oversized cookie (validly signed) reads as none", async () => {
  const pages = Array.from({ length: 190 }, (_, i) => i.toString(16).padStart(16, "0")).join("-");
  const body = `v1.mk1.${b64urlEncode(new Uint8Array(16))}.${NOW() - 60}.${NOW() - 60}.${pages}`;
  const raw = Uint8Array.from(
    atob(KEYS.CODEPAGES_METER_KEYS.split(":")[1].replace(/-/g, "+").replace(/_/g, "/")),
    (c) => c.charCodeAt(0),
  );
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const big = `${body}.${
    b64urlEncode(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body))))
  }`;
  assert(big.length > 3072, String(big.length));
  await assertTreatedAsNew(big);
});

Deno.test("attack 12: many meter cookies in one header — only a valid one counts, never their union", async () => {
  const a = await unlockedA();
  const b = (await call(B)).cookie!;
  const both = `__Host-cp_meter=${a}; __Host-cp_meter=${b}`;
  const rC = await call(C, { headers: { cookie: both } });
  assertGated(rC, "two spent meters do not add up");
  const rA = await call(A, { headers: { cookie: `__Host-cp_meter=garbage; ${both}` } });
  assertFull(rA, A);
  const rB = await call(B, { headers: { cookie: both } });
  assertGated(rB, "the first valid cookie is the meter");
});

const VARIANTS: [string, string][] = [
  ["index.html", "/cpt/62326/index.html"],
  ["other case", "/CPT/62326/"],
  ["missing trailing slash", "/cpt/62326"],
  ["%2F-encoded separator", "/cpt%2F62326/"],
  ["double slashes", "//cpt//62326//"],
  ["query string", "/cpt/62326/?utm_source=x&summary=1"],
  ["fragment", "/cpt/62326/#summary"],
  ["percent-encoded code", "/cpt/%36%32%33%32%36/"],
];
for (const [name, variant] of VARIANTS) {
  Deno.test(`attack 13: path variant (${name}) neither bypasses the meter nor is charged again`, async () => {
    // fresh visitor: the variant charges the canonical page...
    const first = await call(variant);
    assertFull(first, A, variant);
    assertEquals((await stateOf(first.cookie))!.pages, [
      await pageKey((await stateOf(first.cookie))!.visitorId, A),
    ]);
    // ...so the canonical page is free afterwards, and B is gated
    const canonical = await call(A, { cookie: first.cookie });
    assertFull(canonical, A);
    assertEquals(canonical.setCookie, null);
    assertGated(await call(B, { cookie: first.cookie }));
    // a meter spent on B gets the variant gated
    const spent = (await call(B)).cookie!;
    const gated = await call(variant, { cookie: spent });
    assertGated(gated, variant);
    assertPersonalised(gated, variant);
    assertEquals(gated.setCookie, null);
  });
}

Deno.test("attack 14: range pages and indexes are not metered and pass through untouched", async () => {
  const server = staticServer({
    ...PAGES,
    [RANGE]: RANGE_PAGE,
    "/cpt/62320-62327": RANGE_PAGE,
    "/cpt/": RANGE_PAGE,
  });
  const spent = (await call(B)).cookie!;
  for (const path of [RANGE, "/cpt/62320-62327", "/cpt/"]) {
    const r = await call(path, { server, cookie: spent });
    assertEquals([r.status, r.body, r.setCookie], [200, RANGE_PAGE, null], path);
    assertEquals(r.headers.get("etag"), '"static-etag-1"', "untouched static response");
  }
});

Deno.test("attack 15: HEAD returns personalised headers only, charges nothing, sets no cookie", async () => {
  const r = await call(A, { method: "HEAD" });
  assertEquals([r.status, r.body, r.setCookie], [200, "", null]);
  assertPersonalised(r, "HEAD");
  const afterHead = await call(B, { method: "HEAD" });
  assertEquals(afterHead.setCookie, null);
  const spent = (await call(B)).cookie!;
  const head = await call(A, { method: "HEAD", cookie: spent });
  assertEquals([head.body, head.setCookie], ["", null]);
});

Deno.test("attack 16: POST (and other methods) get the static gated page, never plaintext", async () => {
  const a = await unlockedA();
  for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]) {
    const server = staticServer();
    const r = await call(A, { method, cookie: a, server });
    assertGated(r, method);
    assertEquals(r.setCookie, null, method);
    assertEquals(server.requests.length, 1);
  }
  const fresh = await call(B, { method: "POST" });
  assertGated(fresh);
  assertEquals(fresh.setCookie, null, "POST does not charge");
});

Deno.test("attack 17: If-None-Match with the static ETag gets the full personalised page, not a 304", async () => {
  const r = await call(A, { headers: { "if-none-match": '"static-etag-1"' } });
  assertFull(r, A, "conditional GET");
  assertPersonalised(r);
  const a = r.cookie!;
  const gated = await call(B, {
    cookie: a,
    headers: { "if-none-match": '"static-etag-1"', "if-match": "*" },
  });
  assertEquals(gated.status, 200);
  assertGated(gated);
  assertPersonalised(gated);
});

Deno.test("attack 18: If-Modified-Since and Range get the full page, no validators", async () => {
  const r = await call(A, { headers: { "if-modified-since": "Fri, 01 Jan 2100 00:00:00 GMT" } });
  assertFull(r, A, "If-Modified-Since");
  assertPersonalised(r);
  const ranged = await call(A, {
    cookie: r.cookie,
    headers: { range: "bytes=0-99", "if-range": '"static-etag-1"' },
  });
  assertFull(ranged, A, "Range");
  assertPersonalised(ranged);
  assert(!ranged.headers.has("content-range") && !ranged.headers.has("accept-ranges"));
});

Deno.test("attack 19: cache headers on every personalised response", async () => {
  const first = await call(A);
  const responses: [string, Result][] = [
    ["allowed", first],
    ["re-open", await call(A, { cookie: first.cookie })],
    ["gated", await call(B, { cookie: first.cookie })],
    ["HEAD", await call(C, { method: "HEAD" })],
    ["no seal key", await call(A, { env: { ...BASE_ENV, CODEPAGES_SEAL_KEYS: undefined } })],
    ["no meter key", await call(A, { env: { ...BASE_ENV, CODEPAGES_METER_KEYS: undefined } })],
    ["error fallback", await call(A, { env: throwingEnv() })],
  ];
  for (const [name, r] of responses) assertPersonalised(r, name);
});

Deno.test("attack 20: a page's seal copied into another page does not open there", async () => {
  const pageB = PAGES[B].replace(pageSealOf(PAGES[B]), pageSealOf(PAGES[A]));
  const r = await call(B, { server: staticServer({ ...PAGES, [B]: pageB }) });
  assertGated(r, "A's seal on B");
  assertEquals(r.status, 200);
  assertEquals(
    (r.body.match(/Register to view content/g) ?? []).length,
    Object.keys(PLAINTEXTS[B].sections).length,
    "every section of B keeps its placeholder",
  );
  assert(!r.body.includes("data-sealed="), "no seal in the output");
  // a second seal on a page (A's beside B's own) opens nothing either: the build writes one
  const twoSeals = PAGES[B].replace(
    /(<section[^>]*data-section="coding-tips")/,
    `$1 data-sealed="${pageSealOf(PAGES[A])}"`,
  );
  const t = await call(B, { server: staticServer({ ...PAGES, [B]: twoSeals }) });
  assertGated(t, "two seals on one page");
  // sections swapped inside one page do not open either
  const swapped = PAGES[A].replace('data-section="summary"', 'data-section="TMP"')
    .replace('data-section="coding-tips"', 'data-section="summary"').replace(
      'data-section="TMP"',
      'data-section="coding-tips"',
    );
  const s = await call(A, { server: staticServer({ ...PAGES, [A]: swapped }) });
  assert(
    !s.body.includes("PROTECTED-PLAINTEXT:cpt/62326:summary") &&
      !s.body.includes("PROTECTED-PLAINTEXT:cpt/62326:coding-tips"),
  );
});

Deno.test("attack 21: the page served for a path must be that path's page — another page's seals do not open", async () => {
  // a static host that answers /cpt/62327/ with 62326's file (misrouting): nothing opens, nothing is charged
  const r = await call("/cpt/62327/", { server: staticServer({ ...PAGES, "/cpt/62327/": PAGES[A] }) });
  assertGated(r);
  assertEquals(r.setCookie, null);
});

Deno.test("attack 22: wrong seal key at the edge — 200, gated, no plaintext, nothing charged", async () => {
  const r = await call(A, { env: { ...BASE_ENV, CODEPAGES_SEAL_KEYS: randomKey("kt1") } });
  assertEquals(r.status, 200);
  assertGated(r);
  assertEquals(r.setCookie, null);
  assertEquals(
    bannerOf(r.body),
    "The protected sections of this page cannot be opened right now; no view was used. Please try again in a few minutes.",
  );
  assert(!r.body.includes("data-sealed"));
});

Deno.test("attack 23: missing or malformed seal key at the edge — 200, gated, nothing charged", async () => {
  for (const value of [undefined, "", "kt1:short", "garbage"]) {
    const r = await call(A, { env: { ...BASE_ENV, CODEPAGES_SEAL_KEYS: value } });
    assertEquals(r.status, 200);
    assertGated(r, String(value));
    assertEquals(r.setCookie, null);
  }
});

Deno.test("attack 24: missing meter key at the edge — gated for everyone, no cookie", async () => {
  for (const value of [undefined, "mk1:short"]) {
    const r = await call(A, { env: { ...BASE_ENV, CODEPAGES_METER_KEYS: value } });
    assertEquals(r.status, 200);
    assertGated(r);
    assertEquals(r.setCookie, null);
  }
});

function throwingEnv(): Env {
  return new Proxy({ ...BASE_ENV }, {
    get(target, name) {
      if (name === "CODEPAGES_GUEST_VIEWS") throw new Error("env exploded");
      return target[name as string];
    },
  });
}

Deno.test("attack 25: any exception inside serves the static gated page with 200", async () => {
  const a = await unlockedA();
  const r = await call(A, { cookie: a, env: throwingEnv() });
  assertEquals(r.status, 200);
  assertGated(r);
  assertEquals(r.setCookie, null);
  assert(r.body.includes("Register to view content"));
});

Deno.test("attack 26: quota 0 — nothing opens for anyone, even with a cookie that unlocked the page", async () => {
  const a = await unlockedA();
  for (const cookie of [null, a]) {
    const r = await call(A, { cookie, env: NO_GUEST_VIEWS });
    assertGated(r);
    assertEquals(r.setCookie, null);
  }
});
