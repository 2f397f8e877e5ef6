/**
 * Logging in (functions/auth.ts) and sessions at the gate, with attack cases against the
 * ID token, the state, the session cookie and the provider. The provider is a loopback
 * stand-in with real keys (auth_helpers.ts); needs --allow-net=127.0.0.1 (`make test`).
 */
import type { Context } from "@netlify/edge-functions";
import { SignJWT } from "npm:jose@6.2.18";
import account from "../functions/account.ts";
import { b64urlEncode } from "../lib/b64.ts";
import {
  answer,
  callAuth,
  callGate,
  CLIENT_ID,
  DATABASE_URL,
  IN_CI,
  login,
  mintSession,
  MockProvider,
  NET,
  pagesWithTemplate,
  ROLE_CLAIM,
  sessionOf,
  SITE,
  startLogin,
} from "./auth_helpers.ts";
import {
  A,
  assert,
  assertEquals,
  assertFull,
  assertGated,
  assertPersonalised,
  bannerOf,
  BASE_ENV,
  staticServer,
  withEnv,
} from "./helpers.ts";

// sessions are server-side: these tests need loopback and the test database (make test)
const READY = NET && DATABASE_URL !== undefined;
const provider = READY ? await MockProvider.start() : null;
const net = { ignore: !READY && !IN_CI, sanitizeOps: false, sanitizeResources: false };

