/** The real edge function (functions/gate.ts) over the Python-sealed fixture pages. */
import { declarations } from "../dev/server.ts";
import { config } from "../functions/gate.ts";
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
  mintCookie,
  NOW,
  PAGES,
  stateOf,
  staticServer,
} from "./helpers.ts";

const EXHAUSTED =
  "0 code page views remaining. Guest accounts are limited to 1 page view. Register free account to get 5 more views. Already registered? Log in.";
const FREE_VIEW =
  "This is your free code page view. 0 code page views remaining. Register free account to get 5 more views.";
const REOPENED =
  "You unlocked this code page earlier, so reading it again is free. 0 code page views remaining. Register free account to get 5 more views.";

Deno.test("gate: netlify.toml declares the metered routes and errors fall back to the static (gated) page", () => {
  const toml = Deno.readTextFileSync(new URL("../../netlify.toml", import.meta.url));
  const routes = declarations(toml).map((d) => `${d.path} ${d.functionName}`);
  assertEquals(routes, [
    "/* addresses",
    "/cpt/* gate",
    "/hcpcs/* gate",
    "/icd-10-cm/* gate",
    "/auth/* auth",
    "/* account",
  ], "addresses first: a redirect never reaches the gate");
  assertEquals(config.path, undefined);
  assertEquals(config.onError, "bypass");
});

Deno.test("gate: a guest's first code page is full, with the banner and a meter cookie", async () => {
  const r = await call(A);
  assertFull(r, A, "first page");
  assertPersonalised(r, "first page");
  assertEquals(bannerOf(r.body), FREE_VIEW);
  assert(r.setCookie!.endsWith("; Path=/; Max-Age=2592000; HttpOnly; Secure; SameSite=Lax"), r.setCookie!);
  const state = (await stateOf(r.cookie))!;
  assertEquals(state.pages, [await pageKey(state.visitorId, A)]);
  assert(Math.abs(state.periodStart - NOW()) < 5);
  assertEquals(r.headers.get("content-type"), "text/html; charset=UTF-8");
  assertEquals(r.headers.get("vary"), "Accept-Encoding, Cookie");
});

Deno.test("gate: quota 1 — first page full, second gated, first again full and free", async () => {
  const first = await call(A);
  const second = await call(B, { cookie: first.cookie });
  assertEquals(second.status, 200);
  assertGated(second, "second page");
  assertEquals(bannerOf(second.body), EXHAUSTED);
  assertEquals((second.body.match(/Register to view content/g) ?? []).length, 6);
  assert(!second.body.includes("data-sealed"), "gated personalised output carries no seals either");
  assertEquals(second.setCookie, null);
  const again = await call(A, { cookie: first.cookie });
  assertFull(again, A, "re-open");
  assertEquals(again.setCookie, null, "re-opening costs nothing and rewrites nothing");
  assertEquals(bannerOf(again.body), REOPENED);
  const third = await call(C, { cookie: first.cookie });
  assertGated(third, "third page");
});

Deno.test("gate: larger quotas count down; settings come from the environment", async () => {
  const env = {
    ...BASE_ENV,
    CODEPAGES_GUEST_VIEWS: "2",
    CODEPAGES_FREE_ACCOUNT_EXTRA_VIEWS: "7",
    CODEPAGES_METER_PERIOD_DAYS: "7",
  };
  const a = await call(A, { env });
  assertEquals(
    bannerOf(a.body),
    "This page used one of your 2 free code page views. 1 code page view remaining. Register free account to get 7 more views.",
  );
  assert(a.setCookie!.includes("Max-Age=604800"));
  const b = await call(B, { env, cookie: a.cookie });
  assertFull(b, B);
  assertEquals(
    bannerOf(b.body),
    "This page used one of your 2 free code page views. 0 code page views remaining. Register free account to get 7 more views.",
  );
  const c = await call(C, { env, cookie: b.cookie });
  assertGated(c);
  assertEquals(
    bannerOf(c.body),
    "0 code page views remaining. Guest accounts are limited to 2 page views. Register free account to get 7 more views. Already registered? Log in.",
  );
});

Deno.test("gate: an expired period starts a new one", async () => {
  const old = await mintCookie([A], { periodStart: NOW() - 31 * 86400 });
  const r = await call(B, { cookie: old });
  assertFull(r, B);
  const state = (await stateOf(r.cookie))!;
  assertEquals(state.visitorId, (await stateOf(old))!.visitorId);
  assert(state.periodStart >= NOW() - 5);
  const backToA = await call(A, { cookie: r.cookie });
  assertGated(backToA, "A was unlocked in the previous period only");
});

Deno.test("gate: the static request carries no conditional or range headers", async () => {
  const server = staticServer();
  await call(A, {
    server,
    headers: {
      "if-none-match": '"static-etag-1"',
      "if-modified-since": "Fri, 01 Jan 2100 00:00:00 GMT",
      range: "bytes=0-10",
      "accept-language": "en",
    },
  });
  assertEquals(server.requests.length, 1);
  const sent = server.requests[0];
  for (const h of ["if-none-match", "if-modified-since", "range"]) assert(!sent.headers.has(h), h);
  assertEquals(sent.headers.get("accept-language"), "en");
  assertEquals(sent.method, "GET");
});

Deno.test("gate: pages without a sealed section are not charged and show no meter banner", async () => {
  const plain = PAGES[A].replace(/ data-sealed="[^"]*"/g, "");
  const server = staticServer({ ...PAGES, [A]: plain });
  const r = await call(A, { server });
  assertEquals(r.setCookie, null);
  assertEquals(bannerOf(r.body), null, "nothing is metered here: no 'limited to 1 page view'");
  assertEquals(r.body, plain, "the static page, unchanged");
  const spent = (await call(B)).cookie!;
  assertEquals(
    bannerOf((await call(A, { server, cookie: spent })).body),
    null,
    "not even with a spent meter",
  );
});

Deno.test("gate: non-HTML and non-200 static responses pass through untouched", async () => {
  const r404 = await call("/cpt/99999/");
  assertEquals(r404.status, 404);
  assertEquals(r404.setCookie, null);
  const server = staticServer({ [A]: "{}" });
  server.context.next = () =>
    Promise.resolve(new Response("{}", { headers: { "content-type": "application/json", etag: '"j"' } }));
  const json = await call(A, { server });
  assertEquals([json.body, json.headers.get("etag"), json.setCookie], ["{}", '"j"', null]);
});

Deno.test("gate: a failure of the static request itself propagates (Netlify then bypasses the function)", async () => {
  const server = staticServer();
  server.context.next = () => Promise.reject(new Error("origin down"));
  let failed = false;
  try {
    await call(A, { server });
  } catch {
    failed = true;
  }
  assert(failed);
});
