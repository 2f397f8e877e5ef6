/**
 * The guest meter's decision: no I/O, no clock, no randomness of its own (the caller passes
 * `now` and may pass the visitor-id generator).
 *
 * - No state: a new visitor, a new period starting now.
 * - A period ends `periodDays` after it started; the next request starts a new one.
 * - A page already unlocked in the period opens again for free.
 * - Otherwise a page is unlocked while fewer than `guestViews` pages are.
 * - A state listing more pages than the quota (a lowered quota) is exhausted, and only its
 *   first `guestViews` pages count as unlocked.
 */
import { b64urlEncode } from "./b64.ts";
import { sha256Sync } from "./fast_crypto.ts";
import type { MeterState } from "./meter_cookie.ts";

export interface Quota {
  guestViews: number;
  periodDays: number;
}

export interface Decision {
  allowed: boolean;
  /** views left after this request */
  remaining: number;
  newState: MeterState;
  /** newState differs from the state read: the cookie must be written */
  changed: boolean;
  pageKey: string;
}

export function periodSeconds(quota: Quota): number {
  return Math.round(quota.periodDays * 86400);
}

export function randomVisitorId(): string {
  return b64urlEncode(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * The short key a page is stored under: 64 bits of SHA-256 over the visitor id and the
 * canonical path, so the cookie holds no paths and its keys are not shared between visitors.
 */
export async function pageKey(visitorId: string, pagePath: string): Promise<string> {
  const data = new TextEncoder().encode(`codepages/meter/v1|${visitorId}|${pagePath}`);
  const digest = sha256Sync(data) ?? new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  let hex = "";
  for (let i = 0; i < 8; i++) hex += digest[i].toString(16).padStart(2, "0");
  return hex;
}

export async function decide(
  quota: Quota,
  state: MeterState | null,
  pagePath: string,
  now: number,
  newVisitorId: () => string = randomVisitorId,
): Promise<Decision> {
  const limit = Math.max(0, Math.floor(quota.guestViews));
  let current: MeterState;
  if (state === null) {
    current = { visitorId: newVisitorId(), periodStart: now, pages: [], issuedAt: now };
  } else if (now >= state.periodStart + periodSeconds(quota)) {
    current = { visitorId: state.visitorId, periodStart: now, pages: [], issuedAt: now };
  } else {
    current = state;
  }
  const key = await pageKey(current.visitorId, pagePath);
  const left = Math.max(0, limit - current.pages.length);
  if (current.pages.slice(0, limit).includes(key)) {
    return { allowed: true, remaining: left, newState: current, changed: false, pageKey: key };
  }
  if (left > 0) {
    const newState = { ...current, pages: [...current.pages, key], issuedAt: now };
    return { allowed: true, remaining: left - 1, newState, changed: true, pageKey: key };
  }
  return { allowed: false, remaining: 0, newState: current, changed: false, pageKey: key };
}