function test(name: string, fn: (p: MockProvider) => Promise<void>): void {
  Deno.test({ name, ...net, fn: () => fn(provider!) });
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** The callback refused the login: no session cookie, the login cookie cleared, a page not a redirect. */
function assertRefused(
  callback: Awaited<ReturnType<typeof login>>["callback"],
  status = 400,
  message = "",
): void {
  assertEquals(callback.status, status, `${message}: status (${callback.body.slice(0, 300)})`);
  assert(!callback.cookies.has("__Host-cp_session"), `${message}: a session was set`);
  assertEquals(callback.cookies.get("__Host-cp_login"), "", `${message}: the login cookie is cleared`);
  assertEquals(callback.headers.get("cache-control"), "no-store");
}

function b64json(value: unknown): string {
  return b64urlEncode(new TextEncoder().encode(JSON.stringify(value)));
}

// ---- the flow ----------------------------------------------------------------------------------

test("auth: /auth/login redirects to the provider with PKCE S256, state, nonce and a signed login cookie", async (p) => {
  const start = await callAuth(
    "/auth/login?return_to=/cpt/62326/&scope=admin&prompt=none&role=subscriber",
    p.env,
  );
  assertEquals(start.status, 302);
  const url = new URL(start.location!);
  assertEquals(url.origin + url.pathname, `${p.issuer}/authorize`);
  const params = Object.fromEntries(url.searchParams);
  assertEquals(Object.keys(params).sort(), [
    "client_id",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
  ], "only our parameters: nothing the visitor adds reaches the provider");
  assertEquals(params.response_type, "code");
  assertEquals(params.code_challenge_method, "S256");
  assertEquals(params.scope, "openid email profile");
  assertEquals(params.redirect_uri, "https://codepages.test/auth/callback");
  assertEquals(params.client_id, CLIENT_ID);
  assert(/^[A-Za-z0-9_-]{43}$/.test(params.state) && /^[A-Za-z0-9_-]{43}$/.test(params.nonce));
  const setCookie = start.headers.getSetCookie()[0];
  assert(setCookie.startsWith("__Host-cp_login=v1.sk1."), setCookie);
  assert(setCookie.endsWith("; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax"), setCookie);
  assertEquals(start.headers.get("cache-control"), "no-store");
  assert(!setCookie.includes(params.state.slice(0, 0) + "verifier"), "the verifier is not in the URL");
  const register = await callAuth("/auth/register", p.env);
  assertEquals(
    new URL(register.location!).searchParams.get("screen_hint"),
    "signup",
    "sign-up hint (Auth0 style)",
  );
});

test("auth: a correct login sets an HttpOnly Secure SameSite=Lax session and returns to the page", async (p) => {
  const { callback } = await login(p, (nonce) => p.sign(p.claims(nonce)));
  assertEquals(callback.status, 303, callback.body);
  assertEquals(callback.location, "/cpt/62326/");
  const header = callback.headers.getSetCookie().find((c) => c.startsWith("__Host-cp_session="))!;
  assert(header.endsWith(`; Path=/; Max-Age=${7 * 86400}; HttpOnly; Secure; SameSite=Lax`), header);
  assertEquals(callback.cookies.get("__Host-cp_login"), "", "the login transaction is over");
  const session = (await sessionOf(callback.cookies.get("__Host-cp_session")))!;
  assertEquals([session.subject, session.name, session.subscriber], ["user-1", "coder@example.com", false]);
  // the token request: Basic client authentication, the PKCE verifier, the same redirect URI
  const form = new URLSearchParams(await p.tokenRequests.at(-1)!.text());
  assertEquals(form.get("grant_type"), "authorization_code");
  assert(/^[A-Za-z0-9_-]{43}$/.test(form.get("code_verifier")!));
});

test("auth: ES256 tokens verify too; the role claim makes a subscriber (string or list)", async (p) => {
  const es = await login(p, (nonce) => p.sign(p.claims(nonce, { [ROLE_CLAIM]: "subscriber" }), "ES256"));
  assertEquals(es.callback.status, 303, es.callback.body);
  assertEquals((await sessionOf(es.callback.cookies.get("__Host-cp_session")))!.subscriber, true);
  const list = await login(p, (nonce) => p.sign(p.claims(nonce, { [ROLE_CLAIM]: ["reader", "subscriber"] })));
  assertEquals((await sessionOf(list.callback.cookies.get("__Host-cp_session")))!.subscriber, true);
  const other = await login(
    p,
    (nonce) => p.sign(p.claims(nonce, { [ROLE_CLAIM]: ["subscriber-trial"], roles: "subscriber" })),
  );
  assertEquals(
    (await sessionOf(other.callback.cookies.get("__Host-cp_session")))!.subscriber,
    false,
    "only the configured claim counts",
  );
});

// ---- attack cases: the ID token ------------------------------------------------------------------

test("attack auth 01: alg none is refused", async (p) => {
  const { callback } = await login(
    p,
    (nonce) => Promise.resolve(`${b64json({ alg: "none", typ: "JWT" })}.${b64json(p.claims(nonce))}.`),
  );
  assertRefused(callback, 400, "alg none");
});

test("attack auth 02: HS256 signed with the provider's public key is refused (no RS/HS confusion)", async (p) => {
  const { callback } = await login(p, async (nonce) => {
    const secret = new TextEncoder().encode(p.keys.rsa.spki);
    return await new SignJWT(p.claims(nonce)).setProtectedHeader({ alg: "HS256", kid: p.keys.rsa.kid }).sign(
      secret,
    );
  });
  assertRefused(callback, 400, "HS256 with the public key");
  const { callback: jwk } = await login(p, async (nonce) => {
    const secret = new TextEncoder().encode(JSON.stringify(p.keys.rsa.publicJwk));
    return await new SignJWT(p.claims(nonce)).setProtectedHeader({ alg: "HS256" }).sign(secret);
  });
  assertRefused(jwk, 400, "HS256 with the JWK");
});

test("attack auth 03: a token signed by another key (same kid) is refused", async (p) => {
  const { callback } = await login(p, async (nonce) => {
    const { privateKey } = await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    );
    return await new SignJWT(p.claims(nonce)).setProtectedHeader({ alg: "RS256", kid: p.keys.rsa.kid }).sign(
      privateKey,
    );
  });
  assertRefused(callback, 400, "foreign key");
});

test("attack auth 04: wrong issuer is refused", async (p) => {
  const { callback } = await login(p, (nonce) => p.sign(p.claims(nonce, { iss: "https://evil.example" })));
  assertRefused(callback, 400, "wrong iss");
  const { callback: slash } = await login(p, (nonce) => p.sign(p.claims(nonce, { iss: `${p.issuer}/` })));
  assertRefused(slash, 400, "iss must match exactly");
});

