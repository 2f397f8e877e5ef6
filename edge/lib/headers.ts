/**
 * HTTP headers: the security headers every response carries, the headers of personalised
 * responses, and the request sent to the static files.
 *
 * Netlify applies the `[[headers]]` of netlify.toml only to files it serves from its own store,
 * not to what an edge function answers ("Custom headers apply only to files Netlify serves from
 * our own backing store … a URL handled by a function or edge function … the function should
 * return any required headers instead", docs.netlify.com/routing/headers), so the edge sets
 * the same values itself. SECURITY_HEADERS is their one definition: netlify.toml's `for = "/*"`
 * block must list exactly these (edge/tests/headers.test.ts), and the local preview applies
 * netlify.toml to static files like Netlify does.
 */

/**
 * - CSP: only this site's scripts, styles, images, workers and connections; Pagefind compiles
 *   WebAssembly ('wasm-unsafe-eval') in a worker (/pagefind/pagefind-worker.js); no plugins; no
 *   framing by other sites (frame-ancestors, plus X-Frame-Options for old browsers).
 * - HSTS one year; no MIME sniffing; the full address is never sent to other sites.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " +
    "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self'; " +
    "manifest-src 'self'; frame-src 'none'; object-src 'none'; base-uri 'self'; form-action 'self'; " +
    "frame-ancestors 'self'",
  "Strict-Transport-Security": "max-age=31536000",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "SAMEORIGIN",
  "Referrer-Policy": "strict-origin-when-cross-origin",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()",
  "Cross-Origin-Opener-Policy": "same-origin",
};

/**
 * Set the security headers on `headers` (in place). `formActions`: origins a form on this page
 * may lead to besides this site (the identity provider, which the logout form's redirect ends at).
 */
export function secure(headers: Headers, formActions: string[] = []): Headers {
  for (const [name, value] of securityHeaders(formActions)) headers.set(name, value);
  return headers;
}

const SECURITY_ENTRIES = Object.entries(SECURITY_HEADERS);

function securityHeaders(formActions: string[]): [string, string][] {
  if (formActions.length === 0) return SECURITY_ENTRIES;
  const csp = SECURITY_HEADERS["Content-Security-Policy"].replace(
    "form-action 'self'",
    `form-action 'self' ${formActions.join(" ")}`,
  );
  return SECURITY_ENTRIES.map(([name, value]) => [name, name === "Content-Security-Policy" ? csp : value]);
}

/**
 * The same response with the security headers set. Responses of `context.next()` on Netlify
 * have mutable headers; a Response with immutable headers (fetch) is copied.
 */
export function secured(response: Response): Response {
  try {
    secure(response.headers);
    return response;
  } catch {
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: secure(new Headers(response.headers)),
    });
  }
}

/** Conditional and range headers: the gate needs the full static page to transform. */
const STATIC_REQUEST_DROPS = [
  "if-none-match",
  "if-modified-since",
  "if-match",
  "if-unmodified-since",
  "if-range",
  "range",
];

/** Validators (a 304 could revalidate the wrong variant), CDN caching, lengths of the old body. */
export const PERSONALISED_DROPS = [
  "etag",
  "last-modified",
  "content-length",
  "content-encoding",
  "content-range",
  "accept-ranges",
  "age",
  "expires",
  "cdn-cache-control",
  "netlify-cdn-cache-control",
  "netlify-vary",
  "set-cookie",
];

export function staticRequest(request: Request): Request {
  // a request without those headers is copied as it is (the copy is most of the cost)
  const drop = STATIC_REQUEST_DROPS.some((name) => request.headers.has(name));
  const headers = drop ? new Headers(request.headers) : request.headers;
  if (drop) { for (const name of STATIC_REQUEST_DROPS) headers.delete(name); }
  return new Request(request.url, { method: request.method, headers, redirect: "manual" });
}

/**
 * Header entries as a Response holds them when it is made from a Headers object: names in
 * lower case, in the order iterating the Headers gives (by name; values of a repeated name
 * other than set-cookie joined with ", ").
 */
export type HeaderEntries = [string, string][];

/** Headers.set on entries read from a Headers (one entry per name but set-cookie, never set here). */
function setEntry(entries: HeaderEntries, name: string, value: string): void {
  const lower = name.toLowerCase();
  const at = entries.findIndex((entry) => entry[0] === lower);
  if (at < 0) entries.push([lower, value]);
  else entries[at] = [lower, value];
}

function secureEntries(entries: HeaderEntries, formActions: string[]): HeaderEntries {
  for (const [name, value] of securityHeaders(formActions)) setEntry(entries, name, value);
  return entries;
}

/** Headers for a response that depends on the visitor: never stored, varies by cookie, secured. */
export function personalisedHeaders(from: Headers, formActions: string[] = []): Headers {
  return new Headers(personalisedEntries(from, formActions));
}

export function personalisedEntries(from: Headers, formActions: string[] = []): HeaderEntries {
  const entries: HeaderEntries = [...from].filter((entry) => !PERSONALISED_DROPS.includes(entry[0]));
  setEntry(entries, "cache-control", "private, no-store");
  const vary = (from.get("vary") ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "");
  if (!vary.includes("*") && !vary.some((v) => v.toLowerCase() === "cookie")) vary.push("Cookie");
  setEntry(entries, "vary", vary.join(", "));
  return secureEntries(entries, formActions);
}

/** Headers of a response the edge writes itself (redirects, auth pages): secured, `no-store` unless said. */
export function edgeHeaders(init: HeadersInit = {}, cacheControl = "no-store"): Headers {
  const headers = new Headers(init);
  headers.set("cache-control", cacheControl);
  return secure(headers);
}

/** Headers for a body the edge re-emits unchanged in content (still cacheable): secured, no stale length/encoding. */
export function rewrittenHeaders(from: Headers): Headers {
  return new Headers(rewrittenEntries(from));
}

export function rewrittenEntries(from: Headers): HeaderEntries {
  const entries: HeaderEntries = [...from].filter((entry) =>
    entry[0] !== "content-length" && entry[0] !== "content-encoding"
  );
  return secureEntries(entries, []);
}

/**
 * A 200 response of `body` with `entries` and then `cookies` (set-cookie), holding the same
 * header list as `new Response(body, { headers })` with a Headers object of them would. For a
 * byte body the entries are appended to the response's own headers: converting a headers
 * argument costs several times more (bench/edge_bench.py).
 */
export function responseWith(
  body: string | Uint8Array<ArrayBuffer>,
  entries: HeaderEntries,
  cookies: string[],
): Response {
  const all = cookies.length === 0
    ? entries
    : [...entries, ...cookies.map((c): [string, string] => ["set-cookie", c])];
  all.sort((a, b) => a[0] > b[0] ? 1 : a[0] < b[0] ? -1 : 0); // stable: set-cookie values keep their order
  // a string body without a content-type entry gets text/plain from the constructor, as before
  if (typeof body === "string") return new Response(body, { status: 200, headers: all });
  const response = new Response(body, { status: 200 });
  const headers = response.headers;
  for (const [name, value] of all) headers.append(name, value);
  return response;
}

export function isHtml(response: Response): boolean {
  return (response.headers.get("content-type") ?? "").toLowerCase().startsWith("text/html");
}
