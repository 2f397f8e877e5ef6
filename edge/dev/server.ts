/**
 * Local preview: serves the built site the way Netlify does and runs the real edge functions
 * on the routes netlify.toml declares, chained in declaration order. Started by
 * `python build.py serve`:
 *
 *   deno run --allow-net=127.0.0.1,localhost --allow-read --allow-env edge/dev/server.ts \
 *     --site site --toml netlify.toml --port 8888 [--live-reload]
 *
 * - Edge functions: every `[[edge_functions]]` declaration whose `path` matches (and no
 *   `excludedPath` does), in file order; `context.next()` (or returning nothing) passes the
 *   request to the next one, the last one's `next()` reads the static files. A function that
 *   throws is bypassed (`onError: "bypass"`), like on Netlify.
 * - Static files: `/x/` → `x/index.html`, `/x` → 301 to `/x/` when `x/` is a folder (Netlify's
 *   pretty URLs), unknown paths → `404.html` with status 404, ETag and If-None-Match → 304, and
 *   the `[[headers]]` of netlify.toml, which Netlify applies to the files it serves itself.
 * - Requests: only `Host: 127.0.0.1:<port>` is served (`localhost:<port>` is redirected there, so
 *   the site never shares cookies with the local identity provider, which runs as `localhost`);
 *   anything malformed is a 400, never a 500 with a stack trace.
 * - `--live-reload`: HTML gets a small script that reloads the page when the preview says a
 *   rebuild finished (a line `reload` on this process's standard input; events over SSE); the
 *   server stops when that input ends, so a preview that was killed leaves no server behind.
 */
import type { Context } from "@netlify/edge-functions";
import { parseArgs } from "node:util";
import { parse as parseToml } from "smol-toml";

type Handler = (
  request: Request,
  context: Context,
) => Response | URL | undefined | void | Promise<Response | URL | undefined | void>;

export interface Declaration {
  path: string;
  functionName: string;
  pattern: URLPattern;
  excluded: URLPattern[];
}

export interface HeaderRule {
  pattern: URLPattern;
  values: Record<string, string>;
}

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=UTF-8",
  css: "text/css; charset=UTF-8",
  js: "text/javascript; charset=UTF-8",
  mjs: "text/javascript; charset=UTF-8",
  json: "application/json",
  xml: "application/xml",
  txt: "text/plain; charset=UTF-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  wasm: "application/wasm",
  pagefind: "application/octet-stream",
  pf_meta: "application/octet-stream",
  pf_index: "application/octet-stream",
  pf_fragment: "application/octet-stream",
  pf_filter: "application/octet-stream",
};

function list(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** The `[[edge_functions]]` declarations of netlify.toml, in order. */
export function declarations(toml: string): Declaration[] {
  const parsed = parseToml(toml) as { edge_functions?: Record<string, unknown>[] };
  const found: Declaration[] = [];
  for (const entry of parsed.edge_functions ?? []) {
    const path = typeof entry.path === "string" ? entry.path : null;
    const functionName = typeof entry.function === "string" ? entry.function : null;
    if (!path || !functionName) continue;
    found.push({
      path,
      functionName,
      pattern: new URLPattern({ pathname: path }),
      excluded: list(entry.excludedPath).map((p) => new URLPattern({ pathname: p })),
    });
  }
  return found;
}

/** The `[[headers]]` rules of netlify.toml, in order. */
export function headerRules(toml: string): HeaderRule[] {
  const parsed = parseToml(toml) as { headers?: { for?: unknown; values?: Record<string, unknown> }[] };
  return (parsed.headers ?? []).filter((rule) => typeof rule.for === "string").map((rule) => ({
    pattern: new URLPattern({ pathname: rule.for as string }),
    values: Object.fromEntries(
      Object.entries(rule.values ?? {}).filter(([, v]) => typeof v === "string") as [string, string][],
    ),
  }));
}

async function etagOf(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", data));
  return `"${Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

async function readFile(path: string): Promise<Uint8Array<ArrayBuffer> | null> {
  try {
    return await Deno.readFile(path) as Uint8Array<ArrayBuffer>;
  } catch {
    return null;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

function plain(status: number, text: string): Response {
  return new Response(`${text}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=UTF-8", "cache-control": "no-store" },
  });
}

