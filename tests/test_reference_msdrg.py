"""MS-DRG v43.1 facts per code, checked against drgpy itself (its own loader and its grouper, a
separate implementation of the CMS logic) and against facts looked up by hand."""
from __future__ import annotations

import importlib.metadata
import json
import lzma
from pathlib import Path
from typing import Any

import pytest
from drgpy._runtime_data import load_runtime_data  # type: ignore[import-untyped]
from drgpy.msdrg import DRGEngine  # type: ignore[import-untyped]

from codepages.reference import SourceError, default_config
from codepages.reference.msdrg import HAC_NAMES, MsDrgData, read_msdrg
from codepages.reference.sources import PackageFile, ResolvedFile, resolve

SIMPLE = Path(str(importlib.metadata.distribution("simple-icd-10-cm").locate_file("simple_icd_10_cm/data")))
CHAPTER_FIRST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> ResolvedFile:
    return resolve(default_config(tmp_path_factory.mktemp("project")).msdrg, None)


@pytest.fixture(scope="module")
def data(source: ResolvedFile) -> MsDrgData:
    return read_msdrg(source)


@pytest.fixture(scope="module")
def engine() -> DRGEngine:
    return DRGEngine("v43.1")


def dot(code: str) -> str:
    return code if len(code) == 3 else code[:3] + "." + code[3:]


def release_billable() -> set[str]:
    """Billable codes of the April 1, 2026 release from the package's own code list (a code is
    billable when no other code extends it) — independent of codepages.releases.icd10cm."""
    codes = {line.strip() for line in (SIMPLE / "code-list-April-2026.txt").read_text().splitlines()
             if line.strip() and not line.strip().isdigit() and "-" not in line}
    bare = sorted(c.replace(".", "") for c in codes)
    leaves = set()
    for i, code in enumerate(bare):
        if not (i + 1 < len(bare) and bare[i + 1].startswith(code)):
            leaves.add(code)
    return leaves


