/**
 * What a signed-in visitor's pages change: the header's account links, the free-account
 * placeholder in locked sections, the banner sentences of accounts.
 *
 * Markup contract (besides page.ts):
 *
 *   <nav class="account" aria-label="Account" data-logout-url="/auth/logout">…log in / register…</nav>
 *   <script type="text/html" id="placeholder-free-account">…upgrade placeholder (public text only)…</script>
 *   (a <template> works too)
 */
import { escapeHtml } from "./page.ts";
import type { Session } from "./session.ts";

const ACCOUNT_NAV = /(<nav\b[^>]*\bclass="account"[^>]*>)[\s\S]*?<\/nav>/;
const LOGOUT_URL = /\sdata-logout-url="(\/[^"<>]*)"/;
const FREE_TEMPLATE =
  /<(template|script)\b[^>]*\bid="placeholder-free-account"[^>]*>((?:(?!<\/?(?:template|script)\b)[\s\S])*)<\/\1>/;
const LOCKED_BLOCK = /<!--locked:([a-z0-9][a-z0-9-]{0,63})-->[\s\S]*?<!--\/locked:\1-->/g;

/** Replace the logged-out header links with the account's name and "Log out". */
export function accountNav(html: string, session: Session): string {
  return html.replace(ACCOUNT_NAV, (_nav, open: string) => {
    const logout = LOGOUT_URL.exec(open)?.[1] ?? "/auth/logout";
    const plan = session.subscriber ? ` <span class="account-plan">Subscriber</span>` : "";
    return `${open}<span class="account-name">${escapeHtml(session.name)}</span>${plan} ` +
      `<a href="${escapeHtml(logout)}">Log out</a></nav>`;
  });
}

/** Show the free-account (upgrade) placeholder in every locked section, when the page carries it. */
export function freeAccountPlaceholders(html: string): string {
  const template = FREE_TEMPLATE.exec(html)?.[2];
  if (template === undefined) return html;
  return html.replace(
    LOCKED_BLOCK,
    (_block, id: string) => `<!--locked:${id}-->${template}<!--/locked:${id}-->`,
  );
}

function views(n: number): string {
  return `${n} code page view${n === 1 ? "" : "s"}`;
}

export function accountBanner(quota: number, used: number, periodDays: number, allowed: boolean): string {
  if (allowed) return `You have ${views(Math.max(0, quota - used))} remaining.`;
  return `0 code page views remaining. Free accounts are limited to ${
    views(quota)
  } every ${periodDays} days. ` +
    "Upgrade to a subscription to unlock every code page.";
}

export const OUTAGE_BANNER =
  "Your code page views cannot be checked right now, so protected sections stay locked. Please try again in a few minutes.";