export function staticServer(
  siteDir: string,
  rules: HeaderRule[] = [],
): (request: Request) => Promise<Response> {
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      return plain(400, "Bad request");
    }
    if (
      pathname.split("/").some((part) => part === "..") || pathname.includes("\0") || pathname.includes("\\")
    ) {
      return plain(400, "Bad request");
    }
    let file = `${siteDir}${pathname}`;
    if (pathname.endsWith("/")) file += "index.html";
    else if (await isDirectory(file)) {
      // one leading slash, never `//host` (a protocol-relative Location would leave the site)
      const location = "/" + url.pathname.split("/").filter((s) => s !== "").join("/") + "/" + url.search;
      return withRules(new Response(null, { status: 301, headers: { location } }), url.pathname, rules);
    }
    let status = 200;
    let data = await readFile(file);
    if (data === null) {
      status = 404;
      file = `${siteDir}/404.html`;
      data = (await readFile(file)) ?? new TextEncoder().encode("Not found") as Uint8Array<ArrayBuffer>;
    }
    const extension = file.split(".").pop() ?? "";
    const headers = new Headers({
      "content-type": CONTENT_TYPES[extension] ?? "application/octet-stream",
      "cache-control": "public, max-age=0, must-revalidate",
    });
    const response = (body: BodyInit | null, code: number) =>
      withRules(new Response(body, { status: code, headers }), url.pathname, rules);
    if (status === 200) {
      const etag = await etagOf(data);
      headers.set("etag", etag);
      if (request.headers.get("if-none-match") === etag) return response(null, 304);
    }
    return response(request.method === "HEAD" ? null : data, status);
  };
}

/** Netlify's custom headers for a file it serves itself: every matching rule, in order. */
function withRules(response: Response, pathname: string, rules: HeaderRule[]): Response {
  for (const rule of rules) {
    if (!rule.pattern.test({ pathname })) continue;
    for (const [name, value] of Object.entries(rule.values)) response.headers.set(name, value);
  }
  return response;
}

export interface ContextExtras {
  ip: string;
}

/** The chain of edge functions for one request, then the static files. */
export function router(
  siteDir: string,
  routes: Declaration[],
  handlers: Map<string, Handler>,
  rules: HeaderRule[] = [],
) {
  const serveStatic = staticServer(siteDir, rules);
  return (request: Request, remoteAddress = "127.0.0.1"): Promise<Response> => {
    const pathname = new URL(request.url).pathname;
    const matched = routes.filter((r) =>
      r.pattern.test({ pathname }) && !r.excluded.some((e) => e.test({ pathname })) &&
      handlers.has(r.functionName)
    );
    const run = async (index: number, current: Request): Promise<Response> => {
      if (index >= matched.length) return serveStatic(current);
      const route = matched[index];
      const context = {
        next: (next?: Request) => run(index + 1, next instanceof Request ? next : current),
        ip: remoteAddress,
        site: { name: "codepages-local", url: new URL(current.url).origin },
        geo: {},
        requestId: crypto.randomUUID(),
      } as unknown as Context;
      try {
        const answer = await handlers.get(route.functionName)!(current, context);
        if (answer === undefined || answer === null) return run(index + 1, current);
        if (answer instanceof URL) return serveStatic(new Request(answer, current));
        return answer;
      } catch (error) {
        // netlify.toml's functions use onError: "bypass": the request goes on without this function
        console.error(
          `edge function ${route.functionName} failed: ${error instanceof Error ? error.stack : error}`,
        );
        return run(index + 1, current);
      }
    };
    return run(0, request);
  };
}

// ---- live reload ---------------------------------------------------------------------------------

const RELOAD_SCRIPT = "/__codepages/live-reload.js";
const RELOAD_EVENTS = "/__codepages/events";
const RELOAD_JS = `// codepages preview only: reload when a rebuild finished
(() => {
  const events = new EventSource(${JSON.stringify(RELOAD_EVENTS)});
  events.addEventListener("reload", () => location.reload());
})();
`;

export class LiveReload {
  private readonly clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private readonly encoder = new TextEncoder();

