/**
 * Test helpers for logging in: an OpenID Connect provider stand-in on loopback that the tests
 * steer (it signs whatever ID token a test asks for, with real keys, and checks the token
 * request — client secret, PKCE verifier, redirect URI, single-use codes — like a real one),
 * and calls of the real edge functions with cookies.
 *
 * The local preview uses the real `oidc-provider` package (dev/oidc/); these unit-level attack
 * tests need a provider that can be told to misbehave.
 */
import type { Context } from "@netlify/edge-functions";
import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from "npm:jose@6.2.18";
import auth from "../functions/auth.ts";
import gate from "../functions/gate.ts";
import { b64urlEncode } from "../lib/b64.ts";
import { pkceChallenge, resetOidcCaches } from "../lib/oidc.ts";
import { BoundedDatabase, databasePool } from "../lib/db.ts";
import { importKeyring } from "../lib/keys.ts";
import { encodeSessionCookie, randomToken, readSessionCookie, sessionIdHash } from "../lib/session.ts";
import { type SessionRecord, SessionStore } from "../lib/session_store.ts";
import {
  BASE_ENV,
  type Env,
  PAGES,
  pageSealOf,
  PLAINTEXTS,
  sealForTest,
  staticServer,
  withEnv,
} from "./helpers.ts";

export const CLIENT_ID = "codepages-test";
export const CLIENT_SECRET = "test-secret-åäö:/+";
export const ROLE_CLAIM = "https://codepages.example/roles";
export const SESSION_KEYS = "sk1:" +
  b64urlEncode(new TextEncoder().encode("codepages edge tests: session key sk1 (public!)"));
export const SITE = "https://codepages.test";

/** net access to loopback (granted by `make test`; the bare `deno test` command skips these tests) */
export const NET = Deno.permissions.querySync({ name: "net", host: "127.0.0.1" }).state === "granted";
/** the real PostgreSQL started by `make test` (dev/localdb.py run) */
export const DATABASE_URL =
  Deno.permissions.querySync({ name: "env", variable: "CODEPAGES_TEST_DATABASE_URL" }).state === "granted"
    ? Deno.env.get("CODEPAGES_TEST_DATABASE_URL")
    : undefined;
/** In CI a missing net permission or database fails the run instead of skipping. */
export const IN_CI = Deno.permissions.querySync({ name: "env", variable: "CI" }).state === "granted" &&
  !!Deno.env.get("CI");

interface Key {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  spki: string;
}

interface IssuedCode {
  challenge: string;
  redirectUri: string;
  idToken: string;
  refreshToken?: string;
  used: boolean;
}

export class MockProvider {
  readonly codes = new Map<string, IssuedCode>();
  /** refresh token → the ID token (claims) a refresh answers with now; absent: invalid_grant */
  readonly refreshes = new Map<string, () => Promise<string>>();
  /** false: the token endpoint refuses every refresh (the account was closed) */
  refreshUp = true;
  /** false: the JWKS endpoint answers 503 */
  jwksUp = true;
  tokenRequests: Request[] = [];
  private constructor(
    readonly issuer: string,
    readonly keys: { rsa: Key; ec: Key },
    private readonly server: Deno.HttpServer,
  ) {}

