"""The valid fixture site, read as a visitor would read it."""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse

from conftest import build_in_process, build_project, clean_build_of, make_project, page, public_files, tree_digest
from sitescan import bad_links

import codepages.catalogue

SECRET = re.compile(r"SECRET-[A-Z0-9.-]+")


def test_every_record_has_a_page_with_its_title(fixture_site: Path):
    # titles fit a results page (65 characters): a long descriptor is shortened at a word
    for url, title, heading in [
        ("/cpt/623/62323/", "CPT® 62323: Fixture lumbar injection with imaging… | Codepages", "CPT® Code 62323"),
        ("/cpt/623/62322/", "CPT® 62322: Fixture lumbar injection without… | Codepages", "CPT® Code 62322"),
        ("/cpt/62320-62327/", "CPT® 62320-62327: Fixture range of spinal injection… | Codepages",
         "CPT® codes 62320-62327"),
        ("/hcpcs/J/J1040/", "HCPCS J1040: Injection, methylprednisolone acetate… | Codepages",
         "HCPCS Code J1040"),
        ("/icd-10-cm/M54/M54.16/", "ICD-10-CM M54.16: Radiculopathy, lumbar region | Codepages",
         "ICD-10-CM Code M54.16"),
    ]:
        soup = page(fixture_site, url)
        assert soup.title.string == title
        assert len(title) <= 70
        assert soup.find("h1").get_text(" ", strip=True) == heading


def test_code_page_shows_public_text_and_placeholders_with_stable_ids(fixture_site: Path):
    soup = page(fixture_site, "/cpt/623/62323/")
    main = soup.find("main")
    assert "PUBLIC-62323 A needle places medicine" in main.get_text()
    protected = {s["id"]: s for s in main.select("section.protected-section")}
    assert list(protected) == ["summary", "coding-tips", "icd-10-cm-crosswalk", "related-hcpcs", "billing-faq"]
    for section in protected.values():
        text = " ".join(section.get_text(" ").split())
        assert "Register to view content" in text and "Create a free account to unlock this content" in text
        assert section.find("div", class_="locked").has_attr("data-pagefind-ignore")
    assert soup.select_one("p.paraphrase-note"), "a demo CPT descriptor says it is a paraphrase"
    assert "American Medical Association" in soup.find("footer").get_text()


def test_no_protected_text_in_any_public_file(fixture_site: Path):
    leaks = [(p.name, SECRET.findall(text)) for p, text in public_files(fixture_site) if SECRET.search(text)]
    assert leaks == []


def test_a_record_can_protect_a_public_section(fixture_site: Path):
    soup = page(fixture_site, "/icd-10-cm/M54/M54.16/")
    assert soup.select_one("section.protected-section#common-language")
    # the protected text is not the description: it names the code and its descriptor
    assert soup.find("meta", attrs={"name": "description"})["content"] == \
        "ICD-10-CM Code M54.16: Radiculopathy, lumbar region."


def test_internal_links_resolve(fixture_site: Path):
    assert bad_links(fixture_site) == []


def test_breadcrumbs_related_and_assistant_box(fixture_site: Path):
    soup = page(fixture_site, "/cpt/623/62323/")
    crumbs = [li.get_text(strip=True) for li in soup.select("nav.breadcrumbs li")]
    assert crumbs == ["Home", "CPT®", "62320-62327", "62323"]
    related = [a["href"] for a in soup.select("section.related a")]
    assert related == ["/cpt/623/62322/"]
    box = soup.find("aside", class_="assistant")
    assert box.find("h2").get_text() == "Have a question about CPT® Code 62323?"
    assert box.find("a")["href"] == "https://assistant.codepages.example/ask?code=62323&set=cpt"
    range_page = page(fixture_site, "/cpt/62320-62327/")
    assert [a["href"] for a in range_page.select("section.children a")] == ["/cpt/623/62322/", "/cpt/623/62323/"]


