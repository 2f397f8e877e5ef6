/**
 * Attack tests of issue 14 against the real gate (functions/gate.ts): frames, prefetches and
 * cross-site arrivals; the per-network guest allowance; no charge survives a stalled database.
 * Each fails on the code before issue 14 (which unlocked framed pages, counted guests by cookie
 * only, and recorded views after giving up on a slow database).
 *
 * The database cases need the real PostgreSQL of `make test` (CODEPAGES_TEST_DATABASE_URL).
 */
import pg from "npm:pg@8.23.1";
import { closePools } from "../lib/db.ts";
import { callGate, DATABASE_URL, IN_CI, mintSession, morePages, NET, SESSION_KEYS } from "./auth_helpers.ts";
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
  call,
  type Env,
  type Result,
  staticServer,
} from "./helpers.ts";

const READY = NET && DATABASE_URL !== undefined;
const db = { ignore: !READY && !IN_CI, sanitizeOps: false, sanitizeResources: false };
const ISSUER = "https://idp.codepages.test";

function dbEnv(extra: Env = {}): Env {
  return { ...BASE_ENV, DATABASE_URL, CODEPAGES_SESSION_KEYS: SESSION_KEYS, OIDC_ISSUER: ISSUER, ...extra };
}

function asResult(a: Awaited<ReturnType<typeof callGate>>): Result {
  return {
    status: a.status,
    body: a.body,
    headers: a.headers,
    cookie: null,
    setCookie: a.headers.get("set-cookie"),
    server: undefined as never,
  };
}

// ---- frames, prefetches, cross-site navigations -----------------------------------------------------

Deno.test("attack frame: a code page requested into a frame never unlocks, whatever the cookie", async () => {
  for (const dest of ["iframe", "frame", "embed", "object"]) {
    const fresh = await call(A, { headers: { "sec-fetch-dest": dest, "sec-fetch-site": "cross-site" } });
    assertGated(fresh, dest);
    assertEquals(fresh.setCookie, null, `${dest}: nothing charged`);
    assert(bannerOf(fresh.body)!.includes("shown inside another page"), bannerOf(fresh.body)!);
  }
  const unlocked = (await call(A)).cookie!;
  const framed = await call(A, {
    cookie: unlocked,
    headers: { "sec-fetch-dest": "iframe", "sec-fetch-site": "same-origin" },
  });
  assertGated(framed, "not even a page this browser unlocked, not even in a same-origin frame");
  assertEquals(framed.headers.get("x-frame-options"), "SAMEORIGIN");
  assert(framed.headers.get("content-security-policy")!.includes("frame-ancestors 'self'"));
});

Deno.test("attack prefetch: a prefetch or prerender is never charged", async () => {
  const speculative: Record<string, string>[] = [{ "sec-purpose": "prefetch" }, { purpose: "prefetch" }, {
    "sec-purpose": "prefetch;prerender",
  }];
  for (const headers of speculative) {
    const r = await call(A, { headers });
    assertGated(r, JSON.stringify(headers));
    assertEquals(r.setCookie, null, JSON.stringify(headers));
  }
});

Deno.test("cross-site: a guest arriving from a search engine keeps the one free view", async () => {
  const r = await call(A, { headers: { "sec-fetch-site": "cross-site", "sec-fetch-dest": "document" } });
  assertFull(r, A, "the guest's free view");
  assert(r.cookie !== null);
});

Deno.test({
  name: "attack cross-site: a free account arriving from another site is asked to continue, not charged",
  ...db,
  fn: async () => {
    const pages = await morePages(2);
    const [first, second] = Object.keys(pages);
    const session = `__Host-cp_session=${await mintSession(ISSUER)}`;
    const crossSite = { "sec-fetch-site": "cross-site", "sec-fetch-dest": "document" };
    const arrived = await callGate(first, dbEnv(), session, pages, crossSite);
    assertGated(asResult(arrived), "nothing spent on arrival");
    assert(bannerOf(arrived.body)!.includes("You came here from another site"), bannerOf(arrived.body)!);
    assert(arrived.body.includes(`href="${first}">Continue reading</a>`), "the button re-opens the page");
    const continued = await callGate(first, dbEnv(), session, pages, { "sec-fetch-site": "same-origin" });
    assert(!continued.body.includes("<!--locked:"), "continuing opens it");
    assertEquals(
      bannerOf(continued.body),
      "This code page used one of your free account's views. 5 code page views remaining.",
    );
    const back = await callGate(first, dbEnv(), session, pages, crossSite);
    assert(!back.body.includes("<!--locked:"), "a page already unlocked opens from anywhere");
    void second;
  },
});

// ---- the per-network guest allowance ----------------------------------------------------------------

