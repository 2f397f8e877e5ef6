/** Test helpers: fixture pages (sealed by codepages/sealing.py), a fake static server, env, cookies. */
import type { Context } from "@netlify/edge-functions";
import gate from "../functions/gate.ts";
import { b64urlEncode } from "../lib/b64.ts";
import { canonicalPagePath } from "../lib/paths.ts";
import { sealAdditionalData } from "../lib/seal.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

export const KEYS: { CODEPAGES_SEAL_KEYS: string; CODEPAGES_METER_KEYS: string } = JSON.parse(
  Deno.readTextFileSync(new URL("keys.json", FIXTURES)),
);
export const PLAINTEXTS: Record<string, { file: string; sections: Record<string, string> }> = JSON.parse(
  Deno.readTextFileSync(new URL("plaintexts.json", FIXTURES)),
);
export const A = "/cpt/623/62326/";
export const B = "/icd-10-cm/M54/M54.50/";
export const C = "/hcpcs/J/J0702/";
export const RANGE = "/cpt/62320-62327/";
export const MARKER = "PROTECTED-PLAINTEXT";

export function fixturePage(pagePath: string): string {
  return Deno.readTextFileSync(new URL(PLAINTEXTS[pagePath].file, FIXTURES));
}

export const PAGES: Record<string, string> = Object.fromEntries(
  Object.keys(PLAINTEXTS).map((p) => [p, fixturePage(p)]),
);

export const RANGE_PAGE = `<!doctype html><html><body><div id="meter-banner" hidden></div>
<main><h1>62320-62327</h1><p>Range page: public, not metered.</p></main></body></html>`;

/** A random key list entry. */
export function randomKey(kid: string, bytes = 32): string {
  return `${kid}:${b64urlEncode(crypto.getRandomValues(new Uint8Array(bytes)))}`;
}

// ---- environment -------------------------------------------------------------------------

export type Env = Record<string, string | undefined>;
export const BASE_ENV: Env = { ...KEYS };

/** Run with `Netlify.env` answering from `env` (the way the function reads it on Netlify). */
export async function withEnv<T>(env: Env, fn: () => Promise<T>): Promise<T> {
  const holder = globalThis as { Netlify?: unknown };
  const previous = holder.Netlify;
  holder.Netlify = { env: { get: (name: string) => env[name] } };
  try {
    return await fn();
  } finally {
    holder.Netlify = previous;
  }
}

// ---- the fake static file server ---------------------------------------------------------

export interface StaticServer {
  pages: Record<string, string>;
  requests: Request[];
  context: Context;
}

const ETAG = '"static-etag-1"';
const LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT";

/**
 * Serves `pages` like a lenient static host: any spelling of a page's path finds the page
 * (the worst case for the gate), `ETag`/`Last-Modified` on every page, 304 for a matching
 * `If-None-Match` or a later `If-Modified-Since`, 206 for `Range`, 404 otherwise.
 */
