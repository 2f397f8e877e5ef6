/**
 * What logging in needs, read once per distinct environment: the provider settings and the
 * session keyring. Errors name the variable, for the operator; the caller logs them once.
 */
import { getEnv } from "./env.ts";
import { type OidcSettings, oidcSettings } from "./oidc.ts";
import { type CookieKeyring, importCookieKeys, SESSION_KEYS_VARIABLE } from "./signed_cookie.ts";

export interface AuthConfig {
  oidc: OidcSettings;
  keys: CookieKeyring;
}

export class AuthConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(message);
    this.name = "AuthConfigError";
  }
}

let sessionCache: { value: string | undefined; keyring: Promise<CookieKeyring | Error> } | null = null;

/** The session keyring, or the error that makes it unusable. */
export function sessionKeys(
  get: (name: string) => string | undefined = getEnv,
): Promise<CookieKeyring | Error> {
  const value = get(SESSION_KEYS_VARIABLE);
  if (!sessionCache || sessionCache.value !== value) {
    sessionCache = {
      value,
      keyring: importCookieKeys(value).catch((error: unknown) =>
        new AuthConfigError(SESSION_KEYS_VARIABLE, error instanceof Error ? error.message : "invalid keys")
      ),
    };
  }
  return sessionCache.keyring;
}

/** Provider settings and session keys; throws AuthConfigError naming the first missing variable. */
export async function authConfig(get: (name: string) => string | undefined = getEnv): Promise<AuthConfig> {
  let oidc: OidcSettings;
  try {
    oidc = oidcSettings(get);
  } catch (error) {
    const variable = (error as { variable?: string }).variable ?? "OIDC_ISSUER";
    throw new AuthConfigError(variable, (error as Error).message);
  }
  const keys = await sessionKeys(get);
  if (keys instanceof Error) throw keys;
  return { oidc, keys };
}
