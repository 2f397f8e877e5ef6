/**
 * The view meter at the edge: code pages are published gated; this function adds what the
 * visitor's meter allows (opens the sealed sections) and says how many views remain.
 *
 * Fail closed: anything unexpected serves the static, gated page (never a 500 where that
 * page can be served, never plaintext that was not allowed); `onError: "bypass"` makes
 * Netlify serve the static page if the function itself fails.
 */
import type { Config, Context } from "@netlify/edge-functions";
import { bannerText } from "../lib/banner.ts";
import { getEnv } from "../lib/env.ts";
import { isHtml, personalisedHeaders, staticRequest } from "../lib/headers.ts";
import { decide, periodSeconds, type Quota } from "../lib/meter.ts";
import {
  encodeMeterCookie,
  importMeterKeys,
  METER_KEYS_VARIABLE,
  type MeterKeyring,
  meterSetCookie,
  readMeterCookie,
} from "../lib/meter_cookie.ts";
import { fillBanner, stripSeals, unlockSections } from "../lib/page.ts";
import { canonicalPagePath } from "../lib/paths.ts";
import { EMPTY_SEAL_KEYRING, importSealKeys, SEAL_KEYS_VARIABLE, type SealKeyring } from "../lib/seal.ts";
import { gateSettings, pageSettings } from "../lib/settings.ts";

// The routes are declared in netlify.toml ([[edge_functions]]), which the local preview reads too.
export const config: Config = { onError: "bypass" };

const logged = new Set<string>();
function logOnce(message: string): void {
  if (logged.has(message)) return;
  logged.add(message);
  console.error(`codepages gate: ${message}`);
}

/** Keyrings are imported once per distinct variable value. */
function cachedImport<T>(importer: (value: string | undefined) => Promise<T>) {
  let cache: { value: string | undefined; keyring: Promise<T | null> } | null = null;
  return (variable: string): Promise<T | null> => {
    const value = getEnv(variable);
    if (!cache || cache.value !== value) {
      const keyring = importer(value).catch((error: unknown) => {
        logOnce(`${error instanceof Error ? error.message : "invalid keys"}; protected sections stay locked`);
        return null;
      });
      cache = { value, keyring };
    }
    return cache.keyring;
  };
}
const sealKeys = cachedImport<SealKeyring>(importSealKeys);
const meterKeys = cachedImport<MeterKeyring>(importMeterKeys);

export default async function gate(request: Request, context: Context): Promise<Response> {
  let pagePath: string | null = null;
  try {
    pagePath = canonicalPagePath(request.url);
  } catch {
    pagePath = null;
  }
  const method = request.method.toUpperCase();
  if (pagePath === null || (method !== "GET" && method !== "HEAD")) return context.next();

  const upstream = await context.next(staticRequest(request));
  if (upstream.status !== 200 || !isHtml(upstream)) return upstream;
  if (method === "HEAD") {
    return new Response(null, { status: 200, headers: personalisedHeaders(upstream.headers) });
  }
  const staticHtml = await upstream.text();
  try {
    return await personalise(request, pagePath, staticHtml, upstream.headers);
  } catch (error) {
    logOnce(`serving the gated page after an error: ${error instanceof Error ? error.name : "error"}`);
    return new Response(staticHtml, { status: 200, headers: personalisedHeaders(upstream.headers) });
  }
}

async function personalise(
  request: Request,
  pagePath: string,
  staticHtml: string,
  staticHeaders: Headers,
): Promise<Response> {
  const now = Math.floor(Date.now() / 1000);
  const settings = gateSettings(getEnv, pageSettings(staticHtml));
  const quota: Quota = { guestViews: settings.guestViews, periodDays: settings.periodDays };
  const [seal, meter] = await Promise.all([sealKeys(SEAL_KEYS_VARIABLE), meterKeys(METER_KEYS_VARIABLE)]);

  let html = stripSeals(staticHtml);
  let banner = bannerText(settings, false, 0);
  let cookie: string | null = null;
  if (meter) {
    const read = await readMeterCookie(request.headers.get("cookie"), meter, now);
    const decision = await decide(quota, read?.state ?? null, pagePath, now);
    if (decision.allowed) {
      const unlocked = await unlockSections(staticHtml, seal ?? EMPTY_SEAL_KEYRING, pagePath);
      html = unlocked.html;
      const delivered = unlocked.opened > 0;
      // A view is charged only when something was delivered.
      const charged = decision.changed && delivered;
      banner = bannerText(settings, true, decision.remaining + (decision.changed && !charged ? 1 : 0));
      if (charged) {
        cookie = await encodeMeterCookie(decision.newState, meter);
      }
    }
    if (cookie === null && read && read.kid !== meter.currentId) {
      cookie = await encodeMeterCookie({ ...read.state, issuedAt: now }, meter); // rotate the signing key
    }
  } else {
    logOnce(`${METER_KEYS_VARIABLE} is unusable: every code page is served gated`);
  }

  const headers = personalisedHeaders(staticHeaders);
  if (cookie !== null) headers.append("set-cookie", meterSetCookie(cookie, periodSeconds(quota)));
  return new Response(fillBanner(html, banner), { status: 200, headers });
}
