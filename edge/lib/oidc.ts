/**
 * OpenID Connect, authorization-code flow with PKCE (S256), as a confidential client.
 *
 * - Provider settings from the environment (`OIDC_*`, see OIDC_VARIABLES); a missing or
 *   invalid one is an OidcConfigError naming the variable.
 * - Discovery: `<issuer>/.well-known/openid-configuration`, whose `issuer` must equal the
 *   configured one exactly; cached for an hour.
 * - The ID token is verified with `jose` against the provider's JWKS (`createRemoteJWKSet`):
 *   asymmetric algorithms only (no `none`, no HS*: an HMAC token "signed" with the public key
 *   never verifies), `iss`, `aud` (and `azp`), `exp`, `nbf`, `iat` with a small leeway, and
 *   the `nonce` of this login. Subscriber status comes only from the verified token's role claim.
 */
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "npm:jose@6.2.18";
import { b64urlEncode } from "./b64.ts";

export const OIDC_VARIABLES = {
  issuer: "OIDC_ISSUER",
  clientId: "OIDC_CLIENT_ID",
  clientSecret: "OIDC_CLIENT_SECRET",
  roleClaim: "OIDC_ROLE_CLAIM",
  subscriberRole: "OIDC_SUBSCRIBER_ROLE",
  nameClaim: "OIDC_NAME_CLAIM",
  scopes: "OIDC_SCOPES",
  registerParams: "OIDC_REGISTER_PARAMS",
  tokenAuthMethod: "OIDC_TOKEN_AUTH_METHOD",
} as const;

/** Asymmetric JWS algorithms accepted for ID tokens. */
export const ID_TOKEN_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];
/** Leeway for exp / nbf / iat, seconds. */
export const CLOCK_TOLERANCE = 60;
/** An ID token older than this (by its iat) is refused: it was issued for an earlier login. */
export const MAX_ID_TOKEN_AGE = 600;
const FETCH_TIMEOUT_MS = 5000;
const DISCOVERY_TTL_MS = 3600_000;

export class OidcConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(message);
    this.name = "OidcConfigError";
  }
}

/** The provider could not be reached or answered something unusable. */
export class OidcProviderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OidcProviderError";
  }
}

/** The ID token (or the token response) was refused. */
export class IdTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IdTokenError";
  }
}

export type TokenAuthMethod = "client_secret_basic" | "client_secret_post";

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  roleClaim: string;
  subscriberRole: string;
  nameClaims: string[];
  scopes: string;
  /** extra authorization parameters for /auth/register; null: decided from discovery */
  registerParams: URLSearchParams | null;
  tokenAuthMethod: TokenAuthMethod | null;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** https, or http on a loopback host (the local preview's provider). */
function allowedUrl(text: string): URL | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.username || url.password || url.hash) return null;
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && LOOPBACK.has(url.hostname)) return url;
  return null;
}

export function oidcSettings(get: (name: string) => string | undefined): OidcSettings {
  const value = (name: string) => {
    const text = get(name)?.trim();
    return text ? text : undefined;
  };
  const required = (name: string) => {
    const text = value(name);
    if (text === undefined) throw new OidcConfigError(name, `${name} is not set`);
    return text;
  };
  const issuer = required(OIDC_VARIABLES.issuer);
  if (!allowedUrl(issuer)) {
    throw new OidcConfigError(OIDC_VARIABLES.issuer, `${OIDC_VARIABLES.issuer} must be an https:// URL`);
  }
  const clientId = required(OIDC_VARIABLES.clientId);
  const clientSecret = required(OIDC_VARIABLES.clientSecret);
  const method = value(OIDC_VARIABLES.tokenAuthMethod);
  if (method !== undefined && method !== "client_secret_basic" && method !== "client_secret_post") {
    throw new OidcConfigError(
      OIDC_VARIABLES.tokenAuthMethod,
      `${OIDC_VARIABLES.tokenAuthMethod} must be client_secret_basic or client_secret_post`,
    );
  }
  const register = value(OIDC_VARIABLES.registerParams);
  const scopes = value(OIDC_VARIABLES.scopes) ?? "openid email profile";
  if (!scopes.split(/\s+/).includes("openid")) {
    throw new OidcConfigError(OIDC_VARIABLES.scopes, `${OIDC_VARIABLES.scopes} must include openid`);
  }
  return {
    issuer,
    clientId,
    clientSecret,
    roleClaim: value(OIDC_VARIABLES.roleClaim) ?? "roles",
    subscriberRole: value(OIDC_VARIABLES.subscriberRole) ?? "subscriber",
    nameClaims: (value(OIDC_VARIABLES.nameClaim) ?? "email,name").split(",").map((c) => c.trim()).filter(
      Boolean,
    ),
    scopes,
    registerParams: register === undefined ? null : new URLSearchParams(register),
    tokenAuthMethod: method ?? null,
  };
}

export interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  end_session_endpoint?: string;
  token_endpoint_auth_methods_supported?: string[];
  prompt_values_supported?: string[];
  code_challenge_methods_supported?: string[];
  scopes_supported?: string[];
  revocation_endpoint?: string;
}

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

const discoveries = new Map<string, { at: number; doc: Promise<Discovery> }>();
const jwksSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** Forget cached discovery documents and key sets (tests). */
export function resetOidcCaches(): void {
  discoveries.clear();
  jwksSets.clear();
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
}

async function fetchDiscovery(issuer: string, fetcher: Fetch): Promise<Discovery> {
  let response: Response;
  try {
    response = await fetcher(discoveryUrl(issuer), {
      headers: { accept: "application/json" },
      redirect: "error",
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch (error) {
    throw new OidcProviderError(`discovery failed: ${error instanceof Error ? error.message : error}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new OidcProviderError(`discovery answered ${response.status}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = await response.json();
  } catch {
    throw new OidcProviderError("discovery document is not JSON");
  }
  if (doc.issuer !== issuer) {
    throw new OidcProviderError(`discovery issuer ${JSON.stringify(doc.issuer)} is not ${issuer}`);
  }
  for (const name of ["authorization_endpoint", "token_endpoint", "jwks_uri"]) {
    if (typeof doc[name] !== "string" || !allowedUrl(doc[name] as string)) {
      throw new OidcProviderError(`discovery ${name} is missing or not https`);
    }
  }
  if (doc.end_session_endpoint !== undefined) {
    if (typeof doc.end_session_endpoint !== "string" || !allowedUrl(doc.end_session_endpoint)) {
      delete doc.end_session_endpoint;
    }
  }
  return doc as unknown as Discovery;
}

export function discover(issuer: string, fetcher: Fetch = fetch): Promise<Discovery> {
  const cached = discoveries.get(issuer);
  if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.doc;
  const doc = fetchDiscovery(issuer, fetcher);
  discoveries.set(issuer, { at: Date.now(), doc });
  doc.catch(() => {
    if (discoveries.get(issuer)?.doc === doc) discoveries.delete(issuer); // failures are not cached
  });
  return doc;
}

function jwksFor(uri: string): ReturnType<typeof createRemoteJWKSet> {
  let set = jwksSets.get(uri);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri), {
      timeoutDuration: FETCH_TIMEOUT_MS,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
    });
    jwksSets.set(uri, set);
  }
  return set;
}

export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return b64urlEncode(new Uint8Array(digest));
}

/** Parameters that send the visitor to the provider's sign-up screen. */
export function registerParams(settings: OidcSettings, discovery: Discovery): URLSearchParams {
  if (settings.registerParams) return settings.registerParams;
  // OpenID Connect "prompt=create" where the provider says it supports it; otherwise Auth0's
  // `screen_hint=signup` (unknown parameters are ignored by other providers).
  if (discovery.prompt_values_supported?.includes("create")) return new URLSearchParams({ prompt: "create" });
  return new URLSearchParams({ screen_hint: "signup" });
}

