/**
 * Addresses (lib/paths.ts parseAddress, lib/handlers/addresses.ts): every spelling of a code
 * reaches its page with one 301, unknown codes get the 404 page with the nearest codes, the
 * no-JavaScript code jump, and the meter: a redirect never unlocks, charges or carries text.
 */
import type { Context } from "@netlify/edge-functions";
import addressesFunction from "../functions/addresses.ts";
import { CodeIndex } from "../lib/code_index.ts";
import { flowOf } from "../lib/flow.ts";
import { addresses } from "../lib/handlers/addresses.ts";
import { parseAddress } from "../lib/paths.ts";
import { A, assert, assertEquals, assertGated, B, call, MARKER, PAGES, staticServer } from "./helpers.ts";

/** Shards as the build writes them (codepages/search.py), for the codes the tests use. */
const SHARDS: Record<string, unknown> = {
  "623": {
    prefix: "623",
    total: 3,
    codes: [
      ["62320-62327", "Injections", "cpt", "/cpt/62320-62327/", 0],
      ["62322", "Lumbar injection", "cpt", "/cpt/623/62322/", null],
      ["62326", "Lumbar injection with imaging", "cpt", "/cpt/623/62326/", null],
    ],
  },
  "J07": {
    prefix: "J07",
    total: 1,
    codes: [["J0702", "Betamethasone injection", "hcpcs", "/hcpcs/J/J0702/", null]],
  },
  "J10": {
    prefix: "J10",
    total: 1,
    codes: [["J1040", "Methylprednisolone 80 mg", "hcpcs", "/hcpcs/J/J1040/", null]],
  },
  "M54": {
    prefix: "M54",
    total: 4,
    codes: [
      ["M54", "Dorsalgia", "icd-10-cm", "/icd-10-cm/M54/", 0],
      ["M54.5", "Low back pain", "icd-10-cm", "/icd-10-cm/M54/M54.5/", 0],
      ["M54.50", "Low back pain, unspecified", "icd-10-cm", "/icd-10-cm/M54/M54.50/", 1],
      ["M54.59", "Other low back pain", "icd-10-cm", "/icd-10-cm/M54/M54.59/", 1],
    ],
  },
  "S72": {
    prefix: "S72",
    total: 900,
    codes: [["S72", "Fracture of femur", "icd-10-cm", "/icd-10-cm/S72/", 0]],
    more: ["S720"],
  },
  "S720": {
    prefix: "S720",
    total: 300,
    codes: [["S72.0", "Fracture of head and neck of femur", "icd-10-cm", "/icd-10-cm/S72/S72.0/", 0]],
    more: ["S7200"],
  },
  "S7200": {
    prefix: "S7200",
    total: 30,
    codes: [
      [
        "S72.001",
        "Fracture of unspecified part of neck of right femur",
        "icd-10-cm",
        "/icd-10-cm/S72/S72.001/",
        0,
      ],
      ["S72.001A", "… initial encounter", "icd-10-cm", "/icd-10-cm/S72/S72.001/S72.001A/", 1],
    ],
  },
  "S12": {
    prefix: "S12",
    total: 2,
    codes: [[
      "S12.8XXA",
      "Fracture of other parts of neck, initial",
      "icd-10-cm",
      "/icd-10-cm/S12/S12.8/S12.8XXA/",
      1,
    ]],
  },
};

function index(): { codes: CodeIndex; reads: string[] } {
  const reads: string[] = [];
  return {
    codes: new CodeIndex((prefix) => {
      reads.push(prefix);
      return Promise.resolve(SHARDS[prefix] ?? null);
    }),
    reads,
  };
}

const NOT_FOUND = `<!doctype html><html><body><main><h1>Page not found</h1>
<section id="code-suggestions" class="code-suggestions" hidden></section></main></body></html>`;

