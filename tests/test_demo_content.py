"""The repository's own content/: every record published, cross-linked, nothing protected leaked."""
from __future__ import annotations

import html
import re
from pathlib import Path

import yaml

from conftest import ROOT, broken_links, page, public_files

CONTENT = ROOT / "content"
SETTINGS = yaml.safe_load((CONTENT / "site.yaml").read_text(encoding="utf-8"))
PROTECTED = {s["title"] for s in SETTINGS["sections"] if s["access"] == "protected"}


def records():
    for path in sorted(CONTENT.glob("*/*.md")):
        front, body = path.read_text(encoding="utf-8")[4:].split("\n---\n", 1)
        yield path, yaml.safe_load(front), body


def protected_passages(body: str, protected_titles: set[str]):
    """Plain-text passages (40+ characters) of a record's protected sections, read from the Markdown."""
    for section in re.split(r"^## ", body, flags=re.M)[1:]:
        title, _, text = section.partition("\n")
        if title.strip() not in protected_titles:
            continue
        for line in text.splitlines():
            plain = re.sub(r"\[\[([^\]]+)\]\]", r"\1", line)
            plain = re.sub(r"[*_`#>]|^\s*[-\d.]+\s", "", plain).strip()
            for passage in re.split(r"(?<=[.:;!?])\s+", plain):
                if len(passage) >= 40:
                    yield passage[:80]


def normalised(text: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def test_every_record_has_its_page(demo_site: Path):
    for path, front, _ in records():
        soup = page(demo_site, f"/{front['code_set']}/{front['code']}/")
        assert front["code"] in soup.find("h1").get_text()
        assert soup.select_one("p.descriptor").get_text() == front["descriptor"]


def test_demo_covers_the_spine_injection_family_and_its_drugs_and_diagnoses(demo_site: Path):
    codes = {front["code"]: front for _, front, _ in records()}
    family = [str(c) for c in range(62320, 62328)]
    assert set(family) <= set(codes) and "62320-62327" in codes
    assert {"J1040", "J3301", "J1030"} <= set(codes)
    assert {"M54.16", "M54.17", "M48.061", "M51.16", "M54.50"} <= set(codes)
    for code in family:
        soup = page(demo_site, f"/cpt/{code}/")
        assert len(soup.select("section.protected-section")) >= 4
        assert soup.select_one("#common-language").get_text(strip=True)
        assert soup.select_one("p.paraphrase-note")


def test_no_protected_passage_appears_in_any_public_file(demo_site: Path):
    published = "\n".join(normalised(text) for _, text in public_files(demo_site))
    checked, leaked = 0, []
    for path, front, body in records():
        titles = PROTECTED | {t for t, a in (front.get("section_access") or {}).items() if a == "protected"}
        for passage in protected_passages(body, titles):
            checked += 1
            if normalised(passage) in published:
                leaked.append((path.name, passage))
    assert checked > 200, "the demo has substantive protected sections to check"
    assert leaked == []


def test_demo_links_resolve(demo_site: Path):
    assert broken_links(demo_site) == []


def test_icd_hierarchy_shows_as_breadcrumbs_and_children(demo_site: Path):
    soup = page(demo_site, "/icd-10-cm/M54.16/")
    crumbs = [li.get_text(strip=True) for li in soup.select("nav.breadcrumbs li")]
    assert crumbs == ["Home", "ICD-10-CM", "M00-M99", "M50-M54", "M54", "M54.1", "M54.16"]
    category = page(demo_site, "/icd-10-cm/M54/")
    assert "/icd-10-cm/M54.5/" in [a["href"] for a in category.select("section.children a")]
    assert "Header" in category.select_one("ul.facts").get_text()