def test_metadata_canonical_open_graph_and_json_ld(fixture_site: Path):
    soup = page(fixture_site, "/cpt/623/62323/")
    assert soup.find("link", rel="canonical")["href"] == "https://fixture.example/cpt/623/62323/"
    assert soup.find("meta", property="og:url")["content"] == "https://fixture.example/cpt/623/62323/"
    graph = json.loads(soup.find("script", type="application/ld+json").string)
    data = next(item for item in graph if item["@type"] == "WebPage")
    crumbs = next(item for item in graph if item["@type"] == "BreadcrumbList")
    assert [(c["position"], c["name"], c["item"]) for c in crumbs["itemListElement"]] == [
        (1, "Home", "https://fixture.example/"), (2, "CPT®", "https://fixture.example/cpt/"),
        (3, "62320-62327", "https://fixture.example/cpt/62320-62327/"), (4, "62323", "https://fixture.example/cpt/623/62323/")]
    assert data["about"] == {"@type": "MedicalCode", "codeValue": "62323", "codingSystem": "CPT",
                             "name": "Fixture lumbar injection with imaging guidance"}
    assert data["isAccessibleForFree"] is False
    assert data["hasPart"]["cssSelector"] == ".protected-section"
    assert soup.select(data["hasPart"]["cssSelector"]), "the selector names the protected sections"


def test_sitemap_robots_404_and_cache_busted_css(fixture_site: Path):
    sitemap = (fixture_site / "sitemap.xml").read_text()
    locations = re.findall(r"<loc>(.*?)</loc>", sitemap)
    assert "https://fixture.example/icd-10-cm/M54/M54.16/" in locations
    pages = {"/" + p.parent.relative_to(fixture_site).as_posix() + "/" for p in fixture_site.rglob("index.html")}
    assert {urlparse(u).path.replace("/./", "/") for u in locations} == {p.replace("/./", "/") for p in pages}
    assert "Sitemap: https://fixture.example/sitemap.xml" in (fixture_site / "robots.txt").read_text()
    assert page(fixture_site, "/404.html").find("h1").get_text() == "Page not found"
    css = page(fixture_site, "/cpt/623/62323/").find("link", rel="stylesheet")["href"]
    assert re.fullmatch(r"/assets/site\.[0-9a-f]{10}\.css", css)
    assert (fixture_site / css.lstrip("/")).stat().st_size < 12_000


def test_base_url_option_overrides_settings(tmp_path):
    project = make_project(tmp_path)
    result = build_in_process(project, "--base-url", "https://staging.example/")
    assert result.returncode == 0, result.stderr
    soup = page(project / "site", "/hcpcs/J/J1040/")
    assert soup.find("link", rel="canonical")["href"] == "https://staging.example/hcpcs/J/J1040/"


def test_summary_line_and_rebuild_replaces_the_site(tmp_path):
    project = make_project(tmp_path)
    first = build_in_process(project)
    summary = re.fullmatch(r"Built 424 pages \(cpt 4, hcpcs 1, icd-10-cm 412, other 7\) in \d+\.\d\d s → site/ "
                           r"\(largest folder (\S+) (\d+) entries\)", first.stdout.splitlines()[-1])
    assert summary, first.stdout
    folders = {path: len(list(path.iterdir())) for path in (project / "site").rglob("*") if path.is_dir()}
    largest = max(folders.items(), key=lambda item: item[1])
    assert (summary[1], int(summary[2])) == (largest[0].relative_to(project / "site").as_posix() + "/", largest[1])
    (project / "site" / "stale.html").write_text("left from an old build")
    template = project / "templates" / "404.html"
    template.write_text(template.read_text().replace("Page not found", "No such page"))
    assert build_in_process(project).returncode == 0
    assert not (project / "site" / "stale.html").exists(), "a full build replaces the whole folder"
    assert page(project / "site", "/404.html").find("h1").get_text() == "No such page"


