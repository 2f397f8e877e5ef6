import { countSealed, escapeHtml, fillBanner, stripSeals, unlockSections } from "../lib/page.ts";
import { EMPTY_SEAL_KEYRING, importSealKeys } from "../lib/seal.ts";
import { A, assert, assertEquals, B, bannerOf, KEYS, MARKER, PAGES, PLAINTEXTS } from "./helpers.ts";

Deno.test("page: unlockSections opens every section in place and removes the seals", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  const result = await unlockSections(PAGES[A], keyring, A);
  assertEquals([result.total, result.opened], [6, 6]);
  for (const plain of Object.values(PLAINTEXTS[A].sections)) assert(result.html.includes(plain));
  assert(!result.html.includes("data-sealed") && !result.html.includes("<!--locked:"));
  assert(!result.html.includes("Register to view content"), "placeholders replaced");
  // plaintext holding "$&", "$1", "$$" is inserted literally
  assert(result.html.includes("$&amp;5 — $1 $& $$ naïve"));
  // everything outside the locked blocks is unchanged
  const skeleton = (html: string) => html.replace(/<!--locked:[\s\S]*?<!--\/locked:[a-z0-9-]+-->/g, "");
  const opened = Object.values(PLAINTEXTS[A].sections).reduce((h, p) => h.replace(p, ""), result.html);
  assertEquals(opened, stripSeals(skeleton(PAGES[A])));
  // the section keeps its heading, id and aria attributes
  assert(
    result.html.includes(
      '<section class="protected-section" id="summary" aria-labelledby="summary-title" data-section="summary">',
    ),
  );
});

Deno.test("page: a section that does not open keeps its placeholder", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  const wrongPage = await unlockSections(PAGES[A], keyring, B);
  assertEquals([wrongPage.total, wrongPage.opened], [6, 0]);
  assert(!wrongPage.html.includes(MARKER) && !wrongPage.html.includes("data-sealed"));
  assertEquals((wrongPage.html.match(/Register to view content/g) ?? []).length, 6);
  const noKeys = await unlockSections(PAGES[A], EMPTY_SEAL_KEYRING, A);
  assertEquals(noKeys.opened, 0);
  // markers missing, misplaced or for another section: placeholder stays
  const html = PAGES[A]
    .replace("<!--/locked:summary-->", "")
    .replace("<!--locked:modifiers-->", "<!--locked:billing-faq-->")
    .replace(/data-section="coding-tips"/, 'data-section="Coding Tips"');
  const partial = await unlockSections(html, keyring, A);
  assertEquals([partial.total, partial.opened], [6, 3]);
  for (const s of ["summary", "coding-tips", "modifiers"]) {
    assert(!partial.html.includes(PLAINTEXTS[A].sections[s]), s);
  }
  assert(!partial.html.includes("data-sealed"));
});

Deno.test("page: attribute order and whitespace are free", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  const token = /data-section="summary" data-sealed="([^"]+)"/.exec(PAGES[A])![1];
  const html =
    `<main>\n<section data-sealed="${token}"\n   class="protected-section"   data-section="summary" id="summary">\n` +
    `<h2>S</h2>\n  <!--locked:summary-->\n<div class="locked">x</div>\n<!--/locked:summary-->\n</section></main>`;
  const result = await unlockSections(html, keyring, A);
  assertEquals(result.opened, 1);
  assertEquals(
    result.html,
    `<main>\n<section\n   class="protected-section"   data-section="summary" id="summary">\n` +
      `<h2>S</h2>\n  ${PLAINTEXTS[A].sections.summary}\n</section></main>`,
  );
  assertEquals(countSealed(html), 1);
  assertEquals(countSealed("<section class=x></section>"), 0);
});

Deno.test("page: fillBanner puts the banner's markup (built from escaped parts) in the slot, once", () => {
  const banner = `<p>${escapeHtml(`You have <b>2</b> views & "more"`)} <a href="/auth/login">Log in</a></p>`;
  const filled = fillBanner(PAGES[A], banner);
  assertEquals(bannerOf(filled), `You have <b>2</b> views & "more" Log in`);
  assert(
    filled.includes(
      '<div id="meter-banner" class="meter-banner" role="status" aria-live="polite" data-pagefind-ignore="all"><p>You have &#60;b&#62;2',
    ),
  );
  assertEquals(bannerOf(PAGES[A]), null);
  assertEquals(fillBanner("<p>no slot</p>", "x"), "<p>no slot</p>");
  assertEquals(
    fillBanner('<div hidden id="meter-banner" data-hidden="1"></div>', "t"),
    '<div id="meter-banner" data-hidden="1">t</div>',
  );
  assertEquals(
    fillBanner('<div id="meter-banner" hidden="">old</div><div id="meter-banner" hidden></div>', "t"),
    '<div id="meter-banner">t</div><div id="meter-banner" hidden></div>',
  );
});