  handle(url: URL): Response | null {
    if (url.pathname === RELOAD_SCRIPT) {
      return new Response(RELOAD_JS, {
        headers: { "content-type": "text/javascript; charset=UTF-8", "cache-control": "no-store" },
      });
    }
    if (url.pathname !== RELOAD_EVENTS) return null;
    let controller: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
        this.clients.add(c);
        c.enqueue(this.encoder.encode(": connected\n\n"));
      },
      cancel: () => void this.clients.delete(controller),
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" },
    });
  }

  /** Tell every open page to reload. */
  reload(): number {
    const message = this.encoder.encode(`event: reload\ndata: ${Date.now()}\n\n`);
    for (const client of [...this.clients]) {
      try {
        client.enqueue(message);
      } catch {
        this.clients.delete(client);
      }
    }
    return this.clients.size;
  }

  /** HTML with the reload script (before </head>, else appended). */
  async inject(response: Response): Promise<Response> {
    if (!(response.headers.get("content-type") ?? "").startsWith("text/html") || response.body === null) {
      return response;
    }
    const html = await response.text();
    const tag = `<script src="${RELOAD_SCRIPT}" defer></script>`;
    const out = html.includes("</head>") ? html.replace("</head>", `${tag}</head>`) : html + tag;
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    headers.delete("etag");
    return new Response(out, { status: response.status, statusText: response.statusText, headers });
  }
}

/** Lines on standard input: `reload` after each rebuild (from codepages/serving.py). */
async function readCommands(live: LiveReload): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of Deno.stdin.readable) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line === "reload") live.reload();
    }
  }
}

// ---- the server ------------------------------------------------------------------------------------

/** Validate the request's Host; the Response to answer instead (400, or a redirect), or null. */
export function checkHost(request: Request, port: number): Response | null {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return plain(400, "Bad request: the Host header is not a host name");
  }
  const host = request.headers.get("host") ?? "";
  if (host === `127.0.0.1:${port}`) return null;
  if (host === `localhost:${port}`) {
    // the local identity provider runs as `localhost`: the site stays on 127.0.0.1, so the two never share cookies
    return new Response(null, {
      status: 301,
      headers: {
        location: `http://127.0.0.1:${port}${url.pathname}${url.search}`,
        "cache-control": "no-store",
      },
    });
  }
  return plain(400, `Bad request: this preview answers for Host 127.0.0.1:${port} only`);
}

async function checkKeys(): Promise<void> {
  const { importKeyring } = await import("../lib/keys.ts");
  const uses = {
    CODEPAGES_SEAL_KEYS: "aes-gcm",
    CODEPAGES_METER_KEYS: "hmac",
    CODEPAGES_SESSION_KEYS: "hmac",
  } as const;
  for (const [variable, use] of Object.entries(uses)) {
    try {
      await importKeyring(Deno.env.get(variable), variable as keyof typeof uses, use);
    } catch (error) {
      console.error(`preview: ${error instanceof Error ? error.message : error}`);
    }
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      site: { type: "string", default: "site" },
      toml: { type: "string", default: "netlify.toml" },
      functions: { type: "string", default: "edge/functions" },
      port: { type: "string", default: "8888" },
      "live-reload": { type: "boolean", default: false },
    },
  });
  const toml = await Deno.readTextFile(values.toml!);
  const routes = declarations(toml);
  const rules = headerRules(toml);
  const handlers = new Map<string, Handler>();
  for (const name of new Set(routes.map((r) => r.functionName))) {
    const module = await import(new URL(`${values.functions}/${name}.ts`, `file://${Deno.cwd()}/`).href);
    handlers.set(name, module.default as Handler);
  }
  (globalThis as { Netlify?: unknown }).Netlify = { env: { get: (name: string) => Deno.env.get(name) } };
  await checkKeys();
  const handle = router(values.site!.replace(/\/$/, ""), routes, handlers, rules);
  const live = values["live-reload"] ? new LiveReload() : null;
  // the preview (codepages/serving.py) holds our stdin: when it ends, even killed, so do we
  if (live) readCommands(live).catch(() => {}).finally(() => Deno.exit(0));
  const port = Number(values.port);
  Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: ({ port }) => {
      const declared = routes.map((r) => `${r.path} → ${r.functionName}`).join(", ");
      console.log(`Serving ${values.site}/ at http://127.0.0.1:${port}/ (edge functions: ${declared})`);
    },
    onError: (error) => {
      console.error(`preview: ${error instanceof Error ? error.stack : error}`);
      return plain(500, "Internal error (see the preview's log)");
    },
  }, async (request, info) => {
    const refused = checkHost(request, port);
    if (refused) return refused;
    if (live) {
      const own = live.handle(new URL(request.url));
      if (own) return own;
    }
    const response = await handle(request, (info.remoteAddr as Deno.NetAddr).hostname);
    return live ? await live.inject(response) : response;
  });
}
