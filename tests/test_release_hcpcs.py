"""The CMS HCPCS Level II release reader (codepages.releases.hcpcs) on real CMS rows."""
from __future__ import annotations

import itertools
import pickle
import sys
from datetime import date
from pathlib import Path

import pytest

from codepages.releases import Problem, ReleaseFileError, hcpcs

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "content" / "releases" / "hcpcs"
CURRENT = FIXTURES / "HCPC2020_OCT_ANWEB.txt"
PREVIOUS = FIXTURES / "HCPC2020_JUL_ANWEB.txt"
INVALID = Path(__file__).resolve().parent / "releases" / "invalid"
REFUSED = Path(__file__).resolve().parent / "releases" / "refused" / "HCPC2020_OCT_ANWEB.txt"


@pytest.fixture(scope="module")
def current() -> hcpcs.HcpcsRelease:
    return hcpcs.read_text(CURRENT)


@pytest.fixture(scope="module")
def previous() -> hcpcs.HcpcsRelease:
    return hcpcs.read_text(PREVIOUS)


def records(path: Path) -> list[str]:
    """The file's lines, split here without the module (CRLF, as CMS ships it)."""
    data = path.read_bytes()
    assert data.endswith(b"\r\n")
    return data.decode("ascii").split("\r\n")[:-1]


def col(line: str, first: int, last: int) -> str:
    """Columns first..last (1-based, inclusive) of the CMS record layout, stripped."""
    return line[first - 1 : last].strip()


def test_fixture_counts_and_version(current: hcpcs.HcpcsRelease, previous: hcpcs.HcpcsRelease) -> None:
    assert (len(current.codes), len(current.modifiers)) == (51, 13)
    assert (len(previous.codes), len(previous.modifiers)) == (45, 12)
    assert current.version == "2020 OCT" and previous.version == "2020 JUL"
    assert current.refused_dental == current.refused_cpt == 0
    assert current.notices == ()


def test_every_first_record_matches_its_byte_columns(current: hcpcs.HcpcsRelease) -> None:
    lines = records(CURRENT)
    firsts = [ln for ln in lines if ln[10] in "37"]
    assert all(len(ln) == 320 for ln in firsts)
    assert all(len(ln) == 91 for ln in lines if ln[10] in "48")
    assert len(firsts) == 64
    for ln in firsts:
        modifier = ln[10] == "7"
        code = col(ln, 4, 5) if modifier else col(ln, 1, 5)
        e = current.get(code)
        assert e is not None, code
        assert e.kind == ("modifier" if modifier else "code")
        assert e.short_description == col(ln, 92, 119)
        assert [c.code for c in e.pricing] == [p for p in (col(ln, a, a + 1) for a in (120, 122, 124, 126)) if p]
        assert (e.multiple_pricing.code if e.multiple_pricing else "") == col(ln, 128, 128)
        assert (e.coverage.code if e.coverage else "") == col(ln, 230, 230)
        assert (e.betos.code if e.betos else "") == col(ln, 257, 259)
        assert "".join(c.code for c in e.type_of_service) == col(ln, 261, 265).replace(" ", "")
        assert [c.code for c in e.lab_certification] == [v for v in (col(ln, a, a + 2) for a in range(181, 205, 3)) if v]
        assert list(e.cross_references) == [v for v in (col(ln, a, a + 4) for a in range(205, 230, 5)) if v]
        assert e.status.action.code == col(ln, 293, 293)
        add = col(ln, 269, 276)
        assert e.status.added == date(int(add[:4]), int(add[4:6]), int(add[6:]))
        term = col(ln, 285, 292)
        assert (e.status.terminated.strftime("%Y%m%d") if e.status.terminated else "") == term
        # the long description: columns 12-91 of the first line and of every continuation
        parts = [col(x, 12, 91) for x in lines if x[:5] == ln[:5] and x[10] in ("78" if modifier else "34")]
        assert e.long_description == " ".join(parts)


