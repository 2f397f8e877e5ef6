/**
 * Logging in and out, at the edge (functions/auth.ts): OpenID Connect authorization-code flow
 * with PKCE, server-side sessions.
 *
 *   GET  /auth/login[?return_to=/path]     → the provider's sign-in (state, nonce, PKCE in a signed cookie)
 *   GET  /auth/register[?return_to=/path]  → the same, to the provider's sign-up screen
 *   GET  /auth/callback?code&state          → verify, exchange, verify the ID token, create the session
 *   GET  /auth/logout                       → a small page with the "Log out" button (a link cannot log out)
 *   POST /auth/logout [everywhere=1]        → same-origin only: revoke this session (or all of the
 *                                             account's), clear the cookie, end the provider's session
 *   GET  /auth/refresh[?return_to=/path]    → re-read the plan from the provider now
 *   GET  /auth/upgrade                      → CODEPAGES_UPGRADE_URL, else sign in again (to pick a plan)
 *
 * Every answer is `Cache-Control: no-store` with the security headers. Misconfiguration answers
 * 503 with a page naming the variable (and logs it); the code pages keep serving, gated.
 */
import { type AuthConfig, authConfig, AuthConfigError } from "../auth_config.ts";
import { randomToken } from "../b64.ts";
import { clearCookie, setCookie } from "../cookies.ts";
import type { Flow } from "../flow.ts";
import { edgeHeaders, secure } from "../headers.ts";
import { escapeHtml } from "../html.ts";
import { errorText, logOnce } from "../log.ts";
import {
  authorizationUrl,
  constantTimeEqual,
  discover,
  exchangeCode,
  IdTokenError,
  OidcProviderError,
  registerParams,
  verifyIdToken,
} from "../oidc.ts";
import { returnPath } from "../return_path.ts";
import {
  CONTINUE_COOKIE,
  encodeLogin,
  encodeSessionCookie,
  LOGIN_COOKIE,
  LOGIN_SECONDS,
  readLogin,
  readSessionCookie,
  SESSION_COOKIE,
  sessionDays,
  sessionIdHash,
} from "../session.ts";
import { sealRefreshToken, SessionStore } from "../session_store.ts";
import { refreshClaims, resolveVisitor } from "../visitor.ts";

export const UPGRADE_URL_VARIABLE = "CODEPAGES_UPGRADE_URL";

function log(message: string): void {
  logOnce("auth", message);
}

function redirect(location: string, cookies: string[] = [], status = 303): Response {
  const headers = edgeHeaders({ location });
  headers.set("referrer-policy", "no-referrer");
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(null, { status, headers });
}

function page(
  status: number,
  title: string,
  body: string,
  cookies: string[] = [],
  formActions: string[] = [],
): Response {
  const headers = edgeHeaders({ "content-type": "text/html; charset=UTF-8" });
  secure(headers, formActions);
  headers.set("referrer-policy", "no-referrer");
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)} | Codepages</title></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
  return new Response(html, { status, headers });
}

export function messagePage(status: number, title: string, text: string, cookies: string[] = []): Response {
  return page(
    status,
    title,
    `<p>${escapeHtml(text)}</p>\n<p><a href="/auth/login">Try again</a> · <a href="/">Home</a></p>`,
    cookies,
  );
}

function configurationError(error: AuthConfigError): Response {
  log(`sign-in is not configured: ${error.message}`);
  return messagePage(
    503,
    "Sign-in is not available",
    `Sign-in is not configured on this site (operator: ${error.variable} — ${error.message}). ` +
      "Code pages can still be read within the guest allowance.",
  );
}

function providerError(error: unknown, cookies: string[] = []): Response {
  log(`identity provider problem: ${errorText(error)}`);
  return messagePage(
    502,
    "Sign-in is not available right now",
    "The identity provider could not be reached. Please try again in a few minutes.",
    cookies,
  );
}

async function configured(): Promise<AuthConfig | Response> {
  try {
    return await authConfig();
  } catch (error) {
    if (error instanceof AuthConfigError) return configurationError(error);
    throw error;
  }
}

async function startLogin(flow: Flow, register: boolean, forceLogin = false): Promise<Response> {
  const auth = await configured();
  if (auth instanceof Response) return auth;
  let discovery;
  try {
    discovery = await discover(auth.oidc.issuer);
  } catch (error) {
    return providerError(error);
  }
  const returnTo = flow.url.searchParams.has("return_to")
    ? returnPath(flow.url.searchParams.get("return_to"), flow.url.origin)
    : returnPath(flow.request.headers.get("referer"), flow.url.origin);
  const login = {
    state: randomToken(),
    nonce: randomToken(),
    verifier: randomToken(),
    returnTo,
    issuedAt: flow.now,
    expiresAt: flow.now + LOGIN_SECONDS,
  };
  const extra = register ? registerParams(auth.oidc, discovery) : new URLSearchParams();
  if (forceLogin) extra.set("prompt", "login");
  const location = await authorizationUrl(auth.oidc, discovery, {
    redirectUri: `${flow.url.origin}/auth/callback`,
    state: login.state,
    nonce: login.nonce,
    verifier: login.verifier,
    extra,
  });
  return redirect(
    location,
    [setCookie(LOGIN_COOKIE, await encodeLogin(login, auth.keys), LOGIN_SECONDS)],
    302,
  );
}

