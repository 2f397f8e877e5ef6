/**
 * One definition of the security headers and the limits: netlify.toml's [[headers]] for "/*"
 * (what Netlify adds to static files) equals SECURITY_HEADERS (what the edge sets on its own
 * answers), and the site settings' schema states exactly the meter limits the edge enforces.
 */
import { parse } from "smol-toml";
import { SECURITY_HEADERS } from "../lib/headers.ts";
import { METER_LIMITS } from "../lib/limits.ts";
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