  static async start(): Promise<MockProvider> {
    const makeKey = async (alg: string): Promise<Key> => {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const kid = `${alg.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}`;
      return {
        alg,
        kid,
        privateKey,
        publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" },
        spki: await exportSPKI(publicKey),
      };
    };
    const keys = { rsa: await makeKey("RS256"), ec: await makeKey("ES256") };
    let provider: MockProvider | null = null;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => provider!.handle(request),
    );
    provider = new MockProvider(`http://127.0.0.1:${server.addr.port}`, keys, server);
    return provider;
  }

  get env(): Env {
    return {
      ...BASE_ENV,
      CODEPAGES_SESSION_KEYS: SESSION_KEYS,
      OIDC_ISSUER: this.issuer,
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_ROLE_CLAIM: ROLE_CLAIM,
      OIDC_SUBSCRIBER_ROLE: "subscriber",
      DATABASE_URL,
    };
  }

  async close(): Promise<void> {
    await this.server.shutdown();
    resetOidcCaches();
  }

  private async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const json = (body: unknown, status = 200) =>
      new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    if (url.pathname === "/.well-known/openid-configuration") {
      return json({
        issuer: this.issuer,
        authorization_endpoint: `${this.issuer}/authorize`,
        token_endpoint: `${this.issuer}/token`,
        jwks_uri: `${this.issuer}/jwks`,
        end_session_endpoint: `${this.issuer}/session/end`,
        token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
        code_challenge_methods_supported: ["S256"],
      });
    }
    if (url.pathname === "/jwks") {
      if (!this.jwksUp) return new Response("unavailable", { status: 503 });
      return json({ keys: [this.keys.rsa.publicJwk, this.keys.ec.publicJwk] });
    }
    if (url.pathname === "/token" && request.method === "POST") {
      this.tokenRequests.push(request.clone());
      const expected = `Basic ${
        btoa(
          `${encodeURIComponent(CLIENT_ID)}:${new URLSearchParams({ v: CLIENT_SECRET }).toString().slice(2)}`,
        )
      }`;
      if (request.headers.get("authorization") !== expected) return json({ error: "invalid_client" }, 401);
      const form = new URLSearchParams(await request.text());
      if (form.get("grant_type") === "refresh_token") {
        const answer = this.refreshes.get(form.get("refresh_token") ?? "");
        if (!answer || !this.refreshUp) return json({ error: "invalid_grant" }, 400);
        return json({
          access_token: "opaque",
          token_type: "Bearer",
          expires_in: 600,
          id_token: await answer(),
        });
      }
      const issued = this.codes.get(form.get("code") ?? "");
      if (!issued || issued.used || form.get("grant_type") !== "authorization_code") {
        return json({ error: "invalid_grant" }, 400);
      }
      issued.used = true; // codes are single-use
      if (form.get("redirect_uri") !== issued.redirectUri) return json({ error: "invalid_grant" }, 400);
      if ((await pkceChallenge(form.get("code_verifier") ?? "")) !== issued.challenge) {
        return json({ error: "invalid_grant" }, 400);
      }
      return json({
        access_token: "opaque",
        token_type: "Bearer",
        expires_in: 600,
        id_token: issued.idToken,
        ...(issued.refreshToken ? { refresh_token: issued.refreshToken } : {}),
      });
    }
    return new Response("not found", { status: 404 });
  }

  issueCode(challenge: string, redirectUri: string, idToken: string, refreshToken?: string): string {
    const code = b64urlEncode(crypto.getRandomValues(new Uint8Array(24)));
    this.codes.set(code, { challenge, redirectUri, idToken, refreshToken, used: false });
    return code;
  }

  /** The claims a correct ID token for this login carries. */
  claims(nonce: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: this.issuer,
      aud: CLIENT_ID,
      sub: "user-1",
      email: "coder@example.com",
      nonce,
      iat: now,
      exp: now + 300,
      ...extra,
    };
  }

  async sign(claims: Record<string, unknown>, alg: "RS256" | "ES256" = "RS256"): Promise<string> {
    const key = alg === "RS256" ? this.keys.rsa : this.keys.ec;
    return await new SignJWT(claims).setProtectedHeader({ alg, kid: key.kid, typ: "JWT" }).sign(
      key.privateKey,
    );
  }
}

// ---- calling the real functions ---------------------------------------------------------------

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
  cookies: Map<string, string>;
  location: string | null;
}

function context(server = staticServer()): Context {
  return server.context;
}

export async function answer(response: Response): Promise<Answer> {
  const cookies = new Map<string, string>();
  for (const header of response.headers.getSetCookie()) {
    const [pair] = header.split(";");
    const eq = pair.indexOf("=");
    cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return {
    status: response.status,
    headers: response.headers,
    body: await response.text(),
    cookies,
    location: response.headers.get("location"),
  };
}

export async function callAuth(
  path: string,
  env: Env,
  cookie?: string,
  init: RequestInit = {},
): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (cookie) headers.set("cookie", cookie);
  const request = new Request(`${SITE}${path}`, { ...init, headers });
  return await answer(await withEnv(env, () => auth(request, context())));
}

/** Call the gate (the metered code page function) with `cookie`, serving `pages`. */
export async function callGate(
  path: string,
  env: Env,
  cookie?: string,
  pages = PAGES,
  extraHeaders: Record<string, string> = {},
): Promise<Answer> {
  const headers = new Headers(extraHeaders);
  if (cookie) headers.set("cookie", cookie);
  const request = new Request(`${SITE}${path}`, { headers });
  const server = staticServer(pages);
  const next = server.context.next;
  const ctx = { next: (r?: Request) => next(r ?? request) } as unknown as Context;
  return await answer(await withEnv(env, () => gate(request, ctx)));
}

export interface LoginStart {
  state: string;
  nonce: string;
  challenge: string;
  redirectUri: string;
  loginCookie: string;
  authorize: URL;
}

