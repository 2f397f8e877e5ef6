/**
 * Where to send a visitor back to after logging in or out: normalised once, here.
 *
 * The result is always a same-site absolute path (with its query) that a `Location` header
 * can carry: percent-decoded once and re-encoded (control and non-Latin-1 characters become
 * %XX, never an exception), dot segments resolved. Anything that is not plainly a path of this
 * site is "/": another origin, a scheme, `//host`, backslashes, encoded slashes or backslashes,
 * empty segments (`/x/..//host` would resolve to `//host`), malformed escapes, over-long
 * addresses, and the sign-in routes themselves (`/auth/…`, in any case).
 */
import { MAX_RETURN_PATH_CHARS } from "./limits.ts";

/** What a path segment may hold unencoded (RFC 3986 pchar, minus "%"). */
const PCHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;

function encodeSegment(segment: string): string {
  let out = "";
  for (const char of segment) out += PCHAR.test(char) ? char : encodeURIComponent(char);
  return out;
}

export function returnPath(candidate: string | null | undefined, origin?: string): string {
  if (!candidate || candidate.length > MAX_RETURN_PATH_CHARS * 3) return "/";
  let raw = candidate;
  if (!raw.startsWith("/")) {
    if (origin === undefined) return "/";
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return "/";
    }
    if (url.origin !== origin || url.username || url.password) return "/";
    raw = url.pathname + url.search;
  }
  raw = raw.split("#")[0];
  const q = raw.indexOf("?");
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const rawQuery = q < 0 ? "" : raw.slice(q + 1);
  if (rawPath.includes("\\") || /%(2f|5c)/i.test(rawPath)) return "/";
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return "/";
  }
  if (!path.startsWith("/") || path.includes("\\")) return "/";
  const segments = path.slice(1).split("/");
  const resolved: string[] = [];
  let trailingSlash = false;
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    if (segment === "") {
      if (!last) return "/"; // `//` anywhere
      trailingSlash = true;
    } else if (segment === ".") {
      trailingSlash = last;
    } else if (segment === "..") {
      resolved.pop();
      trailingSlash = last;
    } else {
      resolved.push(segment);
      trailingSlash = false;
    }
  }
  let result = "/" + resolved.map(encodeSegment).join("/") +
    (trailingSlash && resolved.length > 0 ? "/" : "");
  if (rawQuery !== "") {
    let query: string;
    try {
      query = new URLSearchParams(rawQuery).toString();
    } catch {
      return "/";
    }
    if (query !== "") result += `?${query}`;
  }
  const lower = result.toLowerCase();
  if (lower === "/auth" || lower.startsWith("/auth/") || lower.startsWith("/auth?")) return "/";
  return result.length > MAX_RETURN_PATH_CHARS ? "/" : result;
}
