/**
 * One definition of the security headers and the limits: netlify.toml's [[headers]] for "/*"
 * (what Netlify adds to static files) equals SECURITY_HEADERS (what the edge sets on its own
 * answers), and the site settings' schema states exactly the meter limits the edge enforces.
 */
import { parse } from "smol-toml";
import { SECURITY_HEADERS } from "../lib/headers.ts";
import { MAX_SEALED_PLAINTEXT_BYTES, METER_LIMITS } from "../lib/limits.ts";
import { returnPath } from "../lib/return_path.ts";
import { assert, assertEquals } from "./helpers.ts";

const ROOT = new URL("../../", import.meta.url);

Deno.test("headers: netlify.toml gives static files exactly the security headers the edge sets", () => {
  const toml = parse(Deno.readTextFileSync(new URL("netlify.toml", ROOT))) as {
    headers: { for: string; values: Record<string, string> }[];
  };
  const all = toml.headers.find((h) => h.for === "/*");
  assert(all, 'netlify.toml has a [[headers]] block for "/*"');
  assertEquals(all.values, SECURITY_HEADERS);
  const csp = SECURITY_HEADERS["Content-Security-Policy"];
  for (
    const directive of [
      "frame-ancestors 'self'",
      "'wasm-unsafe-eval'",
      "worker-src 'self'",
      "object-src 'none'",
    ]
  ) {
    assert(csp.includes(directive), directive);
  }
});

Deno.test("limits: the site settings schema's meter block states the edge's limits (one definition)", () => {
  const schema = JSON.parse(Deno.readTextFileSync(new URL("codepages/schema/site.schema.json", ROOT)));
  const meter = schema.properties.meter;
  for (const [key, limit] of Object.entries(METER_LIMITS)) {
    const property = meter.properties[key];
    assert(property, `site.schema.json meter.${key} is missing`);
    assertEquals(
      [property.type, property.minimum, property.maximum, property.default],
      ["integer", limit.min, limit.max, limit.default],
      `meter.${key}`,
    );
  }
  assertEquals(
    Object.keys(meter.properties).sort(),
    Object.keys(METER_LIMITS).sort(),
    "no setting the edge ignores",
  );
  const site = Deno.readTextFileSync(new URL("content/site.yaml", ROOT));
  for (const key of Object.keys(METER_LIMITS)) {
    assert(new RegExp(`^  ${key}: \\d+`, "m").test(site), `site.yaml meter.${key}`);
  }
});

Deno.test("limits: the build seals no more than the edge inflates (one definition)", () => {
  const sealing = Deno.readTextFileSync(new URL("codepages/sealing.py", ROOT));
  const written = /^MAX_PLAINTEXT_BYTES = ([0-9_]+)/m.exec(sealing);
  assert(written, "codepages/sealing.py defines MAX_PLAINTEXT_BYTES as a number");
  assertEquals(Number(written[1].replaceAll("_", "")), MAX_SEALED_PLAINTEXT_BYTES);
});

Deno.test("return addresses (attack): normalised once to a same-site path a Location header can carry", () => {
  const origin = "https://codepages.test";
  const cases: [string | null, string][] = [
    ["/x/..//search", "/"], // would resolve to //search: another host
    ["//evil.example/", "/"],
    ["/\\evil.example", "/"],
    ["/%2F%2Fevil.example", "/"],
    ["/%5Cevil.example", "/"],
    ["https://evil.example/cpt/", "/"],
    ["javascript:alert(1)", "/"],
    ["/AUTH/login", "/"], // the /auth/ block is case-insensitive, like the routing
    ["/Auth/Callback?code=x", "/"],
    ["/%E0%A4%A", "/"],
    ["/☃", "/%E2%98%83"], // above U+00FF: percent-encoded, never a 500
    ["/cpt/623/62326/?q=a b", "/cpt/623/62326/?q=a+b"],
    ["/a/./b/../c/", "/a/c/"],
    [`${origin}/hcpcs/J/J1040/?x=1#frag`, "/hcpcs/J/J1040/?x=1"],
    [null, "/"],
  ];
  for (const [candidate, expected] of cases) {
    const result = returnPath(candidate, origin);
    assertEquals(result, expected, String(candidate));
    assertEquals(returnPath(result), result, "normalised once: idempotent");
    new Headers({ location: result }); // a ByteString: no exception
  }
});

Deno.test("headers: entries and responseWith give the response the old Headers construction gave", async () => {
  const { PERSONALISED_DROPS, personalisedEntries, responseWith, rewrittenEntries, secure, staticRequest } =
    await import(
      "../lib/headers.ts"
    );
  // the construction the entries replace, step by step
  const personalisedBefore = (from: Headers, formActions: string[]) => {
    const headers = new Headers(from);
    for (const name of PERSONALISED_DROPS) headers.delete(name);
    headers.set("cache-control", "private, no-store");
    const vary = (from.get("vary") ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "");
    if (!vary.includes("*") && !vary.some((v) => v.toLowerCase() === "cookie")) vary.push("Cookie");
    headers.set("vary", vary.join(", "));
    return secure(headers, formActions);
  };
  const rewrittenBefore = (from: Headers) => {
    const headers = new Headers(from);
    headers.delete("content-length");
    headers.delete("content-encoding");
    return secure(headers);
  };
  const upstreams: Record<string, string>[] = [
    { "content-type": "text/html; charset=UTF-8", etag: '"e"', "cache-control": "public" },
    { "Content-Type": "text/html", Vary: "Accept-Encoding", "X-Frame-Options": "DENY", "set-cookie": "u=1" },
    {
      "content-type": "text/html",
      vary: "*",
      "content-length": "10",
      "x-extra": "a",
      "strict-transport-security": "x",
    },
    { "content-type": "text/html", vary: "cookie, Accept" },
    {},
  ];
  const same = async (a: Response, b: Response, message: string) => {
    assertEquals([...a.headers], [...b.headers], message);
    assertEquals(a.headers.getSetCookie(), b.headers.getSetCookie(), message);
    assertEquals([a.status, await a.text()], [b.status, await b.text()], message);
  };
  for (const init of upstreams) {
    const from = new Headers(init);
    from.append("set-cookie", "second=2");
    for (const cookies of [[], ["a=1; Path=/"], ["a=1", "b=2"]]) {
      for (const body of ["<p>text</p>", new TextEncoder().encode("<p>bytes</p>")]) {
        for (const formActions of [[], ["https://id.example"]]) {
          const before = personalisedBefore(from, formActions);
          for (const c of cookies) before.append("set-cookie", c);
          const message = `${JSON.stringify(init)} ${cookies} ${typeof body} ${formActions}`;
          await same(
            responseWith(body, personalisedEntries(from, formActions), cookies),
            new Response(body, { status: 200, headers: before }),
            message,
          );
        }
        const before = rewrittenBefore(from);
        for (const c of cookies) before.append("set-cookie", c);
        await same(
          responseWith(body, rewrittenEntries(from), cookies),
          new Response(body, { status: 200, headers: before }),
          `rewritten ${JSON.stringify(init)}`,
        );
      }
    }
  }
  // a request with conditional headers loses them; one without is passed on with the same headers
  const plain = new Request("https://codepages.test/cpt/623/62326/", { headers: { accept: "text/html" } });
  assertEquals([...staticRequest(plain).headers], [...plain.headers]);
  assertEquals(staticRequest(plain).redirect, "manual");
  const conditional = new Request("https://codepages.test/x", {
    headers: { "if-none-match": "e", range: "bytes=0-1" },
  });
  assertEquals([...staticRequest(conditional).headers], []);
});