export async function startLogin(
  provider: MockProvider,
  path = "/auth/login?return_to=/cpt/62326/",
  env = provider.env,
): Promise<LoginStart> {
  const start = await callAuth(path, env);
  if (start.status !== 302 || !start.location) {
    throw new Error(`login did not redirect: ${start.status} ${start.body}`);
  }
  const authorize = new URL(start.location);
  return {
    state: authorize.searchParams.get("state")!,
    nonce: authorize.searchParams.get("nonce")!,
    challenge: authorize.searchParams.get("code_challenge")!,
    redirectUri: authorize.searchParams.get("redirect_uri")!,
    loginCookie: start.cookies.get("__Host-cp_login")!,
    authorize,
  };
}

/** A whole login whose token endpoint answers with `idToken(nonce)`; the callback's answer. */
export async function login(
  provider: MockProvider,
  idToken: (nonce: string) => Promise<string>,
  options: { env?: Env; extraCookie?: string; refreshToken?: string; refresh?: () => Promise<string> } = {},
): Promise<{ start: LoginStart; callback: Answer; code: string }> {
  const start = await startLogin(provider, undefined, options.env);
  if (options.refreshToken && options.refresh) provider.refreshes.set(options.refreshToken, options.refresh);
  const code = provider.issueCode(
    start.challenge,
    start.redirectUri,
    await idToken(start.nonce),
    options.refreshToken,
  );
  const cookie = `__Host-cp_login=${start.loginCookie}${
    options.extraCookie ? `; ${options.extraCookie}` : ""
  }`;
  const callback = await callAuth(
    `/auth/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(start.state)}`,
    options.env ?? provider.env,
    cookie,
  );
  return { start, callback, code };
}

/** The session store of the test database. */
export function testSessions(): SessionStore {
  return new SessionStore(
    new BoundedDatabase(databasePool((n) => (n === "DATABASE_URL" ? DATABASE_URL : undefined))!),
  );
}

export interface MintedSession {
  subject: string;
  issuer: string;
  name: string;
  subscriber: boolean;
  claimsAt: number;
  refreshToken: string | null;
  expiresAt: number;
}

/**
 * A server-side session made directly (for gate tests): its row in the test database and the
 * cookie value that refers to it.
 */
export async function mintSession(
  issuer: string,
  session: Partial<MintedSession> = {},
  keys = SESSION_KEYS,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const sid = randomToken();
  const record: SessionRecord = {
    subject: `user-${crypto.randomUUID()}`,
    issuer,
    name: "coder@example.com",
    subscriber: false,
    claimsAt: now,
    refreshToken: null,
    expiresAt: now + 3600,
    ...session,
  };
  await testSessions().create(await sessionIdHash(sid), record);
  return await encodeSessionCookie(
    { sid, name: record.name, expiresAt: record.expiresAt },
    await importKeyring(keys, "CODEPAGES_SESSION_KEYS", "hmac"),
  );
}

/** The live session a cookie value refers to (from the database), or null. */
export async function sessionOf(value: string | undefined): Promise<SessionRecord | null> {
  if (!value) return null;
  const keyring = await importKeyring(SESSION_KEYS, "CODEPAGES_SESSION_KEYS", "hmac");
  const cookie = await readSessionCookie(
    `__Host-cp_session=${value}`,
    keyring,
    Math.floor(Date.now() / 1000),
  );
  if (!cookie) return null;
  return await testSessions().find(await sessionIdHash(cookie.sid));
}

export const FREE_TEMPLATE =
  `<script type="text/html" id="placeholder-free-account"><div class="locked" data-pagefind-ignore="all">
<p class="locked-title"><strong>Upgrade to view content</strong></p><p>Subscribe to unlock every section of every code page</p>
</div></script>`;

/** The fixture pages with the free-account placeholder template the build adds. */
export function pagesWithTemplate(pages: Record<string, string> = PAGES): Record<string, string> {
  return Object.fromEntries(
    Object.entries(pages).map(([p, html]) => [p, html.replace("</body>", `${FREE_TEMPLATE}</body>`)]),
  );
}

/**
 * `count` more sealed code pages (/cpt/999/99901/ …), made from the 62326 fixture page re-sealed
 * for their own paths: the meter needs many distinct pages.
 */
export async function morePages(count: number): Promise<Record<string, string>> {
  const source = "/cpt/623/62326/";
  const seal = BASE_ENV.CODEPAGES_SEAL_KEYS!;
  const pages: Record<string, string> = {};
  for (let i = 1; i <= count; i++) {
    const path = `/cpt/999/${99900 + i}/`;
    const token = await sealForTest(seal, path, PLAINTEXTS[source].sections);
    const html = PAGES[source].replace(pageSealOf(PAGES[source]), token);
    pages[path] = html.replace("</body>", `${FREE_TEMPLATE}</body>`);
  }
  return pages;
}
