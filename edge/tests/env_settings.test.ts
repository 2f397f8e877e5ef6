import { guestBanner } from "../lib/banner.ts";
import { getEnv } from "../lib/env.ts";
import { DEFAULT_SETTINGS, gateSettings, pageSettings } from "../lib/settings.ts";
import { assertEquals, textOf, withEnv } from "./helpers.ts";

Deno.test("env: Netlify.env when present, else Deno.env", async () => {
  Deno.env.set("CODEPAGES_TEST_ONLY", "from-deno");
  try {
    assertEquals(getEnv("CODEPAGES_TEST_ONLY"), "from-deno");
    await withEnv(
      { CODEPAGES_TEST_ONLY: "from-netlify" },
      () => Promise.resolve(assertEquals(getEnv("CODEPAGES_TEST_ONLY"), "from-netlify")),
    );
    await withEnv({}, () => Promise.resolve(assertEquals(getEnv("CODEPAGES_TEST_ONLY"), undefined)));
  } finally {
    Deno.env.delete("CODEPAGES_TEST_ONLY");
  }
  assertEquals(getEnv("CODEPAGES_TEST_ONLY"), undefined);
});

Deno.test("settings: defaults 1 / 5 / 30, overrides, invalid values ignored", () => {
  assertEquals(gateSettings(() => undefined), DEFAULT_SETTINGS);
  assertEquals(DEFAULT_SETTINGS, {
    guestViews: 1,
    freeAccountExtraViews: 5,
    periodDays: 30,
    networkDailyViews: 20,
  });
  const env: Record<string, string> = {
    CODEPAGES_GUEST_VIEWS: "3",
    CODEPAGES_FREE_ACCOUNT_EXTRA_VIEWS: " 10 ",
    CODEPAGES_METER_PERIOD_DAYS: "7",
    CODEPAGES_NETWORK_DAILY_VIEWS: "50",
  };
  assertEquals(gateSettings((n) => env[n]), {
    guestViews: 3,
    freeAccountExtraViews: 10,
    periodDays: 7,
    networkDailyViews: 50,
  });
  const bad: Record<string, string> = {
    CODEPAGES_GUEST_VIEWS: "-1",
    CODEPAGES_FREE_ACCOUNT_EXTRA_VIEWS: "five",
    CODEPAGES_METER_PERIOD_DAYS: "0",
  };
  assertEquals(gateSettings((n) => bad[n]), DEFAULT_SETTINGS);
  assertEquals(
    gateSettings((n) => (n === "CODEPAGES_GUEST_VIEWS" ? "101" : undefined)).guestViews,
    1,
    "cookie-size cap",
  );
  assertEquals(gateSettings((n) => (n === "CODEPAGES_GUEST_VIEWS" ? "0" : undefined)).guestViews, 0);
});

Deno.test("banner: the design card's sentences, with the links in the banner", () => {
  const P = "/cpt/623/62326/";
  assertEquals(
    textOf(guestBanner("exhausted", DEFAULT_SETTINGS, P, 0)),
    "0 code page views remaining. Guest accounts are limited to 1 page view. Register free account to get 5 more views. Already registered? Log in.",
  );
  const exhausted = guestBanner("exhausted", DEFAULT_SETTINGS, P, 0);
  assertEquals(
    [...exhausted.matchAll(/href="([^"]+)"/g)].map((m) => m[1]),
    ["/auth/register?return_to=%2Fcpt%2F623%2F62326%2F", "/auth/login?return_to=%2Fcpt%2F623%2F62326%2F"],
  );
  assertEquals(
    textOf(guestBanner("exhausted", { ...DEFAULT_SETTINGS, guestViews: 2, freeAccountExtraViews: 1 }, P, 0)),
    "0 code page views remaining. Guest accounts are limited to 2 page views. Register free account to get 1 more view. Already registered? Log in.",
  );
  assertEquals(
    textOf(guestBanner("unlocked", DEFAULT_SETTINGS, P, 0)),
    "This is your free code page view. 0 code page views remaining. Register free account to get 5 more views.",
  );
  assertEquals(
    textOf(guestBanner("unlocked", { ...DEFAULT_SETTINGS, guestViews: 3 }, P, 2)),
    "This page used one of your 3 free code page views. 2 code page views remaining. Register free account to get 5 more views.",
  );
  // text is escaped: a hostile path cannot inject markup
  assertEquals(guestBanner("framed", DEFAULT_SETTINGS, '/x"><script>', 0).includes("<script>"), false);
});

Deno.test("settings: the page's quotas (from site.yaml) apply, and environment variables override them", () => {
  const page = `<head><script type="application/json" id="codepages-meter">` +
    `{"free_account_extra_views": 9, "guest_views": 2, "period_days": 14}</script></head>`;
  assertEquals(pageSettings(page), {
    guestViews: 2,
    freeAccountExtraViews: 9,
    periodDays: 14,
    networkDailyViews: 20,
  });
  assertEquals(gateSettings(() => undefined, pageSettings(page)), {
    guestViews: 2,
    freeAccountExtraViews: 9,
    periodDays: 14,
    networkDailyViews: 20,
  });
  const env: Record<string, string> = { CODEPAGES_GUEST_VIEWS: "4" };
  assertEquals(gateSettings((n) => env[n], pageSettings(page)).guestViews, 4);
  assertEquals(pageSettings("<p>no settings</p>"), DEFAULT_SETTINGS);
  assertEquals(pageSettings(page.replace("2,", "-2,")), {
    ...DEFAULT_SETTINGS,
    freeAccountExtraViews: 9,
    periodDays: 14,
  });
});
