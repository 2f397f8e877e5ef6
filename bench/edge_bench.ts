/**
 * CPU cost of the edge gate (edge/functions/gate.ts) per request, over real built pages.
 * Driven by bench/edge_bench.py, which picks the pages and sets the keys:
 *
 *   CODEPAGES_SEAL_KEYS=… CODEPAGES_METER_KEYS=… \
 *   deno run --config edge/deno.json --allow-env --allow-read --allow-sys --allow-ffi bench/edge_bench.ts PLAN.json
 *
 * PLAN.json: {"site": "<build output>", "n": 2000, "warmup": 200,
 *             "sealed": ["/cpt/623/62326/", …], "plain": ["/icd-10-cm/S72/S72.001/S72.001A/", …],
 *             "passthrough": ["/icd-10-cm/M50-M54/", …]}
 *
 * Each request runs the real handler with a fake Netlify context whose `next()` answers with
 * the built page's bytes (as the CDN would), and the response body is read to the end as
 * bytes (as the host sends it on). Per request the bench records wall time (performance.now()),
 * the CPU time of the thread that runs the script (clock_gettime(CLOCK_THREAD_CPUTIME_ID)
 * through FFI: what Netlify's limit counts, "all time spent running your scripts", V8's
 * pauses on that thread included) and the process's CPU time (getrusage through node:process
 * cpuUsage(), all threads); over each loop, both divided by the number of requests. The
 * process figure is only meaningful per loop: Linux books the CPU of V8's helper threads,
 * running on the other core, in scheduler-tick chunks to whichever request is running then.
 * Prints JSON on the last line. No assertions: an unexpected outcome (nothing opened, no
 * cookie) is reported, not thrown.
 */
import type { Context } from "@netlify/edge-functions";
import process from "node:process";
import addresses from "../edge/functions/addresses.ts";
import gate from "../edge/functions/gate.ts";

interface Plan {
  site: string;
  n: number;
  warmup: number;
  sealed: string[];
  plain: string[];
  passthrough: string[];
}

const plan: Plan = JSON.parse(Deno.readTextFileSync(Deno.args[0]));
const ORIGIN = "https://codepages.test";
const COOKIE = "__Host-cp_meter";

function fileOf(pagePath: string): string {
  return `${plan.site}${pagePath}${pagePath.endsWith("/") ? "index.html" : ""}`;
}

// The built pages, read once, as the bytes a static host would send.
const pages = new Map<string, Uint8Array<ArrayBuffer>>();
for (const path of [...plan.sealed, ...plan.plain, ...plan.passthrough]) {
  pages.set(path, Deno.readFileSync(fileOf(path)));
}

const STATIC_HEADERS = {
  "content-type": "text/html; charset=UTF-8",
  "etag": '"static-etag"',
  "last-modified": "Wed, 01 Jan 2025 00:00:00 GMT",
  "cache-control": "public, max-age=0, must-revalidate",
};

function contextFor(path: string): Context {
  const body = pages.get(path)!;
  return {
    next: () => Promise.resolve(new Response(body, { status: 200, headers: STATIC_HEADERS })),
  } as unknown as Context;
}

/** CPU time of the calling thread in microseconds, or null where FFI or the clock is missing. */
function threadCpuClock(): (() => number) | null {
  try {
    const libc = Deno.dlopen("libc.so.6", {
      clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
    });
    const CLOCK_THREAD_CPUTIME_ID = 3;
    const timespec = new BigInt64Array(2);
    const buffer = new Uint8Array(timespec.buffer);
    const read = () => {
      if (libc.symbols.clock_gettime(CLOCK_THREAD_CPUTIME_ID, buffer) !== 0) throw new Error("clock_gettime");
      return Number(timespec[0]) * 1e6 + Number(timespec[1]) / 1e3;
    };
    read();
    return read;
  } catch {
    return null;
  }
}

const threadCpu = threadCpuClock();
const processCpu = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};
/** the per-request CPU figure: the script's thread, else (no FFI) the whole process */
const scriptCpu = threadCpu ?? processCpu;

interface Outcome {
  path: string;
  wallMs: number;
  /** the script thread's CPU (scriptCpu) */
  cpuUs: number;
  /** the process's CPU, all threads */
  processCpuUs: number;
  cookie: string | null;
  /** the response as text, when asked for (decoded after the measurement) */
  body: string;
  status: number;
}

