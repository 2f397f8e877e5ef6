/**
 * A code page: the static, gated page plus what this visitor's meter allows (functions/gate.ts).
 *
 * Fail closed: anything unexpected serves the static, gated page (never a 500 where that page
 * can be served, never plaintext that was not allowed). A view is charged only when the page
 * that shows it is served: sections are opened first, then the view is recorded (cookie, account
 * meter, network allowance), then the page is answered.
 */
import { PostgresAccountMeterStore } from "../account_store.ts";
import { accountNav, freeAccountPlaceholders } from "../account_page.ts";
import {
  accountBanner,
  type AccountOutcome,
  guestBanner,
  type GuestOutcome,
  UNAVAILABLE,
} from "../banner.ts";
import { database } from "../db.ts";
import type { Flow } from "../flow.ts";
import {
  type HeaderEntries,
  isHtml,
  personalisedEntries,
  personalisedHeaders,
  responseWith,
  rewrittenEntries,
  secured,
  staticRequest,
} from "../headers.ts";
import { EMPTY_KEYRING, KeyConfigError, type Keyring, keyringFromEnv } from "../keys.ts";
import { errorText, logOnce } from "../log.ts";
import { decide, periodSeconds } from "../meter.ts";
import { encodeMeterCookie, METER_KEYS_VARIABLE, meterSetCookie, readMeterCookie } from "../meter_cookie.ts";
import { NetworkAllowance, networkKey, networkOf, utcDay } from "../network.ts";
import {
  encodePage,
  fillBanner,
  type Opened,
  openSections,
  readPageBytes,
  renderPage,
  type StaticPage,
  unlockSections,
} from "../page.ts";
import { canonicalPagePath } from "../paths.ts";
import { SEAL_KEYS_VARIABLE } from "../seal.ts";
import { clearCookie, cookieValues } from "../cookies.ts";
import { CONTINUE_COOKIE, SESSION_COOKIE } from "../session.ts";
import { type GateSettings, gateSettings, pageSettings } from "../settings.ts";
import { resolveVisitor, type Visitor } from "../visitor.ts";
import { chromePage } from "./chrome.ts";

/** A code page request after the static page was read. */
interface PageFlow extends Flow {
  pagePath: string;
  /** the static page with its sealed sections found (read once) */
  page: StaticPage;
  staticHeaders: Headers;
  settings: GateSettings;
  seal: Keyring;
}

export async function codePage(flow: Flow): Promise<Response> {
  const pagePath = canonicalPagePath(flow.url);
  if (pagePath === null) return chromePage(flow);
  if (flow.method !== "GET" && flow.method !== "HEAD") return secured(await flow.context.next());
  const upstream = await flow.context.next(staticRequest(flow.request));
  if (upstream.status !== 200 || !isHtml(upstream)) return secured(upstream);
  if (flow.method === "HEAD") {
    await upstream.body?.cancel();
    return new Response(null, { status: 200, headers: personalisedHeaders(upstream.headers) });
  }
  // read as bytes: a guest's page is written back as bytes (page.ts encodePage)
  const staticPage = readPageBytes(new Uint8Array(await upstream.arrayBuffer()));
  try {
    const seal = await keyringFromEnv(SEAL_KEYS_VARIABLE, "aes-gcm", flow.get);
    if (seal instanceof KeyConfigError) logOnce("gate", `${seal.message}; protected sections stay locked`);
    return await personalise({
      ...flow,
      pagePath,
      page: staticPage,
      staticHeaders: upstream.headers,
      // the settings script is ASCII JSON: the page's bytes as characters read the same
      settings: gateSettings(flow.get, pageSettings(staticPage.binary)),
      seal: seal instanceof KeyConfigError ? EMPTY_KEYRING : seal,
    });
  } catch (error) {
    logOnce(
      "gate",
      `serving the gated page after an error: ${error instanceof Error ? error.name : "error"}`,
    );
    return respond(renderPage(staticPage, null, UNAVAILABLE), personalisedHeaders(upstream.headers));
  }
}

function respond(
  html: string | Uint8Array<ArrayBuffer>,
  headers: Headers | HeaderEntries,
  cookies: string[] = [],
): Response {
  if (Array.isArray(headers)) return responseWith(html, headers, cookies);
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(html, { status: 200, headers });
}

