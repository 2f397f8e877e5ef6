/**
 * Transforming a built code page (string in, string out; no DOM).
 *
 * Markup contract (what the build emits for each protected section):
 *
 *   <section class="protected-section" id="ID" aria-labelledby="ID-title" data-section="ID"
 *            data-sealed="v1.KID.NONCE.CIPHERTEXT">
 *     <h2 id="ID-title">Title</h2>
 *     <!--locked:ID--><div class="locked" data-pagefind-ignore="all">…</div><!--/locked:ID-->
 *   </section>
 *
 * and one banner slot:
 *
 *   <div id="meter-banner" class="meter-banner" role="status" aria-live="polite"
 *        data-pagefind-ignore="all" hidden></div>
 *
 * Attribute order and whitespace are free; `data-section` and `data-sealed` are double-quoted;
 * the section tag holds no '>' inside attribute values; both markers sit inside the section.
 */
import { escapeHtml } from "./html.ts";
import { openSealed, type SealKeyring } from "./seal.ts";

export { escapeHtml };

const SEALED_ATTRIBUTE = /\sdata-sealed="[^"]*"/g;
const SECTION_ATTRIBUTE = /\sdata-section="([a-z0-9][a-z0-9-]{0,63})"/;
const BANNER_TAG = /<div\b[^>]*\sid="meter-banner"[^>]*>/;
const HIDDEN_ATTRIBUTE = /\shidden(?:=(?:"[^"]*"|'[^']*'|[^\s>]*))?(?=[\s/>])/;

export interface Unlocked {
  html: string;
  /** protected sections with a seal on the page */
  total: number;
  /** sections whose seal opened (the others keep their placeholder) */
  opened: number;
}

interface TagMatch {
  start: number;
  end: number;
  tag: string;
}

const WHITESPACE = /\s/;

/**
 * The sealed section tags of a page, as SEALED_SECTION_TAG would match them, found with
 * indexOf: the tags hold kilobytes of token, which a backtracking regex scans slowly.
 */
function sealedTags(html: string): TagMatch[] {
  const tags: TagMatch[] = [];
  let from = 0;
  for (;;) {
    const attr = html.indexOf('data-sealed="', from);
    if (attr < 0) break;
    const valueEnd = html.indexOf('"', attr + 13);
    if (valueEnd < 0) break;
    const end = html.indexOf(">", valueEnd);
    if (end < 0) break;
    from = valueEnd + 1;
    const start = html.lastIndexOf("<", attr);
    if (start < 0 || html.lastIndexOf(">", attr) > start || !WHITESPACE.test(html[attr - 1])) continue;
    if (!html.startsWith("<section", start) || !/[\s>]/.test(html[start + 8])) continue;
    tags.push({ start, end: end + 1, tag: html.slice(start, end + 1) });
    from = end + 1;
  }
  return tags;
}

/** Remove every data-sealed attribute (the output of a personalised response carries none). */
export function stripSeals(html: string): string {
  const tags = sealedTags(html);
  if (tags.length === 0) return html;
  const parts: string[] = [];
  let at = 0;
  for (const t of tags) {
    parts.push(html.slice(at, t.start), t.tag.replace(SEALED_ATTRIBUTE, ""));
    at = t.end;
  }
  parts.push(html.slice(at));
  return parts.join("");
}

/** Count the sealed sections of a page. */
export function countSealed(html: string): number {
  return sealedTags(html).length;
}

interface Block {
  tagStart: number;
  tagEnd: number;
  tag: string;
  /** the locked block, markers included; absent when the markers are missing */
  lockedStart: number;
  lockedEnd: number;
  opening: Promise<string | null>;
}

/** Replace each locked block whose seal opens for `pagePath` with the opened HTML. */
export async function unlockSections(
  html: string,
  keyring: SealKeyring,
  pagePath: string,
): Promise<Unlocked> {
  const blocks: Block[] = [];
  for (const match of sealedTags(html)) {
    const tag = match.tag;
    const tagStart = match.start;
    const tagEnd = match.end;
    const sectionId = SECTION_ATTRIBUTE.exec(tag)?.[1];
    const token = /\sdata-sealed="([^"]*)"/.exec(tag)![1];
    let lockedStart = -1;
    let lockedEnd = -1;
    let opening: Promise<string | null> = Promise.resolve(null);
    if (sectionId) {
      const sectionEnd = html.indexOf("</section>", tagEnd);
      const limit = sectionEnd < 0 ? html.length : sectionEnd;
      const open = `<!--locked:${sectionId}-->`;
      const close = `<!--/locked:${sectionId}-->`;
      const start = html.indexOf(open, tagEnd);
      const end = start < 0 ? -1 : html.indexOf(close, start + open.length);
      if (start >= 0 && end >= 0 && end + close.length <= limit) {
        lockedStart = start;
        lockedEnd = end + close.length;
        opening = openSealed(keyring, token, pagePath, sectionId);
      }
    }
    blocks.push({ tagStart, tagEnd, tag, lockedStart, lockedEnd, opening });
  }
  for (let i = 0; i + 1 < blocks.length; i++) {
    if (blocks[i].lockedEnd > blocks[i + 1].tagStart) blocks[i].lockedStart = -1; // overlapping: keep placeholder
  }
  const opened = await Promise.all(blocks.map((b) => b.opening));
  const parts: string[] = [];
  let at = 0;
  let count = 0;
  blocks.forEach((block, i) => {
    parts.push(html.slice(at, block.tagStart), block.tag.replace(SEALED_ATTRIBUTE, ""));
    at = block.tagEnd;
    const plain = opened[i];
    if (plain !== null && block.lockedStart >= 0) {
      parts.push(html.slice(at, block.lockedStart), plain);
      at = block.lockedEnd;
      count++;
    }
  });
  parts.push(html.slice(at));
  return { html: parts.join(""), total: blocks.length, opened: count };
}

/** Put `bannerHtml` (built from escaped parts, banner.ts) into the meter banner slot and show it. */
export function fillBanner(html: string, bannerHtml: string): string {
  const match = BANNER_TAG.exec(html);
  if (!match) return html;
  const tagEnd = match.index + match[0].length;
  const close = html.indexOf("</div>", tagEnd);
  if (close < 0) return html;
  const tag = match[0].replace(HIDDEN_ATTRIBUTE, "");
  return html.slice(0, match.index) + tag + bannerHtml + html.slice(close);
}
