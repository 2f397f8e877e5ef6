/** HTTP headers of personalised responses and of the request sent to the static files. */

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

/** Headers for a response that depends on the visitor: never stored, varies by cookie. */
export function personalisedHeaders(from: Headers): Headers {
  const headers = new Headers(from);
  for (const name of PERSONALISED_DROPS) headers.delete(name);
  headers.set("cache-control", "private, no-store");
  const vary = (from.get("vary") ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "");
  if (!vary.includes("*") && !vary.some((v) => v.toLowerCase() === "cookie")) vary.push("Cookie");
  headers.set("vary", vary.join(", "));
  return headers;
}

export function isHtml(response: Response): boolean {
  return (response.headers.get("content-type") ?? "").toLowerCase().startsWith("text/html");
}