export function staticServer(pages: Record<string, string> = PAGES): StaticServer {
  const requests: Request[] = [];
  const server: StaticServer = { pages, requests, context: undefined as unknown as Context };
  const respond = (request: Request): Response => {
    requests.push(request);
    const url = new URL(request.url);
    const key = canonicalPagePath(url) ?? url.pathname;
    const html = pages[key];
    if (html === undefined) {
      return new Response("<!doctype html><title>Not found</title>", {
        status: 404,
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    }
    const headers = new Headers({
      "content-type": "text/html; charset=UTF-8",
      "etag": ETAG,
      "last-modified": LAST_MODIFIED,
      "cache-control": "public, max-age=0, must-revalidate",
      "netlify-cdn-cache-control": "public, max-age=31536000, durable",
      "vary": "Accept-Encoding",
      "accept-ranges": "bytes",
    });
    const body = request.method === "HEAD" ? null : html;
    if (request.headers.get("if-none-match") === ETAG) return new Response(null, { status: 304, headers });
    const since = request.headers.get("if-modified-since");
    if (since && Date.parse(since) >= Date.parse(LAST_MODIFIED)) {
      return new Response(null, { status: 304, headers });
    }
    if (request.headers.get("range")) {
      headers.set("content-range", `bytes 0-99/${html.length}`);
      return new Response(request.method === "HEAD" ? null : html.slice(0, 100), { status: 206, headers });
    }
    headers.set("content-length", String(new TextEncoder().encode(html).length));
    return new Response(body, { status: 200, headers });
  };
  server.context = {
    next: (requestOrOptions?: Request | unknown) =>
      Promise.resolve(respond(requestOrOptions instanceof Request ? requestOrOptions : currentRequest!)),
  } as unknown as Context;
  return server;
}
let currentRequest: Request | null = null;

// ---- calling the real handler --------------------------------------------------------------

export interface Result {
  status: number;
  body: string;
  headers: Headers;
  /** the meter cookie value set by the response, if any */
  cookie: string | null;
  setCookie: string | null;
  server: StaticServer;
}

export interface CallOptions {
  method?: string;
  cookie?: string | null;
  headers?: Record<string, string>;
  env?: Env;
  server?: StaticServer;
  /** full URL instead of https://codepages.test + path */
  url?: string;
  /** the client address Netlify reports (context.ip) */
  ip?: string;
}

export async function call(path: string, options: CallOptions = {}): Promise<Result> {
  const headers = new Headers(options.headers ?? {});
  if (options.cookie) headers.set("cookie", `theme=dark; __Host-cp_meter=${options.cookie}; other=1`);
  const request = new Request(options.url ?? `https://codepages.test${path}`, {
    method: options.method ?? "GET",
    headers,
    body: options.method === "POST" ? "q=1" : undefined,
  });
  const server = options.server ?? staticServer();
  currentRequest = request;
  const context = options.ip ? { ...server.context, ip: options.ip } as Context : server.context;
  const response = await withEnv(options.env ?? BASE_ENV, () => gate(request, context));
  currentRequest = null;
  const setCookie = response.headers.get("set-cookie");
  const cookie = setCookie?.match(/^__Host-cp_meter=([^;]*)/)?.[1] ?? null;
  return {
    status: response.status,
    body: await response.text(),
    headers: response.headers,
    cookie,
    setCookie,
    server,
  };
}

// ---- assertions ----------------------------------------------------------------------------

export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

export function assertEquals<T>(actual: T, expected: T, message = ""): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}\n  actual:   ${a}\n  expected: ${e}`);
}

/** Every protected section of `pagePath` is in `body`, opened, and nothing is sealed any more. */
export function assertFull(result: Result, pagePath: string, message = ""): void {
  assertEquals(result.status, 200, `${message} status`);
  for (const [section, html] of Object.entries(PLAINTEXTS[pagePath].sections)) {
    assert(result.body.includes(html), `${message}: section ${section} of ${pagePath} not opened`);
  }
  assert(!result.body.includes("<!--locked:"), `${message}: a placeholder is left`);
  assert(!result.body.includes("data-sealed="), `${message}: data-sealed left in the output`);
}

/** No protected plaintext of any page in `body`. */
export function assertGated(result: Result, message = ""): void {
  assert(!result.body.includes(MARKER), `${message}: protected plaintext leaked`);
  for (const page of Object.values(PLAINTEXTS)) {
    for (const html of Object.values(page.sections)) {
      assert(!result.body.includes(html), `${message}: leaked`);
    }
  }
}

export function assertPersonalised(result: Result, message = ""): void {
  assertEquals(result.headers.get("cache-control"), "private, no-store", `${message} cache-control`);
  assert(/(^|,\s*)Cookie(\s*,|$)/.test(result.headers.get("vary") ?? ""), `${message}: Vary lacks Cookie`);
  for (
    const name of [
      "etag",
      "last-modified",
      "netlify-cdn-cache-control",
      "cdn-cache-control",
      "content-length",
    ]
  ) {
    assert(!result.headers.has(name), `${message}: ${name} on a personalised response`);
  }
}

/** Text of an HTML fragment: tags dropped, entities of the escaper decoded, whitespace collapsed. */
export function textOf(html: string): string {
  return html.replace(/<[^>]*>/g, " ").replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/\s+/g, " ").replace(/\s([.,])/g, "$1").trim();
}

/** The banner's HTML, or null when it is hidden/empty. */
export function bannerHtmlOf(body: string): string | null {
  const match = /<div\b[^>]*id="meter-banner"[^>]*>([\s\S]*?)<\/div>/.exec(body);
  if (!match || /\shidden[\s>]/.test(match[0]) || match[1].trim() === "") return null;
  return match[1];
}

/** The banner's text (what a reader sees), or null when it is hidden/empty. */
export function bannerOf(body: string): string | null {
  const html = bannerHtmlOf(body);
  return html === null ? null : textOf(html);
}

/** The page's seal (the token on its first protected section). */
export function pageSealOf(html: string): string {
  return /\sdata-sealed="([^"]+)"/.exec(html)![1];
}

/** Seal a page's sections (in page order) with a raw key, exactly as codepages/sealing.py does. */
export function sealForTest(
  keyEntry: string,
  pagePath: string,
  sections: Record<string, string>,
): Promise<string> {
  const encoder = new TextEncoder();
  const parts = Object.values(sections).map((html) => encoder.encode(html));
  const header = encoder.encode(JSON.stringify(parts.map((bytes) => bytes.length)) + "\n");
  return sealBundleForTest(keyEntry, pagePath, Object.keys(sections), new Blob([header, ...parts]));
}

/** Compress and seal any plaintext as the bundle of a page's sections (for tests of what is not one). */
export async function sealBundleForTest(
  keyEntry: string,
  pagePath: string,
  sectionIds: string[],
  bundle: Blob,
  compress = true,
): Promise<string> {
  const [kid, b64] = keyEntry.split(":");
  const raw = Uint8Array.from(atob(b64.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt"]);
  const stream = compress
    ? bundle.stream().pipeThrough(new CompressionStream("deflate-raw"))
    : bundle.stream();
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: sealAdditionalData(pagePath, sectionIds) },
    key,
    await new Response(stream).bytes(),
  );
  return `v2.${kid}.${b64urlEncode(nonce)}.${b64urlEncode(new Uint8Array(sealed))}`;
}

// ---- meter cookies made by hand -------------------------------------------------------------

import {
  encodeMeterCookie,
  importMeterKeys,
  type MeterState,
  verifyMeterCookie,
} from "../lib/meter_cookie.ts";
import { pageKey } from "../lib/meter.ts";

export const NOW = () => Math.floor(Date.now() / 1000);

/** A cookie signed with `keys` (default: the fixture meter key) for a visitor who unlocked `paths`. */
export async function mintCookie(
  paths: string[],
  options: { keys?: string; visitorId?: string; periodStart?: number } = {},
): Promise<string> {
  const visitorId = options.visitorId ?? b64urlEncode(crypto.getRandomValues(new Uint8Array(16)));
  const periodStart = options.periodStart ?? NOW() - 3600;
  const state: MeterState = {
    visitorId,
    periodStart,
    pages: await Promise.all(paths.map((p) => pageKey(visitorId, p))),
    issuedAt: periodStart,
  };
  return encodeMeterCookie(state, await importMeterKeys(options.keys ?? KEYS.CODEPAGES_METER_KEYS));
}

/** The state inside a cookie value (verified with `keys`). */
export async function stateOf(
  cookie: string | null,
  keys = KEYS.CODEPAGES_METER_KEYS,
): Promise<MeterState | null> {
  if (!cookie) return null;
  return (await verifyMeterCookie(cookie, await importMeterKeys(keys), NOW()))?.state ?? null;
}
