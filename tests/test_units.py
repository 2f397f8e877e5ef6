"""Issue 10's fast layer: the pipeline's pieces called directly on small inputs (no build, no
child process, no browser). Records, Markdown sections, the catalogue's references and
hierarchy, and instructional notes."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import SITES

from codepages.catalogue import contains, resolve
from codepages.errors import Problems
from codepages.markdown import check_link, parse_sections
from codepages.notes import NoteRenderer, items_of, seventh_table
from codepages.records import ParsedRecords, Record, load_record
from codepages.settings import Settings, load_settings


@pytest.fixture(scope="module")
def settings() -> Settings:
    problems = Problems()
    loaded = load_settings(SITES / "valid" / "content" / "site.yaml", problems)
    assert loaded is not None, problems.sorted()
    return loaded


def write_record(tmp_path: Path, code_set: str, name: str, text: str) -> Path:
    path = tmp_path / "content" / code_set / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def messages(problems: Problems) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in problems.sorted()]


# --- records ----------------------------------------------------------------------------

RECORD = """---
code: "62323"
code_set: cpt
descriptor: Our own words for a lumbar injection
parent: 62320-62327
related: ["62322"]
crosswalk:
  icd-10-cm: [M54.16]
synonyms: [lumbar ESI]
---
## Coding tips

One unit per session; see [[62322]].

## Common language description

