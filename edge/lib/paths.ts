/**
 * The canonical path of a metered code page, from a request URL.
 *
 * Metered: the code pages, at the addresses the build writes them to
 * (codepages/codesets.py `folders()`; `codePagePath` below follows the same rule):
 * `/cpt/623/62326/`, `/hcpcs/J/J1040/`, `/icd-10-cm/M54/`, `/icd-10-cm/M54/M54.50/`,
 * `/icd-10-cm/S72/S72.001/S72.001A/`. The canonical form is the path the build writes and
 * seals under: code set in lowercase, code in uppercase, one trailing slash. Spellings of the
 * same page map to it, so none is metered separately and none skips the meter: query and
 * fragment are ignored, percent-encoding is decoded once (`%2F` included), empty segments
 * (`//`) dropped, a last `index.html` dropped, case folded; the folders before the code must be
 * the code's own (or absent: the flat addresses of earlier builds). Anything else is null:
 * code-set indexes, range pages (codes with '-'), other paths, malformed encodings.
 *
 * A wrong guess here cannot leak: sealed sections open only with the exact path they were
 * sealed for (seal.ts), and the page served for a null path is the static, gated one.
 */

/** The form of a metered code per code set (codepages/codesets.py). */
const CODE_FORMS: Record<string, RegExp> = {
  "cpt": /^[0-9]{4}[0-9FTUM]$/,
  "hcpcs": /^[ABCEGHJ-MP-V][0-9]{4}$/,
  "icd-10-cm": /^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$/,
};
const MAX_PATH_CHARS = 512;

/** The folders between the code set and the code (codepages/codesets.py `folders()`). */
export function codeFolders(codeSet: string, code: string): string[] {
  if (code.includes("-")) return [];
  if (codeSet === "icd-10-cm") {
    if (code.length <= 3) return [];
    const category = code.slice(0, 3);
    if (code.replace(".", "").length === 7) {
      const extended = code.slice(0, 7).replace(/X+$/, "").replace(/\.$/, "");
      if (extended !== category) return [category, extended];
    }
    return [category];
  }
  if (codeSet === "hcpcs") {
    if (code.length === 2) return ["modifiers"];
    return code.length === 5 ? [code[0]] : [];
  }
  if (codeSet === "cpt") return code.length === 5 ? [code.slice(0, 3)] : [];
  return [];
}

/** The canonical address of a code's page. */
export function codePagePath(codeSet: string, code: string): string {
  return `/${[codeSet, ...codeFolders(codeSet, code), code].join("/")}/`;
}

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
  if (segments.length < 2) return null;
  const codeSet = segments[0].toLowerCase();
  const code = segments[segments.length - 1].toUpperCase();
  if (!Object.hasOwn(CODE_FORMS, codeSet) || !CODE_FORMS[codeSet].test(code)) return null;
  const folders = segments.slice(1, -1).map((segment) => segment.toUpperCase());
  const expected = codeFolders(codeSet, code);
  if (folders.length > 0 && folders.join("/") !== expected.join("/")) return null;
  return codePagePath(codeSet, code);
}