async function ask(path: string, init: { method?: string; pages?: Record<string, string> } = {}) {
  const request = new Request(`https://codepages.test${path}`, { method: init.method ?? "GET" });
  let nexted = 0;
  const context = {
    next: () => {
      nexted++;
      const pages = init.pages ?? {};
      const key = new URL(request.url).pathname;
      return Promise.resolve(
        pages[key] !== undefined
          ? new Response(pages[key], { headers: { "content-type": "text/html; charset=UTF-8" } })
          : new Response(NOT_FOUND, { status: 404, headers: { "content-type": "text/html; charset=UTF-8" } }),
      );
    },
  } as unknown as Context;
  const flow = flowOf(request, context)!;
  const { codes } = index();
  const response = await addresses(flow, codes);
  return { response, nexted, body: response ? await response.text() : "" };
}

Deno.test("addresses: every spelling of a code names its canonical page", () => {
  const cases: [string, string][] = [
    ["/cpt/62326", "/cpt/623/62326/"],
    ["/CPT/62326/", "/cpt/623/62326/"],
    ["/cpt/623/62326/index.html", "/cpt/623/62326/"],
    ["/Cpt/623/62326", "/cpt/623/62326/"],
    ["/hcpcs/j1040", "/hcpcs/J/J1040/"],
    ["/HCPCS/J/J1040/INDEX.HTML", "/hcpcs/J/J1040/"],
    ["/hcpcs/lt/", "/hcpcs/modifiers/LT/"],
    ["/icd-10-cm/m5450", "/icd-10-cm/M54/M54.50/"],
    ["/icd-10-cm/M54.50/", "/icd-10-cm/M54/M54.50/"],
    ["/ICD-10-CM/m54/m54.50/", "/icd-10-cm/M54/M54.50/"],
    ["/icd10cm/M54.50", "/icd-10-cm/M54/M54.50/"],
    ["/icd-10/m545", "/icd-10-cm/M54/M54.5/"],
    ["/icd-10-cm/S72001A", "/icd-10-cm/S72/S72.001/S72.001A/"],
    ["/icd-10-cm/s12.8xxa/", "/icd-10-cm/S12/S12.8/S12.8XXA/"],
    ["/icd-10-cm/W08XXXA", "/icd-10-cm/W08/W08.XXXA/"],
    ["/icd-10-cm/m54", "/icd-10-cm/M54/"],
    ["/icd-10-cm/m50-m54", "/icd-10-cm/M50-M54/"],
    ["/cpt/62320-62327", "/cpt/62320-62327/"],
    ["/HCPCS/j/", "/hcpcs/J/"],
    ["/cpt/623", "/cpt/623/"],
    ["/CPT", "/cpt/"],
    ["//cpt//62326//", "/cpt/623/62326/"],
    ["/cpt/%36%32%33%32%36/", "/cpt/623/62326/"],
    ["/cpt/624/62326/", "/cpt/623/62326/"],
  ];
  for (const [path, canonical] of cases) assertEquals(parseAddress(path)?.canonical, canonical, path);
  for (
    const path of [
      "/",
      "/search/",
      "/cdt/D0120/",
      "/cpt/62326/extra/",
      "/icd-10-cm/M5/",
      "/cpt/..%2F/",
      "/cpt/%E0%A4%A/",
    ]
  ) {
    assertEquals(parseAddress(path), null, path);
  }
});

Deno.test("addresses: one 301 per variant, query kept, no cookie, no body, never the gate", async () => {
  for (
    const [path, location] of [
      ["/cpt/62326", "/cpt/623/62326/"],
      ["/CPT/62326/?utm_source=x", "/cpt/623/62326/?utm_source=x"],
      ["/hcpcs/j1040", "/hcpcs/J/J1040/"],
      ["/icd-10-cm/m5450", "/icd-10-cm/M54/M54.50/"],
      ["/icd-10-cm/M54.50/", "/icd-10-cm/M54/M54.50/"],
      ["/icd-10-cm/S72001A", "/icd-10-cm/S72/S72.001/S72.001A/"],
      ["/cpt/623/62326/index.html", "/cpt/623/62326/"],
    ]
  ) {
    const { response, nexted, body } = await ask(path);
    assertEquals([response?.status, response?.headers.get("location")], [301, location], path);
    assertEquals(nexted, 0, `${path}: the chain (the gate) never ran`);
    assertEquals(body, "", path);
    assertEquals(response!.headers.get("set-cookie"), null, path);
    assert(response!.headers.get("content-security-policy")!.includes("frame-ancestors 'self'"), path);
    assert(!location.startsWith("//"), path);
  }
  const head = await ask("/cpt/62326", { method: "HEAD" });
  assertEquals(head.response?.status, 301);
});

