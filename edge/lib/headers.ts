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
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
  if (formActions.length > 0) {
    headers.set(
      "Content-Security-Policy",
      SECURITY_HEADERS["Content-Security-Policy"].replace(
        "form-action 'self'",
        `form-action 'self' ${formActions.join(" ")}`,
      ),
    );
  }
  return headers;
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
const PERSONALISED_DROPS = [
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
  const headers = new Headers(request.headers);
  for (const name of STATIC_REQUEST_DROPS) headers.delete(name);
  return new Request(request.url, { method: request.method, headers, redirect: "manual" });
}

/** Headers for a response that depends on the visitor: never stored, varies by cookie, secured. */
export function personalisedHeaders(from: Headers, formActions: string[] = []): Headers {
  const headers = new Headers(from);
  for (const name of PERSONALISED_DROPS) headers.delete(name);
  headers.set("cache-control", "private, no-store");
  const vary = (from.get("vary") ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "");
  if (!vary.includes("*") && !vary.some((v) => v.toLowerCase() === "cookie")) vary.push("Cookie");
  headers.set("vary", vary.join(", "));
  return secure(headers, formActions);
}

/** Headers of a response the edge writes itself (redirects, auth pages): secured, `no-store` unless said. */
export function edgeHeaders(init: HeadersInit = {}, cacheControl = "no-store"): Headers {
  const headers = new Headers(init);
  headers.set("cache-control", cacheControl);
  return secure(headers);
}

/** Headers for a body the edge re-emits unchanged in content (still cacheable): secured, no stale length/encoding. */
export function rewrittenHeaders(from: Headers): Headers {
  const headers = new Headers(from);
  headers.delete("content-length");
  headers.delete("content-encoding");
  return secure(headers);
}

export function isHtml(response: Response): boolean {
  return (response.headers.get("content-type") ?? "").toLowerCase().startsWith("text/html");
}