test("attack auth 05: wrong audience is refused (and a foreign azp)", async (p) => {
  const { callback } = await login(p, (nonce) => p.sign(p.claims(nonce, { aud: "another-client" })));
  assertRefused(callback, 400, "wrong aud");
  const { callback: multi } = await login(
    p,
    (nonce) => p.sign(p.claims(nonce, { aud: [CLIENT_ID, "other"], azp: "other" })),
  );
  assertRefused(multi, 400, "azp of another client");
});

test("attack auth 06: expired tokens are refused (beyond the 60 s leeway)", async (p) => {
  const t = now();
  const { callback } = await login(p, (nonce) => p.sign(p.claims(nonce, { iat: t - 400, exp: t - 120 })));
  assertRefused(callback, 400, "expired");
  const { callback: old } = await login(
    p,
    (nonce) => p.sign(p.claims(nonce, { iat: t - 3600, exp: t + 3600 })),
  );
  assertRefused(old, 400, "issued too long ago for this login");
  const { callback: lenient } = await login(
    p,
    (nonce) => p.sign(p.claims(nonce, { iat: t - 100, exp: t - 30 })),
  );
  assertEquals(lenient.status, 303, "within the leeway");
});

test("attack auth 07: tokens not yet valid are refused (nbf / iat in the future)", async (p) => {
  const t = now();
  const { callback } = await login(p, (nonce) => p.sign(p.claims(nonce, { nbf: t + 600 })));
  assertRefused(callback, 400, "nbf in the future");
  const { callback: iat } = await login(
    p,
    (nonce) => p.sign(p.claims(nonce, { iat: t + 600, exp: t + 900 })),
  );
  assertRefused(iat, 400, "iat in the future");
});

test("attack auth 08: a bad or missing nonce is refused", async (p) => {
  const { callback } = await login(p, (_nonce) => p.sign(p.claims("x".repeat(43))));
  assertRefused(callback, 400, "other nonce");
  const { callback: missing } = await login(p, (nonce) => {
    const claims = p.claims(nonce);
    delete claims.nonce;
    return p.sign(claims);
  });
  assertRefused(missing, 400, "no nonce");
});

// ---- attack cases: state --------------------------------------------------------------------------

test("attack auth 09: missing, wrong or replayed state is refused", async (p) => {
  const start = await startLogin(p);
  const code = p.issueCode(start.challenge, start.redirectUri, await p.sign(p.claims(start.nonce)));
  const cookie = `__Host-cp_login=${start.loginCookie}`;
  assertRefused(await callAuth(`/auth/callback?code=${code}`, p.env, cookie), 400, "no state");
  assertRefused(
    await callAuth(`/auth/callback?code=${code}&state=${"A".repeat(43)}`, p.env, cookie),
    400,
    "other state",
  );
  assertRefused(
    await callAuth(`/auth/callback?code=${code}&state=${start.state}`, p.env),
    400,
    "no login cookie (login CSRF)",
  );
  const otherBrowser = await startLogin(p);
  assertRefused(
    await callAuth(
      `/auth/callback?code=${code}&state=${start.state}`,
      p.env,
      `__Host-cp_login=${otherBrowser.loginCookie}`,
    ),
    400,
    "someone else's login cookie",
  );
  assertEquals(p.codes.get(code)!.used, false, "nothing was sent to the token endpoint");
  // the real callback, then its replay: the cookie is gone, and with a kept copy the code is spent
  const ok = await callAuth(`/auth/callback?code=${code}&state=${start.state}`, p.env, cookie);
  assertEquals(ok.status, 303);
  const replayedNoCookie = await callAuth(`/auth/callback?code=${code}&state=${start.state}`, p.env);
  assertRefused(replayedNoCookie, 400, "replay without the login cookie");
  const replayed = await callAuth(`/auth/callback?code=${code}&state=${start.state}`, p.env, cookie);
  assertRefused(replayed, 400, "replay with a kept login cookie: the code is single-use");
  // a login cookie that is tampered with, or expired, reads as none
  const [v, kid, payload, mac] = start.loginCookie.split(".");
  const data = JSON.parse(
    new TextDecoder().decode(
      Uint8Array.from(atob(payload.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)),
    ),
  );
  const forged = `${v}.${kid}.${b64json({ ...data, st: "B".repeat(43) })}.${mac}`;
  assertRefused(
    await callAuth(`/auth/callback?code=${code}&state=${"B".repeat(43)}`, p.env, `__Host-cp_login=${forged}`),
    400,
    "tampered",
  );
  // the provider's error answer for a valid state returns the visitor to the page
  const cancel = await startLogin(p);
  const cancelled = await callAuth(
    `/auth/callback?error=access_denied&state=${cancel.state}`,
    p.env,
    `__Host-cp_login=${cancel.loginCookie}`,
  );
  assertEquals([cancelled.status, cancelled.location], [303, "/cpt/62326/"]);
  assert(!cancelled.cookies.has("__Host-cp_session"));
});

