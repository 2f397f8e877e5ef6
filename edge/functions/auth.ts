/**
 * Logging in and out, at the edge: OpenID Connect authorization-code flow with PKCE.
 *
 *   /auth/login[?return_to=/path]     → the provider's sign-in (state, nonce, PKCE in a signed cookie)
 *   /auth/register[?return_to=/path]  → the same, to the provider's sign-up screen
 *   /auth/callback?code&state          → verify, exchange, verify the ID token, set the session
 *   /auth/logout                       → clear the session, end the provider's session
 *   /auth/upgrade                      → CODEPAGES_UPGRADE_URL, else sign in again (to pick a plan)
 *
 * Every answer is `Cache-Control: no-store`. Misconfiguration answers 503 with a page naming
 * the variable (and logs it); the code pages keep serving, gated.
 */
import type { Config, Context } from "@netlify/edge-functions";
import { authConfig, AuthConfigError } from "../lib/auth_config.ts";
import { getEnv } from "../lib/env.ts";
import {
  authorizationUrl,
  constantTimeEqual,
  discover,
  exchangeCode,
  IdTokenError,
  OidcProviderError,
  registerParams,
  verifyIdToken,
} from "../lib/oidc.ts";
import { escapeHtml } from "../lib/page.ts";
import {
  encodeLogin,
  encodeSession,
  LOGIN_COOKIE,
  LOGIN_SECONDS,
  randomToken,
  readLogin,
  safeReturnPath,
  SESSION_COOKIE,
  sessionDays,
} from "../lib/session.ts";
import { clearCookieHeader, setCookieHeader } from "../lib/signed_cookie.ts";

// Routes: netlify.toml ([[edge_functions]] path = "/auth/*").
export const config: Config = {};

export const UPGRADE_URL_VARIABLE = "CODEPAGES_UPGRADE_URL";

const logged = new Set<string>();
function logOnce(message: string): void {
  if (logged.has(message)) return;
  logged.add(message);
  console.error(`codepages auth: ${message}`);
}

function noStore(headers: HeadersInit = {}): Headers {
  const h = new Headers(headers);
  h.set("cache-control", "no-store");
  h.set("referrer-policy", "no-referrer");
  h.set("x-content-type-options", "nosniff");
  return h;
}

function redirect(location: string, cookies: string[] = [], status = 303): Response {
  const headers = noStore({ location });
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(null, { status, headers });
}

