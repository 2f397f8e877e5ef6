/**
 * Local preview: serves the built site the way Netlify does and runs the real edge
 * functions on the routes netlify.toml declares. Started by `python build.py serve`.
 *
 *   deno run --allow-net=127.0.0.1 --allow-read --allow-env edge/dev/server.ts \
 *     --site site --toml netlify.toml --port 8888
 *
 * Static files: `/x/` → `x/index.html`, `/x` → 301 to `/x/` when `x/` is a folder (Netlify's
 * pretty URLs), unknown paths → `404.html` with status 404, ETag and If-None-Match → 304.
 */
import type { Context } from "@netlify/edge-functions";
import { parseArgs } from "node:util";

type Handler = (request: Request, context: Context) => Response | Promise<Response> | undefined;
interface Declaration {
  path: string;
  functionName: string;
  pattern: URLPattern;
  excluded: URLPattern[];
}

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=UTF-8",
  css: "text/css; charset=UTF-8",
  js: "text/javascript; charset=UTF-8",
  json: "application/json",
  xml: "application/xml",
  txt: "text/plain; charset=UTF-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  wasm: "application/wasm",
};

/** The [[edge_functions]] declarations of netlify.toml, in order. */
export function declarations(toml: string): Declaration[] {
  const found: Declaration[] = [];
  for (const block of toml.split(/^\[\[edge_functions\]\]\s*$/m).slice(1)) {
    const body = block.split(/^\[/m)[0];
    const path = /^\s*path\s*=\s*"([^"]+)"/m.exec(body)?.[1];
    const functionName = /^\s*function\s*=\s*"([^"]+)"/m.exec(body)?.[1];
    const excludedList = /^\s*excludedPath\s*=\s*\[([^\]]*)\]/m.exec(body)?.[1] ?? "";
    const excluded = [...excludedList.matchAll(/"([^"]+)"/g)].map((m) => new URLPattern({ pathname: m[1] }));
    if (path && functionName) {
      found.push({ path, functionName, pattern: new URLPattern({ pathname: path }), excluded });
    }
  }
  return found;
}

async function etagOf(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", data));
  return `"${Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

async function readFile(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
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

export function staticServer(siteDir: string): (request: Request) => Promise<Response> {
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      return new Response("Bad request", { status: 400 });
    }
    if (pathname.split("/").some((part) => part === "..") || pathname.includes("\0")) {
      return new Response("Bad request", { status: 400 });
    }
    let file = `${siteDir}${pathname}`;
    if (pathname.endsWith("/")) file += "index.html";
    else if (await isDirectory(file)) {
      return new Response(null, { status: 301, headers: { location: `${url.pathname}/${url.search}` } });
    }
    let status = 200;
    let data = await readFile(file);
    if (data === null) {
      status = 404;
      file = `${siteDir}/404.html`;
      data = (await readFile(file)) ?? new TextEncoder().encode("Not found");
    }
    const extension = file.split(".").pop() ?? "";
    const headers = new Headers({
      "content-type": CONTENT_TYPES[extension] ?? "application/octet-stream",
      "cache-control": file.includes("/assets/")
        ? "public, max-age=31536000, immutable"
        : "public, max-age=0, must-revalidate",
    });
    if (status === 200) {
      const etag = await etagOf(data);
      headers.set("etag", etag);
      if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
    }
    const body = request.method === "HEAD" ? null : data;
    return new Response(body, { status, headers });
  };
}

export function router(siteDir: string, routes: Declaration[], handlers: Map<string, Handler>) {
  const serveStatic = staticServer(siteDir);
  return async (request: Request, remoteAddress = "127.0.0.1"): Promise<Response> => {
    const pathname = new URL(request.url).pathname;
    const route = routes.find((r) =>
      r.pattern.test({ pathname }) && !r.excluded.some((e) => e.test({ pathname }))
    );
    const handler = route && handlers.get(route.functionName);
    if (!handler) return serveStatic(request);
    const context = {
      next: (next?: Request) => serveStatic(next ?? request),
      ip: remoteAddress,
      site: { name: "codepages-local" },
    } as unknown as Context;
    try {
      return (await handler(request, context)) ?? await serveStatic(request);
    } catch (error) {
      // netlify.toml's functions use onError: "bypass": serve the static (gated) page
      console.error(`edge function ${route.functionName} failed: ${error}`);
      return serveStatic(request);
    }
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      site: { type: "string", default: "site" },
      toml: { type: "string", default: "netlify.toml" },
      functions: { type: "string", default: "edge/functions" },
      port: { type: "string", default: "8888" },
    },
  });
  const routes = declarations(await Deno.readTextFile(values.toml!));
  const handlers = new Map<string, Handler>();
  for (const name of new Set(routes.map((r) => r.functionName))) {
    const module = await import(new URL(`${values.functions}/${name}.ts`, `file://${Deno.cwd()}/`).href);
    handlers.set(name, module.default as Handler);
  }
  (globalThis as { Netlify?: unknown }).Netlify = { env: { get: (name: string) => Deno.env.get(name) } };
  const handle = router(values.site!.replace(/\/$/, ""), routes, handlers);
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(values.port),
    onListen: ({ port }) => {
      const declared = routes.map((r) => `${r.path} → ${r.functionName}`).join(", ");
      console.log(`Serving ${values.site}/ at http://127.0.0.1:${port}/ (edge functions: ${declared})`);
    },
  }, (request, info) => handle(request, (info.remoteAddr as Deno.NetAddr).hostname));
}
