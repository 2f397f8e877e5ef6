"""Issue 13: the order a coder reads a page in, per kind of page, and the home page.

On every kind of page the blocks of the article come in this order (each where the page has
it): the code's official description (with its source and copyright line), the common language
description, the assistant box, the instructional notes, the reference sections (history,
MS-DRG, GEMs, HCPCS file details) and other public sections, the protected sections, then the
navigation lists (children, siblings, related codes, previous / next). Read from the static
page, which is what a visitor without JavaScript, or a guest whose meter is spent, gets.
"""
from __future__ import annotations

import re
from pathlib import Path

import icdfacts
import pytest
from conftest import ROOT, page

RANK = {"official": 0, "common": 1, "assistant": 2, "notes": 3, "public": 4, "protected": 5, "navigation": 6}


def kind_of(block) -> str | None:
    classes = set(block.get("class") or [])
    if block.name == "section" and "official-description" in classes:
        return "official"
    if block.name == "p" and "descriptor" in classes:  # a range page's official descriptor
        return "official"
    if block.get("id") == "common-language":
        return "common"
    if block.name == "aside" and "assistant" in classes:
        return "assistant"
    if block.get("id") == "notes":
        return "notes"
    if block.name == "section" and "protected-section" in classes:
        return "protected"
    if block.name == "section" and "public-section" in classes:
        return "public"
    if classes & {"children", "related", "siblings", "pager"}:
        return "navigation"
    return None


def blocks(soup) -> list[tuple[str, str]]:
    article = soup.find("article")
    found = []
    for block in article.find_all(["section", "aside", "nav", "p"], recursive=False):
        kind = kind_of(block)
        if kind:
            found.append((kind, block.get("id") or " ".join(block.get("class") or [])))
    return found


def assert_reading_order(soup, url: str) -> list[str]:
    found = blocks(soup)
    kinds = [k for k, _ in found]
    ranks = [RANK[k] for k in kinds]
    assert ranks == sorted(ranks), f"{url}: {found}"
    return kinds


PAGES = {
    # url: the blocks that page must have, in order
    "/cpt/623/62326/": ["official", "common", "assistant", "protected", "navigation"],
    "/hcpcs/J/J1040/": ["official", "common", "assistant", "public", "protected", "navigation"],
    "/icd-10-cm/M54/M54.50/": ["official", "common", "assistant", "notes", "public", "navigation"],
    "/icd-10-cm/S72/S72.001/S72.001A/": ["official", "assistant", "notes", "public", "navigation"],
    "/icd-10-cm/M54/": ["official", "common", "assistant", "notes", "navigation"],
    "/icd-10-cm/S30/S30.1/S30.1XXA/": ["official", "assistant", "public", "navigation"],
    "/cpt/62320-62327/": ["official", "common", "navigation"],
    "/icd-10-cm/M50-M54/": ["official", "notes", "navigation"],
    "/icd-10-cm/M00-M99/": ["official", "notes", "navigation"],
    "/hcpcs/J/": ["official", "navigation"],
}


@pytest.mark.parametrize("url", sorted(PAGES))
def test_each_kind_of_page_reads_in_a_coders_order(demo_site: Path, url):
    kinds = assert_reading_order(page(demo_site, url), url)
    present = [k for i, k in enumerate(kinds) if k not in kinds[:i]]
    assert [k for k in present if k in PAGES[url]] == PAGES[url], f"{url}: {kinds}"


@pytest.mark.parametrize("url", sorted(u for u, kinds in PAGES.items() if "assistant" in kinds))
def test_code_pages_open_with_the_official_description_its_source_and_copyright_line(demo_site: Path, url):
    soup = page(demo_site, url)
    official = soup.select_one("article section.official-description")
    heading = official.find("h2").get_text(strip=True)
    paraphrase = official.select_one("p.paraphrase-note") is not None
    # a CPT page without the AMA's licence shows our own words and says so, never "official"
    assert heading == ("Description" if paraphrase else "Official Description"), url
    assert official.select_one("p.descriptor").get_text(strip=True)
    assert official.select_one("p.copyright-line").get_text(strip=True)
    if not paraphrase:
        assert official.select_one("p.source").get_text(strip=True).startswith("Source: "), url
    assistant = soup.select_one("article aside.assistant")
    assert assistant.find("h2").get_text(strip=True).startswith("Have a question about"), url


def test_the_official_notes_never_sit_below_a_locked_section(demo_site: Path):
    """Every demo record page with both notes and protected sections (the editors' ICD-10-CM records)."""
    checked = 0
    for record in sorted((ROOT / "content" / "icd-10-cm").glob("*.md")):
        code = record.stem
        from codepages.codesets import url_path
        soup = page(demo_site, url_path("icd-10-cm", code))
        kinds = assert_reading_order(soup, code)
        if "notes" in kinds and "protected" in kinds:
            assert kinds.index("notes") < kinds.index("protected")
            checked += 1
    assert checked >= 10


# --- the home page ----------------------------------------------------------------------------

def test_the_home_page_lists_every_icd_10_cm_chapter(demo_site: Path):
    soup = page(demo_site, "/")
    listed = [a.select_one("span.code").get_text() for a in soup.select("ol.chapter-list a")]
    chapters = {k for k in icdfacts.release(2026).keys if "-" in k and icdfacts.chapter_of(k) is not None and
                (k.split("-")[0], k.split("-")[1]) in icdfacts.CHAPTERS}
    assert set(listed) == {f"{low}-{high}" for low, high in icdfacts.CHAPTERS} == chapters
    assert len(listed) == 22


def test_the_home_page_lists_every_hcpcs_section_and_cpt_range(demo_site: Path):
    soup = page(demo_site, "/")
    cards = {card.find("h2").get_text(strip=True): card for card in soup.select("section.code-set-card")}
    hcpcs_file = ROOT / "content" / "releases" / "hcpcs" / "HCPC2020_OCT_ANWEB.txt"
    letters = {line[0] for line in hcpcs_file.read_bytes().decode("ascii").split("\r\n") if line[10:11] == "3"}
    hcpcs = {a["href"] for a in cards["HCPCS Level II"].find_all("a", href=True)}
    assert {f"/hcpcs/{letter}/" for letter in letters} <= hcpcs
    assert "/hcpcs/modifiers/" in hcpcs
    ranges = {p.stem for p in (ROOT / "content" / "cpt").glob("*-*.md")}
    assert ranges and {f"/cpt/{r}/" for r in ranges} <= {a["href"] for a in cards["CPT®"].find_all("a", href=True)}


def test_the_home_page_counts_codes_with_thousands_separators(demo_site: Path):
    soup = page(demo_site, "/")
    counts = {card.find("h2").get_text(strip=True): card.select_one("p.count").get_text(strip=True)
              for card in soup.select("section.code-set-card")}
    icd = len([k for k in icdfacts.release(2026).keys if "-" not in k])  # categories and codes, no blocks
    assert counts["ICD-10-CM"] == f"{icd:,} codes" == "98,186 codes"
    assert re.fullmatch(r"\d{1,3}(,\d{3})* codes?", counts["HCPCS Level II"])
    cpt = len([p for p in (ROOT / "content" / "cpt").glob("*.md") if "-" not in p.stem])
    assert counts["CPT®"] == f"{cpt:,} codes"


def test_the_home_page_has_one_prominent_search_box(demo_site: Path):
    soup = page(demo_site, "/")
    form = soup.select_one("main form[role=search]")
    assert form["action"] == "/search/" and form.find("input", attrs={"name": "q"})
    label = soup.find("label", attrs={"for": form.find("input")["id"]})
    assert label and label.get_text(strip=True)