test("attack auth 10: a callback naming another issuer (mix-up) is refused", async (p) => {
  const start = await startLogin(p);
  const code = p.issueCode(start.challenge, start.redirectUri, await p.sign(p.claims(start.nonce)));
  const r = await callAuth(
    `/auth/callback?code=${code}&state=${start.state}&iss=${encodeURIComponent("https://evil.example")}`,
    p.env,
    `__Host-cp_login=${start.loginCookie}`,
  );
  assertRefused(r, 400, "iss parameter");
});

// ---- attack cases: the session cookie ------------------------------------------------------------

test("attack auth 11: a tampered, foreign or expired session cookie is a guest", async (p) => {
  const pages = pagesWithTemplate();
  const env = { ...p.env, CODEPAGES_GUEST_VIEWS: "0" }; // a guest gets nothing, so anything opened came from the session
  const alice = await mintSession(p.issuer, { subject: "alice", subscriber: true });
  const bob = await mintSession(p.issuer, { subject: "bob", subscriber: false });
  assertFull(
    await asResult(await callGate(A, env, `__Host-cp_session=${alice}`, pages)),
    A,
    "alice, a subscriber",
  );
  const [v, kid, payload, mac] = bob.split(".");
  const aliceData = JSON.parse(
    new TextDecoder().decode(
      Uint8Array.from(
        atob(alice.split(".")[2].replace(/-/g, "+").replace(/_/g, "/")),
        (c) => c.charCodeAt(0),
      ),
    ),
  );
  const cases: Record<string, string> = {
    "bob's cookie pointing at alice's session": `${v}.${kid}.${b64json({ ...aliceData, nm: "bob" })}.${mac}`,
    "bob's payload with alice's signature": `${v}.${kid}.${payload}.${alice.split(".")[3]}`,
    "signed with another site's key": await mintSession(
      p.issuer,
      { subscriber: true },
      "sk1:" + b64urlEncode(crypto.getRandomValues(new Uint8Array(32))),
    ),
    "a login cookie presented as a session": (await startLogin(p)).loginCookie,
    "another issuer's session": await mintSession("https://evil.example", { subscriber: true }),
    "expired": await mintSession(p.issuer, { subscriber: true, expiresAt: now() - 10 }),
    "a session id nobody issued": `${v}.${kid}.${
      b64json({ sid: "A".repeat(43), nm: "x", exp: now() + 999 })
    }.${mac}`,
    "truncated": alice.slice(0, -5),
  };
  for (const [name, cookie] of Object.entries(cases)) {
    const r = await callGate(A, env, `__Host-cp_session=${cookie}`, pages);
    assertEquals(r.status, 200, name);
    assertGated(await asResult(r), name);
    assert(r.body.includes("Log in"), `${name}: shown as a guest`);
  }
});

