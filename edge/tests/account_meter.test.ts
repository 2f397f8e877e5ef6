/**
 * Account meters against a real PostgreSQL with db/migrations applied (`make test` starts one
 * with dev/localdb.py and passes CODEPAGES_TEST_DATABASE_URL): exactness under parallel
 * requests, carrying a guest's pages into the account, the free-account placeholder, outages.
 */
import { accountStore, closePools } from "../lib/account_store.ts";
import { pageKey } from "../lib/meter.ts";
import {
  callGate,
  DATABASE_URL,
  FREE_TEMPLATE,
  IN_CI,
  mintSession,
  morePages,
  NET,
  pagesWithTemplate,
  SESSION_KEYS,
} from "./auth_helpers.ts";
import {
  A,
  assert,
  assertEquals,
  assertFull,
  assertGated,
  B,
  bannerOf,
  BASE_ENV,
  C,
  mintCookie,
  type Result,
} from "./helpers.ts";

const ISSUER = "https://idp.codepages.test";
const ready = NET && DATABASE_URL !== undefined;
const options = { ignore: !ready && !IN_CI, sanitizeOps: false, sanitizeResources: false };

function env(extra: Record<string, string | undefined> = {}) {
  return {
    ...BASE_ENV,
    CODEPAGES_SESSION_KEYS: SESSION_KEYS,
    OIDC_ISSUER: ISSUER,
    DATABASE_URL,
    ...extra,
  };
}

function result(a: Awaited<ReturnType<typeof callGate>>): Result {
  return {
    status: a.status,
    body: a.body,
    headers: a.headers,
    cookie: null,
    setCookie: a.headers.get("set-cookie"),
    server: undefined as never,
  };
}

const UPGRADE =
  "0 code page views remaining. Free accounts are limited to 6 code page views every 30 days. Upgrade to a subscription to unlock every code page.";

function test(name: string, fn: () => Promise<void>) {
  Deno.test({ name, ...options, fn });
}

test("account meter: a free account reads 6 distinct pages (1 + 5), the 7th shows the upgrade placeholder", async () => {
  const pages = await morePages(7);
  const session = `__Host-cp_session=${await mintSession(ISSUER)}`;
  const paths = Object.keys(pages);
  for (const [i, path] of paths.slice(0, 6).entries()) {
    const r = await callGate(path, env(), session, pages);
    assertEquals(r.status, 200);
    assert(!r.body.includes("<!--locked:"), `page ${i + 1} opened`);
    assertEquals(
      bannerOf(r.body),
      `This code page used one of your free account's views. ${5 - i} code page view${
        5 - i === 1 ? "" : "s"
      } remaining.`,
    );
    assertEquals(r.headers.get("cache-control"), "private, no-store");
  }
  const seventh = await callGate(paths[6], env(), session, pages);
  assertGated(result(seventh), "7th page");
  assertEquals(bannerOf(seventh.body), UPGRADE);
  const locked = (seventh.body.match(/<!--locked:/g) ?? []).length;
  assert(locked >= 5, "every protected section is locked");
  assertEquals(
    (seventh.body.match(/Upgrade to view content/g) ?? []).length,
    locked + 1,
    "each section + the template itself",
  );
  assert(!seventh.body.includes("Register to view content"), "no guest placeholder for an account");
  const again = await callGate(paths[0], env(), session, pages);
  assert(!again.body.includes("<!--locked:"), "re-opening an unlocked page is free");
  assertEquals(
    bannerOf(again.body),
    "You unlocked this code page earlier, so reading it again is free. 0 code page views remaining.",
  );
  // clearing cookies changes nothing: the meter is the account's, keyed by its subject
  const sameAccount = await callGate(paths[6], env(), session, pages);
  assertGated(result(sameAccount), "still gated");
});

test("account meter (attack): the last free view requested by ten parallel requests — exactly one wins", async () => {
  const pages = await morePages(15);
  const paths = Object.keys(pages);
  const subject = `racer-${crypto.randomUUID()}`;
  const session = `__Host-cp_session=${await mintSession(ISSUER, { subject })}`;
  for (const path of paths.slice(0, 5)) {
    assert(!(await callGate(path, env(), session, pages)).body.includes("<!--locked:"));
  }
  const racers = paths.slice(5, 15);
  const answers = await Promise.all(racers.map((path) => callGate(path, env(), session, pages)));
  const winners = answers.filter((a) => !a.body.includes("<!--locked:"));
  assertEquals(winners.length, 1, "exactly one of ten parallel requests gets the last view");
  for (const a of answers) assertEquals(a.status, 200);
  for (const a of answers.filter((x) => x !== winners[0])) assertEquals(bannerOf(a.body), UPGRADE);
  // and the store agrees: 6 pages unlocked, no more
  const store = accountStore((n) => env()[n as keyof ReturnType<typeof env>])!;
  const check = await store.view({
    subject,
    pagePath: "/cpt/00000/",
    quota: 6,
    periodDays: 30,
    charge: false,
  });
  assertEquals(check, { unlocked: false, used: 6, charged: false });
});