async function personalise(page: PageFlow): Promise<Response> {
  const visitor = await resolveVisitor(page);
  const cookies = visitor.kind === "guest" && visitor.staleCookie ? [clearCookie(SESSION_COOKIE)] : [];
  if (page.page.tags.length === 0) {
    // nothing on this page is metered: no banner; only the header knows the visitor
    if (visitor.kind === "guest") {
      return respond(page.page.bytes, rewrittenEntries(page.staticHeaders), cookies);
    }
    return respond(
      navFor(page.page.html, visitor),
      personalisedHeaders(page.staticHeaders, formActions(page)),
    );
  }
  if (visitor.kind === "unknown") {
    const html = accountNav(renderPage(page.page, null, null), {
      name: visitor.cookie.name,
      subscriber: false,
    });
    return respond(fillBanner(html, UNAVAILABLE), personalisedHeaders(page.staticHeaders, formActions(page)));
  }
  if (visitor.kind === "account") return await accountPage(page, visitor);
  return await guestPage(page, cookies);
}

function formActions(flow: Flow): string[] {
  try {
    const issuer = flow.get("OIDC_ISSUER")?.trim();
    return issuer ? [new URL(issuer).origin] : [];
  } catch {
    return [];
  }
}

function navFor(html: string, visitor: Visitor): string {
  if (visitor.kind === "account") {
    return accountNav(html, { name: visitor.record.name, subscriber: visitor.subscriber });
  }
  if (visitor.kind === "unknown") return accountNav(html, { name: visitor.cookie.name, subscriber: false });
  return html;
}

// ---- guests ---------------------------------------------------------------------------------------

async function guestPage(page: PageFlow, cookies: string[]): Promise<Response> {
  const headers = personalisedEntries(page.staticHeaders);
  const banner = (outcome: GuestOutcome, remaining = 0) =>
    guestBanner(outcome, page.settings, page.pagePath, remaining);
  // the page is written out once, for the outcome it is served with, as bytes where it can be
  const written = (opened: Opened | null, bannerHtml: string | null) =>
    encodePage(page.page, opened, bannerHtml) ?? renderPage(page.page, opened, bannerHtml);
  const gated = (outcome: GuestOutcome | null, remaining = 0) =>
    written(null, outcome === null ? null : banner(outcome, remaining));
  if (page.intent.speculative) return respond(gated(null), headers, cookies); // never seen: never charged
  if (page.intent.framed) return respond(gated("framed"), headers, cookies);
  const meter = await keyringFromEnv(METER_KEYS_VARIABLE, "hmac", page.get);
  if (meter instanceof KeyConfigError) {
    logOnce("gate", `${meter.message}: every code page is served gated`);
    return respond(gated("unavailable"), headers, cookies);
  }
  const quota = { guestViews: page.settings.guestViews, periodDays: page.settings.periodDays };
  const read = await readMeterCookie(page.request.headers.get("cookie"), meter, page.now);
  const decision = await decide(quota, read?.state ?? null, page.pagePath, page.now);
  const maxAge = periodSeconds(quota);
  if (!decision.allowed) return respond(gated("exhausted"), headers, cookies);

  const unlocked = await openSections(page.page, page.seal, page.pagePath);
  if (unlocked.blocks.length === 0) {
    return respond(gated("not-opened", decision.remaining + (decision.changed ? 1 : 0)), headers, cookies);
  }
  const full = (outcome: GuestOutcome, remaining: number) => written(unlocked, banner(outcome, remaining));
  if (!decision.changed) {
    if (read && read.kid !== meter.currentId) {
      // re-sign with the current key (rotation)
      cookies.push(
        meterSetCookie(await encodeMeterCookie({ ...read.state, issuedAt: page.now }, meter), maxAge),
      );
    }
    return respond(full("reopened", decision.remaining), headers, cookies);
  }
  // a fresh view: the network's daily allowance first (when a database keeps it)
  const db = database(page.get);
  if (db) {
    try {
      const day = utcDay(page.now);
      const key = await networkKey(meter, networkOf(page.ip), day);
      const network = await new NetworkAllowance(db).view(key, day, page.settings.networkDailyViews);
      if (!network.allowed) return respond(gated("network-exhausted"), headers, cookies);
    } catch (error) {
      logOnce(
        "gate",
        `the guest network allowance cannot be checked (${errorText(error)}): fresh guest views are gated`,
      );
      return respond(gated("unavailable"), headers, cookies);
    }
  } else {
    logOnce(
      "gate",
      "neither DATABASE_URL nor NETLIFY_DB_URL is set: the per-network guest allowance is OFF " +
        "(guests are metered by their cookie only, so a reader who discards cookies is not bounded)",
    );
  }
  cookies.push(meterSetCookie(await encodeMeterCookie(decision.newState, meter), maxAge));
  return respond(full("unlocked", decision.remaining), headers, cookies);
}