export function messagePage(status: number, title: string, text: string, cookies: string[] = []): Response {
  const headers = noStore({ "content-type": "text/html; charset=UTF-8" });
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)} | Codepages</title></head>
<body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>
<p><a href="/auth/login">Try again</a> · <a href="/">Home</a></p></main></body></html>`;
  return new Response(body, { status, headers });
}

function configurationError(error: AuthConfigError): Response {
  logOnce(`sign-in is not configured: ${error.message}`);
  return messagePage(
    503,
    "Sign-in is not available",
    `Sign-in is not configured on this site (operator: ${error.variable} — ${error.message}). ` +
      "Code pages can still be read within the guest allowance.",
  );
}

function providerError(error: unknown, cookies: string[] = []): Response {
  logOnce(`identity provider problem: ${error instanceof Error ? error.message : error}`);
  return messagePage(
    502,
    "Sign-in is not available right now",
    "The identity provider could not be reached. Please try again in a few minutes.",
    cookies,
  );
}

function callbackUrl(url: URL): string {
  return `${url.origin}/auth/callback`;
}

async function startLogin(
  request: Request,
  url: URL,
  register: boolean,
  forceLogin = false,
): Promise<Response> {
  let auth;
  try {
    auth = await authConfig();
  } catch (error) {
    if (error instanceof AuthConfigError) return configurationError(error);
    throw error;
  }
  let discovery;
  try {
    discovery = await discover(auth.oidc.issuer);
  } catch (error) {
    return providerError(error);
  }
  const returnTo = url.searchParams.has("return_to")
    ? safeReturnPath(url.searchParams.get("return_to"), url.origin)
    : safeReturnPath(request.headers.get("referer"), url.origin);
  const now = Math.floor(Date.now() / 1000);
  const login = {
    state: randomToken(),
    nonce: randomToken(),
    verifier: randomToken(),
    returnTo,
    issuedAt: now,
    expiresAt: now + LOGIN_SECONDS,
  };
  const extra = register ? registerParams(auth.oidc, discovery) : new URLSearchParams();
  if (forceLogin) extra.set("prompt", "login");
  const location = await authorizationUrl(auth.oidc, discovery, {
    redirectUri: callbackUrl(url),
    state: login.state,
    nonce: login.nonce,
    verifier: login.verifier,
    extra,
  });
  return redirect(location, [
    setCookieHeader(LOGIN_COOKIE, await encodeLogin(login, auth.keys), LOGIN_SECONDS),
  ], 302);
}

async function callback(request: Request, url: URL): Promise<Response> {
  const clearLogin = clearCookieHeader(LOGIN_COOKIE);
  let auth;
  try {
    auth = await authConfig();
  } catch (error) {
    if (error instanceof AuthConfigError) return configurationError(error);
    throw error;
  }
  const now = Math.floor(Date.now() / 1000);
  const login = await readLogin(request.headers.get("cookie"), auth.keys, now);
  const state = url.searchParams.get("state");
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
  const iss = url.searchParams.get("iss");
  if (iss !== null && iss !== auth.oidc.issuer) {
    return messagePage(
      400,
      "Sign-in could not be completed",
      "The answer came from another identity provider.",
      [clearLogin],
    );
  }
  const error = url.searchParams.get("error");
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
  const code = url.searchParams.get("code");
  if (!code || code.length > 4096) {
    return messagePage(400, "Sign-in could not be completed", "The identity provider's answer had no code.", [
      clearLogin,
    ]);
  }
  let identity;
  try {
    const idToken = await exchangeCode(auth.oidc, discovery, {
      code,
      redirectUri: callbackUrl(url),
      verifier: login.verifier,
    });
    identity = await verifyIdToken(auth.oidc, discovery, idToken, login.nonce);
  } catch (error) {
    if (error instanceof IdTokenError) {
      logOnce(`sign-in refused: ${error.message}`);
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
  const days = sessionDays(getEnv);
  const session = await encodeSession({
    subject: identity.subject,
    issuer: auth.oidc.issuer,
    name: identity.name,
    subscriber: identity.subscriber,
    issuedAt: now,
    expiresAt: now + days * 86400,
  }, auth.keys);
  return redirect(login.returnTo, [clearLogin, setCookieHeader(SESSION_COOKIE, session, days * 86400)]);
}

async function logout(url: URL): Promise<Response> {
  const cookies = [clearCookieHeader(SESSION_COOKIE), clearCookieHeader(LOGIN_COOKIE)];
  const home = `${url.origin}/`;
  try {
    const auth = await authConfig();
    const discovery = await discover(auth.oidc.issuer);
    if (discovery.end_session_endpoint) {
      const end = new URL(discovery.end_session_endpoint);
      end.searchParams.set("client_id", auth.oidc.clientId);
      end.searchParams.set("post_logout_redirect_uri", home);
      return redirect(end.href, cookies);
    }
  } catch {
    // not configured or the provider is down: our own session is gone all the same
  }
  return redirect("/", cookies);
}

export default async function auth(request: Request, _context: Context): Promise<Response> {
  const url = new URL(request.url);
  const method = request.method.toUpperCase();
  const route = url.pathname.replace(/\/+$/, "").toLowerCase();
  try {
    if (route === "/auth/logout" && (method === "GET" || method === "POST")) return await logout(url);
    if (method !== "GET" && method !== "HEAD") {
      return new Response("Method not allowed", { status: 405, headers: noStore({ allow: "GET, HEAD" }) });
    }
    switch (route) {
      case "/auth/login":
        return await startLogin(request, url, false);
      case "/auth/register":
        return await startLogin(request, url, true);
      case "/auth/callback":
        return await callback(request, url);
      case "/auth/upgrade": {
        const upgrade = getEnv(UPGRADE_URL_VARIABLE)?.trim();
        if (upgrade && /^https:\/\//.test(upgrade)) return redirect(upgrade, [], 302);
        return await startLogin(request, url, false, true);
      }
      default:
        return messagePage(404, "Page not found", "There is no such page.");
    }
  } catch (error) {
    logOnce(`unexpected error: ${error instanceof Error ? `${error.name}: ${error.message}` : error}`);
    return messagePage(500, "Sign-in failed", "Something went wrong while signing in. Please try again.", [
      clearCookieHeader(LOGIN_COOKIE),
    ]);
  }
}
