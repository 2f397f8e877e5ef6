/**
 * Cross-check of the edge's address rule against a built catalogue (run by
 * tests/test_edge_paths_crosscheck.py): for every (code_set, code, url) of the build's code
 * shards, the edge computes exactly the build's url (codepages/codesets.py url_path), parses
 * that url back to the same page, and meters code pages under it.
 *
 *   deno run --config edge/deno.json --allow-read edge/tests/crosscheck.ts TRIPLES.json
 */
import { canonicalPagePath, codePagePath, parseAddress } from "../lib/paths.ts";

const triples: [string, string, string][] = JSON.parse(Deno.readTextFileSync(Deno.args[0]));
const problems: string[] = [];
// Pages of a group of codes (HCPCS letter sections such as "J", "modifiers") are not metered.
const SECTION = /^([A-Z]|modifiers)$/;
for (const [codeSet, code, url] of triples) {
  const isRange = code.includes("-") || SECTION.test(code);
  const expected = isRange ? `/${codeSet}/${code}/` : codePagePath(codeSet, code);
  if (expected !== url) problems.push(`${codeSet} ${code}: edge ${expected}, build ${url}`);
  const parsed = parseAddress(url);
  if (parsed?.canonical !== url) problems.push(`${url}: parses to ${parsed?.canonical}`);
  const flat = parseAddress(`/${codeSet}/${code.toLowerCase().replace(".", "")}`);
  if (flat?.canonical !== url) {
    problems.push(`/${codeSet}/${code.toLowerCase()}: redirects to ${flat?.canonical}`);
  }
  if (!isRange && canonicalPagePath(`https://x${url}`) !== url) {
    problems.push(`${url}: not metered as itself`);
  }
}
console.log(
  JSON.stringify({ checked: triples.length, problems: problems.slice(0, 50), count: problems.length }),
);