def test_rebuild_with_nothing_changed_writes_nothing(tmp_path):
    project = make_project(tmp_path)
    assert build_in_process(project).returncode == 0
    before = tree_digest(project / "site")
    again = build_in_process(project)
    assert again.returncode == 0
    assert again.stdout.splitlines()[-1].startswith("Nothing changed: site/ is up to date")
    assert tree_digest(project / "site") == before


def test_incremental_rebuild_after_edit_delete_and_add_equals_a_clean_build(tmp_path):
    project = make_project(tmp_path)
    assert build_in_process(project).returncode == 0
    content = project / "content"
    edited = content / "hcpcs" / "J1040.md"
    edited.write_text(edited.read_text().replace("Injection, methylprednisolone acetate, 80 mg", "Injection, MPA, 80 mg")
                      .replace("PUBLIC-J1040", "EDITED-J1040"))
    (content / "cpt" / "62322.md").unlink()
    for path in content.rglob("*.md"):
        path.write_text(path.read_text().replace('"62322"', '"62323"').replace("[[62322]]", "62322")
                        .replace('related: ["62323"]\n', "").replace('related: ["62322"]\n', ""))
    (content / "cpt" / "62324.md").write_text(
        "---\ncode: \"62324\"\ncode_set: cpt\ndescriptor: Added later\nparent: 62320-62327\nrelated: [J1040]\n---\n"
        "## Common language description\n\nPUBLIC-62324 new.\n\n## Summary\n\nSECRET-SUMMARY-62324 new.\n")
    result = build_in_process(project)
    assert result.returncode == 0, result.stderr
    assert "files rewritten" in result.stdout.splitlines()[-1], "only the touched pages are rendered again"
    assert not (project / "site" / "cpt" / "62322").exists()

    clean = clean_build_of(project, tmp_path / "clean")
    assert tree_digest(project / "site", times=False) == tree_digest(clean, times=False)


def rebuilt_after_edit(project: Path, name: str, old: str, new: str):
    """Replace `old` by `new` in content/`name`, then build in this process; the build's run."""
    path = project / "content" / name
    text = path.read_text(encoding="utf-8")
    assert old in text, (name, old)
    path.write_text(text.replace(old, new), encoding="utf-8")
    result = build_in_process(project)
    assert result.returncode == 0, result.stderr
    return result


def test_rebuilds_in_one_process_equal_a_clean_build_after_every_kind_of_edit(tmp_path, monkeypatch):
    """The preview rebuilds in one process: an edit that leaves every record where it was (text,
    descriptor, references) puts the new records into the last catalogue instead of resolving
    100,000 records again; an edit that moves one (status, parent) resolves them all. Either
    way the site is the one a clean build makes."""
    project = make_project(tmp_path)
    assert build_in_process(project).returncode == 0
    resolved: list[int] = []
    full_resolve = codepages.catalogue._resolve
    monkeypatch.setattr(codepages.catalogue, "_resolve", lambda *args: resolved.append(1) or full_resolve(*args))
    edits = [  # (file, old, new, whether every record keeps its place)
        ("hcpcs/J1040.md", "PUBLIC-J1040 A long-acting", "PUBLIC-J1040 An edited long-acting", True),
        ("hcpcs/J1040.md", "acetate, 80 mg", "acetate (edited), 80 mg", True),
        ("hcpcs/J1040.md", 'cpt: ["62323"]', 'cpt: ["62322"]', True),
        ("cpt/62323.md", 'related: ["62322"]', 'related: ["62322", "62320-62327"]', True),
        ("cpt/62322.md", "status: revised\n", "", False),
        ("cpt/62323.md", "synonyms: [lumbar ESI]", "synonyms: [lumbar ESI, epidural]", True),
    ]
    for number, (name, old, new, in_place) in enumerate(edits):
        resolved.clear()
        rebuilt_after_edit(project, name, old, new)
        assert bool(resolved) != in_place, (name, new)
        clean = clean_build_of(project, tmp_path / f"clean-{number}")
        assert tree_digest(project / "site", times=False) == tree_digest(clean, times=False), (name, new)