async function callback(flow: Flow): Promise<Response> {
  const clearLogin = clearCookie(LOGIN_COOKIE);
  const auth = await configured();
  if (auth instanceof Response) return auth;
  const params = flow.url.searchParams;
  const login = await readLogin(flow.request.headers.get("cookie"), auth.keys, flow.now);
  const state = params.get("state");
  if (!login || !state || !constantTimeEqual(state, login.state)) {
    // no login under way in this browser, an expired one, or someone else's callback URL
    return messagePage(
      400,
      "Sign-in could not be completed",
      "This sign-in link has expired or was not started in this browser. Please sign in again.",
      [clearLogin],
    );
  }
  let discovery;
  try {
    discovery = await discover(auth.oidc.issuer);
  } catch (error) {
    return providerError(error, [clearLogin]);
  }
  // RFC 9207: when the provider names itself in the response, it must be ours
  const iss = params.get("iss");
  if (iss !== null && iss !== auth.oidc.issuer) {
    return messagePage(
      400,
      "Sign-in could not be completed",
      "The answer came from another identity provider.",
      [
        clearLogin,
      ],
    );
  }
  const error = params.get("error");
  if (error !== null) {
    if (error === "access_denied" || error === "login_required") {
      return redirect(login.returnTo, [clearLogin]);
    }
    return messagePage(
      400,
      "Sign-in could not be completed",
      `The identity provider said: ${error.slice(0, 100)}.`,
      [clearLogin],
    );
  }
  const code = params.get("code");
  if (!code || code.length > 4096) {
    return messagePage(400, "Sign-in could not be completed", "The identity provider's answer had no code.", [
      clearLogin,
    ]);
  }
  let identity;
  let refreshToken: string | null;
  try {
    const tokens = await exchangeCode(auth.oidc, discovery, {
      code,
      redirectUri: `${flow.url.origin}/auth/callback`,
      verifier: login.verifier,
    });
    identity = await verifyIdToken(auth.oidc, discovery, tokens.idToken, login.nonce);
    refreshToken = tokens.refreshToken;
  } catch (error) {
    if (error instanceof IdTokenError) {
      log(`sign-in refused: ${error.message}`);
      return messagePage(
        400,
        "Sign-in could not be completed",
        "The identity provider's answer could not be verified. Please sign in again.",
        [clearLogin],
      );
    }
    if (error instanceof OidcProviderError) return providerError(error, [clearLogin]);
    throw error;
  }
  const store = new SessionStore(auth.db);
  const days = sessionDays(flow.get);
  const sid = randomToken();
  const idHash = await sessionIdHash(sid);
  try {
    // a session this browser had before (signing in again, refreshing the plan) ends now
    const previous = await readSessionCookie(flow.request.headers.get("cookie"), auth.keys, flow.now);
    if (previous) await store.revoke(await sessionIdHash(previous.sid));
    await store.create(idHash, {
      subject: identity.subject,
      issuer: auth.oidc.issuer,
      name: identity.name,
      subscriber: identity.subscriber,
      claimsAt: flow.now,
      refreshToken: refreshToken ? await sealRefreshToken(auth.keys, refreshToken, idHash) : null,
      expiresAt: flow.now + days * 86400,
    });
  } catch (error) {
    log(`sessions cannot be stored (${errorText(error)})`);
    return messagePage(
      503,
      "Sign-in is not available right now",
      "Your account could not be opened right now. Please try again in a few minutes.",
      [clearLogin],
    );
  }
  const cookie = await encodeSessionCookie(
    { sid, name: identity.name, expiresAt: flow.now + days * 86400 },
    auth.keys,
  );
  return redirect(login.returnTo, [
    clearLogin,
    setCookie(SESSION_COOKIE, cookie, days * 86400),
    setCookie(CONTINUE_COOKIE, encodeURIComponent(login.returnTo.split("?")[0]), 120),
  ]);
}

/** Logging out needs intent: a GET (a link, an <img>, a cross-site page) only shows this form. */
function logoutForm(flow: Flow): Response {
  let formActions: string[] = [];
  try {
    const issuer = flow.get("OIDC_ISSUER")?.trim();
    if (issuer) formActions = [new URL(issuer).origin];
  } catch { /* none */ }
  return page(
    200,
    "Log out",
    `<form method="post" action="/auth/logout">
<p><button type="submit">Log out</button></p>
<p><label><input type="checkbox" name="everywhere" value="1"> Log out on every device and browser</label></p>
</form>
<p><a href="/">Back to the site</a></p>`,
    [],
    formActions,
  );
}

