import { decide, pageKey, type Quota } from "../lib/meter.ts";
import type { MeterState } from "../lib/meter_cookie.ts";
import { A, assert, assertEquals, B, C } from "./helpers.ts";

const NOW = 1_760_000_000;
const DAY = 86400;
const Q: Quota = { guestViews: 1, periodDays: 30 };
const vid = () => "AAAAAAAAAAAAAAAAAAAAAA";

async function stateWith(paths: string[], periodStart = NOW - DAY): Promise<MeterState> {
  return {
    visitorId: vid(),
    periodStart,
    pages: await Promise.all(paths.map((p) => pageKey(vid(), p))),
    issuedAt: periodStart,
  };
}

Deno.test("meter: a new visitor gets the quota, then the meter is spent", async () => {
  const first = await decide(Q, null, A, NOW, vid);
  assertEquals([first.allowed, first.remaining, first.changed], [true, 0, true]);
  assertEquals(first.newState, {
    visitorId: vid(),
    periodStart: NOW,
    pages: [await pageKey(vid(), A)],
    issuedAt: NOW,
  });
  const second = await decide(Q, first.newState, B, NOW + 10, vid);
  assertEquals([second.allowed, second.remaining, second.changed], [false, 0, false]);
  const again = await decide(Q, first.newState, A, NOW + 20, vid);
  assertEquals([again.allowed, again.remaining, again.changed], [true, 0, false], "re-opening is free");
});

Deno.test("meter: counts distinct pages up to the quota", async () => {
  const quota = { guestViews: 3, periodDays: 30 };
  let state: MeterState | null = null;
  const seen: [boolean, number][] = [];
  for (const path of [A, A, B, A, C, B, "/cpt/62327/"]) {
    const d = await decide(quota, state, path, NOW, vid);
    seen.push([d.allowed, d.remaining]);
    state = d.newState;
  }
  assertEquals(seen, [[true, 2], [true, 2], [true, 1], [true, 1], [true, 0], [true, 0], [false, 0]]);
});

Deno.test("meter: an expired period starts a new one for the same visitor", async () => {
  const old = await stateWith([A], NOW - 31 * DAY);
  const d = await decide(Q, old, B, NOW, () => "new-visitor-id-never-used");
  assertEquals([d.allowed, d.changed], [true, true]);
  assertEquals(d.newState.periodStart, NOW);
  assertEquals(d.newState.visitorId, vid());
  assertEquals(d.newState.pages, [await pageKey(vid(), B)]);
  const edge = await decide(Q, await stateWith([A], NOW - 30 * DAY), B, NOW, vid);
  assert(edge.allowed, "the period ends exactly periodDays after its start");
  const inside = await decide(Q, await stateWith([A], NOW - 30 * DAY + 1), B, NOW, vid);
  assert(!inside.allowed, "one second before the end the meter is still spent");
});

Deno.test("meter: a state claiming more pages than the quota is exhausted and grants only the quota", async () => {
  const state = await stateWith([A, B, C]);
  const a = await decide(Q, state, A, NOW, vid);
  const b = await decide(Q, state, B, NOW, vid);
  const c = await decide(Q, state, C, NOW, vid);
  const d = await decide(Q, state, "/cpt/62327/", NOW, vid);
  assertEquals([a.allowed, b.allowed, c.allowed, d.allowed], [true, false, false, false]);
  assertEquals([a.remaining, b.remaining, d.remaining], [0, 0, 0]);
  assert(![a, b, c, d].some((x) => x.changed), "never rewritten to grant more");
});

Deno.test("meter: quota 0 grants nothing; page keys are per visitor", async () => {
  const d = await decide({ guestViews: 0, periodDays: 30 }, null, A, NOW, vid);
  assertEquals([d.allowed, d.changed], [false, false]);
  const k1 = await pageKey("AAAAAAAAAAAAAAAAAAAAAA", A);
  const k2 = await pageKey("BBBBBBBBBBBBBBBBBBBBBB", A);
  assert(/^[0-9a-f]{16}$/.test(k1) && k1 !== k2, "16 hex digits, salted by visitor");
  assertEquals(k1, await pageKey("AAAAAAAAAAAAAAAAAAAAAA", A));
});