test("account meter: ten parallel requests at the store itself — exactly one row is added", async () => {
  const store = accountStore((n) => env()[n as keyof ReturnType<typeof env>])!;
  const subject = `race-${crypto.randomUUID()}`;
  for (let i = 0; i < 5; i++) {
    assertEquals(
      (await store.view({ subject, pagePath: `/cpt/1000${i}/`, quota: 6, periodDays: 30, charge: true }))
        .unlocked,
      true,
    );
  }
  const results = await Promise.all(
    Array.from(
      { length: 10 },
      (_, i) =>
        store.view({ subject, pagePath: `/hcpcs/J${1000 + i}/`, quota: 6, periodDays: 30, charge: true }),
    ),
  );
  assertEquals(results.filter((r) => r.unlocked).length, 1);
  assertEquals(results.every((r) => r.used === 6), true);
});

test("account meter: a guest's unlocked page carries into the account at sign-in (and costs one view)", async () => {
  const pages = pagesWithTemplate();
  const guest = await mintCookie([A]);
  const session = `__Host-cp_session=${await mintSession(ISSUER)}`;
  const cookie = `__Host-cp_meter=${guest}; ${session}`;
  const first = await callGate(B, env(), cookie, pages);
  assertFull(result(first), B, "a new page for the account");
  assertEquals(
    bannerOf(first.body),
    "This code page used one of your free account's views. 4 code page views remaining.",
    "A (carried) and B are counted",
  );
  const carried = await callGate(A, env(), session, pages); // even without the guest cookie now
  assertFull(result(carried), A, "the guest's page stays unlocked");
  assertEquals(
    bannerOf(carried.body),
    "You unlocked this code page earlier, so reading it again is free. 4 code page views remaining.",
    "re-opening it is free",
  );
  // carrying is idempotent
  await callGate(C, env(), cookie, pages);
  const after = await callGate(C, env(), cookie, pages);
  assertEquals(
    bannerOf(after.body),
    "You unlocked this code page earlier, so reading it again is free. 3 code page views remaining.",
  );
});

test("account meter: a carried guest meter never exceeds the account's quota", async () => {
  const pages = pagesWithTemplate();
  const quotaEnv = env({ CODEPAGES_GUEST_VIEWS: "3", CODEPAGES_FREE_ACCOUNT_EXTRA_VIEWS: "0" });
  const store = accountStore((n) => quotaEnv[n as keyof typeof quotaEnv])!;
  const subject = `carry-${crypto.randomUUID()}`;
  for (const path of ["/cpt/1/", "/cpt/2/"]) {
    await store.view({ subject, pagePath: path, quota: 3, periodDays: 30, charge: true });
  }
  const visitor = "AAAAAAAAAAAAAAAAAAAAAA";
  const keys = await Promise.all([A, B, C].map((p) => pageKey(visitor, p)));
  const r = await store.view({
    subject,
    pagePath: B,
    quota: 3,
    periodDays: 30,
    charge: false,
    guest: { visitorId: visitor, pageKeys: keys },
  });
  assertEquals(r, { unlocked: false, used: 3, charged: false }, "only A fits; B is not carried");
  assertEquals(
    (await store.view({ subject, pagePath: A, quota: 3, periodDays: 30, charge: true })).unlocked,
    true,
  );
  void pages;
});

test("account meter (attack): database down → the gated page, never an error page", async () => {
  const pages = pagesWithTemplate();
  const port = (() => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const p = (listener.addr as Deno.NetAddr).port;
    listener.close();
    return p;
  })();
  const down = env({ DATABASE_URL: `postgresql://codepages:x@127.0.0.1:${port}/codepages` });
  const session = `__Host-cp_session=${await mintSession(ISSUER)}`;
  const r = await callGate(A, down, session, pages);
  assertEquals(r.status, 200);
  assertGated(result(r), "database down");
  assert(bannerOf(r.body)!.includes("cannot be checked right now"), bannerOf(r.body)!);
  assert(r.body.includes(">Log out</button>"), "still shown as signed in");
  // no database configured: no sessions, so the visitor is a guest (here with no guest views)
  const none = await callGate(
    A,
    env({ DATABASE_URL: undefined, CODEPAGES_GUEST_VIEWS: "0" }),
    session,
    pages,
  );
  assertGated(result(none), "no database configured");
  assert(none.body.includes("Log in"), "shown as a guest");
  // sessions are server-side: with the database down nobody's status can be read, so even a
  // subscriber's page stays gated (fail closed) rather than trusting the cookie
  const subscriber = await callGate(
    A,
    down,
    `__Host-cp_session=${await mintSession(ISSUER, { subscriber: true })}`,
    pages,
  );
  assertGated(result(subscriber), "subscriber while the database is down");
  assert(bannerOf(subscriber.body)!.includes("cannot be checked right now"));
});

test("account meter: the free-account template holds no protected text", async () => {
  assert(!FREE_TEMPLATE.includes("PROTECTED"));
  await Promise.resolve();
});

Deno.test({
  name: "account meter: close pools",
  ...options,
  fn: async () => {
    await closePools();
  },
});