def test_demo_j_codes_have_the_descriptors_of_the_demo_records(current: hcpcs.HcpcsRelease) -> None:
    expected = {
        "J0702": "Injection, betamethasone acetate 3 mg and betamethasone sodium phosphate 3 mg",
        "J1020": "Injection, methylprednisolone acetate, 20 mg",
        "J1030": "Injection, methylprednisolone acetate, 40 mg",
        "J1040": "Injection, methylprednisolone acetate, 80 mg",
        "J1100": "Injection, dexamethasone sodium phosphate, 1 mg",
        "J3301": "Injection, triamcinolone acetonide, not otherwise specified, 10 mg",
    }
    for code, text in expected.items():
        assert current.codes[code].long_description == text
    j1040 = current.codes["J1040"]
    assert j1040.short_description == "Methylprednisolone 80 mg inj"
    assert j1040.pricing == (hcpcs.Coded("51", "Drugs"),)
    assert j1040.coverage == hcpcs.Coded("D", "Special coverage instructions apply")
    assert j1040.betos == hcpcs.Coded("O1E", "Other drugs")
    assert [str(t) for t in j1040.type_of_service] == [
        "1 (Medical care)",
        "P (Lump sum purchase of DME, prosthetics, orthotics)",
    ]
    assert j1040.carriers_manual == ("2049",)
    assert j1040.status.kind == "active" and j1040.status.added == date(1982, 1, 1)
    assert j1040.section is not None and j1040.section.letter == "J"
    assert hcpcs.range_of("J1040") is not None and hcpcs.range_of("J1040").name == "Drugs Administered Other Than Oral Method"  # type: ignore[union-attr]


def test_long_descriptions_over_several_records(current: hcpcs.HcpcsRelease) -> None:
    assert current.codes["L8701"].long_description == (
        "Elbow, wrist, hand device, powered, with single or double upright(s), any type joint(s),"
        " includes microprocessor, sensors, all components and accessories"
    )
    assert current.modifiers["CB"].long_description == (
        "Service ordered by a renal dialysis facility (rdf) physician as part of the esrd"
        " beneficiary's dialysis benefit, is not part of the composite rate, and is separately"
        " reimbursable"
    )
    g0480 = current.codes["G0480"]
    assert len(g0480.long_description) == 875
    assert g0480.long_description.endswith("1-7 drug class(es), including metabolite(s) if performed")
    assert g0480.lab_certification == (hcpcs.Coded("340", "Toxicology"),)


def test_status_kinds_decoded_from_action_code_and_dates(current: hcpcs.HcpcsRelease) -> None:
    c9055 = current.codes["C9055"].status
    assert (c9055.kind, c9055.action.code, c9055.terminated, c9055.effective) == (
        "terminated", "D", date(2020, 9, 30), date(2020, 10, 1))
    assert not c9055.in_use_on(date(2020, 10, 1)) and c9055.in_use_on(date(2020, 9, 30))
    a4466 = current.codes["A4466"].status  # discontinued years ago, still listed with N
    assert (a4466.kind, a4466.action.code, a4466.terminated) == ("terminated", "N", date(2016, 12, 31))
    j1437 = current.codes["J1437"].status
    assert (j1437.kind, j1437.action.meaning, j1437.added) == ("added", "Add procedure or modifier code", date(2020, 10, 1))
    e0880 = current.codes["E0880"].status
    assert (e0880.kind, e0880.changed, e0880.effective) == ("changed", ("long description",), date(2020, 10, 1))
    assert current.codes["A4226"].status.changed == ("administrative data",)
    assert current.modifiers["LT"].status.kind == "active"
    assert current.modifiers["J5"].status.kind == "added"
    # every action code CMS defines has a meaning and a kind
    assert set(hcpcs.ACTION_MEANINGS) == set("ABCDFNPRST")


def test_diff_marks_new_changed_and_terminated(current: hcpcs.HcpcsRelease, previous: hcpcs.HcpcsRelease) -> None:
    d = hcpcs.diff(previous, current)
    assert [e.code for e in d.new] == ["J5", "C9060", "G1020", "J1437", "K1006", "Q4249", "T2047"]
    assert [e.code for e in d.terminated] == ["C9055"]
    assert d.reactivated == () and d.removed == ()
    changed = {c.code: c.fields for c in d.changed}
    # U0003 only went from action A (added, in July) to N (no maintenance): not a change
    assert set(changed) == {"A4226", "E0880", "G0396", "J9305", "L8701"}
    assert changed["E0880"] == ("long description",)
    assert changed["J9305"] == ("long description", "short description")
    assert "long description" not in changed["A4226"]
    j9305 = next(c for c in d.changed if c.code == "J9305")
    assert (j9305.before.long_description, j9305.after.long_description) == (
        "Injection, pemetrexed, 10 mg", "Injection, pemetrexed, not otherwise specified, 10 mg")
    # the other way round: what was new is removed, the terminated code is back in use
    back = hcpcs.diff(current, previous)
    assert {e.code for e in back.removed} == {e.code for e in d.new}
    assert [e.code for e in back.reactivated] == ["C9055"]