test("attack auth 12: a role claim added by the client does not make a subscriber", async (p) => {
  // extra callback parameters (a forged id_token, a role) are ignored: only the token endpoint's ID token counts
  const start = await startLogin(
    p,
    "/auth/login?role=subscriber&claims=%7B%22roles%22%3A%22subscriber%22%7D",
  );
  assert(!start.authorize.search.includes("subscriber"), "nothing the visitor adds reaches the provider");
  const forged = await p.sign(p.claims(start.nonce, { [ROLE_CLAIM]: ["subscriber"] }));
  const code = p.issueCode(start.challenge, start.redirectUri, await p.sign(p.claims(start.nonce)));
  const cb = await callAuth(
    `/auth/callback?code=${code}&state=${start.state}&role=subscriber&${
      encodeURIComponent(ROLE_CLAIM)
    }=subscriber&id_token=${forged}`,
    p.env,
    `__Host-cp_login=${start.loginCookie}; role=subscriber`,
  );
  assertEquals(cb.status, 303);
  assertEquals((await sessionOf(cb.cookies.get("__Host-cp_session")))!.subscriber, false);
  // a role claim spliced into a signed token breaks its signature
  const { callback } = await login(p, async (nonce) => {
    const [h, , s] = (await p.sign(p.claims(nonce))).split(".");
    return `${h}.${b64json(p.claims(nonce, { [ROLE_CLAIM]: ["subscriber"] }))}.${s}`;
  });
  assertRefused(callback, 400, "role spliced in");
});

// ---- attack cases: the provider ------------------------------------------------------------------

test("attack auth 13: JWKS unreachable — the login fails with 502, pages keep serving", async (p) => {
  const fresh = await MockProvider.start(); // a provider whose keys were never fetched
  try {
    fresh.jwksUp = false;
    const { callback } = await login(fresh, (nonce) => fresh.sign(fresh.claims(nonce)));
    assertRefused(callback, 502, "JWKS 503");
    assert(callback.body.includes("identity provider could not be reached"));
    const page = await callGate(A, fresh.env);
    assertFull(await asResult(page), A, "a guest's page is unaffected");
  } finally {
    await fresh.close();
  }
  const gone = await MockProvider.start();
  const env = gone.env;
  const start = await startLogin(gone, undefined, env);
  await gone.close(); // the whole provider is down now
  const cb = await callAuth(
    `/auth/callback?code=x&state=${start.state}`,
    env,
    `__Host-cp_login=${start.loginCookie}`,
  );
  assertRefused(cb, 502, "provider down");
  void p;
});

