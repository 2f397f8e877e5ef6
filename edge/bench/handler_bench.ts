/**
 * CPU cost of the gate per request, over a Python-sealed fixture page (6 sealed sections).
 * No assertions. Run from the repository root:
 *
 *   deno run --config edge/deno.json --allow-env --allow-read edge/bench/handler_bench.ts [N]
 *
 * Netlify allows an edge function 50 ms of CPU per request.
 */
import type { Context } from "@netlify/edge-functions";
import gate from "../functions/gate.ts";

const N = Number(Deno.args[0] ?? 2000);
const fixtures = new URL("../tests/fixtures/", import.meta.url);
const keys = JSON.parse(Deno.readTextFileSync(new URL("keys.json", fixtures)));
const html = Deno.readTextFileSync(new URL("cpt-62326.html", fixtures));
const other = Deno.readTextFileSync(new URL("icd-10-cm-M54.50.html", fixtures));
(globalThis as { Netlify?: unknown }).Netlify = { env: { get: (name: string) => keys[name] } };

function contextFor(page: string): Context {
  return {
    next: () =>
      Promise.resolve(
        new Response(page, { headers: { "content-type": "text/html; charset=UTF-8", etag: '"e"' } }),
      ),
  } as unknown as Context;
}

async function run(
  path: string,
  page: string,
  cookie: string | null,
): Promise<{ ms: number; cookie: string | null }> {
  const headers = new Headers();
  if (cookie) headers.set("cookie", `__Host-cp_meter=${cookie}`);
  const request = new Request(`https://codepages.test${path}`, { headers });
  const start = performance.now();
  const response = await gate(request, contextFor(page));
  await response.text();
  const ms = performance.now() - start;
  return {
    ms,
    cookie: /^__Host-cp_meter=([^;]*)/.exec(response.headers.get("set-cookie") ?? "")?.[1] ?? null,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const spent = (await run("/cpt/62326/", html, null)).cookie!;
const scenarios: [string, () => Promise<{ ms: number }>][] = [
  ["new visitor, page unlocked (6 sections opened, cookie signed)", () => run("/cpt/62326/", html, null)],
  ["returning visitor, page re-opened (cookie verified, 6 opened)", () => run("/cpt/62326/", html, spent)],
  [
    "meter spent, page gated (cookie verified, nothing opened)",
    () => run("/icd-10-cm/M54.50/", other, spent),
  ],
  ["range page, passed through", () => run("/cpt/62320-62327/", html, spent)],
];

console.log(`gate handler, ${N} runs per scenario, page ${html.length} bytes, Deno ${Deno.version.deno}`);
for (const [name, fn] of scenarios) {
  for (let i = 0; i < Math.min(200, N); i++) await fn(); // warm up
  const times: number[] = [];
  for (let i = 0; i < N; i++) times.push((await fn()).ms);
  times.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(66)} p50 ${percentile(times, 50).toFixed(3)} ms  p99 ${
      percentile(times, 99).toFixed(3)
    } ms  max ${times[times.length - 1].toFixed(3)} ms`,
  );
}