def test_writer_reproduces_the_file_byte_for_byte(current: hcpcs.HcpcsRelease) -> None:
    entries = [*current.modifiers.values(), *current.codes.values()]
    assert hcpcs.format_text(entries).encode("ascii") == CURRENT.read_bytes()


def test_sections_cover_every_letter_but_d() -> None:
    letters = [s.letter for s in hcpcs.SECTIONS]
    assert letters == list("ABCEGHJKLMPQRSTUV")
    j = hcpcs.section_of("J9035")
    assert j is not None and j.name == "Drugs Administered Other Than Oral Method, Chemotherapy Drugs"
    assert hcpcs.range_of("J9035") == hcpcs.HcpcsRange("J9000", "J9999", "Chemotherapy Drugs")
    assert hcpcs.range_of("L5301") is not None and hcpcs.range_of("L5301").name == "Prosthetic Procedures"  # type: ignore[union-attr]
    assert hcpcs.section_of("D0120") is None and hcpcs.section_of("62323") is None
    for s in hcpcs.SECTIONS:  # the named ranges of a section tile it without gaps
        bounds = [(r.first, r.last) for r in s.ranges]
        assert bounds[0][0] == s.first and bounds[-1][1] == s.last
        for (_, last), (first, _) in itertools.pairwise(bounds):
            assert int(first[1:]) == int(last[1:]) + 1


def test_every_fixture_code_has_a_section(current: hcpcs.HcpcsRelease) -> None:
    assert all(e.section is not None for e in current.codes.values())
    assert {e.code for e in current.in_section("J")} >= {"J0702", "J1040", "J9035"}


def test_d_codes_and_cpt_codes_are_refused_and_their_text_never_kept() -> None:
    release = hcpcs.read_text(REFUSED)
    assert list(release.codes) == ["J1020", "J1040"] and list(release.modifiers) == ["LT"]
    assert (release.refused_dental, release.refused_cpt) == (1, 2)
    assert any("D code" in n and "American Dental Association" in n for n in release.notices)
    assert b"PLACEHOLDER" not in pickle.dumps(release)
    assert REFUSED.read_bytes().count(b"PLACEHOLDER") == 5  # the fixture does hold them


def test_releases_pickle_compactly(current: hcpcs.HcpcsRelease) -> None:
    again = pickle.loads(pickle.dumps(current))
    assert again == current
    assert again.codes["G0480"] == current.codes["G0480"]


def test_licensed_fields_none() -> None:
    assert hcpcs.LICENSED_FIELDS == frozenset()


INVALID_DIRS = sorted(p for p in INVALID.glob("hcpcs-*") if p.is_dir())


@pytest.mark.parametrize("folder", INVALID_DIRS, ids=[p.name for p in INVALID_DIRS])
def test_invalid_fixture_gives_exactly_its_problems(folder: Path) -> None:
    expected = (folder / "expected.txt").read_text().splitlines()
    with pytest.raises(ReleaseFileError) as caught:
        hcpcs.read_text(folder / "HCPC2020_OCT_ANWEB.txt", name="HCPC2020_OCT_ANWEB.txt")
    assert [str(p) for p in caught.value.problems] == expected
    assert all(isinstance(p, Problem) for p in caught.value.problems)


def test_problem_columns_point_at_the_bad_field() -> None:
    def line(kind: str, n: int) -> str:
        return (INVALID / f"hcpcs-{kind}" / "HCPC2020_OCT_ANWEB.txt").read_bytes().decode().split("\r\n")[n - 1]

    assert line("bad-date", 3)[268:276] == "20201340"  # reported at 3:269
    assert line("bad-date", 4)[276:284] == "2020-1-1"  # reported at 4:277
    assert line("unknown-action-code", 4)[292] == "X"  # 4:293
    assert line("unknown-record-id", 4)[10] == "5"  # 4:11
    assert line("sequence-not-numeric", 3)[5:10] == "0O100"  # 3:6
    assert len(line("line-length", 3)) == 321 and len(line("line-length", 4)) == 250