/**
 * The scopes asked for: OIDC_SCOPES, plus `offline_access` when the provider offers it, so the
 * token response carries a refresh token and subscriber status can be re-read later without
 * the visitor signing in again.
 */
export function requestedScopes(settings: OidcSettings, discovery: Discovery): string {
  const scopes = settings.scopes.split(/\s+/).filter(Boolean);
  if (discovery.scopes_supported?.includes("offline_access") && !scopes.includes("offline_access")) {
    scopes.push("offline_access");
  }
  return scopes.join(" ");
}

export async function authorizationUrl(
  settings: OidcSettings,
  discovery: Discovery,
  options: { redirectUri: string; state: string; nonce: string; verifier: string; extra?: URLSearchParams },
): Promise<string> {
  const url = new URL(discovery.authorization_endpoint);
  const params = url.searchParams;
  for (const [name, value] of options.extra ?? []) params.set(name, value);
  params.set("response_type", "code");
  params.set("client_id", settings.clientId);
  params.set("redirect_uri", options.redirectUri);
  params.set("scope", requestedScopes(settings, discovery));
  params.set("state", options.state);
  params.set("nonce", options.nonce);
  params.set("code_challenge", await pkceChallenge(options.verifier));
  params.set("code_challenge_method", "S256");
  return url.href;
}

function tokenAuthMethod(settings: OidcSettings, discovery: Discovery): TokenAuthMethod {
  if (settings.tokenAuthMethod) return settings.tokenAuthMethod;
  const supported = discovery.token_endpoint_auth_methods_supported;
  if (supported && !supported.includes("client_secret_basic") && supported.includes("client_secret_post")) {
    return "client_secret_post";
  }
  return "client_secret_basic";
}

/** RFC 6749 §2.3.1: client id and secret are form-encoded before Basic. */
function formEncode(text: string): string {
  return new URLSearchParams({ v: text }).toString().slice(2);
}

export interface TokenAnswer {
  /** the ID token, not yet verified */
  idToken: string;
  refreshToken: string | null;
}

/** Exchange the code; the (unverified) ID token and the refresh token of the answer. */
export function exchangeCode(
  settings: OidcSettings,
  discovery: Discovery,
  options: { code: string; redirectUri: string; verifier: string },
  fetcher: Fetch = fetch,
): Promise<TokenAnswer> {
  return tokenRequest(
    settings,
    discovery,
    new URLSearchParams({
      grant_type: "authorization_code",
      code: options.code,
      redirect_uri: options.redirectUri,
      code_verifier: options.verifier,
    }),
    fetcher,
  );
}

/** Use a refresh token: a new ID token (with the account's current claims) and maybe a new refresh token. */
export function refreshTokens(
  settings: OidcSettings,
  discovery: Discovery,
  refreshToken: string,
  fetcher: Fetch = fetch,
): Promise<TokenAnswer> {
  return tokenRequest(
    settings,
    discovery,
    new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
    }),
    fetcher,
  );
}

