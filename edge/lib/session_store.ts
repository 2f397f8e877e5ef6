/**
 * Server-side sessions (db/migrations/0002 `codepages_sessions`): the session cookie holds a
 * random id; the row, keyed by the id's SHA-256, holds the account it stands for, its
 * subscriber status and when that was last read from the provider's verified claims, and the
 * provider's refresh token (sealed with a key derived from CODEPAGES_SESSION_KEYS).
 * Revoking the row ends the session for every copy of the cookie.
 */
import { b64urlDecode, b64urlEncode } from "./b64.ts";
import { type Database, StoreUnavailableError } from "./db.ts";
import type { Keyring } from "./keys.ts";

export interface SessionRecord {
  subject: string;
  issuer: string;
  name: string;
  subscriber: boolean;
  /** epoch seconds: when subscriber/name were read from verified claims */
  claimsAt: number;
  /** the sealed refresh token, or null */
  refreshToken: string | null;
  expiresAt: number;
}

export class SessionStore {
  constructor(private readonly db: Database) {}

  async create(idHash: string, record: SessionRecord): Promise<void> {
    await this.db.rows(
      `INSERT INTO codepages_sessions (id_hash, subject, issuer, name, subscriber, claims_at, refresh_token, expires_at)
       VALUES ($1, $2, $3, $4, $5, to_timestamp($6), $7, to_timestamp($8))`,
      [
        idHash,
        record.subject,
        record.issuer,
        record.name,
        record.subscriber,
        record.claimsAt,
        record.refreshToken,
        record.expiresAt,
      ],
    );
    if (Math.random() < 0.05) {
      this.db.rows("DELETE FROM codepages_sessions WHERE expires_at < now() - interval '1 day'").catch(
        () => {},
      );
    }
  }

  /** The live (not revoked, not expired) session, or null. */
  async find(idHash: string): Promise<SessionRecord | null> {
    const rows = await this.db.rows(
      `SELECT subject, issuer, name, subscriber, extract(epoch FROM claims_at)::bigint AS claims_at,
              refresh_token, extract(epoch FROM expires_at)::bigint AS expires_at
       FROM codepages_sessions WHERE id_hash = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [idHash],
    );
    const row = rows[0];
    if (!row) return null;
    if (typeof row.subject !== "string" || typeof row.subscriber !== "boolean") {
      throw new StoreUnavailableError("unexpected answer");
    }
    return {
      subject: row.subject,
      issuer: String(row.issuer),
      name: String(row.name),
      subscriber: row.subscriber,
      claimsAt: Number(row.claims_at),
      refreshToken: typeof row.refresh_token === "string" ? row.refresh_token : null,
      expiresAt: Number(row.expires_at),
    };
  }

  /** Fresh claims read from the provider. */
  async updateClaims(
    idHash: string,
    claims: { name: string; subscriber: boolean; refreshToken: string | null },
  ): Promise<void> {
    await this.db.rows(
      `UPDATE codepages_sessions SET name = $2, subscriber = $3, claims_at = now(),
              refresh_token = COALESCE($4, refresh_token)
       WHERE id_hash = $1 AND revoked_at IS NULL`,
      [idHash, claims.name, claims.subscriber, claims.refreshToken],
    );
  }

  async revoke(idHash: string): Promise<void> {
    await this.db.rows(
      "UPDATE codepages_sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL",
      [
        idHash,
      ],
    );
  }

  /** Revoke every session of the account (log out everywhere); how many were live. */
  async revokeAll(subject: string, issuer: string): Promise<number> {
    const rows = await this.db.rows(
      `WITH revoked AS (
         UPDATE codepages_sessions SET revoked_at = now()
         WHERE subject = $1 AND issuer = $2 AND revoked_at IS NULL RETURNING 1)
       SELECT count(*)::integer AS n FROM revoked`,
      [subject, issuer],
    );
    return Number(rows[0]?.n ?? 0);
  }
}

// ---- sealing the refresh token ------------------------------------------------------------------

const encoder = new TextEncoder();

async function tokenKey(keyring: Keyring, kid: string): Promise<CryptoKey | null> {
  const hmac = keyring.keys.get(kid);
  if (!hmac) return null;
  const raw = await crypto.subtle.sign("HMAC", hmac, encoder.encode("codepages/refresh-token-key/v1"));
  return await crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
}

/** `<kid>.<nonce>.<ciphertext>`: the refresh token encrypted for this session only. */
export async function sealRefreshToken(keyring: Keyring, token: string, idHash: string): Promise<string> {
  const key = await tokenKey(keyring, keyring.currentId);
  if (!key) throw new Error("session keyring has no current key");
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: encoder.encode(`codepages/refresh/v1|${idHash}`) },
    key,
    encoder.encode(token),
  );
  return `${keyring.currentId}.${b64urlEncode(nonce)}.${b64urlEncode(new Uint8Array(sealed))}`;
}

export async function openRefreshToken(
  keyring: Keyring,
  sealed: string,
  idHash: string,
): Promise<string | null> {
  const [kid, nonceText, cipherText] = sealed.split(".");
  const nonce = nonceText ? b64urlDecode(nonceText) : null;
  const cipher = cipherText ? b64urlDecode(cipherText) : null;
  const key = kid ? await tokenKey(keyring, kid) : null;
  if (!key || !nonce || nonce.length !== 12 || !cipher) return null;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce, additionalData: encoder.encode(`codepages/refresh/v1|${idHash}`) },
      key,
      cipher,
    );
    return new TextDecoder().decode(plain);
  } catch {
    return null;
  }
}