def test_all_mistakes_of_a_file_in_one_error() -> None:
    with pytest.raises(ReleaseFileError) as caught:
        hcpcs.read_text(INVALID / "hcpcs-several-mistakes" / "HCPC2020_OCT_ANWEB.txt")
    assert len(caught.value.problems) == 5
    assert len({p.line for p in caught.value.problems}) == 5
    again = pickle.loads(pickle.dumps(caught.value))
    assert again.problems == caught.value.problems


def test_tolerated_variants(current: hcpcs.HcpcsRelease, tmp_path: Path) -> None:
    """LF line ends, right-trimmed lines, continuation lines padded to 320 and a blank
    trailing line (as CMS ends its files) read the same."""
    lines = records(CURRENT)
    variant = "\n".join(ln.rstrip() if i % 2 else ln.ljust(320) for i, ln in enumerate(lines)) + "\n\n"
    path = tmp_path / "HCPC2020_OCT_ANWEB.txt"
    path.write_text(variant)
    again = hcpcs.read_text(path)
    assert again.codes == current.codes and again.modifiers == current.modifiers


def test_empty_file_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("\r\n")
    with pytest.raises(ReleaseFileError) as caught:
        hcpcs.read_text(path, name="empty.txt")
    assert [str(p) for p in caught.value.problems] == ["empty.txt: the file holds no HCPCS records"]


def _write_spreadsheet(path: Path, release: hcpcs.HcpcsRelease, header: tuple[str, ...] = hcpcs.SPREADSHEET_COLUMNS) -> None:
    """CMS's spreadsheet form: a note row, a header row, one row per code (long description
    whole, sequence number by 10s as in CMS's .xlsx)."""
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Note regarding coverage and payment indicators"])
    sheet.append(list(header))
    for e in [*release.modifiers.values(), *release.codes.values()]:
        first = hcpcs.format_entry(e._replace(long_description="x"))[0]
        row = [first[a - 1 : b].strip() or None for _, a, b in hcpcs._LAYOUT]
        row[0] = f"   {e.code}" if e.kind == "modifier" else e.code
        row[1] = f"{e.sequence // 10:04d}"
        row[3] = e.long_description
        sheet.append(row)
    workbook.save(path)


def test_spreadsheet_form_reads_the_same(current: hcpcs.HcpcsRelease, tmp_path: Path) -> None:
    path = tmp_path / "HCPC2020_OCT_ANWEB.xlsx"
    _write_spreadsheet(path, current)
    sheet = hcpcs.read_release(path)
    assert sheet.version == "2020 OCT"
    assert list(sheet.codes) == list(current.codes) and list(sheet.modifiers) == list(current.modifiers)
    for code, e in current.codes.items():
        assert sheet.codes[code]._replace(line=0, sequence=0) == e._replace(line=0, sequence=0)


def test_spreadsheet_missing_column_says_which(current: hcpcs.HcpcsRelease, tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    header = tuple("BETO" if h == "BETOS" else h for h in hcpcs.SPREADSHEET_COLUMNS)
    _write_spreadsheet(path, current, header)
    with pytest.raises(ReleaseFileError) as caught:
        hcpcs.read_spreadsheet(path, name="bad.xlsx")
    assert [str(p) for p in caught.value.problems] == [
        "bad.xlsx:2: no column 'BETOS' in the header row (did you mean 'BETO'?)"
    ]


def test_generated_full_size_release_parses_with_the_right_counts(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import make_releases
    finally:
        sys.path.remove(str(ROOT / "bench"))
    paths = make_releases.write(tmp_path, seed=3)
    release = hcpcs.read_text(paths["hcpcs"])
    assert (len(release.codes), len(release.modifiers)) == (8700, 400)
    continuation = sum(1 for ln in paths["hcpcs"].read_bytes().split(b"\r\n") if ln[10:11] in (b"4", b"8"))
    assert continuation > 2000  # realistic multi-line descriptions
    letters = {c[0] for c in release.codes}
    assert letters == set("ABCEGHJKLMPQRSTUV")
    again = make_releases.write(tmp_path / "again", seed=3)
    assert again["hcpcs"].read_bytes() == paths["hcpcs"].read_bytes()  # deterministic
