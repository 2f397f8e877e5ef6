"""Rules that must hold on every page of the full demo build (~100,000 pages), read once by
tests/sitescan.py: the crawl of internal links (issue 9) and the notes, titles, descriptions
and structured data a coder or a search engine sees (issue 13)."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import urlparse

from bs4 import BeautifulSoup
from sitescan import COMMA_BULLET, RANGE, ROW, SEVENTH, TITLE, covers, link_problem, links, notes_section, ranges, scan, url_of


def listing(items, limit=15):
    items = list(items)
    return f"{len(items)}: " + "; ".join(map(str, items[:limit]))


# --- the scan reads pages the way BeautifulSoup does (checked on real pages) --------------

SAMPLE = ["index.html", "icd-10-cm/S72/S72.001/S72.001A/index.html", "icd-10-cm/Z71/Z71.85/index.html",
          "cpt/623/62326/index.html", "hcpcs/J/J1040/index.html", "icd-10-cm/S00-T88/index.html"]


def test_the_scan_reads_links_titles_and_notes_as_beautifulsoup_does(demo_site: Path):
    for relative in SAMPLE:
        data = (demo_site / relative).read_bytes()
        soup = BeautifulSoup(data.decode("utf-8"), "html.parser")
        # the inert templates the edge function copies in (<script type="text/html">) hold links too
        inert = [BeautifulSoup(s.string or "", "html.parser") for s in soup.find_all("script", type="text/html")]
        expected = sorted(t[a] for tree in [soup, *inert] for a in ("href", "src") for t in tree.find_all(attrs={a: True}))
        assert sorted(html.unescape(link.decode()) for link in links(data)) == expected, relative
        assert html.unescape(TITLE.search(data)[1].decode()) == soup.title.string, relative
        notes = soup.select_one("section#notes")
        section = notes_section(data)
        assert (notes is None) == (section is None), relative
        if notes is None:
            continue
        assert BeautifulSoup(section.decode(), "html.parser").get_text() == notes.get_text(), relative
        rows = notes.select("div.seventh-characters tbody tr")
        assert len([r for t in SEVENTH.findall(section) for r in ROW.findall(t.split(b"<tbody>")[-1])]) == len(rows)
        comma = [li for li in notes.find_all("li") if li.get_text().lstrip().startswith(",")]
        assert bool(comma) == bool(COMMA_BULLET.search(section)), relative
        assert [m.span() for m in ranges(section)] == [m.span() for m in RANGE.finditer(section)], relative


def test_link_rules_tell_a_redirect_from_a_file():
    files, folders = {"cpt/623/62326/index.html", "search/codes/M.json"}, {"cpt", "cpt/623", "cpt/623/62326"}
    assert link_problem("/cpt/623/62326/", "/", files, folders) is None
    assert link_problem("/cpt/623/62326", "/", files, folders) == "a folder without its trailing slash (redirects)"
    assert link_problem("/cpt/623/62399/", "/", files, folders) == "no index.html in that folder (404)"
    assert link_problem("../../../search/codes/M.json", "/cpt/623/62326/", files, folders) is None
    assert link_problem("https://example.org/x", "/", files, folders) is None
    assert url_of("cpt/623/62326/index.html") == "/cpt/623/62326/" and url_of("404.html") == "/404.html"
    assert covers("/icd-10-cm/O60-O77/", "O70", "O71") and not covers("/icd-10-cm/O60-O77/", "O80", "O82")
    assert covers("/icd-10-cm/Q00-QA0/", "Q20", "Q34")


def test_ranges_are_found_where_a_scan_from_every_byte_finds_them():
    text = (b"A00-B99 (x) O70-O71, S72.001A-S72.009A; aA00-B99 /A00-B99 A00-B99-C00 X1-Y2 "
            b"Q00-QA0. C00-D49.- A00.123456789-B00 T36.0X1-T50.996 -A00 A00- E08-E13")
    expected = [m.group() for m in RANGE.finditer(text)]
    assert [m.group() for m in ranges(text)] == expected
    assert expected[:3] == [b"A00-B99", b"O70-O71", b"S72.001A-S72.009A"] and b"Q00-QA0" in expected


# --- issue 9: the crawl ------------------------------------------------------------------

def test_no_internal_link_redirects_or_404s(demo_scan):
    assert demo_scan.pages > 98_000 and demo_scan.links_checked > 1_000_000
    assert demo_scan.bad_links == [], listing(demo_scan.bad_links)


# --- issue 13: notes across the whole catalogue ------------------------------------------

def test_no_note_bullet_starts_with_a_comma(demo_scan):
    assert demo_scan.pages_with_notes > 90_000
    assert demo_scan.comma_bullets == [], listing(demo_scan.comma_bullets)


def test_every_seventh_character_row_has_its_character(demo_scan):
    assert demo_scan.seventh_tables > 60_000 and demo_scan.seventh_rows > 300_000
    assert demo_scan.orphan_rows == [], listing(demo_scan.orphan_rows)


def test_every_range_named_in_a_note_is_linked_to_a_page_that_holds_it(demo_scan):
    assert demo_scan.ranges_in_notes > 100_000
    unlinked = demo_scan.unlinked_ranges.most_common()
    assert unlinked == [], f"ranges left as plain text (range, pages): {unlinked}"
    assert demo_scan.misdirected_ranges == [], listing(demo_scan.misdirected_ranges)


# --- issue 13: what a results page shows --------------------------------------------------

def test_titles_fit_a_results_page(demo_scan):
    assert demo_scan.long_titles == [], listing(demo_scan.long_titles)


def test_every_code_page_has_its_own_description_naming_its_code(demo_scan):
    assert demo_scan.code_pages > 98_000
    shared = {d: pages for d, pages in demo_scan.descriptions.items() if len(pages) > 1}
    assert shared == {}, listing(shared.items())
    assert demo_scan.descriptions_without_code == [], listing(demo_scan.descriptions_without_code)


def test_every_page_with_breadcrumbs_has_breadcrumb_json_ld(demo_scan):
    assert demo_scan.pages_with_breadcrumbs > 98_000
    assert demo_scan.missing_breadcrumb_json_ld == [], listing(demo_scan.missing_breadcrumb_json_ld)


def test_home_page_has_website_and_search_action(demo_site: Path):
    soup = BeautifulSoup((demo_site / "index.html").read_text(encoding="utf-8"), "html.parser")
    graph = [json.loads(s.string) for s in soup.find_all("script", type="application/ld+json")]
    items = [i for g in graph for i in (g if isinstance(g, list) else [g])]
    website = next(i for i in items if i["@type"] == "WebSite")
    action = website["potentialAction"]
    assert action["@type"] == "SearchAction"
    template = action["target"]["urlTemplate"] if isinstance(action["target"], dict) else action["target"]
    assert template == "https://demo.example/search/?q={search_term_string}"
    assert "search_term_string" in action["query-input"]


def test_sitemap_lists_every_page_with_a_lastmod(demo_site: Path, demo_scan):
    index = (demo_site / "sitemap.xml").read_text(encoding="utf-8")
    files = re.findall(r"<loc>https://demo\.example(/sitemap-\d+\.xml)</loc>", index) or ["/sitemap.xml"]
    urls: dict[str, str] = {}
    for name in files:
        text = (demo_site / name.lstrip("/")).read_text(encoding="utf-8")
        for block in re.findall(r"<url>(.*?)</url>", text, re.S):
            loc = re.search(r"<loc>(.*?)</loc>", block)[1]
            lastmod = re.search(r"<lastmod>(\d{4}-\d{2}-\d{2})</lastmod>", block)
            urls[html.unescape(urlparse(loc).path)] = lastmod[1] if lastmod else ""
    pages = {url_of(f) for f in demo_scan.files if f == "index.html" or f.endswith("/index.html")}
    assert set(urls) == pages
    undated = [u for u, d in urls.items() if not d]
    assert undated == [], listing(undated)
    # an official ICD-10-CM entry is dated by its release (April 1, 2026)
    assert urls["/icd-10-cm/S72/S72.001/S72.001A/"] == "2026-04-01"


def test_the_scan_reports_each_page_of_a_defect_that_pages_share(tmp_path: Path):
    notes = ('<section class="notes" id="notes"><ul><li>, a comma bullet</li></ul>'
             '<p>Excludes1: see O70-O71 and <a href="/icd-10-cm/A00-B99/">C00-D49</a></p>'
             '<div class="seventh-characters"><table><tbody><tr><th scope="row">A</th><td>initial</td></tr>'
             '<tr><th scope="row"></th><td>orphan</td></tr></tbody></table></div></section>')
    for code in ("A00.0", "A00.1"):
        folder = tmp_path / "icd-10-cm" / code
        folder.mkdir(parents=True)
        (folder / "index.html").write_text(
            f'<html><head><title>{code}</title></head><body><a href="/icd-10-cm/Z99/">x</a>{notes}</body></html>')
    found = scan(tmp_path, workers=1)
    pages = ["icd-10-cm/A00.0/index.html", "icd-10-cm/A00.1/index.html"]
    assert found.pages_with_notes == 2 and found.comma_bullets == pages
    missing = "no index.html in that folder (404)"
    hrefs = ["/icd-10-cm/Z99/", "/icd-10-cm/A00-B99/"]  # in the order of the page
    assert found.bad_links == [(page, href, missing) for page in pages for href in hrefs]
    assert found.unlinked_ranges == {"O70-O71": 2}
    assert found.misdirected_ranges == [(page, "C00-D49", "/icd-10-cm/A00-B99/") for page in pages]
    assert [page for page, _row in found.orphan_rows] == pages
    assert found.seventh_tables == 2 and found.seventh_rows == 4 and found.ranges_in_notes == 4