Deno.test("addresses: canonical pages pass on; unknown codes get the 404 page with the nearest codes", async () => {
  const pass = await ask("/cpt/623/62326/", { pages: { "/cpt/623/62326/": "<p>page</p>" } });
  assertEquals([pass.response?.status, pass.body, pass.nexted], [200, "<p>page</p>", 1]);
  assertEquals((await ask("/")).response, undefined, "not an address: the chain goes on untouched");
  assertEquals((await ask("/cpt/")).response, undefined);
  const unknown = await ask("/icd-10-cm/m5499");
  assertEquals(unknown.response?.status, 404, "no redirect to a page that does not exist");
  assert(unknown.body.includes("No code M54.99. Nearest existing codes"), unknown.body);
  assert(unknown.body.includes('<a href="/icd-10-cm/M54/"><span class="code">M54</span>'), unknown.body);
  assert(!unknown.body.includes(" hidden>"), "the slot is shown");
  const canonicalUnknown = await ask("/cpt/623/62329/");
  assertEquals(canonicalUnknown.response?.status, 404);
  assert(canonicalUnknown.body.includes("/cpt/623/62326/"), "same-prefix codes suggested");
  const markup = await ask("/icd-10-cm/M54.9%3Cb%3E/");
  assert(!markup.body.includes("<b>"), "nothing typed is echoed unescaped");
});

Deno.test("addresses: /search/?q=<exact code> jumps to the code (303); other queries stay on the search page", async () => {
  for (
    const [q, location] of [
      ["M54.50", "/icd-10-cm/M54/M54.50/"],
      ["m5450", "/icd-10-cm/M54/M54.50/"],
      [" 62326 ", "/cpt/623/62326/"],
      ["j1040", "/hcpcs/J/J1040/"],
      ["s72.001a", "/icd-10-cm/S72/S72.001/S72.001A/"],
      ["62320-62327", "/cpt/62320-62327/"],
    ]
  ) {
    const { response, nexted } = await ask(`/search/?q=${encodeURIComponent(q)}`);
    assertEquals([response?.status, response?.headers.get("location")], [303, location], q);
    assertEquals(nexted, 0);
  }
  for (const q of ["low back pain", "M54.99", "623", "", "x".repeat(100)]) {
    assertEquals((await ask(`/search/?q=${encodeURIComponent(q)}`)).response, undefined, q);
  }
});

Deno.test("addresses: the real function is declared first and a bad request URL is a 400", async () => {
  const bad = { url: "not a url", method: "GET", headers: new Headers() } as unknown as Request;
  const response = await addressesFunction(bad, {} as Context);
  assertEquals(response?.status, 400);
});

Deno.test("addresses (attack): following a redirect is metered once — the variant neither unlocks nor charges twice", async () => {
  // the redirect itself: nothing of the page, no cookie
  const { response, body } = await ask("/cpt/62326");
  assert(!body.includes(MARKER) && response!.headers.get("set-cookie") === null);
  // the target, as the browser then asks for it: one view
  const first = await call(A);
  assert(first.cookie !== null, "the canonical page charged the view");
  // a second spelling of the same code redirects again; the target re-opens for free
  const again = await call(A, { cookie: first.cookie });
  assertEquals(again.setCookie, null, "not charged twice");
  // and the view is spent: another code's variant leads to a gated page
  assertGated(await call(B, { cookie: first.cookie, server: staticServer(PAGES) }));
});
