/**
 * The canonical path of a metered code page, from a request URL.
 *
 * Metered: `/cpt/<code>/`, `/hcpcs/<code>/`, `/icd-10-cm/<code>/`. The canonical form is the
 * path the build writes and seals under: code set in lowercase, code in uppercase, one
 * trailing slash (`/icd-10-cm/M54.50/`). Every spelling of the same page maps to it, so
 * none is metered separately and none skips the meter: query and fragment are ignored,
 * percent-encoding is decoded once (`%2F` included), empty segments (`//`) dropped, a last
 * `index.html` dropped, case folded. Anything else is null: code-set indexes, range pages
 * (`/cpt/62320-62327/`, codes with '-'), other paths, malformed encodings.
 *
 * A wrong guess here cannot leak: sealed sections open only with the exact path they were
 * sealed for (seal.ts), and the page served for a null path is the static, gated one.
 */

const CODE_SETS = new Set(["cpt", "hcpcs", "icd-10-cm"]);
const CODE = /^[A-Z0-9]{1,8}(?:\.[A-Z0-9]{1,8})?$/;
const MAX_PATH_CHARS = 512;

export function canonicalPagePath(url: string | URL): string | null {
  let pathname: string;
  try {
    pathname = (typeof url === "string" ? new URL(url) : url).pathname;
  } catch {
    return null;
  }
  if (pathname.length > MAX_PATH_CHARS) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  const segments = decoded.split("/").filter((segment) => segment !== "");
  if (segments.length > 0 && segments[segments.length - 1].toLowerCase() === "index.html") segments.pop();
  if (segments.length !== 2) return null;
  const codeSet = segments[0].toLowerCase();
  const code = segments[1].toUpperCase();
  if (!CODE_SETS.has(codeSet) || !CODE.test(code)) return null;
  return `/${codeSet}/${code}/`;
}
