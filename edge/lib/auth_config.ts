/**
 * What logging in needs: the provider settings, the session keyring and the database (sessions
 * are server-side). Errors name the variable, for the operator; the caller logs them once.
 */
import { type Database, database } from "./db.ts";
import { getEnv } from "./env.ts";
import { KeyConfigError, type Keyring, keyringFromEnv } from "./keys.ts";
import { type OidcSettings, oidcSettings } from "./oidc.ts";
import { SESSION_KEYS_VARIABLE } from "./signed_cookie.ts";

export interface AuthConfig {
  oidc: OidcSettings;
  keys: Keyring;
  db: Database;
}

export class AuthConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(message);
    this.name = "AuthConfigError";
  }
}

/** The session keyring, or the error that makes it unusable. */
export async function sessionKeys(
  get: (name: string) => string | undefined = getEnv,
): Promise<Keyring | AuthConfigError> {
  const keyring = await keyringFromEnv(SESSION_KEYS_VARIABLE, "hmac", get);
  return keyring instanceof KeyConfigError ? new AuthConfigError(keyring.variable, keyring.message) : keyring;
}

/** Provider settings, session keys and database; throws AuthConfigError naming the first missing variable. */
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
  const db = database(get);
  if (!db) {
    throw new AuthConfigError(
      "DATABASE_URL",
      "sessions and account meters live in PostgreSQL: enable Netlify Database (NETLIFY_DB_URL) or set DATABASE_URL",
    );
  }
  return { oidc, keys, db };
}
