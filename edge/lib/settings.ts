/**
 * Meter settings: the site's quotas (content/site.yaml `meter:`, which the build writes into
 * every sealed page as <script type="application/json" id="codepages-meter">), overridden by
 * environment variables so the operator can change a quota without a rebuild. Values that are
 * not whole numbers in the range of limits.ts are ignored (and logged, for the environment).
 */
import { getEnv } from "./env.ts";
import { METER_LIMITS, type MeterSetting } from "./limits.ts";
import { logOnce } from "./log.ts";

export interface GateSettings {
  guestViews: number;
  freeAccountExtraViews: number;
  periodDays: number;
  /** fresh guest views per network and day (enforced only with a database) */
  networkDailyViews: number;
}

/** settings field → its key in site.yaml `meter:` and its environment variable */
const FIELDS: Record<keyof GateSettings, { key: MeterSetting; variable: string }> = {
  guestViews: { key: "guest_views", variable: "CODEPAGES_GUEST_VIEWS" },
  freeAccountExtraViews: { key: "free_account_extra_views", variable: "CODEPAGES_FREE_ACCOUNT_EXTRA_VIEWS" },
  periodDays: { key: "period_days", variable: "CODEPAGES_METER_PERIOD_DAYS" },
  networkDailyViews: { key: "network_daily_views", variable: "CODEPAGES_NETWORK_DAILY_VIEWS" },
};

export const SETTINGS_VARIABLES = Object.fromEntries(
  Object.entries(FIELDS).map(([name, field]) => [name, field.variable]),
) as Record<keyof GateSettings, string>;

export const DEFAULT_SETTINGS: GateSettings = {
  guestViews: METER_LIMITS.guest_views.default,
  freeAccountExtraViews: METER_LIMITS.free_account_extra_views.default,
  periodDays: METER_LIMITS.period_days.default,
  networkDailyViews: METER_LIMITS.network_daily_views.default,
};

function inRange(key: MeterSetting, value: unknown): value is number {
  const { min, max } = METER_LIMITS[key];
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

const PAGE_SETTINGS = /<script type="application\/json" id="codepages-meter">([^<]{1,500})<\/script>/;

/** The quotas the build wrote into the static page (the site settings), or the defaults. */
export function pageSettings(html: string): GateSettings {
  const settings = { ...DEFAULT_SETTINGS };
  const match = PAGE_SETTINGS.exec(html);
  if (!match) return settings;
  let written: Record<string, unknown>;
  try {
    written = JSON.parse(match[1]);
  } catch {
    return settings;
  }
  if (written === null || typeof written !== "object") return settings;
  for (const name of Object.keys(FIELDS) as (keyof GateSettings)[]) {
    const value = written[FIELDS[name].key];
    if (inRange(FIELDS[name].key, value)) settings[name] = value;
  }
  return settings;
}

export function gateSettings(
  get: (name: string) => string | undefined = getEnv,
  base: GateSettings = DEFAULT_SETTINGS,
): GateSettings {
  const settings = { ...base };
  for (const name of Object.keys(FIELDS) as (keyof GateSettings)[]) {
    const { key, variable } = FIELDS[name];
    const text = get(variable)?.trim();
    if (!text) continue;
    const value = /^[0-9]{1,6}$/.test(text) ? Number(text) : NaN;
    if (inRange(key, value)) settings[name] = value;
    else {
      const { min, max } = METER_LIMITS[key];
      logOnce(
        "settings",
        `${variable}=${JSON.stringify(text)} is ignored: a whole number ${min}-${max} is expected`,
      );
    }
  }
  return settings;
}
