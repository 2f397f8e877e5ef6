/**
 * Opening a page's seal (the build seals it with codepages/sealing.py).
 *
 * Token: `v2.<key id>.<base64url nonce, 12 bytes>.<base64url ciphertext + 16-byte tag>`,
 * AES-256-GCM, additional data `codepages/v2|<page path>|<id>,<id>,…` (UTF-8; the ids of the
 * page's protected sections in page order), so a token opens only on the page it was sealed
 * for, and only when the page holds exactly those sections. The plaintext is raw DEFLATE of
 * the sections: a JSON header `[1418,2754,…]` (the length in bytes of each section's HTML),
 * a newline, then the sections' UTF-8 HTML back to back. One token per page, compressed:
 * opening costs CPU by the byte and by the call (node:crypto's AES-GCM in Deno runs at
 * ~100 MB/s), and a CPT page's sections as a token each took a third of its bytes, which
 * do not compress when served (bench/edge_bench.py: ~17 % less CPU per sealed page).
 */
import { b64urlDecode } from "./b64.ts";
import { aesGcmOpen, inflateRaw, isUtf8 } from "./fast_crypto.ts";
import { EMPTY_KEYRING, importKeyring, type Keyring } from "./keys.ts";
import { MAX_SEALED_PLAINTEXT_BYTES } from "./limits.ts";

export const SEAL_KEYS_VARIABLE = "CODEPAGES_SEAL_KEYS";

const KID = /^[A-Za-z0-9_-]{1,32}$/;
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** a protected section's id (data-section) */
export const SECTION_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const MAX_TOKEN_CHARS = 512 * 1024;
const encoder = new TextEncoder();

export type SealKeyring = Keyring;
export const EMPTY_SEAL_KEYRING: Keyring = EMPTY_KEYRING;

/** Import `kid1:base64key,...` (32-byte keys). Throws KeyConfigError when missing or malformed. */
export function importSealKeys(value: string | undefined): Promise<Keyring> {
  return importKeyring(value, SEAL_KEYS_VARIABLE, "aes-gcm");
}

export function sealAdditionalData(pagePath: string, sectionIds: string[]): Uint8Array<ArrayBuffer> {
  return encoder.encode(`codepages/v2|${pagePath}|${sectionIds.join(",")}`);
}

/**
 * An opened section: its UTF-8 bytes (what a page written as bytes takes) and the same as
 * text, decoded when first asked for (a guest's page is written from the bytes alone).
 */
export interface OpenedSection {
  readonly html: string;
  bytes: Uint8Array;
}

/**
 * The page's sections by id, or null on any failure (format, unknown key, wrong page or
 * sections, tampering). `sectionIds`: the page's protected sections, in page order.
 */
export async function openPageSeal(
  keyring: SealKeyring,
  token: string,
  pagePath: string,
  sectionIds: string[],
): Promise<Map<string, OpenedSection> | null> {
  try {
    if (token.length > MAX_TOKEN_CHARS || sectionIds.length === 0) return null;
    if (!sectionIds.every((id) => SECTION_ID.test(id))) return null;
    // v2.<kid>.<nonce>.<ciphertext>: the decoder checks the alphabet (no regex over kilobytes)
    const parts = token.split(".");
    if (parts.length !== 4 || parts[0] !== "v2" || !KID.test(parts[1])) return null;
    if (parts[2].length !== 16 || parts[3].length < 22) return null;
    const key = keyring.keys.get(parts[1]);
    const nonce = b64urlDecode(parts[2]);
    const sealed = b64urlDecode(parts[3]);
    if (!key || !nonce || !sealed || nonce.length !== 12 || sealed.length < 16) return null;
    const additionalData = sealAdditionalData(pagePath, sectionIds);
    const raw = keyring.raw?.get(parts[1]);
    let compressed = raw ? aesGcmOpen(raw, nonce, sealed, additionalData) : undefined;
    if (compressed === undefined) {
      compressed = new Uint8Array(
        await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: nonce, additionalData, tagLength: 128 },
          key,
          sealed,
        ),
      );
    }
    if (compressed === null) return null;
    const bundle = await inflateRaw(compressed, MAX_SEALED_PLAINTEXT_BYTES);
    return bundle === null ? null : sectionsOf(bundle, sectionIds);
  } catch {
    return null;
  }
}

/** The sections of a bundle (see the module comment) by id, or null when it is not one. */
function sectionsOf(bundle: Uint8Array, sectionIds: string[]): Map<string, OpenedSection> | null {
  const lineEnd = bundle.indexOf(10);
  if (lineEnd <= 0) return null;
  const lengths: unknown = JSON.parse(decoder.decode(bundle.subarray(0, lineEnd)));
  if (!Array.isArray(lengths) || lengths.length !== sectionIds.length) return null;
  const sections = new Map<string, OpenedSection>();
  let at = lineEnd + 1;
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i];
    if (!Number.isSafeInteger(length) || length < 0 || at + length > bundle.length) return null;
    sections.set(sectionIds[i], section(bundle.subarray(at, at + length)));
    at += length;
  }
  return at === bundle.length ? sections : null;
}

/** A section that is not UTF-8 does not open (isUtf8 checks without making a string, else the fatal decoder). */
function section(bytes: Uint8Array): OpenedSection {
  let html = isUtf8 ? null : decoder.decode(bytes);
  if (isUtf8 && !isUtf8(bytes)) throw new TypeError("not UTF-8");
  return {
    get html() {
      return html ??= decoder.decode(bytes);
    },
    bytes,
  };
}
