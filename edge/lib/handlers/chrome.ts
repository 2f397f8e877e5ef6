/**
 * Pages outside the meter (home, code-set and range indexes, search, help; functions/account.ts):
 * for a signed-in visitor the header shows the account and "Log out" instead of "Log in /
 * Register". Without a session cookie the static page passes through untouched (and stays
 * cacheable), with the security headers.
 */
import { accountNav } from "../account_page.ts";
import { clearCookie } from "../cookies.ts";
import type { Flow } from "../flow.ts";
import { isHtml, personalisedHeaders, secured, staticRequest } from "../headers.ts";
import { SESSION_COOKIE } from "../session.ts";
import { resolveVisitor } from "../visitor.ts";

export async function chromePage(flow: Flow): Promise<Response> {
  const header = flow.request.headers.get("cookie");
  if ((flow.method !== "GET" && flow.method !== "HEAD") || !header?.includes(SESSION_COOKIE)) {
    return secured(await flow.context.next());
  }
  const visitor = await resolveVisitor(flow).catch(() => null);
  if (!visitor || visitor.kind === "guest") {
    const response = secured(await flow.context.next());
    if (visitor?.staleCookie) {
      const headers = personalisedHeaders(response.headers);
      headers.append("set-cookie", clearCookie(SESSION_COOKIE));
      return new Response(response.body, { status: response.status, headers });
    }
    return response;
  }
  const upstream = await flow.context.next(staticRequest(flow.request));
  if (upstream.status !== 200 || !isHtml(upstream)) return secured(upstream);
  const issuer = flow.get("OIDC_ISSUER")?.trim();
  let formActions: string[] = [];
  try {
    formActions = issuer ? [new URL(issuer).origin] : [];
  } catch { /* no provider origin */ }
  const headers = personalisedHeaders(upstream.headers, formActions);
  if (flow.method === "HEAD") {
    await upstream.body?.cancel();
    return new Response(null, { status: 200, headers });
  }
  const account = visitor.kind === "account"
    ? { name: visitor.record.name, subscriber: visitor.subscriber }
    : { name: visitor.cookie.name, subscriber: false };
  return new Response(accountNav(await upstream.text(), account), { status: 200, headers });
}