def samples(engine: DRGEngine, per_letter: int = 3) -> list[str]:
    """A few codes of each first letter (chapter) of the CC list and of the diagnosis map."""
    picked: list[str] = []
    for table in (engine.ccmap, engine.dxmap):
        by_letter: dict[str, list[str]] = {}
        for code in sorted(table):
            by_letter.setdefault(code[0], []).append(code)
        for letter in CHAPTER_FIRST:
            codes = by_letter.get(letter, [])
            picked += codes[:: max(1, len(codes) // per_letter)][:per_letter]
    return sorted(set(picked))


# -- the grouper version and the counts


def test_version_and_counts(data: MsDrgData, engine: DRGEngine) -> None:
    assert data.grouper == "v43.1" and data.provenance.statement() == \
        "MS-DRG v43.1 (effective April 1, 2026), CMS, via drgpy 0.2.1"
    counts = data.counts()
    levels = [v["level"] for v in engine.ccmap.values()]
    assert (counts["cc"], counts["mcc"]) == (levels.count("CC"), levels.count("MCC")) == (15038, 3353)
    assert counts["hac"] == sum(1 for v in engine.ccmap.values() if v["hac"]) == 3996
    assert counts["drgs"] == len(engine.drgmap) == 772
    assert counts["with_drgs"] == len(engine.dxmap) == 67258  # every diagnosis code of the data


def test_every_code_is_a_billable_code_of_the_release(data: MsDrgData) -> None:
    billable = {dot(c) for c in release_billable()}
    assert len(billable) == 74719
    assert set(data.cc) <= billable
    assert set(data.dx) <= billable
    assert {c for codes in data.exclusions.values() for c in codes} <= billable


# -- CC/MCC, exclusions, HAC


@pytest.mark.parametrize(("code", "severity"), [
    ("J96.01", "MCC"),   # acute respiratory failure with hypoxia
    ("A41.9", "MCC"),    # sepsis, unspecified organism
    ("E43", "MCC"),      # unspecified severe protein-calorie malnutrition
    ("R65.21", "MCC"),   # severe sepsis with septic shock
    ("I50.23", "MCC"),   # acute on chronic systolic heart failure
    ("N17.9", "CC"),     # acute kidney failure, unspecified
    ("E87.1", "CC"),     # hypo-osmolality and hyponatremia
    ("D62", "CC"),       # acute posthemorrhagic anemia
    ("I50.9", None),     # heart failure, unspecified: neither
    ("E11.9", None),     # type 2 diabetes without complications: neither
    ("I10", None),       # essential hypertension: neither
])
def test_cc_mcc_facts(data: MsDrgData, code: str, severity: str | None) -> None:
    found = data.lookup(code)
    assert found is not None and found.severity == severity
    if severity is None:
        assert found.excluded_with == () and found.exclusion_collection is None


def test_levels_and_exclusion_lists_match_drgpys_own_loader(data: MsDrgData, engine: DRGEngine) -> None:
    runtime = load_runtime_data("v43.1")  # drgpy's reader: sets, undotted keys
    checked = 0
    for raw in samples(engine):
        info = runtime.ccmap.get(raw)
        found = data.lookup(dot(raw))
        if info is None:
            assert found is None or found.severity is None
            continue
        assert found is not None
        assert found.severity == info["level"]
        assert found.hac == info["hac"]
        assert found.alive_only == info["aowa"]
        assert set(found.excluded_with) == {dot(c) for c in runtime.exmap[info["pdx"]]}
        checked += 1
    assert checked >= 40


def test_exclusion_list_changes_what_the_grouper_does(data: MsDrgData, engine: DRGEngine) -> None:
    # J96.01 is an MCC, but not with a principal diagnosis of its own exclusion list. Principal
    # J44.1 (COPD with exacerbation, DRGs 190-192): with J96.01 the case is 190 "with MCC" unless
    # J44.1 excludes it.
    j9601 = data.lookup("J96.01")
    assert j9601 is not None and j9601.severity == "MCC"
    assert "J96.01" in j9601.excluded_with and "J96.00" in j9601.excluded_with
    excluded_pdx = [c for c in j9601.excluded_with if (data.lookup(c) or j9601).groups]
    for pdx in excluded_pdx[:5]:
        alone = engine.get_drg([pdx.replace(".", "")], [])
        with_it = engine.get_drg([pdx.replace(".", ""), "J9601"], [])
        assert with_it == alone, pdx  # excluded: no MCC credit
    # a principal diagnosis that is not in the list gets the MCC DRG
    assert "M54.50" not in j9601.excluded_with
    assert engine.get_drg(["M5450"], []) == "552" and engine.get_drg(["M5450", "J9601"], []) == "551"


def test_alive_only_codes(data: MsDrgData) -> None:
    alive = sorted(c for c, v in data.cc.items() if v[3])
    assert alive == ["I46.2", "I46.8", "I46.9", "I49.01", "R09.2", "R57.0", "R57.8", "T79.4XXA"]
    # cardiac arrest, ventricular fibrillation, respiratory arrest, shock: MCCs only if alive


@pytest.mark.parametrize(("code", "hac"), [
    ("T80.0XXA", "02"),   # air embolism
    ("T80.310A", "03"),   # ABO incompatibility with acute hemolytic transfusion reaction
    ("L89.154", "04"),    # pressure ulcer of sacral region, stage 4
    ("S72.001A", "05"),   # fracture of femoral neck: falls and trauma
    ("T83.511A", "06"),   # infection due to indwelling urethral catheter
    ("J95.811", "14"),    # postprocedural pneumothorax
])
def test_hac_facts(data: MsDrgData, code: str, hac: str) -> None:
    found = data.lookup(code)
    assert found is not None and found.hac == hac and found.hac_name == HAC_NAMES[hac]


def test_hac_numbers_hold_the_conditions_their_names_say(data: MsDrgData) -> None:
    by_hac: dict[str, list[str]] = {}
    for code, (_, _, hac, _) in data.cc.items():
        if hac:
            by_hac.setdefault(hac, []).append(code)
    assert set(by_hac) == set(HAC_NAMES)
    # what each number holds in v43.1, against the name the manual gives that number
    assert {c[:5] for c in by_hac["01"]} == {"T81.5", "T81.6"}                 # foreign object left
    assert by_hac["02"] == ["T80.0XXA"]                                         # air embolism
    assert {c[:5] for c in by_hac["03"]} == {"T80.3"}                          # ABO incompatibility
    assert all(c.startswith("L89.") and c[-1] in "34" for c in by_hac["04"])   # pressure ulcer 3/4
    assert all(c[0] in "ST" or c.startswith("M99.1") for c in by_hac["05"])    # injuries
    assert "N39.0" in by_hac["06"] and "T83.511A" in by_hac["06"]              # catheter UTI
    assert {c[:6] for c in by_hac["07"]} == {"T80.21"}                         # catheter infection
    assert by_hac["08"] == ["J98.51", "J98.59"]                                 # mediastinitis
    assert {c[:3] for c in by_hac["09"]} == {"E08", "E09", "E10", "E11", "E13", "E15"}  # glycemic
    assert {c[:3] for c in by_hac["10"]} == {"I26", "I82"}                     # PE / DVT
    assert by_hac["11"] == ["K95.01", "K95.81"]                                 # bariatric SSI
    assert {c[:5] for c in by_hac["12"]} == {"T84.6", "T84.7"}                 # orthopedic SSI
    assert {"K68.11", "T81.40XA", "T82.7XXA"} <= set(by_hac["13"])            # CIED SSI
    assert by_hac["14"] == ["J95.811"]


# -- DRGs as principal diagnosis


def test_drg_facts(data: MsDrgData) -> None:
    back = data.lookup("M54.50")
    assert back is not None and back.mdcs == ("08",) and back.drgs == ("551", "552")
    assert [(d, data.drgs[d].title, data.drgs[d].mdc, data.drgs[d].kind) for d in back.drgs] == [
        ("551", "Medical Back Problems with MCC", "08", "medical"),
        ("552", "Medical Back Problems without MCC", "08", "medical")]
    sepsis = data.lookup("A41.9")
    assert sepsis is not None
    assert [(g.drgs, g.role) for g in sepsis.groups] == [
        (("870", "871", "872"), "principal"), (("974", "975", "976"), "principal_or_secondary")]
    assert "793" not in sepsis.drgs  # newborn with major problems: A41.9 is a secondary there
    pneumonia = data.lookup("J18.9")
    assert pneumonia is not None and ("193", "194", "195") in [g.drgs for g in pneumonia.groups]
    ami = data.lookup("I21.4")
    assert ami is not None and ami.groups[0].drgs == ("280", "281", "282", "283", "284", "285")
    assert ami.groups[0].role == "principal_or_secondary"
    hf = data.lookup("I50.9")
    assert hf is not None and hf.drgs == ("291", "292", "293") and hf.mdcs == ("05",)
    alcohol = data.lookup("F10.20")
    assert alcohol is not None and alcohol.drgs == ("894", "895", "896", "897")
    hiv = data.lookup("B20")
    assert hiv is not None and hiv.drgs == ("974", "975", "976", "977")


def test_the_grouper_result_is_in_the_list(data: MsDrgData, engine: DRGEngine) -> None:
    """drgpy's grouper, given the code alone as principal diagnosis (no procedure), returns a DRG
    that the code's list has — for every diagnosis code of the data."""
    missing = []
    grouped = 0
    for raw in sorted(engine.dxmap)[::7]:
        found = data.lookup(dot(raw))
        drgs = found.drgs if found else ()
        results = {engine.get_drg([raw], [], gender=g) for g in ("F", "M")} - {"000"}
        for drg in results:
            grouped += 1
            if drg not in drgs:
                missing.append((raw, drg, drgs))
    assert grouped > 9000
    assert missing == []


def test_sample_per_chapter_against_the_grouper(data: MsDrgData, engine: DRGEngine) -> None:
    for raw in samples(engine):
        found = data.lookup(dot(raw))
        drg = engine.get_drg([raw], [])
        if drg not in ("000",) and raw in engine.dxmap:
            assert found is not None and drg in found.drgs, raw
            mdc = data.drgs[drg].mdc
            assert mdc is None or mdc in found.mdcs, raw


def test_codes_without_data_return_nothing(data: MsDrgData) -> None:
    assert data.lookup("V00.01XA") is None   # external cause: never a principal diagnosis
    assert data.lookup("Y93.01") is None
    assert data.lookup("M54.5") is None      # a header
    assert data.lookup("XYZ") is None
    back = data.lookup("M54.50")
    assert back is not None and back.severity is None and back.hac is None and back.excluded_with == ()


# -- bad files


def xz(payload: Any) -> bytes:
    return lzma.compress(json.dumps(payload).encode(), format=lzma.FORMAT_XZ, preset=0)


def as_file(tmp_path: Path, data: bytes) -> ResolvedFile:
    path = tmp_path / "v43.1.json.xz"
    path.write_bytes(data)
    return resolve(PackageFile("MS-DRG v43.1 data", path=path), None)


@pytest.fixture(scope="module")
def payload(source: ResolvedFile) -> dict[str, Any]:
    value = json.loads(lzma.decompress(source.read_bytes()))
    assert isinstance(value, dict)
    for unused in ("prmap", "orpcsmap", "neoormap", "surgical_rank"):  # procedure tables: not read
        del value[unused]
    return value


def test_truncated_xz(tmp_path: Path, source: ResolvedFile) -> None:
    cut = source.read_bytes()[:50_000]
    with pytest.raises(SourceError, match=r"v43.1.json.xz: it is not a complete xz file .* damaged or "
                                          r"truncated: reinstall drgpy"):
        read_msdrg(as_file(tmp_path, cut))


def test_truncated_json(tmp_path: Path, source: ResolvedFile) -> None:
    text = lzma.decompress(source.read_bytes())[:100_000]
    with pytest.raises(SourceError, match="it does not hold valid JSON"):
        read_msdrg(as_file(tmp_path, lzma.compress(text, format=lzma.FORMAT_XZ)))


@pytest.mark.parametrize(("change", "message"), [
    ({"version": "v43"}, r"it is the data of MS-DRG 'v43', not v43\.1"),
    ({"version": "v42.1"}, r"it is the data of MS-DRG 'v42.1', not v43\.1"),
    ({"schema_version": 2}, "its schema_version is 2, not 1"),
    ({"ccmap": {}}, "its 'ccmap' table is missing or empty"),
    ({"ccmap": {"A000": {"level": "XCC", "pdx": "0002", "hac": None, "aowa": False}}},
     "level 'XCC', expected CC or MCC"),
    ({"ccmap": {"A000": {"level": "CC", "pdx": "9999", "hac": None, "aowa": False}}},
     "PDX collection 9999, which exmap lacks"),
    ({"dxmap": {"A000": ["123&000|PDX"]}}, "naming a DRG that drgmap lacks"),
    ({"dxmap": {"A000": 5}}, "its structure is not drgpy's"),
])
def test_wrong_version_or_structure(tmp_path: Path, payload: dict[str, Any], change: dict[str, Any],
                                    message: str) -> None:
    with pytest.raises(SourceError, match=message):
        read_msdrg(as_file(tmp_path, xz({**payload, **change})))


def test_other_grouper_file_of_drgpy(source: ResolvedFile) -> None:
    other = resolve(PackageFile("MS-DRG data", "drgpy", "0.2.1", "drgpy/runtime_data/v43.json.xz"), None)
    with pytest.raises(SourceError, match=r"it is the data of MS-DRG 'v43', not v43\.1"):
        read_msdrg(other)


def test_wrong_drgpy_version(tmp_path: Path) -> None:
    spec = PackageFile("MS-DRG v43.1 data", "drgpy", "0.3.0", "drgpy/runtime_data/v43.1.json.xz")
    with pytest.raises(SourceError, match=r"MS-DRG v43.1 data needs drgpy 0\.3\.0, but 0\.2\.1 is installed"):
        resolve(spec, tmp_path)
