/**
 * Addresses of the catalogue: where each page lives, and what any spelling of it means.
 *
 * The build writes every page at the address codepages/codesets.py `url_path()` gives;
 * `codePagePath` below is the same rule (tests/test_edge_paths_crosscheck.py checks both agree
 * on every code of a built catalogue):
 *
 * - ranges, ICD-10-CM chapters, blocks and categories, HCPCS sections: at the top
 *   (`/cpt/62320-62327/`, `/icd-10-cm/M50-M54/`, `/icd-10-cm/M54/`, `/hcpcs/J/`);
 * - ICD-10-CM codes below a category in its folder (`/icd-10-cm/M54/M54.50/`), 7th-character
 *   codes under the code they extend (`/icd-10-cm/S72/S72.001/S72.001A/`; a placeholder X is
 *   not a level: `/icd-10-cm/S12/S12.8/S12.8XXA/`, `/icd-10-cm/W08/W08.XXXA/`);
 * - HCPCS codes in their letter (`/hcpcs/J/J1040/`), modifiers together (`/hcpcs/modifiers/LT/`);
 * - CPT codes in the folder of their first three characters (`/cpt/623/62326/`).
 *
 * `parseAddress` reads what a coder typed (any case, with or without the dot, the old flat
 * addresses, `index.html`, missing or doubled slashes, code-set aliases) into the page meant;
 * `canonicalPagePath` is the metered page of a request path (the page whose seals may open).
 */
import { MAX_PATH_CHARS } from "./limits.ts";

export type CodeSet = "cpt" | "hcpcs" | "icd-10-cm";

/** First path segments that name a code set (lower case), including common ways of writing it. */
export const CODE_SET_ALIASES: Record<string, CodeSet> = {
  "cpt": "cpt",
  "hcpcs": "hcpcs",
  "icd-10-cm": "icd-10-cm",
  "icd10cm": "icd-10-cm",
  "icd10-cm": "icd-10-cm",
  "icd-10cm": "icd-10-cm",
  "icd-10": "icd-10-cm",
  "icd10": "icd-10-cm",
};

/** The form of a code page's code per code set (codepages/codesets.py). */
const CODE_FORMS: Record<CodeSet, RegExp> = {
  "cpt": /^[0-9]{4}[0-9FTUM]$/,
  "hcpcs": /^(?:[ABCEGHJ-MP-V][0-9]{4}|[A-Z0-9]{2})$/,
  // the release has codes with a letter second (QA0: 2026), so the second character is free too
  "icd-10-cm": /^[A-Z][0-9A-Z][0-9A-Z](?:\.[0-9A-Z]{1,4})?$/,
};
/** Section keys that are pages but not codes: CPT three-character groups, HCPCS letters. */
const SECTION_FORMS: Partial<Record<CodeSet, RegExp>> = {
  "cpt": /^[0-9]{3}$/,
  "hcpcs": /^[A-Z]$/,
};
const ICD_UNDOTTED = /^[A-Z][0-9A-Z][0-9A-Z][0-9A-Z]{0,4}$/;

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

/** The canonical address of a code's (or range's) page. */
export function codePagePath(codeSet: string, code: string): string {
  return `/${[codeSet, ...codeFolders(codeSet, code), code].join("/")}/`;
}

/** A code as written officially from any spelling (case, dot), or null when it is none. */
export function normaliseCode(codeSet: CodeSet, text: string): string | null {
  const upper = text.toUpperCase();
  if (codeSet === "icd-10-cm") {
    const bare = upper.replace(/\./g, "");
    if (!ICD_UNDOTTED.test(bare)) return null;
    return bare.length > 3 ? `${bare.slice(0, 3)}.${bare.slice(3)}` : bare;
  }
  return CODE_FORMS[codeSet].test(upper) ? upper : null;
}

