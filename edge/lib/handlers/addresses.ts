/**
 * Addresses (functions/addresses.ts, declared first in netlify.toml so it runs before the
 * gate): every way a coder writes a code reaches its page with ONE permanent redirect, unknown
 * codes get the 404 page with the nearest existing codes, and `/search/?q=<exact code>` jumps
 * to the code without JavaScript.
 *
 * Why at the edge: Netlify's redirect rules are case-sensitive and cannot insert the dot of an
 * ICD-10-CM code, and "if you need to set up 10,000 redirects or more … Edge Functions can be a
 * better option" (docs.netlify.com/routing/redirects); the catalogue has ~98,500 pages.
 *
 * The meter: a redirect answers without calling `context.next()`, so the gate never runs for it —
 * a redirect never unlocks, never reads or writes a meter cookie and carries no page text; its
 * target is a canonical code page, metered like any other request for it.
 */
import { CodeIndex, fetchShards, normaliseQuery } from "../code_index.ts";
import type { Flow } from "../flow.ts";
import { edgeHeaders, isHtml, rewrittenHeaders } from "../headers.ts";
import { escapeHtml } from "../html.ts";
import { codePagePath, parseAddress } from "../paths.ts";

let index: { origin: string; index: CodeIndex } | null = null;

/** The code index of this site (shards fetched from the site itself), kept per isolate. */
export function codeIndexFor(origin: string): CodeIndex {
  if (!index || index.origin !== origin) index = { origin, index: new CodeIndex(fetchShards(origin)) };
  return index.index;
}

const SEARCH_PATHS = new Set(["/search", "/search/", "/search/index.html"]);

function moved(location: string, status: number, cacheSeconds: number): Response {
  return new Response(null, {
    status,
    headers: edgeHeaders({ location }, `public, max-age=${cacheSeconds}`),
  });
}

/**
 * The answer for `flow`, or undefined: not an address this function handles (the chain goes on
 * to the gate, the account function or the static files).
 */
export async function addresses(
  flow: Flow,
  codes: CodeIndex = codeIndexFor(flow.url.origin),
): Promise<Response | undefined> {
  if (flow.method !== "GET" && flow.method !== "HEAD") return undefined;
  const { pathname, search } = flow.url;
  if (SEARCH_PATHS.has(pathname)) return await searchJump(flow, codes);
  const address = parseAddress(pathname);
  if (!address) return undefined;
  if (address.canonical !== pathname) {
    if (address.kind === "code") {
      const entry = await codes.find(address.key, address.codeSet);
      if (!entry) return await notFound(flow, codes, address.key, address.codeSet);
      return moved(codePagePath(address.codeSet, entry.code) + search, 301, 86400);
    }
    return moved(address.canonical + search, 301, 86400);
  }
  if (address.kind !== "code") return undefined;
  // the canonical address of a code: its page, or the 404 page with suggestions
  const response = await flow.context.next();
  if (response.status === 404 && address.kind === "code" && isHtml(response)) {
    return await suggestOn(response, codes, address.key, address.codeSet);
  }
  return response;
}

/** `/search/?q=M54.50` (or m5450, 62326, j1040): the code's page when q is exactly an existing code. */
async function searchJump(flow: Flow, codes: CodeIndex): Promise<Response | undefined> {
  const q = flow.url.searchParams.get("q");
  if (!q || q.length > 40) return undefined;
  const key = normaliseQuery(q.trim());
  if (!/^[A-Z0-9-]{2,20}$/.test(key)) return undefined;
  const entry = await codes.find(key);
  if (!entry) return undefined;
  const target = entry.code.includes("-")
    ? `/${entry.codeSet}/${entry.code}/`
    : codePagePath(entry.codeSet, entry.code);
  return moved(target, 303, 300);
}

async function notFound(flow: Flow, codes: CodeIndex, key: string, codeSet: string): Promise<Response> {
  const response = await flow.context.next();
  if (response.status !== 404 || !isHtml(response)) {
    // the static host knew no page either way; answer 404 all the same
    await response.body?.cancel();
    return new Response("Not found\n", {
      status: 404,
      headers: edgeHeaders({ "content-type": "text/plain; charset=UTF-8" }, "public, max-age=300"),
    });
  }
  return await suggestOn(response, codes, key, codeSet);
}

const SLOT = /<section\b[^>]*\bid="code-suggestions"[^>]*>[\s\S]*?<\/section>/;

/** The 404 page with the nearest existing codes listed (server-side: works without JavaScript). */
async function suggestOn(
  response: Response,
  codes: CodeIndex,
  key: string,
  codeSet: string,
): Promise<Response> {
  const html = await response.text();
  const near = await codes.suggest(key, codeSet).catch(() => []);
  const headers = rewrittenHeaders(response.headers);
  headers.set("cache-control", "public, max-age=300");
  if (near.length === 0) return new Response(html, { status: 404, headers });
  const items = near.map((entry) =>
    `<li><a href="${escapeHtml(codePagePath(entry.codeSet, entry.code))}"><span class="code">${
      escapeHtml(entry.code)
    }</span> <span class="descriptor">${escapeHtml(entry.descriptor)}</span></a></li>`
  ).join("");
  const section =
    `<section id="code-suggestions" class="code-suggestions" aria-labelledby="code-suggestions-title">` +
    `<h2 id="code-suggestions-title">No code ${
      escapeHtml(key)
    }. Nearest existing codes</h2><ul>${items}</ul></section>`;
  const filled = SLOT.test(html)
    ? html.replace(SLOT, section)
    : html.includes("</main>")
    ? html.replace("</main>", `${section}</main>`)
    : html + section;
  return new Response(filled, { status: 404, headers });
}
