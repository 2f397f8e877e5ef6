/**
 * Transforming a built code page (bytes in, bytes or text out; no DOM).
 *
 * The page is searched as a string of one character per byte (fast_crypto.ts latin1), so every
 * position found is a byte offset and the page is written out as bytes by position; it is
 * decoded as UTF-8 only where text is wanted (renderPage, `html`). The markers searched for
 * are ASCII, and whitespace is HTML's (the bytes of other characters never match it).
 *
 * Markup contract (what the build emits for each protected section):
 *
 *   <section class="protected-section" id="ID" aria-labelledby="ID-title" data-section="ID">
 *     <h2 id="ID-title">Title</h2>
 *     <!--locked:ID--><div class="locked" data-pagefind-ignore="all">…</div><!--/locked:ID-->
 *   </section>
 *
 * and the first protected section's tag also carries the page's seal, which holds every
 * protected section's content (seal.ts): `data-sealed="v2.KID.NONCE.CIPHERTEXT"`;
 * and one banner slot:
 *
 *   <div id="meter-banner" class="meter-banner" role="status" aria-live="polite"
 *        data-pagefind-ignore="all" hidden></div>
 *
 * Attribute order and whitespace are free; `data-section` and `data-sealed` are double-quoted;
 * the section tag holds no '>' inside attribute values; both markers sit inside the section.
 * A page without a seal has nothing metered.
 */
import { latin1 } from "./fast_crypto.ts";
import { escapeHtml } from "./html.ts";
import { type OpenedSection, openPageSeal, type SealKeyring, SECTION_ID } from "./seal.ts";

export { escapeHtml };