// ---- accounts -------------------------------------------------------------------------------------

async function accountPage(
  page: PageFlow,
  visitor: Extract<Visitor, { kind: "account" }>,
): Promise<Response> {
  const headers = personalisedHeaders(page.staticHeaders, formActions(page));
  const nav = (html: string) =>
    accountNav(html, { name: visitor.record.name, subscriber: visitor.subscriber });
  const gated = nav(renderPage(page.page, null, null));
  if (page.intent.speculative) return respond(gated, headers);
  if (page.intent.framed) {
    return respond(fillBanner(gated, guestBanner("framed", page.settings, page.pagePath, 0)), headers);
  }
  const unlocked = await unlockSections(page.page, page.seal, page.pagePath);
  if (visitor.subscriber) return respond(unlocked.opened > 0 ? nav(unlocked.html) : gated, headers);

  const quota = page.settings.guestViews + page.settings.freeAccountExtraViews;
  const banner = (outcome: AccountOutcome, used: number) =>
    accountBanner(outcome, quota, used, page.settings.periodDays, page.pagePath, visitor.unconfirmed);
  // the guest meter of this browser carries into the account (idempotent, within the quota)
  let guest: { visitorId: string; pageKeys: string[] } | null = null;
  const meter = await keyringFromEnv(METER_KEYS_VARIABLE, "hmac", page.get);
  if (!(meter instanceof KeyConfigError)) {
    const read = await readMeterCookie(page.request.headers.get("cookie"), meter, page.now);
    const quotaGuest = { guestViews: page.settings.guestViews, periodDays: page.settings.periodDays };
    if (read && page.now < read.state.periodStart + periodSeconds(quotaGuest)) {
      guest = {
        visitorId: read.state.visitorId,
        pageKeys: read.state.pages.slice(0, page.settings.guestViews),
      };
    }
  }
  const openable = unlocked.opened > 0;
  // a navigation from another site does not spend a view by itself: the visitor continues
  // (coming back from signing in is a cross-site redirect chain, but it is the visitor's intent)
  const returning = cookieValues(page.request.headers.get("cookie"), CONTINUE_COOKIE)
    .some((value) => value === encodeURIComponent(page.pagePath));
  const crossSite = page.intent.crossSite && !returning;
  if (returning) headers.append("set-cookie", clearCookie(CONTINUE_COOKIE));
  const charge = openable && !crossSite;
  let result;
  try {
    result = await new PostgresAccountMeterStore(visitor.db).view({
      subject: visitor.record.subject,
      pagePath: page.pagePath,
      quota,
      periodDays: page.settings.periodDays,
      charge,
      guest,
    });
  } catch (error) {
    logOnce("gate", `account meter unavailable (${errorText(error)}): serving gated pages`);
    return respond(fillBanner(gated, UNAVAILABLE), headers);
  }
  if (result.unlocked && openable) {
    return respond(
      fillBanner(nav(unlocked.html), banner(result.charged ? "unlocked" : "reopened", result.used)),
      headers,
    );
  }
  if (!openable) return respond(fillBanner(gated, banner("not-opened", result.used)), headers);
  if (page.intent.crossSite && result.used < quota) {
    return respond(fillBanner(gated, banner("continue", result.used)), headers);
  }
  return respond(fillBanner(freeAccountPlaceholders(gated), banner("exhausted", result.used)), headers);
}
