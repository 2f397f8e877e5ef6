import {
  encodePage,
  escapeHtml,
  fillBanner,
  openSections,
  readPage,
  readPageBytes,
  renderPage,
  stripSeals,
  unlockSections,
} from "../lib/page.ts";
import { EMPTY_SEAL_KEYRING, importSealKeys } from "../lib/seal.ts";
import {
  A,
  assert,
  assertEquals,
  B,
  bannerOf,
  KEYS,
  MARKER,
  PAGES,
  pageSealOf,
  PLAINTEXTS,
  sealForTest,
} from "./helpers.ts";

Deno.test("page: unlockSections opens every section in place and removes the seals", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  const result = await unlockSections(readPage(PAGES[A]), keyring, A);
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
  const wrongPage = await unlockSections(readPage(PAGES[A]), keyring, B);
  assertEquals([wrongPage.total, wrongPage.opened], [6, 0]);
  assert(!wrongPage.html.includes(MARKER) && !wrongPage.html.includes("data-sealed"));
  assertEquals((wrongPage.html.match(/Register to view content/g) ?? []).length, 6);
  const noKeys = await unlockSections(readPage(PAGES[A]), EMPTY_SEAL_KEYRING, A);
  assertEquals(noKeys.opened, 0);
  // markers missing, misplaced or for another section: that section's placeholder stays
  const html = PAGES[A]
    .replace("<!--/locked:summary-->", "")
    .replace("<!--locked:modifiers-->", "<!--locked:billing-faq-->");
  const partial = await unlockSections(readPage(html), keyring, A);
  assertEquals([partial.total, partial.opened], [6, 4]);
  for (const s of ["summary", "modifiers"]) assert(!partial.html.includes(PLAINTEXTS[A].sections[s]), s);
  for (const s of ["coding-tips", "billing-faq"]) assert(partial.html.includes(PLAINTEXTS[A].sections[s]), s);
  assert(!partial.html.includes("data-sealed"));
  // protected sections other than those sealed (renamed, dropped, reordered): nothing opens
  const coding = /<section[^>]*data-section="coding-tips"[^]*?<\/section>\n/.exec(PAGES[A])![0];
  for (
    const [name, other] of Object.entries({
      "a section renamed": PAGES[A].replace('data-section="medicare-coverage"', 'data-section="medicare"'),
      "a section id the markup cannot hold": PAGES[A].replace(
        'data-section="coding-tips"',
        'data-section="Coding Tips"',
      ),
      "a section dropped": PAGES[A].replace(coding, ""),
      "a section moved": PAGES[A].replace(coding, "").replace("</article>", `${coding}</article>`),
    })
  ) {
    const none = await unlockSections(readPage(other), keyring, A);
    assertEquals(none.opened, 0, name);
    assert(!none.html.includes(MARKER) && !none.html.includes("data-sealed"), name);
  }
});

Deno.test("page: attribute order and whitespace are free", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  const token = await sealForTest(KEYS.CODEPAGES_SEAL_KEYS, A, { summary: PLAINTEXTS[A].sections.summary });
  const html =
    `<main>\n<section data-sealed="${token}"\n   class="protected-section"   data-section="summary" id="summary">\n` +
    `<h2>S</h2>\n  <!--locked:summary-->\n<div class="locked">x</div>\n<!--/locked:summary-->\n</section></main>`;
  const result = await unlockSections(readPage(html), keyring, A);
  assertEquals(result.opened, 1);
  assertEquals(
    result.html,
    `<main>\n<section\n   class="protected-section"   data-section="summary" id="summary">\n` +
      `<h2>S</h2>\n  ${PLAINTEXTS[A].sections.summary}\n</section></main>`,
  );
  assertEquals(readPage(html).tags.length, 1);
  assertEquals(readPage("<section class=x></section>").tags.length, 0);
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

Deno.test("page: renderPage writes in one pass what unlocking, then filling the banner, writes", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  const slot = /<div id="meter-banner"[^>]*><\/div>/;
  const banner = "<p>banner</p>";
  const token = pageSealOf(PAGES[A]);
  const variants: Record<string, string> = {
    "as built": PAGES[A],
    "banner slot after the sections": PAGES[A].replace(slot, "").replace(
      "</main>",
      '<div id="meter-banner" hidden></div></main>',
    ),
    "no banner slot": PAGES[A].replace(slot, ""),
    "banner slot never closed": PAGES[A].replace(slot, '<div id="meter-banner" hidden>'),
    "two seals in one tag": PAGES[A].replace(
      `data-sealed="${token}"`,
      `data-sealed="${token}" data-sealed="v2.k1.x.y"`,
    ),
    "a seal-like attribute before the seal": PAGES[A].replace(
      ` data-sealed="${token}"`,
      ` xdata-sealed="abc" data-sealed="${token}"`,
    ),
    "a locked block reaching into the next section": PAGES[A].replace("<!--/locked:summary-->", "")
      .replace(/(<section[^>]*data-section="coding-tips")/, "<!--/locked:summary-->$1"),
  };
  for (const [name, html] of Object.entries(variants)) {
    const page = readPage(html);
    const opened = await openSections(page, keyring, A);
    const unlocked = await unlockSections(readPage(html), keyring, A);
    assertEquals(opened.blocks.length, unlocked.opened, name);
    assertEquals(renderPage(page, opened, banner), fillBanner(unlocked.html, banner), name);
    assertEquals(renderPage(page, null, banner), fillBanner(stripSeals(html), banner), name);
    assertEquals(renderPage(page, opened, null), unlocked.html, name);
    assert(!/\sdata-sealed=/.test(renderPage(page, opened, banner)), name);
  }
  assertEquals((await openSections(readPage(variants["as built"]), keyring, A)).blocks.length, 6);
  assertEquals((await openSections(readPage(variants["two seals in one tag"]), keyring, A)).blocks.length, 6);
  const overlap = await openSections(
    readPage(variants["a locked block reaching into the next section"]),
    keyring,
    A,
  );
  assertEquals(overlap.blocks.length, 5, "the block that reaches past the next section tag stays locked");
  // a banner slot inside opened text is where fillBanner finds it, when the page's own slot comes later
  const late = variants["banner slot after the sections"];
  const rendered = renderPage(readPage(late), await openSections(readPage(late), keyring, A), banner);
  assertEquals(rendered.split(banner).length, 2);
  assertEquals(renderPage(readPage("<p>nothing sealed</p>"), null, null), "<p>nothing sealed</p>");
});