const SEALED_ATTRIBUTE = /[\t\n\f\r ]data-sealed="[^"]*"/g;
const SEALED_VALUE = /[\t\n\f\r ]data-sealed="([^"]*)"/;
const BANNER_TAG = /<div\b[^>]*[\t\n\f\r ]id="meter-banner"[^>]*>/;
const HIDDEN_ATTRIBUTE = /[\t\n\f\r ]hidden(?:=(?:"[^"]*"|'[^']*'|[^\t\n\f\r >]*))?(?=[\t\n\f\r />])/;

export interface Unlocked {
  html: string;
  /** protected sections of a page with a seal */
  total: number;
  /** sections whose seal opened (the others keep their placeholder) */
  opened: number;
}

/** A protected section's tag. */
interface TagMatch {
  start: number;
  end: number;
  tag: string;
  /** its data-section */
  id: string;
  /** where `data-sealed="` starts and the index of the quote that closes its value; -1: no seal */
  attr: number;
  valueEnd: number;
}

/**
 * A static page read once per request: its protected section tags are found once (none when
 * the page holds no seal), and every variant of the page (gated, opened, with a banner) is
 * written out from them in one pass.
 */
export interface StaticPage {
  /** the page as the static host sent it */
  bytes: Uint8Array<ArrayBuffer>;
  /** the same, one character per byte: what is searched */
  binary: string;
  tags: TagMatch[];
  /** the page as text (decoded as Response.text() does), when first asked for */
  readonly html: string;
}

interface OpenedBlock {
  /** index of the section's tag in StaticPage.tags */
  tag: number;
  /** the locked block, markers included */
  start: number;
  end: number;
  /** what goes in its place */
  section: OpenedSection;
}

/** The locked blocks of a page that opened, in page order. */
export interface Opened {
  /** protected sections of a page with a seal */
  total: number;
  blocks: OpenedBlock[];
}

const WHITESPACE = /[\t\n\f\r ]/;
const SECTION = 'data-section="';
const SEALED = 'data-sealed="';

/**
 * The protected section tags of a page (`<section` tags with a data-section), found with
 * indexOf: the sealed one holds kilobytes of token, which a backtracking regex scans slowly.
 * None when no tag holds a seal: then nothing on the page is metered.
 */
function sectionTags(html: string): TagMatch[] {
  const tags: TagMatch[] = [];
  let sealed = false;
  let from = 0;
  for (;;) {
    const at = html.indexOf(SECTION, from);
    if (at < 0) break;
    const idEnd = html.indexOf('"', at + SECTION.length);
    if (idEnd < 0) break;
    const end = html.indexOf(">", idEnd);
    if (end < 0) break;
    from = idEnd + 1;
    const start = html.lastIndexOf("<", at);
    if (start < 0 || html.lastIndexOf(">", at) > start || !WHITESPACE.test(html[at - 1])) continue;
    if (!html.startsWith("<section", start) || !/[\t\n\f\r >]/.test(html[start + 8])) continue;
    const id = html.slice(at + SECTION.length, idEnd);
    if (!SECTION_ID.test(id)) continue;
    const tag = html.slice(start, end + 1);
    let attr = -1;
    let valueEnd = -1;
    for (let i = tag.indexOf(SEALED); i >= 0; i = tag.indexOf(SEALED, i + 1)) {
      if (!WHITESPACE.test(tag[i - 1])) continue;
      valueEnd = html.indexOf('"', start + i + SEALED.length);
      if (valueEnd >= 0 && valueEnd < end) attr = start + i; // else its value runs past the tag: no seal
      break;
    }
    sealed ||= attr >= 0;
    tags.push({ start, end: end + 1, tag, id, attr, valueEnd });
    from = end + 1;
  }
  return sealed ? tags : [];
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The page from the static host's bytes. */
export function readPageBytes(bytes: Uint8Array<ArrayBuffer>, text: string | null = null): StaticPage {
  const binary = latin1(bytes);
  return {
    bytes,
    binary,
    tags: sectionTags(binary),
    get html() {
      return text ??= decoder.decode(bytes);
    },
  };
}

/** The page from its text (as UTF-8). */
export function readPage(html: string): StaticPage {
  return readPageBytes(encoder.encode(html), html);
}

/** The tag holds one data-sealed attribute (the build writes one): it can be cut out by position. */
function singleSeal(t: TagMatch): boolean {
  return t.tag.indexOf(SEALED) === t.attr - t.start && t.tag.indexOf(SEALED, t.valueEnd - t.start) < 0;
}

function tokenOf(t: TagMatch): string {
  if (!singleSeal(t)) return SEALED_VALUE.exec(t.tag)![1];
  return t.tag.slice(t.attr + SEALED.length - t.start, t.valueEnd - t.start);
}

/** Remove every data-sealed attribute (the output of a personalised response carries none). */
export function stripSeals(html: string): string {
  return renderPage(readPage(html), null, null);
}

/**
 * Open the page's seal and each locked block it holds the content of (nothing of the page is
 * copied). The build writes one seal per page; a page with more opens nothing, and so does one
 * whose protected sections are not exactly those the seal was made for (seal.ts).
 */
export async function openSections(
  page: StaticPage,
  keyring: SealKeyring,
  pagePath: string,
): Promise<Opened> {
  const { binary: html, tags } = page;
  const opened: Opened = { total: tags.length, blocks: [] };
  const seals = tags.filter((t) => t.attr >= 0);
  if (seals.length !== 1) return opened;
  const sections = await openPageSeal(keyring, tokenOf(seals[0]), pagePath, tags.map((t) => t.id));
  if (sections === null) return opened;
  for (let i = 0; i < tags.length; i++) {
    const t = tags[i];
    const sectionEnd = html.indexOf("</section>", t.end);
    const limit = sectionEnd < 0 ? html.length : sectionEnd;
    const open = `<!--locked:${t.id}-->`;
    const close = `<!--/locked:${t.id}-->`;
    const start = html.indexOf(open, t.end);
    const end = start < 0 ? -1 : html.indexOf(close, start + open.length);
    if (start < 0 || end < 0 || end + close.length > limit) continue;
    // a block reaching past the next section tag keeps its placeholder
    if (i + 1 < tags.length && end + close.length > tags[i + 1].start) continue;
    opened.blocks.push({ tag: i, start, end: end + close.length, section: sections.get(t.id)! });
  }
  return opened;
}

/** What a page is written from, in order: ranges of the static page, inserted text, opened sections. */
type Piece = [from: number, to: number] | string | OpenedBlock;

/**
 * The pieces of the page as served: seals removed, the `opened` blocks in place of their
 * placeholders and `bannerHtml` in the banner slot. The banner goes in by position when its
 * slot lies before the first section (where the build puts it); `inline` false: it is to be
 * filled into the written page, as fillBanner always did.
 */
function layout(
  page: StaticPage,
  opened: Opened | null,
  bannerHtml: string | null,
): { pieces: Piece[]; inline: boolean } {
  const { binary, tags } = page;
  const pieces: Piece[] = [];
  let at = 0;
  const slot = bannerHtml === null ? null : bannerSlot(binary);
  const inline = slot !== null && slot.close + 6 <= (tags.length > 0 ? tags[0].start : binary.length);
  if (inline) {
    pieces.push([0, slot.start], slot.tag, bannerHtml!);
    at = slot.close;
  }
  const blocks = opened?.blocks ?? [];
  let b = 0;
  for (let i = 0; i < tags.length; i++) {
    const t = tags[i];
    if (t.attr >= 0) {
      if (singleSeal(t)) pieces.push([at, t.attr - 1], [t.valueEnd + 1, t.end]);
      else pieces.push([at, t.start], t.tag.replace(SEALED_ATTRIBUTE, ""));
      at = t.end;
    }
    if (b < blocks.length && blocks[b].tag === i) {
      pieces.push([at, blocks[b].start], blocks[b]);
      at = blocks[b].end;
      b++;
    }
  }
  pieces.push([at, binary.length]);
  return { pieces, inline };
}

/** The pieces as UTF-8 bytes: ranges of the static page copied by position. */
function written(page: StaticPage, pieces: Piece[]): Uint8Array<ArrayBuffer> {
  const parts = pieces.map((p) =>
    typeof p === "string"
      ? encoder.encode(p)
      : Array.isArray(p)
      ? page.bytes.subarray(p[0], p[1])
      : p.section.bytes
  );
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The page as served (see layout), as text. */
export function renderPage(page: StaticPage, opened: Opened | null, bannerHtml: string | null): string {
  if (page.tags.length === 0 && bannerHtml === null) return page.html;
  const { pieces, inline } = layout(page, opened, bannerHtml);
  const text = decoder.decode(written(page, pieces));
  return bannerHtml === null || inline ? text : fillBanner(text, bannerHtml);
}

/**
 * The page as served, as UTF-8 bytes (what a response is made from); null when the banner
 * cannot go in by position: renderPage writes that page.
 */
export function encodePage(
  page: StaticPage,
  opened: Opened | null,
  bannerHtml: string | null,
): Uint8Array<ArrayBuffer> | null {
  const { pieces, inline } = layout(page, opened, bannerHtml);
  return bannerHtml !== null && !inline ? null : written(page, pieces);
}

/** The page with each locked block whose seal opens for `pagePath` replaced by the opened HTML. */
export async function unlockSections(
  page: StaticPage,
  keyring: SealKeyring,
  pagePath: string,
): Promise<Unlocked> {
  const opened = await openSections(page, keyring, pagePath);
  return { html: renderPage(page, opened, null), total: opened.total, opened: opened.blocks.length };
}

function bannerSlot(html: string): { start: number; close: number; tag: string } | null {
  const match = BANNER_TAG.exec(html);
  if (!match) return null;
  const close = html.indexOf("</div>", match.index + match[0].length);
  if (close < 0) return null;
  return { start: match.index, close, tag: match[0].replace(HIDDEN_ATTRIBUTE, "") };
}

/** Put `bannerHtml` (built from escaped parts, banner.ts) into the meter banner slot and show it. */
export function fillBanner(html: string, bannerHtml: string): string {
  const slot = bannerSlot(html);
  if (!slot) return html;
  return html.slice(0, slot.start) + slot.tag + bannerHtml + html.slice(slot.close);
}