test("auth: missing settings answer 503 naming the variable; code pages still serve gated", async (p) => {
  for (const variable of ["OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "CODEPAGES_SESSION_KEYS"]) {
    const env = { ...p.env, [variable]: undefined };
    const r = await callAuth("/auth/login", env);
    assertEquals(r.status, 503, variable);
    assert(r.body.includes(variable), `${variable} named`);
  }
  const http = await callAuth("/auth/login", { ...p.env, OIDC_ISSUER: "http://idp.example" });
  assertEquals(http.status, 503, "a non-loopback http issuer is refused");
  const page = await callGate(
    A,
    { ...BASE_ENV, CODEPAGES_SESSION_KEYS: undefined },
    `__Host-cp_session=${await mintSession(p.issuer, { subscriber: true })}`,
  );
  assertEquals(page.status, 200);
  assertFull(await asResult(page), A, "the guest allowance still works");
});

test("auth: logout is a same-origin POST: it revokes the session and ends the provider's session", async (p) => {
  const session = await mintSession(p.issuer, { name: "<b>coder</b>@example.com", subscriber: true });
  const post = {
    method: "POST",
    headers: { origin: SITE, "content-type": "application/x-www-form-urlencoded" },
  };
  const out = await callAuth("/auth/logout", p.env, `__Host-cp_session=${session}`, post);
  assertEquals(out.status, 303);
  const end = new URL(out.location!);
  assertEquals(end.origin + end.pathname, `${p.issuer}/session/end`);
  assertEquals(end.searchParams.get("post_logout_redirect_uri"), "https://codepages.test/");
  assertEquals(end.searchParams.get("client_id"), CLIENT_ID);
  assertEquals(out.cookies.get("__Host-cp_session"), "");
  assert(
    out.headers.getSetCookie().some((c) => c.startsWith("__Host-cp_session=;") && c.includes("Max-Age=0")),
  );
  assertEquals(await sessionOf(session), null, "the session row is revoked");
  const unconfigured = await callAuth("/auth/logout", BASE_ENV, undefined, post);
  assertEquals([unconfigured.status, unconfigured.location], [303, "/"]);

  const live = await mintSession(p.issuer, { name: "<b>coder</b>@example.com", subscriber: true });
  const r = await callGate(A, p.env, `__Host-cp_session=${live}`);
  assertPersonalised(await asResult(r));
  const nav = /<nav class="account"[^>]*>([\s\S]*?)<\/nav>/.exec(r.body)![1];
  assert(nav.includes("&#60;b&#62;coder&#60;/b&#62;@example.com"), nav);
  assert(nav.includes('<form class="logout" method="post"') && !nav.includes("Log in"), nav);
  assertEquals(bannerOf(r.body), null, "no meter banner for subscribers");
});

test("attack auth 14: a copied session cookie is dead after logout (every copy at once)", async (p) => {
  const env = { ...p.env, CODEPAGES_GUEST_VIEWS: "0" };
  const { callback } = await login(p, (nonce) => p.sign(p.claims(nonce, { [ROLE_CLAIM]: ["subscriber"] })));
  const copy = callback.cookies.get("__Host-cp_session")!;
  assertFull(
    await asResult(await callGate(A, env, `__Host-cp_session=${copy}`)),
    A,
    "the copy works while signed in",
  );
  const out = await callAuth("/auth/logout", p.env, `__Host-cp_session=${copy}`, {
    method: "POST",
    headers: { origin: SITE },
  });
  assertEquals(out.status, 303);
  const after = await callGate(A, env, `__Host-cp_session=${copy}`);
  assertGated(await asResult(after), "the copied cookie after logout");
  assert(after.body.includes("Log in"), "shown as a guest");
});

test("attack auth 15: logout needs a same-origin POST — a link, an <img> or another site's form cannot log out", async (p) => {
  const session = await mintSession(p.issuer);
  const cookie = `__Host-cp_session=${session}`;
  const get = await callAuth("/auth/logout", p.env, cookie);
  assertEquals(get.status, 200, "a GET shows the confirm form");
  assert(get.body.includes('<form method="post" action="/auth/logout">'), get.body);
  assert(!get.cookies.has("__Host-cp_session"), "and clears nothing");
  for (
    const headers of [
      { origin: "https://evil.example" },
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
      {},
    ] as Record<string, string>[]
  ) {
    const r = await callAuth("/auth/logout", p.env, cookie, { method: "POST", headers });
    assertEquals(r.status, 403, JSON.stringify(headers));
    assert(!r.cookies.has("__Host-cp_session"), JSON.stringify(headers));
  }
  assert((await sessionOf(session)) !== null, "still signed in");
});

test("attack auth 16: log out everywhere ends every session of the account", async (p) => {
  const subject = `everywhere-${crypto.randomUUID()}`;
  const phone = await mintSession(p.issuer, { subject });
  const laptop = await mintSession(p.issuer, { subject });
  const other = await mintSession(p.issuer);
  const r = await callAuth("/auth/logout", p.env, `__Host-cp_session=${laptop}`, {
    method: "POST",
    headers: { origin: SITE, "content-type": "application/x-www-form-urlencoded" },
    body: "everywhere=1",
  });
  assertEquals(r.status, 303);
  assertEquals([await sessionOf(phone), await sessionOf(laptop)], [null, null]);
  assert((await sessionOf(other)) !== null, "other accounts are untouched");
});

test("attack auth 17: a subscriber who became a free account is metered once the claims are older than the bound", async (p) => {
  const pages = pagesWithTemplate();
  const env = { ...p.env, CODEPAGES_GUEST_VIEWS: "0", CODEPAGES_FREE_ACCOUNT_EXTRA_VIEWS: "0" };
  let plan = ["subscriber"];
  const { callback } = await login(p, (nonce) => p.sign(p.claims(nonce, { [ROLE_CLAIM]: plan })), {
    refreshToken: "rt-" + crypto.randomUUID(),
    refresh: () => {
      const claims = p.claims("unused", { [ROLE_CLAIM]: plan });
      delete claims.nonce;
      return p.sign(claims);
    },
  });
  const cookie = `__Host-cp_session=${callback.cookies.get("__Host-cp_session")}`;
  assertFull(await asResult(await callGate(A, env, cookie, pages)), A, "a subscriber");
  plan = []; // downgraded at the provider
  assertFull(
    await asResult(await callGate(A, env, cookie, pages)),
    A,
    "within the bound the session is trusted",
  );
  const stale = { ...env, CODEPAGES_CLAIMS_MAX_AGE_SECONDS: "0" };
  const after = await callGate(A, stale, cookie, pages);
  assertGated(await asResult(after), "claims re-read: a free account with no views");
  assert(!after.body.includes("account-plan"), "no longer shown as a subscriber");
  // a provider that refuses the refresh (account closed): not a subscriber either (fail closed)
  plan = ["subscriber"];
  p.refreshUp = false;
  try {
    const refused = await callGate(A, stale, cookie, pages);
    assertGated(await asResult(refused), "an unconfirmed subscription is metered");
  } finally {
    p.refreshUp = true;
  }
});

test("auth: pages outside the meter show the account to a signed-in visitor, untouched otherwise", async (p) => {
  const home =
    `<!doctype html><html><body><header><nav class="account" aria-label="Account" data-logout-url="/auth/bye">
<a href="/auth/login">Log in</a> <a href="/auth/register">Register free account</a></nav></header><main>Home</main></body></html>`;
  const server = staticServer({ "/": home });
  const call = async (cookie?: string, method = "GET") => {
    const request = new Request(`${SITE}/`, { method, headers: cookie ? { cookie } : {} });
    const ctx = { next: (r?: Request) => server.context.next(r ?? request) } as unknown as Context;
    return await answer(await withEnv(p.env, () => account(request, ctx)));
  };
  const anonymous = await call();
  assertEquals(anonymous.body, home);
  assertEquals(
    anonymous.headers.get("cache-control"),
    "public, max-age=0, must-revalidate",
    "still cacheable",
  );
  const forged = await call("__Host-cp_session=v1.sk1.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  assertEquals(forged.body, home);
  const signedIn = await call(
    `__Host-cp_session=${await mintSession(p.issuer, { name: "ann@example.com" })}`,
  );
  assertEquals(signedIn.headers.get("cache-control"), "private, no-store");
  assert(/Cookie/.test(signedIn.headers.get("vary") ?? ""));
  const nav = /<nav class="account"[^>]*>([\s\S]*?)<\/nav>/.exec(signedIn.body)![1];
  assertEquals(
    nav,
    `<span class="account-name">ann@example.com</span> <form class="logout" method="post" action="/auth/bye"><button type="submit">Log out</button></form>`,
  );
  const head = await call(`__Host-cp_session=${await mintSession(p.issuer)}`, "HEAD");
  assertEquals([head.status, head.body], [200, ""]);
});

// ---- helpers -------------------------------------------------------------------------------------

import type { Result } from "./helpers.ts";
function asResult(a: Awaited<ReturnType<typeof callGate>>): Result {
  return {
    status: a.status,
    body: a.body,
    headers: a.headers,
    cookie: a.cookies.get("__Host-cp_meter") ?? null,
    setCookie: a.headers.get("set-cookie"),
    server: undefined as never,
  };
}

if (provider) {
  addEventListener("unload", () => void provider.close());
}