A needle places medicine near the nerves.
"""


def test_a_record_is_read_with_its_fields_lines_and_sections_in_policy_order(tmp_path, settings):
    path = write_record(tmp_path, "cpt", "62323.md", RECORD)
    problems = Problems(root=tmp_path)
    record = load_record(path, settings, problems)
    assert not problems, problems.sorted()
    assert (record.code, record.code_set, record.descriptor, record.parent) == (
        "62323", "cpt", "Our own words for a lumbar injection", "62320-62327")
    assert (record.related, record.crosswalk, record.synonyms) == (["62322"], {"icd-10-cm": ["M54.16"]}, ["lumbar ESI"])
    assert record.field_lines["code"] == 2 and record.field_lines["crosswalk"] == 7
    assert record.digest == hashlib.sha256(RECORD.encode()).hexdigest()
    # the policy's order (common language first), not the file's; the crosswalk fills its own section
    assert [(s.title, s.protected) for s in record.sections] == [
        ("Common language description", False), ("Coding tips", True), ("ICD-10-CM crosswalk", True)]
    tips = record.sections[1]
    assert tips.line == 11 and 'href="/cpt/623/62322/"' in tips.html
    assert tips.text == "One unit per session; see 62322."
    assert record.sections[2].crosswalk == ["M54.16"]
    assert [(r.code, r.field, r.line) for r in record.references] == [
        ("62320-62327", "parent", 5), ("62322", "related", 6), ("M54.16", "crosswalk.icd-10-cm", 8),
        ("62322", "text", 13)]
    assert record.url == "/cpt/623/62323/"


@pytest.mark.parametrize("name, text, expected", [
    ("62323.md", "---\ncode: \"62323\"\ncode_set: cpt\n---\n## Summary\n\nx\n",
     [(2, "missing required field 'descriptor'")]),
    ("62324.md", "---\ncode: \"62323\"\ncode_set: cpt\ndescriptor: Our words\n---\n",
     [(2, "file name '62324.md' does not match its code '62323': rename the file to 62323.md")]),
    ("62323.md", "---\ncode: \"62323\"\ncode_set: cpt\ndescriptor: Our words\n---\n## Codng tips\n\nx\n",
     [(6, "unknown section heading '## Codng tips' (did you mean 'Coding tips'?); "
          "the sections are listed in content/site.yaml")]),
    ("62323.md", "---\ncode: \"62323\"\ncode_set: cpt\ndescriptor: Our words\n---\n## Summary\n\nx\n\n## Summary\n\ny\n",
     [(10, "section '## Summary' appears twice (first on line 6)")]),
    ("62323.md", "---\ncode: \"62323\"\ncode_set: cpt\ndescriptor: Our words\nrelated: [m54.5]\n---\n",
     [(5, "'related' names 'm54.5', which is not a CPT, HCPCS or ICD-10-CM code (did you mean 'M54.5'?)")]),
    ("62323.md", "---\ncode: \"62323\"\ncode_set: cpt\ndescriptor: Our words\n",
     [(1, "front matter is not closed: add a line '---' after the last field")]),
])
def test_record_mistakes_are_reported_with_their_line(tmp_path, settings, name, text, expected):
    problems = Problems(root=tmp_path)
    load_record(write_record(tmp_path, "cpt", name, text), settings, problems)
    assert messages(problems) == expected


def test_a_record_read_again_unchanged_comes_from_the_last_run_as_it_was_parsed(tmp_path, settings):
    path = write_record(tmp_path, "cpt", "62323.md", RECORD)
    kept = tmp_path / "cache" / "records.pickle"
    first = ParsedRecords(kept, "reading-1")
    parsed = first.load(path, settings, Problems())
    first.save()
    again = ParsedRecords(kept, "reading-1")
    assert again.load(path, settings, Problems()) == parsed and again.kept  # unpickled, equal to a fresh parse
    path.write_text(RECORD.replace("near the nerves", "beside the nerves"), encoding="utf-8")
    edited = ParsedRecords(kept, "reading-1").load(path, settings, Problems())
    assert edited is not None and "beside the nerves" in str(edited.sections)  # the edit is read, not the kept copy
    assert not ParsedRecords(kept, "reading-2").kept  # settings or code changed: nothing kept is used


def test_a_record_with_problems_is_never_kept_so_every_run_reports_them(tmp_path, settings):
    path = write_record(tmp_path, "cpt", "62323.md", RECORD.replace("related: [\"62322\"]", "related: [m54.5]"))
    kept = tmp_path / "records.pickle"
    for _ in range(2):
        problems = Problems(root=tmp_path)
        parsed = ParsedRecords(kept, "reading")
        parsed.load(path, settings, problems)
        parsed.save()
        assert [m for _, m in messages(problems)] == [
            "'related' names 'm54.5', which is not a CPT, HCPCS or ICD-10-CM code (did you mean 'M54.5'?)"]


def test_a_range_cannot_hold_a_protected_section(tmp_path, settings):
    problems = Problems(root=tmp_path)
    text = "---\ncode: 62320-62327\ncode_set: cpt\ndescriptor: Our words\n---\n## Summary\n\nx\n"
    load_record(write_record(tmp_path, "cpt", "62320-62327.md", text), settings, problems)
    assert [m for _, m in messages(problems)] == [
        "section 'Summary' is protected, but range pages are not metered: put protected guidance on the codes' own records"]


# --- Markdown ------------------------------------------------------------------------------

def test_sections_split_at_level_two_headings_with_their_lines():
    sections, issues = parse_sections("## One\n\nfirst *para*\n\n## Two\n\n- a\n- b\n")
    assert issues == []
    assert [(s.title, s.line, s.text) for s in sections] == [("One", 0, "first para"), ("Two", 4, "a b")]
    assert sections[0].html == "<p>first <em>para</em></p>\n"


def test_raw_html_is_reported_and_never_passed_through():
    sections, issues = parse_sections("## One\n\n<script>alert(1)</script>\n\ntext <b>bold</b>\n")
    assert [(i.line, i.message) for i in issues] == [
        (2, "raw HTML is not allowed in records; use Markdown"), (4, "raw HTML '<b>' is not allowed; use Markdown")]
    assert "<script>" not in sections[0].html and "&lt;script&gt;" in sections[0].html
    assert "<b>" not in sections[0].html


@pytest.mark.parametrize("url, refused", [
    ("javascript:alert(1)", True), ("JaVaScRiPt:alert(1)", True), ("java\tscript:x", True), ("%6aavascript:x", True),
    ("data:text/html,x", True), ("//evil.example/x", True), ("https://cms.gov/", False), ("/cpt/", False),
    ("mailto:a@b.example", False), ("#notes", False)])
def test_links_are_checked_against_an_allow_list(url, refused):
    assert (check_link(url) is not None) == refused


def test_unsafe_links_are_reported_with_their_line_and_not_rendered():
    sections, issues = parse_sections("## One\n\nok\n[x](javascript:alert(1))\n")
    assert [(i.line, i.message.split(":")[0]) for i in issues] == [(3, "link to 'javascript")]
    assert "javascript" not in sections[0].html


def test_text_before_the_first_section_and_page_titles_are_reported():
    _, issues = parse_sections("intro\n\n# Title\n\n## One\n\nx\n")
    assert [(i.line, i.message) for i in issues] == [
        (0, "text before the first section; start the body with a '## ' heading"),
        (2, "'# Title' is a page title; sections start with '## '")]


def test_code_references_become_links_to_the_code_pages():
    sections, issues = parse_sections("## One\n\nSee [[M54.50]], [[62326]] and [[J1040]].\n")
    assert issues == []
    html = sections[0].html
    for href, label in [("/icd-10-cm/M54/M54.50/", "M54.50"), ("/cpt/623/62326/", "62326"), ("/hcpcs/J/J1040/", "J1040")]:
        assert f'<a class="code-ref" href="{href}">{label}</a>' in html
    assert sections[0].refs == [("M54.50", 2), ("62326", 2), ("J1040", 2)]


# --- the catalogue ---------------------------------------------------------------------------

def record(code_set: str, code: str, parent: str | None = None, **fields) -> Record:
    made = Record(path=Path(f"content/{code_set}/{code}.md"), code_set=code_set, code=code, descriptor=f"about {code}",
                  parent=parent, **fields)
    if parent:
        from codepages.records import Reference
        made.references.append(Reference(parent, 5, "parent"))
    return made


@pytest.fixture()
def family(settings):
    problems = Problems()
    records = [record("cpt", "62320-62327"), *(record("cpt", c, "62320-62327") for c in ("62323", "62321", "62322")),
               record("icd-10-cm", "M54", kind="category"), record("icd-10-cm", "M54.5", "M54", kind="subcategory"),
               record("icd-10-cm", "M54.50", "M54.5", kind="code"), record("icd-10-cm", "M54.59", "M54.5", kind="code")]
    catalogue = resolve(records, settings, problems)
    assert not problems, problems.sorted()
    return catalogue


def test_children_are_listed_in_code_order(family):
    assert [r.code for r in family.children_of(family.get("62320-62327"))] == ["62321", "62322", "62323"]


def test_ancestors_run_from_the_top(family):
    assert [r.code for r in family.ancestors(family.get("M54.50"))] == ["M54", "M54.5"]
    assert family.ancestors(family.get("M54")) == []


def test_siblings_include_the_code_itself_and_stop_at_ranges(family):
    assert [r.code for r in family.siblings_of(family.get("M54.59"))] == ["M54.50", "M54.59"]
    assert family.siblings_of(family.get("62320-62327")) == []


def test_neighbours_are_the_previous_and_next_code_of_the_code_set(family):
    previous, following = family.neighbours(family.get("62322"))
    assert (previous.code, following.code) == ("62321", "62323")
    first, _ = family.neighbours(family.get("62321"))
    _, last = family.neighbours(family.get("62323"))
    assert first is None and last is None
    assert family.neighbours(family.get("62320-62327")) == (None, None)  # a range is not in the sequence


def test_references_are_resolved_and_mistakes_reported(settings):
    problems = Problems()
    lone = record("cpt", "62323", "62320-62327")
    lone.references.append(lone.references[0]._replace(code="62399", field="related", line=7))
    wrong = record("cpt", "62321", "M54", kind="")
    twice = record("cpt", "62323")
    resolve([lone, wrong, twice, record("icd-10-cm", "M54")], settings, problems)
    assert sorted(p.message for p in problems.items) == [
        "'parent' names M54, which does not contain 62321",
        "'parent' names unknown code 62320-62327",
        "'related' names unknown code 62399",
        "code 62323 is defined twice: here and in content/cpt/62323.md",
    ]


@pytest.mark.parametrize("outer, inner, held", [
    ("M50-M54", "M54.16", True), ("M54", "M54.1", True), ("M54", "M54", False), ("M50-M54", "M55", False),
    ("A00-B99", "A00-A09", True), ("S70-S79", "S72.001A", True), ("62320-62327", "62326", True),
    ("62320-62327", "62328", False)])
def test_contains(outer, inner, held):
    assert contains(outer, inner) is held


# --- instructional notes ---------------------------------------------------------------------

def test_a_note_continuing_its_heading_is_joined_into_one_sentence():
    heading, items = items_of("Code first", [", for adverse effects, the nature of the adverse effect, such as:",
                                             "aspirin gastritis (K29.-)", "blood dyscrasias (D56-D76)"])
    assert heading == "Code first, for adverse effects, the nature of the adverse effect, such as:"
    assert [i.text for i in items] == ["aspirin gastritis (K29.-)", "blood dyscrasias (D56-D76)"]


def test_such_as_items_are_nested_under_their_line():
    _, items = items_of("Excludes2", ["conditions such as:", "a (A00)", "b (B00)", "other thing (C00)"])
    assert [(i.text, i.children) for i in items] == [("conditions such as:", ("a (A00)", "b (B00)", "other thing (C00)"))]


def test_every_note_line_continuing_its_heading_becomes_a_sentence_not_a_bullet_starting_with_a_comma():
    """Z71.85 in the FY2026 release has two "Code also" notes, each continuing the heading."""
    heading, items = items_of("Code also", [", if applicable, encounter for immunization (Z23)",
                                            ", if applicable, immunization not carried out (Z28.-)"])
    shown = [heading, *(i.text for i in items), *(c for i in items for c in i.children)]
    assert not [line for line in shown if line.startswith((",", ";"))], shown
    assert "encounter for immunization (Z23)" in " ".join(shown)
    assert "immunization not carried out (Z28.-)" in " ".join(shown)


def test_seventh_character_lines_become_rows_and_continuations_stay_with_their_row():
    intro, rows = seventh_table(["The appropriate 7th character is to be added to each code from category S72",
                                 "A - initial encounter for closed fracture",
                                 "B - initial encounter for open fracture type I or II",
                                 "initial encounter for open fracture NOS", "S - sequela"])
    assert intro == ["The appropriate 7th character is to be added to each code from category S72"]
    assert [(r.character, r.meaning) for r in rows] == [
        ("A", ("initial encounter for closed fracture",)),
        ("B", ("initial encounter for open fracture type I or II", "initial encounter for open fracture NOS")),
        ("S", ("sequela",))]


@pytest.fixture()
def note_renderer():
    pages = {"M54": "/icd-10-cm/M54/", "M54.1": "/icd-10-cm/M54/M54.1/", "O60-O77": "/icd-10-cm/O60-O77/",
             "O00-O9A": "/icd-10-cm/O00-O9A/", "T36": "/icd-10-cm/T36/", "T50": "/icd-10-cm/T50/",
             "T36.0X1": "/icd-10-cm/T36/T36.0X1/"}
    ranges = [("O60", "O77", "O60-O77"), ("O00", "O9A", "O00-O9A")]
    return NoteRenderer(pages.get, ranges, lambda key: key)


def test_codes_and_categories_named_in_a_note_are_linked(note_renderer):
    assert note_renderer.link("radiculopathy (M54.1-) and dorsalgia (M54.-)") == (
        'radiculopathy (<a href="/icd-10-cm/M54/M54.1/">M54.1-</a>) and dorsalgia (<a href="/icd-10-cm/M54/">M54.-</a>)')


def test_a_range_that_is_no_page_links_to_the_narrowest_block_holding_it(note_renderer):
    assert note_renderer.link("obstetric trauma (O70-O71)") == 'obstetric trauma (<a href="/icd-10-cm/O60-O77/">O70-O71</a>)'


def test_a_range_wider_than_any_chapter_links_to_the_index_unless_the_catalogue_has_none_of_it():
    ranges = [("O00", "O9A", "O00-O9A"), ("S00", "T88", "S00-T88")]
    notes = NoteRenderer({}.get, ranges, lambda key: key, "/icd-10-cm/")
    assert notes.link("(O00-T88)") == '(<a href="/icd-10-cm/">O00-T88</a>)'
    assert notes.link("newborn (P04-P96)") == "newborn (P04-P96)"  # no chapter of it is in the catalogue


def test_a_code_the_release_lacks_links_to_its_nearest_listed_ancestor(note_renderer):
    assert note_renderer.link("see T36.0X1A") == 'see <a href="/icd-10-cm/T36/T36.0X1/">T36.0X1A</a>'


def test_a_range_of_dotted_codes_links_both_ends(note_renderer):
    linked = note_renderer.link("(T36.0X1-T50.996)")
    assert '<a href="/icd-10-cm/T36/T36.0X1/">T36.0X1</a>' in linked and '<a href="/icd-10-cm/T50/">T50.996</a>' in linked


def test_note_text_is_escaped(note_renderer):
    assert note_renderer.link("a < b & c (Z99)") == "a &lt; b &amp; c (Z99)"
