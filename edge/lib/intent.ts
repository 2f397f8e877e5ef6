/**
 * What a request for a code page is, from the browser's Fetch Metadata (`Sec-Fetch-*`) and
 * prefetch headers: only a page the visitor navigates to may spend a view.
 *
 * - framed: the page is requested into a frame, embed or object — never unlocked (a cross-site
 *   frame carries no SameSite=Lax cookie, so it would look like a new guest every time; the
 *   CSP's frame-ancestors makes browsers refuse other sites' frames anyway);
 * - speculative: a prefetch or prerender, which the visitor may never see — never charged;
 * - crossSite: a navigation from another site (a search result, a link elsewhere) — a guest
 *   gets the free view, a free account is asked to continue before a view is spent.
 *
 * Requests without these headers (older browsers, command-line clients) are plain navigations;
 * the per-network guest allowance bounds what such clients can read.
 */

export interface Intent {
  framed: boolean;
  speculative: boolean;
  crossSite: boolean;
}

const FRAMED = new Set(["iframe", "frame", "embed", "object", "fencedframe"]);

export function requestIntent(request: Request): Intent {
  const headers = request.headers;
  const dest = (headers.get("sec-fetch-dest") ?? "").toLowerCase();
  const purpose = `${headers.get("sec-purpose") ?? ""} ${headers.get("purpose") ?? ""} ${
    headers.get("x-moz") ?? ""
  }`.toLowerCase();
  return {
    framed: FRAMED.has(dest),
    speculative: /prefetch|prerender/.test(purpose),
    crossSite: (headers.get("sec-fetch-site") ?? "").toLowerCase() === "cross-site",
  };
}