/** A range (`62320-62327`, `m50-m54`) as written officially, or null. */
function normaliseRange(codeSet: CodeSet, text: string): string | null {
  const parts = text.split("-");
  if (parts.length !== 2) return null;
  const [first, last] = parts.map((part) => normaliseCode(codeSet, part));
  return first && last ? `${first}-${last}` : null;
}

export type AddressKind = "index" | "code" | "range" | "section";

export interface Address {
  kind: AddressKind;
  codeSet: CodeSet;
  /** the code, range or section key as written officially ("" for a code-set index) */
  key: string;
  /** the page's canonical path */
  canonical: string;
}

/** Path segments of a URL path: percent-decoded once, empty segments dropped; null when malformed. */
function segmentsOf(pathname: string): string[] | null {
  if (pathname.length > MAX_PATH_CHARS) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(decoded)) return null;
  const segments = decoded.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (segments.includes("..")) return null;
  if (segments.length > 0 && segments[segments.length - 1].toLowerCase() === "index.html") segments.pop();
  return segments;
}

/**
 * The catalogue page a path means, however it is spelt: `/CPT/62326`, `/icd-10-cm/m5450/`,
 * `/icd10cm/M54.50/index.html`, `/hcpcs/j1040`, `/icd-10-cm/m54/m54.50/`; null for paths
 * outside the code sets or keys that are no code, range or section. The folders before a code
 * are not checked (the code alone says where its page is).
 */
export function parseAddress(pathname: string): Address | null {
  const segments = segmentsOf(pathname);
  if (!segments || segments.length === 0) return null;
  const codeSet = CODE_SET_ALIASES[segments[0].toLowerCase()];
  if (!codeSet) return null;
  if (segments.length === 1) return { kind: "index", codeSet, key: "", canonical: `/${codeSet}/` };
  const text = segments[segments.length - 1];
  const code = normaliseCode(codeSet, text);
  if (code) return { kind: "code", codeSet, key: code, canonical: codePagePath(codeSet, code) };
  if (segments.length === 2) {
    const range = normaliseRange(codeSet, text);
    if (range) return { kind: "range", codeSet, key: range, canonical: `/${codeSet}/${range}/` };
    if (codeSet === "hcpcs" && text.toLowerCase() === "modifiers") {
      return { kind: "section", codeSet, key: "modifiers", canonical: "/hcpcs/modifiers/" };
    }
    const section = text.toUpperCase();
    if (SECTION_FORMS[codeSet]?.test(section)) {
      return { kind: "section", codeSet, key: section, canonical: `/${codeSet}/${section}/` };
    }
  }
  return null;
}

/**
 * The canonical path of a metered code page from a request URL, or null (not metered).
 *
 * Spellings of the same page map to it, so none is metered separately and none skips the
 * meter: query and fragment are ignored, percent-encoding is decoded once (`%2F` included),
 * empty segments dropped, a last `index.html` dropped, case folded; the folders before the code
 * must be the code's own (or absent: the flat addresses of earlier builds). Ranges, indexes
 * and sections are not metered, nor is anything malformed.
 *
 * A wrong guess here cannot leak: sealed sections open only with the exact path they were
 * sealed for (seal.ts), and the page served for a null path is the static, gated one.
 */
export function canonicalPagePath(url: string | URL): string | null {
  let pathname: string;
  try {
    pathname = (typeof url === "string" ? new URL(url) : url).pathname;
  } catch {
    return null;
  }
  const segments = segmentsOf(pathname);
  if (!segments || segments.length < 2) return null;
  const codeSet = segments[0].toLowerCase() as CodeSet;
  if (!Object.hasOwn(CODE_FORMS, codeSet)) return null;
  const code = segments[segments.length - 1].toUpperCase();
  if (!CODE_FORMS[codeSet].test(code)) return null;
  const folders = segments.slice(1, -1).map((segment) => segment.toUpperCase());
  const expected = codeFolders(codeSet, code).map((folder) => folder.toUpperCase());
  if (folders.length > 0 && folders.join("/") !== expected.join("/")) return null;
  return codePagePath(codeSet, code);
}