/** A POST from this site's own pages: Origin (or, without it, Sec-Fetch-Site) says same-origin. */
function sameOrigin(flow: Flow): boolean {
  const origin = flow.request.headers.get("origin");
  if (origin !== null) return origin === flow.url.origin;
  return (flow.request.headers.get("sec-fetch-site") ?? "").toLowerCase() === "same-origin";
}

async function logout(flow: Flow): Promise<Response> {
  if (!sameOrigin(flow)) {
    return messagePage(403, "Not logged out", "Logging out works from this site's own pages only.");
  }
  let everywhere = false;
  try {
    const type = flow.request.headers.get("content-type") ?? "";
    if (type.startsWith("application/x-www-form-urlencoded")) {
      everywhere = new URLSearchParams((await flow.request.text()).slice(0, 2000)).get("everywhere") === "1";
    }
  } catch { /* no body */ }
  const cookies = [clearCookie(SESSION_COOKIE), clearCookie(LOGIN_COOKIE)];
  const home = `${flow.url.origin}/`;
  let auth: AuthConfig | null = null;
  try {
    auth = await authConfig();
  } catch { /* not configured: our cookie is cleared all the same */ }
  if (auth) {
    const visitor = await resolveVisitor(flow).catch(() => null);
    const cookie = await readSessionCookie(flow.request.headers.get("cookie"), auth.keys, flow.now);
    try {
      const store = new SessionStore(auth.db);
      if (everywhere && visitor?.kind === "account") {
        await store.revokeAll(visitor.record.subject, visitor.record.issuer);
      } else if (cookie) {
        await store.revoke(await sessionIdHash(cookie.sid));
      }
    } catch (error) {
      log(`a session could not be revoked (${errorText(error)})`);
      return messagePage(
        503,
        "Not logged out",
        "Your session could not be ended right now. Please try again in a few minutes.",
      );
    }
    try {
      const discovery = await discover(auth.oidc.issuer);
      if (discovery.end_session_endpoint) {
        const end = new URL(discovery.end_session_endpoint);
        end.searchParams.set("client_id", auth.oidc.clientId);
        end.searchParams.set("post_logout_redirect_uri", home);
        return redirect(end.href, cookies);
      }
    } catch { /* the provider is down: our session is gone all the same */ }
  }
  return redirect("/", cookies);
}

async function refresh(flow: Flow): Promise<Response> {
  const back = returnPath(flow.url.searchParams.get("return_to"), flow.url.origin);
  const auth = await configured();
  if (auth instanceof Response) return auth;
  const visitor = await resolveVisitor(flow);
  if (visitor.kind === "account") {
    const fresh = await refreshClaims(
      flow,
      auth.keys,
      new SessionStore(auth.db),
      visitor.idHash,
      visitor.record,
      true,
    );
    if (fresh) return redirect(back);
  }
  // no refresh token (or it no longer works): sign in again, back to the same page
  const url = new URL(flow.url);
  url.searchParams.set("return_to", back);
  return startLogin({ ...flow, url }, false);
}

export async function authRoute(flow: Flow): Promise<Response> {
  const route = flow.url.pathname.replace(/\/+$/, "").toLowerCase();
  try {
    if (route === "/auth/logout") {
      if (flow.method === "POST") return await logout(flow);
      if (flow.method === "GET" || flow.method === "HEAD") return logoutForm(flow);
    }
    if (flow.method !== "GET" && flow.method !== "HEAD") {
      const headers = edgeHeaders({ allow: "GET, HEAD" });
      return new Response("Method not allowed", { status: 405, headers });
    }
    switch (route) {
      case "/auth/login":
        return await startLogin(flow, false);
      case "/auth/register":
        return await startLogin(flow, true);
      case "/auth/callback":
        return await callback(flow);
      case "/auth/refresh":
        return await refresh(flow);
      case "/auth/upgrade": {
        const upgrade = flow.get(UPGRADE_URL_VARIABLE)?.trim();
        if (upgrade && /^https:\/\//.test(upgrade)) return redirect(upgrade, [], 302);
        return await startLogin(flow, false, true);
      }
      default:
        return messagePage(404, "Page not found", "There is no such page.");
    }
  } catch (error) {
    log(`unexpected error: ${error instanceof Error ? `${error.name}: ${error.message}` : error}`);
    return messagePage(500, "Sign-in failed", "Something went wrong while signing in. Please try again.", [
      clearCookie(LOGIN_COOKIE),
    ]);
  }
}
