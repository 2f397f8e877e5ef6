/**
 * The view meter at the edge: code pages are published gated; this function adds what the
 * visitor's meter allows (opens the sealed sections) and says how many views remain.
 *
 * Fail closed: anything unexpected serves the static, gated page (never a 500 where that
 * page can be served, never plaintext that was not allowed); `onError: "bypass"` makes
 * Netlify serve the static page if the function itself fails.
 */
import type { Config, Context } from "@netlify/edge-functions";
import { accountBanner, accountNav, freeAccountPlaceholders, OUTAGE_BANNER } from "../lib/account_page.ts";
import { accountStore, type ViewResult } from "../lib/account_store.ts";
import { sessionKeys } from "../lib/auth_config.ts";
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
import { readSession, type Session, SESSION_COOKIE } from "../lib/session.ts";
import { type GateSettings, gateSettings, pageSettings } from "../lib/settings.ts";

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

/**
 * The signed-in visitor, or null: a valid session cookie signed with CODEPAGES_SESSION_KEYS
 * for the configured OIDC_ISSUER. Without keys or issuer nobody is signed in.
 */
export async function currentSession(request: Request, now: number): Promise<Session | null> {
  const header = request.headers.get("cookie");
  if (!header || !header.includes(SESSION_COOKIE)) return null;
  const issuer = getEnv("OIDC_ISSUER")?.trim();
  const keys = await sessionKeys(getEnv);
  if (keys instanceof Error) {
    logOnce(`${keys.message}: nobody can be signed in`);
    return null;
  }
  if (!issuer) return null;
  return await readSession(header, keys, now, issuer);
}

/** A page outside the meter (index, range, home…): only the header changes for a signed-in visitor. */
export async function personaliseChrome(request: Request, context: Context): Promise<Response> {
  const method = request.method.toUpperCase();
  if (method !== "GET" && method !== "HEAD") return context.next();
  const session = await currentSession(request, Math.floor(Date.now() / 1000)).catch(() => null);
  if (!session) return context.next();
  const upstream = await context.next(staticRequest(request));
  if (upstream.status !== 200 || !isHtml(upstream)) return upstream;
  const headers = personalisedHeaders(upstream.headers);
  if (method === "HEAD") return new Response(null, { status: 200, headers });
  return new Response(accountNav(await upstream.text(), session), { status: 200, headers });
}

export default async function gate(request: Request, context: Context): Promise<Response> {
  let pagePath: string | null = null;
  try {
    pagePath = canonicalPagePath(request.url);
  } catch {
    pagePath = null;
  }
  const method = request.method.toUpperCase();
  if (pagePath === null) return personaliseChrome(request, context);
  if (method !== "GET" && method !== "HEAD") return context.next();

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
  const session = await currentSession(request, now);
  if (session) {
    return await personaliseAccount(
      request,
      pagePath,
      staticHtml,
      staticHeaders,
      session,
      settings,
      seal,
      meter,
      now,
    );
  }

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

/** A signed-in visitor: subscribers see everything; free accounts are metered in the database. */
async function personaliseAccount(
  request: Request,
  pagePath: string,
  staticHtml: string,
  staticHeaders: Headers,
  session: Session,
  settings: GateSettings,
  seal: SealKeyring | null,
  meter: MeterKeyring | null,
  now: number,
): Promise<Response> {
  const headers = personalisedHeaders(staticHeaders);
  const unlocked = await unlockSections(staticHtml, seal ?? EMPTY_SEAL_KEYRING, pagePath);
  if (session.subscriber) {
    return new Response(accountNav(unlocked.html, session), { status: 200, headers });
  }
  const quota = settings.guestViews + settings.freeAccountExtraViews;
  const gated = accountNav(stripSeals(staticHtml), session);
  const store = accountStore(getEnv);
  if (!store) {
    logOnce("neither DATABASE_URL nor NETLIFY_DB_URL is set: free accounts are served gated");
    return new Response(fillBanner(gated, OUTAGE_BANNER), { status: 200, headers });
  }
  // the guest meter of this browser carries into the account (idempotent, within the quota)
  let guest: { visitorId: string; pageKeys: string[] } | null = null;
  if (meter) {
    const read = await readMeterCookie(request.headers.get("cookie"), meter, now);
    if (
      read &&
      now <
        read.state.periodStart +
          periodSeconds({ guestViews: settings.guestViews, periodDays: settings.periodDays })
    ) {
      guest = { visitorId: read.state.visitorId, pageKeys: read.state.pages.slice(0, settings.guestViews) };
    }
  }
  let result: ViewResult;
  try {
    result = await store.view({
      subject: session.subject,
      pagePath,
      quota,
      periodDays: settings.periodDays,
      charge: unlocked.opened > 0,
      guest,
    });
  } catch (error) {
    logOnce(
      `account meter unavailable (${error instanceof Error ? error.message : "error"}): serving gated pages`,
    );
    return new Response(fillBanner(gated, OUTAGE_BANNER), { status: 200, headers });
  }
  if (result.unlocked && unlocked.opened > 0) {
    const html = accountNav(unlocked.html, session);
    return new Response(fillBanner(html, accountBanner(quota, result.used, settings.periodDays, true)), {
      status: 200,
      headers,
    });
  }
  const allowed = result.used < quota; // a page without sealed sections costs nothing
  const html = allowed ? gated : freeAccountPlaceholders(gated);
  return new Response(fillBanner(html, accountBanner(quota, result.used, settings.periodDays, allowed)), {
    status: 200,
    headers,
  });
}
