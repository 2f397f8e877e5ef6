import { b64urlEncode } from "../lib/b64.ts";
import { cookieValues } from "../lib/cookies.ts";
import { MAX_COOKIE_CHARS } from "../lib/limits.ts";
import {
  encodeMeterCookie,
  importMeterKeys,
  METER_COOKIE,
  meterSetCookie,
  type MeterState,
  readMeterCookie,
  verifyMeterCookie,
} from "../lib/meter_cookie.ts";
import { assert, assertEquals, KEYS, randomKey } from "./helpers.ts";

const NOW = 1_760_000_000;
const STATE: MeterState = {
  visitorId: b64urlEncode(new Uint8Array(16).fill(7)),
  periodStart: NOW - 100,
  pages: ["0123456789abcdef"],
  issuedAt: NOW - 50,
};

Deno.test("meter cookie: round trip, exact format, attributes", async () => {
  const keyring = await importMeterKeys(KEYS.CODEPAGES_METER_KEYS);
  const value = await encodeMeterCookie(STATE, keyring);
  assert(/^v1\.mk1\.[A-Za-z0-9_-]{22}\.\d+\.\d+\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/.test(value), value);
  assertEquals(await verifyMeterCookie(value, keyring, NOW), { state: STATE, kid: "mk1" });
  const empty = await encodeMeterCookie({ ...STATE, pages: [] }, keyring);
  assertEquals((await verifyMeterCookie(empty, keyring, NOW))?.state.pages, []);
  assertEquals(
    meterSetCookie(value, 2592000),
    `${METER_COOKIE}=${value}; Path=/; Max-Age=2592000; HttpOnly; Secure; SameSite=Lax`,
  );
  assert(!value.includes("/cpt/"), "no paths in the cookie");
});

Deno.test("meter cookie: tampered, truncated, foreign, oversized, odd values read as none", async () => {
  const keyring = await importMeterKeys(KEYS.CODEPAGES_METER_KEYS);
  const value = await encodeMeterCookie(STATE, keyring);
  const foreign = await encodeMeterCookie(STATE, await importMeterKeys(randomKey("mk1")));
  const parts = value.split(".");
  const swap = (i: number, to: string) => parts.map((p, j) => (j === i ? to : p)).join(".");
  const manyPages = await encodeMeterCookie({
    ...STATE,
    pages: Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(16, "0")),
  }, keyring);
  const bad: [string, string][] = [
    ["empty", ""],
    ["garbage", "hello"],
    ["truncated by one", value.slice(0, -1)],
    ["truncated signature", value.slice(0, value.lastIndexOf(".") + 1)],
    ["no signature", value.slice(0, value.lastIndexOf("."))],
    ["foreign key, same kid", foreign],
    ["page added", swap(5, "0123456789abcdef-fedcba9876543210")],
    ["page removed", swap(5, "")],
    ["visitor changed", swap(2, b64urlEncode(new Uint8Array(16).fill(8)))],
    ["period moved", swap(3, String(NOW))],
    ["leading zero", swap(3, "0" + parts[3])],
    ["unknown version", swap(0, "v2")],
    ["unknown kid", swap(1, "mk9")],
    ["upper-case hex", swap(5, "0123456789ABCDEF")],
    ["extra field", value + ".x"],
    ["padding", value + "="],
    ["quoted", `"${value}"`],
    ["spaces", value.replace(".", ". ")],
    [
      "future period",
      await encodeMeterCookie({ ...STATE, periodStart: NOW + 3600, issuedAt: NOW + 3600 }, keyring),
    ],
    [
      "duplicate pages",
      await encodeMeterCookie({ ...STATE, pages: ["0123456789abcdef", "0123456789abcdef"] }, keyring),
    ],
    ["oversized", value + "A".repeat(MAX_COOKIE_CHARS)],
  ];
  for (const [name, v] of bad) assertEquals(await verifyMeterCookie(v, keyring, NOW), null, name);
  assert(manyPages.length < MAX_COOKIE_CHARS, "100 pages fit the size bound");
  assertEquals((await verifyMeterCookie(manyPages, keyring, NOW))?.state.pages.length, 100);
});

Deno.test("meter cookie: rotation — old key verifies while listed, not after removal", async () => {
  const oldRing = await importMeterKeys(KEYS.CODEPAGES_METER_KEYS);
  const fresh = randomKey("mk2", 64);
  const rotated = await importMeterKeys(`${fresh},${KEYS.CODEPAGES_METER_KEYS}`);
  const removed = await importMeterKeys(fresh);
  const old = await encodeMeterCookie(STATE, oldRing);
  assertEquals((await verifyMeterCookie(old, rotated, NOW))?.kid, "mk1");
  assertEquals(await verifyMeterCookie(old, removed, NOW), null);
  const resigned = await encodeMeterCookie(STATE, rotated);
  assert(resigned.startsWith("v1.mk2."), "the first key signs");
  assertEquals((await verifyMeterCookie(resigned, removed, NOW))?.state, STATE);
});

Deno.test("meter cookie: the Cookie header — first valid value wins, others ignored", async () => {
  const keyring = await importMeterKeys(KEYS.CODEPAGES_METER_KEYS);
  const value = await encodeMeterCookie(STATE, keyring);
  assertEquals(cookieValues(`a=1; ${METER_COOKIE}=x; b=2;${METER_COOKIE}=y`, METER_COOKIE), ["x", "y"]);
  assertEquals(cookieValues(null, METER_COOKIE), []);
  const header = `${METER_COOKIE}=garbage; cp_meter=${value}; ${METER_COOKIE}=${value}`;
  assertEquals((await readMeterCookie(header, keyring, NOW))?.state, STATE);
  assertEquals(
    await readMeterCookie(`cp_meter=${value}`, keyring, NOW),
    null,
    "other names are not the meter",
  );
  assertEquals(await readMeterCookie("", keyring, NOW), null);
});

Deno.test("meter cookie: key list errors name the variable", async () => {
  for (const value of [undefined, " ", "mk1:c2hvcnQ=", "mk1"]) {
    let message = "";
    try {
      await importMeterKeys(value);
    } catch (e) {
      message = (e as Error).message;
    }
    assert(message.includes("CODEPAGES_METER_KEYS"), `no error for ${value}`);
  }
});