async function tokenRequest(
  settings: OidcSettings,
  discovery: Discovery,
  body: URLSearchParams,
  fetcher: Fetch,
): Promise<TokenAnswer> {
  const headers = new Headers({
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
  });
  if (tokenAuthMethod(settings, discovery) === "client_secret_post") {
    body.set("client_id", settings.clientId);
    body.set("client_secret", settings.clientSecret);
  } else {
    headers.set(
      "authorization",
      `Basic ${btoa(`${formEncode(settings.clientId)}:${formEncode(settings.clientSecret)}`)}`,
    );
  }
  let response: Response;
  try {
    response = await fetcher(discovery.token_endpoint, {
      method: "POST",
      headers,
      body,
      redirect: "error",
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch (error) {
    throw new OidcProviderError(`token endpoint failed: ${error instanceof Error ? error.message : error}`);
  }
  let answer: Record<string, unknown>;
  try {
    answer = await response.json();
  } catch {
    throw new OidcProviderError(`token endpoint answered ${response.status} without JSON`);
  }
  if (!response.ok) {
    throw new IdTokenError(`token endpoint refused the code: ${String(answer.error ?? response.status)}`);
  }
  if (typeof answer.id_token !== "string" || answer.id_token.length > 16384) {
    throw new IdTokenError("token response has no ID token");
  }
  const refresh = typeof answer.refresh_token === "string" && answer.refresh_token.length <= 4096
    ? answer.refresh_token
    : null;
  return { idToken: answer.id_token, refreshToken: refresh };
}

export interface Identity {
  subject: string;
  name: string;
  subscriber: boolean;
  payload: JWTPayload;
}

export function hasRole(claim: unknown, role: string): boolean {
  if (typeof claim === "string") return claim === role;
  if (Array.isArray(claim)) return claim.some((value) => value === role);
  return false;
}

/**
 * Verify the ID token and read the identity from it. Throws IdTokenError or OidcProviderError.
 * `expectedNonce`: the nonce of this login; null for an ID token of a refresh, which must
 * instead name `expectedSubject` (the session's account).
 */
export async function verifyIdToken(
  settings: OidcSettings,
  discovery: Discovery,
  idToken: string,
  expectedNonce: string | null,
  now: Date = new Date(),
  expectedSubject?: string,
): Promise<Identity> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, jwksFor(discovery.jwks_uri), {
      issuer: settings.issuer,
      audience: settings.clientId,
      algorithms: ID_TOKEN_ALGORITHMS,
      clockTolerance: CLOCK_TOLERANCE,
      maxTokenAge: MAX_ID_TOKEN_AGE,
      requiredClaims: expectedNonce === null ? ["sub", "iat", "exp"] : ["sub", "iat", "exp", "nonce"],
      currentDate: now,
    }));
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    if (code === "ERR_JWKS_TIMEOUT" || (error instanceof Error && error.name === "JWKSTimeout")) {
      throw new OidcProviderError("the provider's keys could not be fetched (timeout)");
    }
    if (code === "ERR_JOSE_GENERIC" || code === "ERR_JWKS_INVALID" || error instanceof TypeError) {
      throw new OidcProviderError(`the provider's keys could not be fetched: ${(error as Error).message}`);
    }
    throw new IdTokenError(
      `ID token refused: ${code || (error instanceof Error ? error.message : "invalid")}`,
    );
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (typeof payload.iat !== "number" || payload.iat > nowSeconds + CLOCK_TOLERANCE) {
    throw new IdTokenError("ID token issued in the future");
  }
  if (expectedNonce !== null) {
    if (typeof payload.nonce !== "string" || !constantTimeEqual(payload.nonce, expectedNonce)) {
      throw new IdTokenError("ID token nonce does not match this login");
    }
  } else if (expectedSubject !== undefined && payload.sub !== expectedSubject) {
    throw new IdTokenError("refreshed ID token names another account");
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if ((audiences.length > 1 || payload.azp !== undefined) && payload.azp !== settings.clientId) {
    throw new IdTokenError("ID token azp is not this client");
  }
  const subject = payload.sub!;
  if (subject.length === 0 || subject.length > 255) throw new IdTokenError("ID token sub is unusable");
  let name = "";
  for (const claim of settings.nameClaims) {
    const value = payload[claim];
    if (typeof value === "string" && value.trim() !== "") {
      name = value.trim();
      break;
    }
  }
  // deno-lint-ignore no-control-regex
  name = name.replace(/[\x00-\x1f\x7f]/g, "").slice(0, 120) || "Your account";
  return {
    subject,
    name,
    subscriber: hasRole(payload[settings.roleClaim], settings.subscriberRole),
    payload,
  };
}

export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
