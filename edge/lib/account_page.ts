/**
 * What a signed-in visitor's pages change: the header's account links (name, plan, and a
 * "Log out" button: logging out is a same-origin POST), the free-account placeholder in locked
 * sections.
 *
 * Markup contract (besides page.ts):
 *
 *   <nav class="account" aria-label="Account" data-logout-url="/auth/logout">…log in / register…</nav>
 *   <script type="text/html" id="placeholder-free-account">…upgrade placeholder (public text only)…</script>
 *   (a <template> works too)
 */
import { escapeHtml } from "./html.ts";

const ACCOUNT_NAV = /(<nav\b[^>]*\bclass="account"[^>]*>)[\s\S]*?<\/nav>/;
const LOGOUT_URL = /\sdata-logout-url="(\/[^"<>]*)"/;
const FREE_TEMPLATE =
  /<(template|script)\b[^>]*\bid="placeholder-free-account"[^>]*>((?:(?!<\/?(?:template|script)\b)[\s\S])*)<\/\1>/;
const LOCKED_BLOCK = /<!--locked:([a-z0-9][a-z0-9-]{0,63})-->[\s\S]*?<!--\/locked:\1-->/g;

export interface NavAccount {
  name: string;
  subscriber: boolean;
}

/** Replace the logged-out header links with the account's name and a "Log out" button. */
export function accountNav(html: string, account: NavAccount): string {
  return html.replace(ACCOUNT_NAV, (_nav, open: string) => {
    const logout = LOGOUT_URL.exec(open)?.[1] ?? "/auth/logout";
    const plan = account.subscriber ? ` <span class="account-plan">Subscriber</span>` : "";
    return `${open}<span class="account-name">${escapeHtml(account.name)}</span>${plan} ` +
      `<form class="logout" method="post" action="${
        escapeHtml(logout)
      }"><button type="submit">Log out</button></form></nav>`;
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
