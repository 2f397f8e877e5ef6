"""The repository's own content/: every record published, cross-linked, nothing protected leaked."""
from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import yaml
from conftest import ROOT, code_page, page
from sitescan import bad_links

from codepages.codesets import url_path

CONTENT = ROOT / "content"
SETTINGS = yaml.safe_load((CONTENT / "site.yaml").read_text(encoding="utf-8"))
PROTECTED = {s["title"] for s in SETTINGS["sections"] if s["access"] == "protected"}


def records():
    for path in sorted(CONTENT.glob("*/*.md")):
        front, body = path.read_text(encoding="utf-8")[4:].split("\n---\n", 1)
        yield path, yaml.safe_load(front), body


def record_pages(site: Path) -> list[Path]:
    return [site / url_path(front["code_set"], front["code"]).strip("/") / "index.html" for _, front, _ in records()]


def protected_passages(body: str, protected_titles: set[str]):
    """Runs of plain words (30+ characters) from a record's protected sections, as Markdown has them.

    Only text that a page would carry verbatim is taken (no links, emphasis or code marks), so
    a leak of the section into any public file shows as an exact match.
    """
    for section in re.split(r"^## ", body, flags=re.M)[1:]:
        title, _, text = section.partition("\n")
        if title.strip() not in protected_titles:
            continue
        for run in re.split(r"\[\[[^\]]*\]\]|\[[^\]]*\]\([^)]*\)|[*_`#>|]|^\s*[-\d]+[.)]?\s", text, flags=re.M):
            for line in run.splitlines():
                line = " ".join(line.split())
                if len(line) >= 30:
                    yield line


def files_holding(passages: set[str], folder: Path, patterns: Path) -> list[str]:
    """The files under `folder` that hold any of `passages`, found in one pass over every file
    (ripgrep matches hundreds of fixed strings at once; -uuu: hidden, ignored and binary files too)."""
    patterns.write_text("\n".join(sorted(passages)) + "\n", encoding="utf-8")
    found = subprocess.run(["rg", "-uuu", "--files-with-matches", "--fixed-strings", "--file", str(patterns), str(folder)],
                           capture_output=True, text=True)
    assert found.returncode in (0, 1), found.stderr  # 1: none found
    return sorted(found.stdout.splitlines())


def test_every_record_has_its_page(demo_site: Path):
    for _, front, _ in records():
        soup = code_page(demo_site, front["code_set"], front["code"])
        assert front["code"] in soup.find("h1").get_text()
        if "descriptor" in front:
            assert soup.select_one("p.descriptor").get_text() == front["descriptor"]


def test_demo_covers_the_spine_injection_family_and_its_drugs_and_diagnoses(demo_site: Path):
    codes = {front["code"]: front for _, front, _ in records()}
    family = [str(c) for c in range(62320, 62328)]
    assert set(family) <= set(codes) and "62320-62327" in codes
    assert {"J1040", "J3301", "J1030"} <= set(codes)
    assert {"M54.16", "M54.17", "M48.061", "M51.16", "M54.50"} <= set(codes)
    for code in family:
        soup = code_page(demo_site, "cpt", code)
        assert len(soup.select("section.protected-section")) >= 4
        assert soup.select_one("#common-language").get_text(strip=True)
        assert soup.select_one("p.paraphrase-note")


def test_no_protected_passage_appears_in_any_public_file(demo_site: Path, tmp_path: Path):
    passages = set()
    for _, front, body in records():
        titles = PROTECTED | {t for t, a in (front.get("section_access") or {}).items() if a == "protected"}
        for passage in protected_passages(body, titles):
            passages.update({passage, html.escape(passage), html.escape(passage, quote=False)})
    assert len(passages) > 300, "the demo has substantive protected sections to check"
    leaks = files_holding(passages, demo_site, tmp_path / "passages.txt")
    assert leaks == [], f"protected text found in: {leaks[:20]}"


def test_the_leak_scan_finds_a_leak(demo_site: Path, tmp_path: Path):
    _, front, body = next(r for r in records() if r[1]["code"] == "62326")
    passage = next(protected_passages(body, PROTECTED))
    leaky = tmp_path / "site"
    leaky.mkdir()
    (leaky / "page.html").write_text(f"<p>{html.escape(passage)}</p>")
    # where a scan could skip it: a hidden folder, a file .gitignore names, a file with a NUL byte
    hidden = leaky / ".cache" / "page.bin"
    hidden.parent.mkdir()
    hidden.write_bytes(b"\0" + passage.encode() + b"\0")
    (leaky / ".gitignore").write_text("*\n")
    found = files_holding({passage, html.escape(passage)}, leaky, tmp_path / "passages.txt")
    assert found == sorted([str(hidden), str(leaky / "page.html")])


def test_demo_links_resolve(demo_site: Path):
    home_and_indexes = [demo_site / "index.html"] + [demo_site / key / "index.html" for key in ("cpt", "hcpcs", "icd-10-cm")]
    assert bad_links(demo_site, record_pages(demo_site) + home_and_indexes) == []


def test_icd_hierarchy_shows_as_breadcrumbs_and_children(demo_site: Path):
    soup = page(demo_site, "/icd-10-cm/M54/M54.16/")
    crumbs = [li.get_text(strip=True) for li in soup.select("nav.breadcrumbs li")]
    assert crumbs == ["Home", "ICD-10-CM", "M00-M99", "M40-M54", "M50-M54", "M54", "M54.1", "M54.16"]
    category = page(demo_site, "/icd-10-cm/M54/")
    assert "/icd-10-cm/M54/M54.5/" in [a["href"] for a in category.select("section.children a")]
    assert "Header" in category.select_one("ul.facts").get_text()