Deno.test({
  name: "attack scrape: a cookie-less reader gets at most the network's daily allowance in full",
  ...db,
  fn: async () => {
    const env = dbEnv({ CODEPAGES_NETWORK_DAILY_VIEWS: "3" });
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const pages = await morePages(8);
    let full = 0;
    for (const path of Object.keys(pages)) {
      const r = await call(path, { env, ip, server: staticServer(pages) });
      if (!r.body.includes("<!--locked:")) full++;
      else {assert(
          bannerOf(r.body)!.includes("free guest views of your network are used up"),
          bannerOf(r.body)!,
        );}
    }
    assertEquals(full, 3, "three fresh guest views from one address, then the gated page");
    const otherNetwork = await call(A, { env, ip: "203.0.113.9" });
    assertFull(otherNetwork, A, "another network has its own allowance");
    // IPv6: one /64 is one network
    const v6 = `2001:db8:${Math.floor(Math.random() * 65535).toString(16)}:1`;
    let v6full = 0;
    for (const [i, path] of Object.keys(pages).entries()) {
      const r = await call(path, { env, ip: `${v6}::${i + 1}`, server: staticServer(pages) });
      if (!r.body.includes("<!--locked:")) v6full++;
    }
    assertEquals(v6full, 3, "addresses of one IPv6 /64 share the allowance");
  },
});

Deno.test({
  name: "attack scrape: twenty parallel cookie-less requests get exactly the allowance",
  ...db,
  fn: async () => {
    const env = dbEnv({ CODEPAGES_NETWORK_DAILY_VIEWS: "4" });
    const ip = `192.0.2.${Math.floor(Math.random() * 250) + 1}`;
    const pages = await morePages(20);
    const answers = await Promise.all(
      Object.keys(pages).map((path) => call(path, { env, ip, server: staticServer(pages) })),
    );
    assertEquals(answers.filter((r) => !r.body.includes("<!--locked:")).length, 4);
    assertEquals(
      answers.filter((r) => r.cookie !== null).length,
      4,
      "only the views given set a meter cookie",
    );
  },
});

Deno.test("scrape bound off without a database: cookie meter only (the operator is told in the log)", async () => {
  const env = { ...BASE_ENV, CODEPAGES_NETWORK_DAILY_VIEWS: "1", DATABASE_URL: undefined };
  assertFull(await call(A, { env, ip: "192.0.2.1" }), A);
  assertFull(
    await call(B, { env, ip: "192.0.2.1" }),
    B,
    "a new cookie-less guest, unbounded without a database",
  );
});

// ---- a stalled database charges nothing ------------------------------------------------------------

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  return c;
}

async function settled(c: pg.Client): Promise<void> {
  // wait until no meter statement is running any more (the stalled one ended one way or the other)
  for (let i = 0; i < 200; i++) {
    const { rows } = await c.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%codepages_%view%' AND pid <> pg_backend_pid()",
    );
    if (rows[0].n === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the stalled statement never ended");
}

Deno.test({
  name:
    "attack stall: a free account's view is not recorded when the database answers after the edge gave up",
  ...db,
  fn: async () => {
    const env = dbEnv({ CODEPAGES_DATABASE_WAIT_MS: "800" });
    const pages = await morePages(1);
    const [path] = Object.keys(pages);
    const subject = `stalled-${crypto.randomUUID()}`;
    const session = `__Host-cp_session=${await mintSession(ISSUER, { subject })}`;
    const locker = await client();
    const watcher = await client();
    try {
      // another transaction holds this account's meter lock: the gate's statement waits behind it
      await locker.query("BEGIN");
      await locker.query("SELECT pg_advisory_xact_lock(hashtext('codepages_account_meter'), hashtext($1))", [
        subject,
      ]);
      const r = await callGate(path, env, session, pages);
      assertGated(asResult(r), "the edge stopped waiting: gated page");
      assert(bannerOf(r.body)!.includes("cannot be checked right now"), bannerOf(r.body)!);
      await locker.query("COMMIT"); // the lock is free now: an old statement would go on and record the view
      await settled(watcher);
      const { rows } = await watcher.query(
        "SELECT count(*)::int AS n FROM codepages_account_views WHERE subject = $1",
        [subject],
      );
      assertEquals(rows[0].n, 0, "no view survives");
      const after = await callGate(path, dbEnv(), session, pages);
      assertEquals(
        bannerOf(after.body),
        "This code page used one of your free account's views. 5 code page views remaining.",
      );
    } finally {
      await locker.end().catch(() => {});
      await watcher.end().catch(() => {});
    }
  },
});

Deno.test({
  name:
    "attack stall: a guest's network view is not counted when the database answers after the edge gave up",
  ...db,
  fn: async () => {
    const env = dbEnv({ CODEPAGES_DATABASE_WAIT_MS: "800", CODEPAGES_NETWORK_DAILY_VIEWS: "5" });
    const locker = await client();
    const watcher = await client();
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE codepages_guest_networks IN EXCLUSIVE MODE");
      const r = await call(C, { env, ip: "198.18.0.7" });
      assertGated(r, "gated while the allowance cannot be read");
      assertEquals(r.setCookie, null, "no meter cookie for a view not given");
      await locker.query("COMMIT");
      await settled(watcher);
      const { rows } = await watcher.query(
        "SELECT coalesce(sum(views), 0)::int AS n FROM codepages_guest_networks WHERE day = current_date",
      );
      const before = rows[0].n;
      const ok = await call(C, { env, ip: "198.18.0.7" });
      assertFull(ok, C, "the same network's view, now that the database answers");
      const { rows: again } = await watcher.query(
        "SELECT coalesce(sum(views), 0)::int AS n FROM codepages_guest_networks WHERE day = current_date",
      );
      assertEquals(again[0].n, before + 1, "exactly the view shown was counted");
    } finally {
      await locker.end().catch(() => {});
      await watcher.end().catch(() => {});
    }
  },
});

Deno.test({ name: "round 2: close pools", ...db, fn: closePools });
