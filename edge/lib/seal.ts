/**
 * Opening sealed sections (the build seals them with codepages/sealing.py).
 *
 * Token: `v1.<key id>.<base64url nonce, 12 bytes>.<base64url ciphertext + 16-byte tag>`,
 * AES-256-GCM, additional data `codepages/v1|<page path>|<section id>` (UTF-8), so a token
 * opens only on the page and in the section it was sealed for.
 */
import { b64urlDecode } from "./b64.ts";
import { aesGcmOpen } from "./fast_crypto.ts";
import { EMPTY_KEYRING, importKeyring, type Keyring } from "./keys.ts";

export const SEAL_KEYS_VARIABLE = "CODEPAGES_SEAL_KEYS";

const KID = /^[A-Za-z0-9_-]{1,32}$/;
const decoder = new TextDecoder("utf-8", { fatal: true });
const SECTION_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const MAX_TOKEN_CHARS = 512 * 1024;
const encoder = new TextEncoder();

export type SealKeyring = Keyring;
export const EMPTY_SEAL_KEYRING: Keyring = EMPTY_KEYRING;

/** Import `kid1:base64key,...` (32-byte keys). Throws KeyConfigError when missing or malformed. */
export function importSealKeys(value: string | undefined): Promise<Keyring> {
  return importKeyring(value, SEAL_KEYS_VARIABLE, "aes-gcm");
}

export function sealAdditionalData(pagePath: string, sectionId: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`codepages/v1|${pagePath}|${sectionId}`);
}

/** An opened section: its HTML, and the same as UTF-8 bytes (what a page written as bytes takes). */
export interface OpenedSection {
  html: string;
  bytes: Uint8Array;
}

/** The section's HTML, or null on any failure (format, unknown key, wrong page/section, tampering). */
export async function openSealed(
  keyring: SealKeyring,
  token: string,
  pagePath: string,
  sectionId: string,
): Promise<string | null> {
  return (await openSealedSection(keyring, token, pagePath, sectionId))?.html ?? null;
}

/** openSealed, with the plaintext's bytes too (not UTF-8: null, as for any failure). */
export async function openSealedSection(
  keyring: SealKeyring,
  token: string,
  pagePath: string,
  sectionId: string,
): Promise<OpenedSection | null> {
  try {
    if (token.length > MAX_TOKEN_CHARS || !SECTION_ID.test(sectionId)) return null;
    // v1.<kid>.<nonce>.<ciphertext>: the decoder checks the alphabet (no regex over kilobytes)
    const parts = token.split(".");
    if (parts.length !== 4 || parts[0] !== "v1" || !KID.test(parts[1])) return null;
    if (parts[2].length !== 16 || parts[3].length < 22) return null;
    const key = keyring.keys.get(parts[1]);
    const nonce = b64urlDecode(parts[2]);
    const sealed = b64urlDecode(parts[3]);
    if (!key || !nonce || !sealed || nonce.length !== 12 || sealed.length < 16) return null;
    const raw = keyring.raw?.get(parts[1]);
    if (raw) {
      const opened = aesGcmOpen(raw, nonce, sealed, sealAdditionalData(pagePath, sectionId));
      if (opened !== undefined) return opened === null ? null : section(opened);
    }
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce, additionalData: sealAdditionalData(pagePath, sectionId), tagLength: 128 },
      key,
      sealed,
    );
    return section(new Uint8Array(plain));
  } catch {
    return null;
  }
}

/** The fatal decoder rejects what is not UTF-8 and drops a leading byte order mark: the bytes lose it too. */
function section(bytes: Uint8Array): OpenedSection {
  const html = decoder.decode(bytes);
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return { html, bytes: bom ? bytes.subarray(3) : bytes };
}