Deno.test("page: encodePage writes as bytes exactly what renderPage writes as text", async () => {
  const keyring = await importSealKeys(KEYS.CODEPAGES_SEAL_KEYS);
  const banner = "<p>banner — “quoted” \u{1F600}</p>";
  const token = pageSealOf(PAGES[A]);
  const resealed = (summary: string) =>
    sealForTest(KEYS.CODEPAGES_SEAL_KEYS, A, { ...PLAINTEXTS[A].sections, summary });
  const fresh = await resealed("<p>\u{1F600} naïve — ok</p>");
  const withBom = await resealed("\ufeff<p>marked</p>");
  const variants: Record<string, string> = {
    "as built": PAGES[A],
    "characters of every length before the sections": PAGES[A].replace("<main", "<p>é … \u{1F600}</p><main"),
    "a section opening to 4-byte characters": PAGES[A].replace(token, fresh),
    "a section opening to text with a byte order mark": PAGES[A].replace(token, withBom),
    "two seals in one tag": PAGES[A].replace(
      `data-sealed="${token}"`,
      `data-sealed="${token}" data-sealed="x"`,
    ),
  };
  const encoder = new TextEncoder();
  for (const [name, html] of Object.entries(variants)) {
    const page = readPageBytes(encoder.encode(html));
    assertEquals(page.html, html, name);
    const opened = await openSections(page, keyring, A);
    for (const [o, b] of [[opened, banner], [opened, null], [null, banner], [null, null]] as const) {
      assertEquals(
        [...encodePage(page, o, b)!],
        [...encoder.encode(renderPage(page, o, b))],
        `${name} (${o ? "opened" : "gated"}, ${b ? "banner" : "no banner"})`,
      );
    }
  }
  const bom = await openSections(
    readPageBytes(encoder.encode(variants["a section opening to text with a byte order mark"])),
    keyring,
    A,
  );
  assertEquals(
    bom.blocks[0].section.html,
    "\ufeff<p>marked</p>",
    "a section opens to exactly what was sealed",
  );
  assertEquals([...bom.blocks[0].section.bytes], [...encoder.encode("\ufeff<p>marked</p>")]);
  // bytes that are not text character for character are copied as the host sent them; the
  // text form is what Response.text() makes of them (the mark dropped, bad bytes replaced)
  for (
    const [name, head] of Object.entries({
      "a byte order mark": [0xef, 0xbb, 0xbf],
      "bytes that are not UTF-8": [0xff, 0xc3, 0x28],
    })
  ) {
    const bytes = new Uint8Array([...head, ...encoder.encode(PAGES[A])]);
    const odd = readPageBytes(bytes);
    assertEquals(odd.html, new TextDecoder().decode(bytes), name);
    const opened = await openSections(odd, keyring, A);
    assertEquals(opened.blocks.length, 6, name);
    const out = encodePage(odd, opened, banner)!;
    assertEquals([...out.subarray(0, head.length)], head, `${name}: kept`);
    assertEquals(new TextDecoder().decode(out), renderPage(odd, opened, banner), name);
  }
  const late = readPageBytes(
    encoder.encode(
      PAGES[A].replace('<div id="meter-banner"', '<div id="elsewhere"').replace(
        "</main>",
        '<div id="meter-banner" hidden></div></main>',
      ),
    ),
  );
  assertEquals(encodePage(late, null, banner), null, "a banner slot after the sections");
  assert(encodePage(late, null, null) !== null);
});
