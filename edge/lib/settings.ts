/**
 * Meter settings: the site's quotas (content/site.yaml, which the build writes into every
 * sealed page as <script type="application/json" id="codepages-meter">), overridden by
 * environment variables so the operator can change a quota without a rebuild. Values that
 * are not whole numbers in range are ignored.
 */
import { getEnv } from "./env.ts";

export interface GateSettings {
  guestViews: number;
  freeAccountExtraViews: number;
  periodDays: number;
}

export const SETTINGS_VARIABLES = {
  guestViews: "CODEPAGES_GUEST_VIEWS",
  freeAccountExtraViews: "CODEPAGES_FREE_ACCOUNT_EXTRA_VIEWS",
  periodDays: "CODEPAGES_METER_PERIOD_DAYS",
} as const;

export const DEFAULT_SETTINGS: GateSettings = { guestViews: 1, freeAccountExtraViews: 5, periodDays: 30 };

/** The guest meter lives in a cookie of at most 3 KB: at most this many pages fit with room to spare. */
export const MAX_GUEST_VIEWS = 100;

const LIMITS: Record<keyof GateSettings, [number, number]> = {
  guestViews: [0, MAX_GUEST_VIEWS],
  freeAccountExtraViews: [0, 100000],
  periodDays: [1, 366],
};

const PAGE_SETTINGS = /<script type="application\/json" id="codepages-meter">([^<]{1,500})<\/script>/;
const PAGE_KEYS: Record<keyof GateSettings, string> = {
  guestViews: "guest_views",
  freeAccountExtraViews: "free_account_extra_views",
  periodDays: "period_days",
};

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
  for (const name of Object.keys(PAGE_KEYS) as (keyof GateSettings)[]) {
    const value = written[PAGE_KEYS[name]];
    const [min, max] = LIMITS[name];
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) settings[name] = value;
  }
  return settings;
}

export function gateSettings(
  get: (name: string) => string | undefined = getEnv,
  base: GateSettings = DEFAULT_SETTINGS,
): GateSettings {
  const settings = { ...base };
  for (const name of Object.keys(SETTINGS_VARIABLES) as (keyof GateSettings)[]) {
    const text = get(SETTINGS_VARIABLES[name])?.trim();
    if (!text) continue;
    const value = /^[0-9]{1,6}$/.test(text) ? Number(text) : NaN;
    const [min, max] = LIMITS[name];
    if (value >= min && value <= max) settings[name] = value;
  }
  return settings;
}