def test_a_record_moved_under_another_parent_rebuilds_as_a_clean_build_does(tmp_path):
    """A range moved under another: every page below it shows new breadcrumbs, and its codes move
    to another search group. A code moved away from its range: the codes left there list other
    siblings. Each rebuild (in one process, as the preview does) equals a clean build."""
    project = make_project(tmp_path)
    (project / "content" / "cpt" / "62300-62399.md").write_text(
        "---\ncode: 62300-62399\ncode_set: cpt\ndescriptor: Fixture outer range\n---\n"
        "## Common language description\n\nAn outer fixture range.\n", encoding="utf-8")
    assert build_in_process(project).returncode == 0
    edits = [  # (file, old, new)
        ("cpt/62320-62327.md", "descriptor: Fixture range", "parent: 62300-62399\ndescriptor: Fixture range"),
        ("cpt/62322.md", "parent: 62320-62327", "parent: 62300-62399"),
        ("cpt/62320-62327.md", "parent: 62300-62399\n", ""),
    ]
    for number, (name, old, new) in enumerate(edits):
        result = rebuilt_after_edit(project, name, old, new)
        assert "files rewritten" in result.stdout.splitlines()[-1], "an update, not a full build"
        clean = clean_build_of(project, tmp_path / f"clean-{number}")
        assert tree_digest(project / "site", times=False) == tree_digest(clean, times=False), (name, new)


EARLY = "started before loading"


def test_pagefind_starts_before_loading_when_an_edit_changes_editors_text_and_the_site_equals_a_clean_build(
        tmp_path):
    """Pagefind runs on the word documents the edit is expected to give while the catalogue loads;
    the run is kept only when they are the documents the build then writes. M50.01 carries the
    release's inclusion terms ("Applicable to:"), which the guess keeps from the last build."""
    project = make_project(tmp_path)
    content = project / "content"
    (content / "icd-10-cm" / "M50.01.md").write_text(
        '---\ncode: M50.01\ncode_set: icd-10-cm\nsynonyms: ["high cervical myelopathy"]\n---\n'
        "## Common language description\n\nPUBLIC-M50.01 The disc presses on the spinal cord high in the neck.\n")
    assert build_in_process(project).returncode == 0
    edits = [  # (file, old, new, whether the early run is kept)
        ("icd-10-cm/M50.01.md", "presses on the spinal cord", "squeezes the spinal cord", True),
        ("icd-10-cm/M50.01.md", '["high cervical myelopathy"]', '["C2-C3 myelopathy", "C3-C4 myelopathy"]', True),
        ("icd-10-cm/M50.01.md", 'synonyms: ["C2-C3 myelopathy", "C3-C4 myelopathy"]\n', "", True),
        ("cpt/62323.md", "guided by imaging.", "guided by fluoroscopy or CT.", True),
        ("hcpcs/J1040.md", "acetate, 80 mg", "acetate (depot), 80 mg", False),  # the heading changes: not foreseen
        ("hcpcs/J1040.md", "PUBLIC-J1040 A long-acting", "PUBLIC-J1040 A slow-release", True),
    ]
    for number, (name, old, new, kept) in enumerate(edits):
        result = rebuilt_after_edit(project, name, old, new)
        assert "Pagefind index indexed" in result.stdout, (name, new)
        assert (EARLY in result.stdout) == kept, (name, new, result.stdout)
        clean = clean_build_of(project, tmp_path / f"clean-{number}")
        assert tree_digest(project / "site", times=False) == tree_digest(clean, times=False), (name, new, result.stdout)
    for _ in range(200):  # the early runs' folders are deleted in the background
        if not [p for p in project.rglob(".pagefind-*")]:
            break
        time.sleep(0.05)
    assert not [p for p in project.rglob(".pagefind-*")], "the early runs' folders are removed"


