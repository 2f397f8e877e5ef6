import { canonicalPagePath } from "../lib/paths.ts";
import { assertEquals } from "./helpers.ts";

const BASE = "https://codepages.test";

Deno.test("paths: every spelling of a code page maps to its canonical path", () => {
  const cases: [string, string][] = [
    ["/cpt/62326/", "/cpt/623/62326/"],
    ["/cpt/62326", "/cpt/623/62326/"],
    ["/cpt/62326/index.html", "/cpt/623/62326/"],
    ["/cpt/62326/INDEX.HTML", "/cpt/623/62326/"],
    ["/CPT/62326/", "/cpt/623/62326/"],
    ["/Cpt/62326/", "/cpt/623/62326/"],
    ["/cpt/62326/?x=1", "/cpt/623/62326/"],
    ["/cpt/62326/?x=1#summary", "/cpt/623/62326/"],
    ["/cpt/62326#frag", "/cpt/623/62326/"],
    ["/cpt%2F62326/", "/cpt/623/62326/"],
    ["/cpt%2f62326%2F", "/cpt/623/62326/"],
    ["//cpt//62326/", "/cpt/623/62326/"],
    ["/cpt///62326//", "/cpt/623/62326/"],
    ["/cpt/%36%32%33%32%36/", "/cpt/623/62326/"],
    ["/cpt/./62326/", "/cpt/623/62326/"],
    ["/x/../cpt/62326/", "/cpt/623/62326/"],
    ["/cpt/0042t/", "/cpt/004/0042T/"],
    ["/icd-10-cm/M54.50/", "/icd-10-cm/M54/M54.50/"],
    ["/icd-10-cm/m54.50", "/icd-10-cm/M54/M54.50/"],
    ["/ICD-10-CM/m54%2E50/index.html", "/icd-10-cm/M54/M54.50/"],
    ["/icd-10-cm/S72.001A/", "/icd-10-cm/S72/S72.001/S72.001A/"],
    ["/hcpcs/J0702/", "/hcpcs/J/J0702/"],
    ["/hcpcs/J/J0702/", "/hcpcs/J/J0702/"],
    ["/hcpcs/j/j0702/index.html", "/hcpcs/J/J0702/"],
    ["/cpt/623/62326/", "/cpt/623/62326/"],
    ["/icd-10-cm/M54/M54.50/", "/icd-10-cm/M54/M54.50/"],
    ["/icd-10-cm/m54/m54.50", "/icd-10-cm/M54/M54.50/"],
    ["/icd-10-cm/M54/", "/icd-10-cm/M54/"],
    ["/icd-10-cm/S72/S72.001/S72.001A/", "/icd-10-cm/S72/S72.001/S72.001A/"],
    ["/icd-10-cm/S12/S12.8/S12.8XXA/", "/icd-10-cm/S12/S12.8/S12.8XXA/"],
    ["/icd-10-cm/W08/W08.XXXA/", "/icd-10-cm/W08/W08.XXXA/"],
    ["/hcpcs/j0702", "/hcpcs/J/J0702/"],
    ["/HCPCS/J0702/?utm_source=x", "/hcpcs/J/J0702/"],
  ];
  for (const [path, expected] of cases) assertEquals(canonicalPagePath(BASE + path), expected, path);
});

Deno.test("paths: everything else is not metered", () => {
  const cases = [
    "/",
    "/cpt/",
    "/cpt",
    "/cpt/index.html",
    "/cpt/62320-62327/",
    "/cpt/62320-62327",
    "/CPT/62320-62327/index.html",
    "/icd-10-cm/M50-M54/",
    "/hcpcs/J0120-J8499/",
    "/cpt/62326/extra/",
    "/cpt/624/62326/",
    "/icd-10-cm/M55/M54.50/",
    "/icd-10-cm/S72/S72.001A/",
    "/hcpcs/K/J0702/",
    "/cpt/62326/summary.html",
    "/assets/site.css",
    "/cdt/D0120/",
    "/cpt/62326%2Fextra/",
    "/cpt/%E0%A4%A/", // malformed escape
    "/cpt/6232%00/",
    "/cpt/62 326/",
    "/cpt/..%2F..%2Fetc/",
    "/cpt/../",
    "/cpt/.../",
    "/icd-10-cm/M54./",
    "/icd-10-cm/.M54/",
    "/icd-10-cm/M54..50/",
    "/icd-10-cm/M54.50.1/",
    "/cpt/" + "1".repeat(600) + "/",
    "/cpt/%252F62326/", // decoded once: "%2F62326" is not a code
  ];
  for (const path of cases) assertEquals(canonicalPagePath(BASE + path), null, path);
  assertEquals(canonicalPagePath("not a url"), null);
});
