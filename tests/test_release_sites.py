"""Issue 12 through whole builds of small fixture projects: HCPCS Level II from the CMS quarterly
file (and the quarter before it), CPT from an operator's licensed data files in licensed and in
paraphrase mode, the merge rules, and bad release files reported by the command line.

Facts about the HCPCS fixture come from the file's own columns (CMS's record layout, read
here) and from content/releases/hcpcs/README.md, which lists the real quarterly changes of
those rows. The CPT files are written here, in our own words, with a marker in every licensed
field, so that where licensed text goes can be seen in every file of the site.
"""
from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, build_in_process, build_project, check_in_process, make_project, page, tree_digest

HCPCS = ROOT / "content" / "releases" / "hcpcs"
INVALID = Path(__file__).resolve().parent / "releases" / "invalid"
REFUSED = Path(__file__).resolve().parent / "releases" / "refused" / "HCPC2020_OCT_ANWEB.txt"
AMA_LINE = "CPT® copyright American Medical Association (fixture licence line). All rights reserved."


def text(node) -> str:
    return " ".join(node.get_text(" ").split()) if node is not None else ""


def settings_of(project: Path) -> dict:
    return yaml.safe_load((project / "content" / "site.yaml").read_text(encoding="utf-8"))


def save_settings(project: Path, data: dict) -> None:
    (project / "content" / "site.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                                                   encoding="utf-8")


def hcpcs_lines(path: Path) -> list[str]:
    return path.read_bytes().decode("ascii").split("\r\n")[:-1]


def hcpcs_codes(path: Path) -> tuple[set[str], set[str]]:
    """(codes, modifiers) of a CMS file: record id 3 in column 11 starts a code (columns 1-5),
    7 a modifier (columns 4-5)."""
    lines = hcpcs_lines(path)
    return {ln[:5] for ln in lines if ln[10] == "3"}, {ln[3:5] for ln in lines if ln[10] == "7"}


def with_hcpcs_release(project: Path, current: Path = HCPCS / "HCPC2020_OCT_ANWEB.txt",
                       previous: Path | None = HCPCS / "HCPC2020_JUL_ANWEB.txt") -> None:
    folder = project / "content" / "releases" / "hcpcs"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(current, folder / "HCPC2020_OCT_ANWEB.txt")
    release = {"path": "releases/hcpcs/HCPC2020_OCT_ANWEB.txt"}
    if previous is not None:
        shutil.copy(previous, folder / "HCPC2020_JUL_ANWEB.txt")
        release["previous"] = "releases/hcpcs/HCPC2020_JUL_ANWEB.txt"
    data = settings_of(project)
    data["code_sets"]["hcpcs"]["release"] = release
    with_source_sections(data)
    save_settings(project, data)


def with_source_sections(data: dict) -> None:
    """The sections the build fills from the HCPCS file, as content/site.yaml has them."""
    titles = [s["title"] for s in data["sections"]]
    if "Code history" not in titles:
        data["sections"][1:1] = [
            {"title": "Code history", "id": "code-history", "access": "public", "source": "history"},
            {"title": "HCPCS file details", "id": "hcpcs-details", "access": "public", "source": "hcpcs"}]


# --- CPT files in our own words, a marker in every licensed field ----------------------------

CPT_CODES = ["62320", "62321", "62322", "62323", "62324", "62325", "62326", "62327", "99213", "0101T"]
FIELDS = ("long", "medium", "short", "consumer")


def licensed(code: str, field: str) -> str:
    return f"Licensedtext {field} {code} zqx wording"


def write_cpt_files(project: Path) -> None:
    folder = project / "content" / "releases" / "cpt"
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["code\tlong\tmedium\tshort\tconsumer\tsection"]
    for code in CPT_CODES:
        section = "Spine injections, 62320-62327" if code.startswith("6232") else "Other fixture codes"
        rows.append("\t".join([code, *(licensed(code, f) for f in FIELDS), section]))
    (folder / "cpt.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def with_cpt_release(project: Path, mode: str, search: bool = False) -> None:
    write_cpt_files(project)
    data = settings_of(project)
    cpt = data["code_sets"]["cpt"]
    cpt["descriptor_source"] = mode
    if mode == "licensed":
        cpt["copyright"] = AMA_LINE
    cpt["release"] = {"name": "Fixture CPT data (our own words)", "version": "2026", "search_index_licensed_text": search,
                      "files": [{"path": "releases/cpt/cpt.tsv", "format": "tsv", "header": True,
                                 "columns": {f: f for f in ("code", *FIELDS, "section")}}]}
    save_settings(project, data)
    if mode == "licensed":  # the official fields come from the release: the records keep only their own
        for record in (project / "content" / "cpt").glob("*.md"):
            record.write_text(re.sub(r"^(descriptor|status): .*\n", "", record.read_text(encoding="utf-8"), flags=re.M),
                              encoding="utf-8")


def site_texts(site: Path):
    """Every file of the site as text, Pagefind's gzip files decompressed."""
    for path in site.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            yield path.relative_to(site).as_posix(), data.decode("utf-8", errors="replace")


def search_texts(site: Path):
    return [(name, t) for name, t in site_texts(site) if name.startswith(("search/", "pagefind/"))]


# --- HCPCS --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hcpcs_site(tmp_path_factory) -> Path:
    project = make_project(tmp_path_factory.mktemp("hcpcs"))
    with_hcpcs_release(project)
    current = project / "content" / "releases" / "hcpcs" / "HCPC2020_OCT_ANWEB.txt"
    # one cross-reference to a code of the file, so that it can be linked: C9055's (columns 205-209)
    lines = hcpcs_lines(current)
    index = next(i for i, ln in enumerate(lines) if ln[:5] == "C9055" and ln[10] == "3")
    assert lines[index][204:209] == "J1632"
    lines[index] = lines[index][:204] + "J1040" + lines[index][209:]
    current.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
    result = build_in_process(project)
    assert result.returncode == 0, result.stderr
    return project / "site"


def test_every_hcpcs_code_and_modifier_of_the_file_has_a_page(hcpcs_site: Path):
    codes, modifiers = hcpcs_codes(HCPCS / "HCPC2020_OCT_ANWEB.txt")
    assert (len(codes), len(modifiers)) == (51, 13)
    for code in codes:
        soup = page(hcpcs_site, f"/hcpcs/{code[0]}/{code}/")
        assert text(soup.find("h1")) == f"HCPCS Code {code}"
    for modifier in modifiers:
        assert text(page(hcpcs_site, f"/hcpcs/modifiers/{modifier}/").find("h1")) == f"HCPCS Modifier {modifier}"


def test_a_hcpcs_page_shows_the_descriptors_and_indicators_in_words(hcpcs_site: Path):
    soup = page(hcpcs_site, "/hcpcs/J/J1040/")
    official = soup.select_one("section.official-description")
    assert text(official.find("h2")) == "Official Description"
    assert text(official.select_one("p.descriptor")) == "Injection, methylprednisolone acetate, 80 mg"
    others = {text(dt): text(dt.find_next_sibling("dd")) for dt in official.select("dl dt")}
    assert others == {"Short descriptor": "Methylprednisolone 80 mg inj"}
    assert "October 2020" in text(official.select_one("p.source")) and "CMS" in text(official.select_one("p.source"))
    details = soup.select_one("section#hcpcs-details")
    facts: dict[str, list[str]] = {}
    for dt in details.select("dt"):
        sibling, values = dt.find_next_sibling(), []
        while sibling is not None and sibling.name == "dd":
            values.append(text(sibling))
            sibling = sibling.find_next_sibling()
        facts[text(dt)] = values
    assert facts["Medicare coverage"] == ["D: Special coverage instructions apply"]
    assert facts["Pricing"] == ["51: Drugs"]
    assert facts["BETOS"] == ["O1E: Other drugs"]
    assert facts["Type of service"] == ["1: Medical care", "P: Lump sum purchase of DME, prosthetics, orthotics"]
    history = {text(dt): text(dt.find_next_sibling("dd")) for dt in soup.select("section#code-history dt")}
    assert history["Added to HCPCS"] == "1982-01-01"


def test_a_discontinued_code_says_until_when_it_was_valid(hcpcs_site: Path):
    soup = page(hcpcs_site, "/hcpcs/C/C9055/")
    assert "Terminated" in text(soup.select_one("header.code-header .badge"))
    history = {text(dt): text(dt.find_next_sibling("dd")) for dt in soup.select("section#code-history dt")}
    assert history["Terminated"] == "Not valid for services after 2020-09-30"


def test_cross_references_link_to_codes_of_the_release_and_name_the_others(hcpcs_site: Path):
    linked = page(hcpcs_site, "/hcpcs/C/C9055/").select_one("section#hcpcs-details")
    cross = next(dt for dt in linked.select("dt") if text(dt) == "Cross reference").find_next_sibling("dd")
    assert [a["href"] for a in cross.select("a")] == ["/hcpcs/J/J1040/"]
    other = page(hcpcs_site, "/hcpcs/A/A4466/").select_one("section#hcpcs-details")
    cross = next(dt for dt in other.select("dt") if text(dt) == "Cross reference").find_next_sibling("dd")
    assert text(cross) == "A4467" and cross.find("a") is None  # A4467 is not in the file: no dead link


def test_letter_sections_and_ranges_are_browsable(hcpcs_site: Path):
    codes, modifiers = hcpcs_codes(HCPCS / "HCPC2020_OCT_ANWEB.txt")
    reached: set[str] = set()
    for letter in sorted({c[0] for c in codes}):
        section = page(hcpcs_site, f"/hcpcs/{letter}/")
        assert text(section.find("h1")) == f"HCPCS {letter} codes"
        for link in section.select("section.children a"):
            href = link["href"]
            listed = page(hcpcs_site, href)
            reached |= {text(s) for s in listed.select("section.children span.code")} | {text(link.select_one("span.code"))}
    assert codes <= reached
    assert "D" not in {c[0] for c in codes}
    index = page(hcpcs_site, "/hcpcs/")
    assert "/hcpcs/modifiers/" in {a["href"] for a in index.find_all("a", href=True)}
    listed = {text(s) for s in page(hcpcs_site, "/hcpcs/modifiers/").select("section.children span.code")}
    assert listed == modifiers


# the real changes between the July and October 2020 files (content/releases/hcpcs/README.md)
ADDED = {"C9060", "G1020", "J1437", "K1006", "Q4249", "T2047", "J5"}
CHANGED = {"E0880", "G0396", "J9305", "L8701", "A4226"}


def list_codes(site: Path, url: str) -> set[str]:
    soup = page(site, url)
    return {text(s) for s in soup.select("main ul.code-list > li > a > span.code")}


def test_the_quarters_new_codes_are_marked_and_listed(hcpcs_site: Path):
    assert list_codes(hcpcs_site, "/hcpcs/new/") == ADDED
    soup = page(hcpcs_site, "/hcpcs/J/J1437/")
    assert text(soup.select_one("header.code-header .badge")).startswith("New")


def test_the_quarters_changed_codes_are_marked_and_listed(hcpcs_site: Path):
    """U0003's record differs only in its action code (A, added, in July; N, no maintenance, in
    October): CMS made no change to it this quarter."""
    assert list_codes(hcpcs_site, "/hcpcs/revised/") == CHANGED
    soup = page(hcpcs_site, "/hcpcs/L/L8701/")
    assert text(soup.select_one("header.code-header .badge")).startswith("Revised")


def test_the_quarters_terminated_code_is_listed(hcpcs_site: Path):
    """C9055 was discontinued this quarter (action D, termination date 2020-09-30); A4466 ended
    long before and is only still listed by CMS."""
    lists = [url for url in ("/hcpcs/deleted/", "/hcpcs/terminated/") if (hcpcs_site / url.strip("/")).is_dir()]
    assert lists, "no list of the codes the quarter terminated"
    listed = set().union(*(list_codes(hcpcs_site, url) for url in lists))
    assert "C9055" in listed and "A4466" not in listed


def test_hcpcs_d_codes_in_the_file_are_refused_and_never_published(tmp_path: Path):
    project = make_project(tmp_path)
    with_hcpcs_release(project, REFUSED, None)
    (project / "content" / "hcpcs" / "J1040.md").unlink()
    for record in (project / "content").rglob("*.md"):
        record.write_text(record.read_text().replace("hcpcs: [J1040]", "hcpcs: []").replace("[[J1040]]", "J1040"))
    result = build_in_process(project)
    assert result.returncode == 0, result.stderr
    site = project / "site"
    lines = hcpcs_lines(REFUSED)
    refused = [ln for ln in lines if ln[10] == "3" and ln[0] == "D"]
    assert refused
    assert not (site / "hcpcs" / "D").exists()
    placeholder = [ln[11:91].strip() for ln in refused]
    leaks = [name for name, body in site_texts(site) if any(p and p in body for p in placeholder)]
    assert leaks == []


# --- CPT, licensed ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def licensed_site(tmp_path_factory) -> Path:
    project = make_project(tmp_path_factory.mktemp("licensed"))
    with_cpt_release(project, "licensed")
    result = build_in_process(project)
    assert result.returncode == 0, result.stderr
    return project / "site"


def test_every_code_of_the_licensed_files_has_a_page_with_its_official_description(licensed_site: Path):
    for code in CPT_CODES:
        soup = page(licensed_site, f"/cpt/{code[:3]}/{code}/")
        official = soup.select_one("section.official-description")
        assert text(official.find("h2")) == "Official Description", code
        assert text(official.select_one("p.descriptor")) == licensed(code, "long"), code
        assert AMA_LINE in text(official), code
        assert soup.select_one("p.paraphrase-note") is None


def test_licensed_text_is_kept_out_of_every_search_file(licensed_site: Path):
    markers = [licensed(c, f) for c in CPT_CODES for f in FIELDS]
    found = [(name, m) for name, body in search_texts(licensed_site) for m in markers if m in body]
    assert found == []
    assert any("Licensedtext" in body for _, body in site_texts(licensed_site)), "the pages themselves show it"


def test_licensed_text_is_searchable_when_the_operator_allows_it(tmp_path: Path):
    project = make_project(tmp_path)
    with_cpt_release(project, "licensed", search=True)
    assert build_in_process(project).returncode == 0
    found = {m for _, body in search_texts(project / "site") for m in [licensed("62323", "long")] if m in body}
    assert found == {licensed("62323", "long")}


def test_in_paraphrase_mode_licensed_text_never_reaches_the_site(tmp_path: Path):
    project = make_project(tmp_path)
    with_cpt_release(project, "paraphrase")
    result = build_in_process(project)
    assert result.returncode == 0, result.stderr
    leaks = [(name, m) for name, body in site_texts(project / "site") for m in
             (licensed(c, f) for c in CPT_CODES for f in FIELDS) if m in body]
    assert leaks == []
    soup = page(project / "site", "/cpt/623/62323/")
    assert text(soup.select_one("p.descriptor")) == "Fixture lumbar injection with imaging guidance"
    assert soup.select_one("p.paraphrase-note") is not None


# --- merge rules --------------------------------------------------------------------------

def test_an_official_field_that_differs_is_an_error_at_the_records_line(tmp_path: Path):
    project = make_project(tmp_path)
    with_cpt_release(project, "licensed")
    record = project / "content" / "cpt" / "62322.md"
    lines = record.read_text().splitlines(keepends=True)
    lines.insert(3, "descriptor: Our own older wording\n")
    record.write_text("".join(lines))
    hcpcs_project = make_project(tmp_path / "hcpcs")
    with_hcpcs_release(hcpcs_project)
    hcpcs_record = hcpcs_project / "content" / "hcpcs" / "J1040.md"
    hcpcs_record.write_text(hcpcs_record.read_text().replace("acetate, 80 mg", "acetate 80mg"))

    result = check_in_process(project)
    assert result.returncode == 1
    assert result.stderr.splitlines()[:-1] == [
        f"content/cpt/62322.md:4: 'descriptor' of 62322 comes from the CPT release ({licensed('62322', 'long')!r}); "
        "remove it from the record"]
    result = check_in_process(hcpcs_project)
    assert result.returncode == 1
    assert result.stderr.splitlines()[:-1] == [
        "content/hcpcs/J1040.md:4: 'descriptor' of J1040 comes from the HCPCS release "
        "('Injection, methylprednisolone acetate, 80 mg'); remove it from the record"]


@pytest.mark.parametrize("code_set, code", [("cpt", "62329"), ("hcpcs", "J1041")])
def test_a_record_for_a_code_the_release_lacks_is_an_error_unless_marked(tmp_path: Path, code_set, code):
    project = make_project(tmp_path)
    if code_set == "cpt":
        with_cpt_release(project, "licensed")
        front = f'code: "{code}"\ncode_set: cpt\ndescriptor: Our own words\n'
    else:
        with_hcpcs_release(project)
        front = f"code: {code}\ncode_set: hcpcs\ndescriptor: Our own words\n"
    record = project / "content" / code_set / f"{code}.md"
    record.write_text(f"---\n{front}---\n## Common language description\n\nWords.\n")
    result = check_in_process(project)
    assert result.returncode == 1
    (problem,) = result.stderr.splitlines()[:-1]
    assert problem.startswith(f"content/{code_set}/{code}.md:2: {code} is not in the ")
    assert "not_in_release: true" in problem
    record.write_text(f"---\n{front}not_in_release: true\n---\n## Common language description\n\nWords.\n")
    assert check_in_process(project).returncode == 0


# --- bad release files through the command line -------------------------------------------

HCPCS_CASES = sorted(p.name for p in INVALID.glob("hcpcs-*"))
CPT_CASES = sorted(p.name for p in INVALID.glob("cpt-*") if "unknown-field" not in p.name)


@pytest.fixture(scope="module")
def good_release_site(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    project = make_project(tmp_path_factory.mktemp("good-release"))
    assert build_in_process(project).returncode == 0
    return project / "site", tree_digest(project / "site")


def with_copied_site(project: Path, site: Path) -> None:
    subprocess.run(["cp", "-a", str(site), str(project / "site")], check=True)


@pytest.mark.parametrize("case", HCPCS_CASES)
def test_a_bad_hcpcs_file_is_reported_with_file_line_and_column(tmp_path: Path, good_release_site, case):
    site, before = good_release_site
    project = make_project(tmp_path)
    with_copied_site(project, site)
    with_hcpcs_release(project, INVALID / case / "HCPC2020_OCT_ANWEB.txt", None)
    result = build_in_process(project)
    assert result.returncode == 1
    expected = [f"content/releases/hcpcs/{line}" for line in (INVALID / case / "expected.txt").read_text().splitlines()]
    assert result.stderr.splitlines()[:-1] == expected
    assert result.stderr.splitlines()[-1].endswith("site/ was not changed.")
    assert tree_digest(project / "site") == before


@pytest.mark.parametrize("case", CPT_CASES)
def test_a_bad_cpt_file_is_reported_with_file_line_and_column(tmp_path: Path, good_release_site, case):
    site, before = good_release_site
    project = make_project(tmp_path)
    with_copied_site(project, site)
    folder = project / "content" / "releases" / "bad"
    shutil.copytree(INVALID / case, folder, ignore=shutil.ignore_patterns("expected.txt", "config.yaml"))
    config = yaml.safe_load((INVALID / case / "config.yaml").read_text())
    for item in config["files"]:
        item["path"] = "releases/bad/" + item["path"]
    data = settings_of(project)
    data["code_sets"]["cpt"]["release"] = config
    save_settings(project, data)
    result = build_in_process(project)
    assert result.returncode == 1
    # the reader's fixtures name files by their base name; a build names them from the project
    reported = [re.sub(r"(?:content/)?releases/bad/", "", line) for line in result.stderr.splitlines()[:-1]]
    assert reported == (INVALID / case / "expected.txt").read_text().splitlines()
    assert all(line.startswith("content/releases/bad/") for line in result.stderr.splitlines()[:-1])
    assert tree_digest(project / "site") == before


def test_a_bad_release_file_exits_1_without_a_traceback(tmp_path: Path):
    project = make_project(tmp_path)
    with_hcpcs_release(project, INVALID / "hcpcs-truncated" / "HCPC2020_OCT_ANWEB.txt", None)
    result = build_project(project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "content/releases/hcpcs/HCPC2020_OCT_ANWEB.txt:7:201: the file ends in the middle of a record" in result.stderr
    assert not (project / "site").exists()