def test_an_edit_search_does_not_see_starts_no_early_pagefind_run(tmp_path):
    project = make_project(tmp_path)
    assert build_in_process(project).returncode == 0
    record = project / "content" / "cpt" / "62323.md"
    record.write_text(record.read_text(encoding="utf-8").replace("SECRET-SUMMARY-62323 protected",
                                                                 "SECRET-SUMMARY-62323 edited protected"))
    result = build_in_process(project)
    assert result.returncode == 0, result.stderr
    assert "search: index unchanged" in result.stdout and EARLY not in result.stdout
    assert not [path for path, text in public_files(project / "site") if "edited protected" in text]


def test_parallel_rendering_writes_the_same_site(tmp_path):
    serial = make_project(tmp_path / "serial")
    assert build_in_process(serial).returncode == 0
    # a child process: the render workers are forked, which a test process (threads of
    # Playwright, a big heap) should not do, and the threshold is read from the environment
    parallel = make_project(tmp_path / "parallel")
    os.environ["CODEPAGES_PARALLEL_FROM"] = "1"
    try:
        result = build_project(parallel)
    finally:
        del os.environ["CODEPAGES_PARALLEL_FROM"]
    assert result.returncode == 0, result.stderr
    assert tree_digest(parallel / "site", times=False) == tree_digest(serial / "site", times=False)


def test_release_entries_get_pages_with_hierarchy_and_notes(fixture_site: Path):
    soup = page(fixture_site, "/icd-10-cm/S72/S72.001/S72.001A/")
    assert soup.find("h1").get_text() == "ICD-10-CM Code S72.001A"
    assert soup.select_one("p.descriptor").get_text() == (
        "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture")
    crumbs = [li.get_text(strip=True) for li in soup.select("nav.breadcrumbs li")]
    assert crumbs == ["Home", "ICD-10-CM", "S00-T88", "S70-S79", "S72", "S72.0", "S72.00", "S72.001", "S72.001A"]
    assert "Billable code" in soup.select_one("ul.facts").get_text()
    notes = soup.select_one("section#notes")
    table = notes.select_one("div.seventh-characters table")
    rows = {tr.th.get_text(): tr for tr in table.select("tbody tr")}
    assert rows["A"].td.get_text(" ", strip=True).startswith("initial encounter for closed fracture")
    assert rows["A"].get("aria-current") == "true" and "this code" in rows["A"].get_text(), "its character is marked"
    assert not [tr for tr in rows.values() if tr is not rows["A"] and tr.get("aria-current")]
    sources = [h.find("a")["href"] for h in notes.select("div.notes-inherited > h3.notes-from")]
    assert "/icd-10-cm/S72/" in sources, "the category's notes are one group, labelled with where they apply from"
    assert len(sources) == len(set(sources)), "one label per ancestor"

    header = page(fixture_site, "/icd-10-cm/S72/S72.001/")
    assert "Header" in header.select_one("ul.facts").get_text()
    assert "/icd-10-cm/S72/S72.001/S72.001A/" in [a["href"] for a in header.select("section.children a")]


def test_codes_named_in_notes_link_to_their_pages(fixture_site: Path):
    soup = page(fixture_site, "/icd-10-cm/M54/")
    linked = [a["href"] for a in soup.select("section#notes li > a")]
    assert linked and all((fixture_site / href.strip("/") / "index.html").is_file() for href in linked)


def test_single_category_block_and_its_category_both_have_pages(fixture_site: Path):
    block = page(fixture_site, "/icd-10-cm/B10-B10/")
    assert block.find("h1").get_text() == "ICD-10-CM block B10-B10"
    assert "/icd-10-cm/B10/" in [a["href"] for a in block.select("section.children a")]
    assert page(fixture_site, "/icd-10-cm/B10/").find("h1").get_text() == "ICD-10-CM Code B10"


def test_editor_record_is_merged_on_top_of_the_official_entry(fixture_site: Path):
    soup = page(fixture_site, "/icd-10-cm/M54/M54.16/")
    assert soup.select_one("p.descriptor").get_text() == "Radiculopathy, lumbar region"
    assert soup.select_one("section.protected-section#summary")
    assert soup.select_one("section#notes"), "official notes are kept"