async function request(path: string, cookie: string | null, readText = false): Promise<Outcome> {
  const headers = new Headers({ "accept": "text/html", "user-agent": "bench" });
  if (cookie) headers.set("cookie", `theme=dark; ${COOKIE}=${cookie}`);
  const req = new Request(ORIGIN + path, { headers });
  const context = contextFor(path);
  // the chain as netlify.toml declares it: addresses first, then the gate
  const chain = { next: () => gate(req, context) } as unknown as Context;
  const process0 = processCpu();
  const cpu0 = scriptCpu();
  const t0 = performance.now();
  const response = (await addresses(req, chain)) ?? await gate(req, context);
  const bytes = await response.bytes();
  const wallMs = performance.now() - t0;
  const cpuUs = scriptCpu() - cpu0;
  const processCpuUs = processCpu() - process0;
  const setCookie = response.headers.get("set-cookie") ?? "";
  const match = new RegExp(`^${COOKIE}=([^;]*)`).exec(setCookie);
  return {
    path,
    wallMs,
    cpuUs,
    processCpuUs,
    cookie: match?.[1] ?? null,
    body: readText ? new TextDecoder().decode(bytes) : "",
    status: response.status,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ---- the very first request: keys imported, code not yet optimised ---------------------------
const firstPath = plan.sealed[0];
const first = await request(firstPath, null);

// ---- cookies: one per sealed page, from a new visitor's unlock --------------------------------
const unlockCookie = new Map<string, string | null>();
for (const path of plan.sealed) unlockCookie.set(path, (await request(path, null)).cookie);

interface Scenario {
  name: string;
  paths: string[];
  /** `text`: also decode the response (for `expect`; never in a measured loop) */
  run: (i: number, text?: boolean) => Promise<Outcome>;
  /** what the response should show, to catch a bench that measures the wrong thing */
  expect: (o: Outcome, path: string) => string | null;
}

const opened = (o: Outcome) => !o.body.includes("<!--locked:") && !o.body.includes("data-sealed=");
const gated = (o: Outcome) => o.body.includes("<!--locked:") && !o.body.includes("data-sealed=");
const nth = <T>(list: T[], i: number) => list[i % list.length];

const scenarios: Scenario[] = [
  {
    name: "new visitor unlocks a sealed page",
    paths: plan.sealed,
    run: (i, text) => request(nth(plan.sealed, i), null, text),
    expect: (o) => opened(o) && o.cookie ? null : "sections not opened or no cookie set (seal key mismatch?)",
  },
  {
    name: "returning visitor re-opens it",
    paths: plan.sealed,
    run: (i, text) => {
      const path = nth(plan.sealed, i);
      return request(path, unlockCookie.get(path)!, text);
    },
    expect: (o) => opened(o) && !o.cookie ? null : "not opened, or charged again",
  },
  {
    name: "meter spent: another sealed page, gated",
    paths: plan.sealed,
    run: (i, text) => request(nth(plan.sealed, i + 1), unlockCookie.get(nth(plan.sealed, i))!, text),
    expect: (o) => gated(o) && o.body.includes("0 code page views remaining") ? null : "not gated",
  },
  {
    name: "plain ICD-10-CM page (nothing sealed), new visitor",
    paths: plan.plain,
    run: (i, text) => request(nth(plan.plain, i), null, text),
    expect: (o) => o.status === 200 && !o.body.includes("data-sealed=") ? null : "unexpected response",
  },
  {
    name: "non-code page (range, index): passed through",
    paths: plan.passthrough,
    run: (i, text) => request(nth(plan.passthrough, i), null, text),
    expect: (o) => o.status === 200 && !o.cookie ? null : "unexpected response",
  },
];

const results = [];
for (const scenario of scenarios) {
  const problems = new Set<string>();
  for (let i = 0; i < scenario.paths.length; i++) {
    const problem = scenario.expect(await scenario.run(i, true), nth(scenario.paths, i));
    if (problem) problems.add(`${nth(scenario.paths, i)}: ${problem}`);
  }
  for (let i = 0; i < plan.warmup; i++) await scenario.run(i);
  const wall: number[] = [];
  const cpu: number[] = [];
  const processPerRequest: number[] = [];
  const perPath = new Map<string, number[]>();
  const loopScript0 = scriptCpu();
  const loopCpu0 = processCpu();
  const loopT0 = performance.now();
  for (let i = 0; i < plan.n; i++) {
    const o = await scenario.run(i);
    wall.push(o.wallMs);
    cpu.push(o.cpuUs / 1000);
    processPerRequest.push(o.processCpuUs / 1000);
    const path = scenario.paths.length ? o.path : "";
    if (!perPath.has(path)) perPath.set(path, []);
    perPath.get(path)!.push(o.cpuUs / 1000);
  }
  const loopWall = performance.now() - loopT0;
  const loopCpu = processCpu() - loopCpu0;
  const loopScript = scriptCpu() - loopScript0;
  wall.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  processPerRequest.sort((a, b) => a - b);
  const bytes = scenario.paths.map((p) => pages.get(p)!.length);
  const byPage = [...perPath.entries()].map(([path, times]) => {
    times.sort((a, b) => a - b);
    return { path, cpuP50: percentile(times, 50), bytes: pages.get(path)?.length ?? 0 };
  }).sort((a, b) => b.cpuP50 - a.cpuP50);
  results.push({
    name: scenario.name,
    pages: scenario.paths.length,
    pageKbMin: Math.min(...bytes) / 1024,
    pageKbMax: Math.max(...bytes) / 1024,
    n: plan.n,
    wallP50: percentile(wall, 50),
    wallP99: percentile(wall, 99),
    wallMax: wall[wall.length - 1],
    cpuP50: percentile(cpu, 50),
    cpuP99: percentile(cpu, 99),
    cpuMax: cpu[cpu.length - 1],
    processCpuP99: percentile(processPerRequest, 99),
    loopCpuPerRequest: loopCpu / 1000 / plan.n,
    loopScriptCpuPerRequest: loopScript / 1000 / plan.n,
    loopWallPerRequest: loopWall / plan.n,
    slowestPage: byPage[0],
    fastestPage: byPage[byPage.length - 1],
    problems: [...problems],
  });
}

console.log(JSON.stringify({
  deno: Deno.version.deno,
  v8: Deno.version.v8,
  cpuClock: threadCpu ? "script thread (CLOCK_THREAD_CPUTIME_ID)" : "process (no FFI: all threads)",
  first: { path: firstPath, wallMs: first.wallMs, cpuMs: first.cpuUs / 1000 },
  results,
}));
