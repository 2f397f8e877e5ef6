"""The licensed CPT data-file reader (codepages.releases.cpt). Every CPT text here is our
own wording (content/releases/cpt/README.md), never AMA text."""
from __future__ import annotations

import pickle
import re
import sys
from pathlib import Path

import pytest
import yaml

from codepages.releases import ReleaseFileError, cpt

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "content" / "releases" / "cpt"
INVALID = Path(__file__).resolve().parent / "releases" / "invalid"


def readme_config() -> dict[str, object]:
    """The mapping proposed in the fixture's README (the site.yaml snippet), as YAML data."""
    text = (FIXTURE / "README.md").read_text()
    snippet = re.search(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert snippet is not None
    data = yaml.safe_load(snippet.group(1))
    release = data["code_sets"]["cpt"]["release"]
    assert data["code_sets"]["cpt"]["descriptor_source"] == "licensed"
    return release  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def release() -> cpt.CptRelease:
    config = cpt.config_from_mapping(readme_config(), base_dir=ROOT / "content")
    return cpt.read_release(config)


def test_fixture_says_it_is_not_ama_text() -> None:
    readme = (FIXTURE / "README.md").read_text()
    assert "NOT AMA TEXT" in readme and "own words" in readme


def test_fixture_files_join_on_the_code(release: cpt.CptRelease) -> None:
    assert len(release.codes) == 15
    assert list(release.codes) == sorted(release.codes)
    # independently of the module: split the files here
    longs = dict(line.split("\t", 1) for line in (FIXTURE / "LONGULT.txt").read_text().splitlines())
    shorts = dict(line.split(" ", 1) for line in (FIXTURE / "SHORTU.txt").read_text().splitlines())
    meds = dict(line.split(" ", 1) for line in (FIXTURE / "MEDU.txt").read_text().splitlines())
    consumer_lines = (FIXTURE / "ConsumerDescriptor.txt").read_text().splitlines()[1:]
    consumers = {c: t for _, c, t in (ln.split("\t") for ln in consumer_lines)}
    assert set(longs) == set(release.codes)
    for code, e in release.codes.items():
        assert (e.long, e.short, e.medium) == (longs[code], shorts[code], meds[code])
        assert e.consumer == consumers.get(code)
    e = release.codes["62323"]
    assert e.long.startswith("Low-back or tailbone-area spinal injection")
    assert e.section == "Epidural and subarachnoid injections and infusions of the spine, 62320-62327"  # quoted CSV field with a comma
    assert e.line == 7
    assert release.codes["99213"].section is None
    assert release.name.startswith("Codepages CPT fixture")


def test_demo_codes_reuse_our_paraphrases(release: cpt.CptRelease) -> None:
    assert {c for c in release.codes if c.startswith("6232")} == {f"6232{i}" for i in range(8)}
    assert release.codes["62326"].long == (
        "Low-back or tailbone-area spinal catheter placed for continuous infusion or repeated"
        " bolus doses of medication, without image guidance"
    )


def test_categories_and_code_form() -> None:
    assert cpt.category_of("62323") == "I" and cpt.category_of("1036F") == "II"
    assert cpt.category_of("0101T") == "III" and cpt.category_of("0001U") == "I"
    for good in ("00100", "62323", "1036F", "0101T", "0001U", "0002M"):
        assert cpt.is_cpt_code(good)
    for bad in ("6232", "623234", "6232A", "J1040", "62323 ", "0101X"):
        assert not cpt.is_cpt_code(bad)


def test_licensed_fields_are_exposed_and_kept_out_of_search(release: cpt.CptRelease) -> None:
    assert cpt.LICENSED_FIELDS == {"long", "medium", "short", "consumer", "clinician"}
    assert release.licensed_fields == cpt.LICENSED_FIELDS
    assert release.search_index_licensed_text is False
    assert cpt.searchable_fields(release) == ("code", "section")
    allowed = cpt.config_from_mapping({**readme_config(), "search_index_licensed_text": True}, base_dir=ROOT / "content")
    assert "long" in cpt.searchable_fields(allowed)


def test_release_pickles(release: cpt.CptRelease) -> None:
    assert pickle.loads(pickle.dumps(release)) == release


INVALID_DIRS = sorted(p for p in INVALID.glob("cpt-*") if p.is_dir())


@pytest.mark.parametrize("folder", INVALID_DIRS, ids=[p.name for p in INVALID_DIRS])
def test_invalid_fixture_gives_exactly_its_problems(folder: Path) -> None:
    expected = (folder / "expected.txt").read_text().splitlines()
    with pytest.raises(ReleaseFileError) as caught:
        config = cpt.config_from_mapping(yaml.safe_load((folder / "config.yaml").read_text()), base_dir=folder, name="config.yaml")
        cpt.read_release(config, names={s.path: s.path.name for s in config.files})
    assert [str(p) for p in caught.value.problems] == expected


def test_config_mistakes_all_at_once() -> None:
    with pytest.raises(ReleaseFileError) as caught:
        cpt.config_from_mapping(
            {
                "nmae": "x",
                "search_index_licensed_text": "no",
                "files": [
                    {"path": "a.txt", "format": "tsv", "columns": {"code": "CPT Code", "long": 2}},
                    {"path": "b.txt", "format": "tsv", "columns": {"code": 1, "long": 2}},
                    {"path": "c.txt", "format": "space", "columns": {"code": 1, "short": 3}},
                ],
            },
            base_dir=".",
            name="site.yaml",
        )
    assert [str(p) for p in caught.value.problems] == [
        "site.yaml: unknown key code_sets.cpt.release.nmae (did you mean 'name'?)",
        "site.yaml: code_sets.cpt.release.search_index_licensed_text must be true or false",
        "site.yaml: code_sets.cpt.release.files[1].columns.code names column 'CPT Code', "
        "but the file has no header row (header: false); use its number",
        "site.yaml: code_sets.cpt.release.files[2].columns.long: field 'long' already comes from files[1]",
        "site.yaml: code_sets.cpt.release.files[3].columns.short: a 'space' file has two columns (the code and the text)",
    ]


def test_header_names_match_case_insensitively_and_csv_quotes(tmp_path: Path) -> None:
    (tmp_path / "codes.csv").write_text('Code,Long Text\n62323,"Our words, with a comma"\n')
    config = cpt.config_from_mapping(
        {"name": "t", "files": [{"path": "codes.csv", "header": True, "columns": {"code": "code", "long": "LONG TEXT"}}]},
        base_dir=tmp_path,
    )
    assert config.files[0].format == "csv"  # from the suffix
    assert cpt.read_release(config).codes["62323"].long == "Our words, with a comma"


def test_unbalanced_csv_quote_is_reported(tmp_path: Path) -> None:
    (tmp_path / "codes.csv").write_text('62323,"Our words\n62324,More\n')
    config = cpt.config_from_mapping({"name": "t", "files": [{"path": "codes.csv", "columns": {"code": 1, "long": 2}}]}, base_dir=tmp_path)
    with pytest.raises(ReleaseFileError) as caught:
        cpt.read_release(config, names={config.files[0].path: "codes.csv"})
    assert len(caught.value.problems) == 1
    assert "truncated or a quote is unbalanced" in str(caught.value.problems[0])


def test_wrong_encoding_is_reported_with_its_position(tmp_path: Path) -> None:
    (tmp_path / "LONGULT.txt").write_bytes(b"62323\tOur words\n62324\tOur w\xe9rds\n")
    config = cpt.config_from_mapping({"name": "t", "files": [{"path": "LONGULT.txt", "columns": {"code": 1, "long": 2}}]},
                                     base_dir=tmp_path)
    with pytest.raises(ReleaseFileError) as caught:
        cpt.read_release(config, names={config.files[0].path: "LONGULT.txt"})
    assert [str(p) for p in caught.value.problems] == [
        "LONGULT.txt:2:12: not valid utf-8 text (byte 0xe9); set the release's encoding (for example cp1252)"
    ]
    latin = cpt.config_from_mapping(
        {"name": "t", "encoding": "cp1252", "files": [{"path": "LONGULT.txt", "columns": {"code": 1, "long": 2}}]}, base_dir=tmp_path
    )
    assert cpt.read_release(latin).codes["62324"].long == "Our wérds"


def test_one_spreadsheet_with_every_field(tmp_path: Path, release: cpt.CptRelease) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "CPT"
    sheet.append(["Made-up text for tests: not AMA CPT"])
    sheet.append(["Code", "Long", "Medium", "Short", "Consumer"])
    for e in release.codes.values():
        sheet.append([e.code, e.long, e.medium, e.short, e.consumer])
    workbook.save(tmp_path / "cpt.xlsx")
    config = cpt.config_from_mapping(
        {
            "name": "t",
            "files": [
                {
                    "path": "cpt.xlsx",
                    "sheet": "CPT",
                    "skip_lines": 1,
                    "header": True,
                    "columns": {"code": "Code", "long": "Long", "medium": "Medium", "short": "Short", "consumer": "Consumer"},
                }
            ],
        },
        base_dir=tmp_path,
    )
    sheet_release = cpt.read_release(config)
    assert {c: e._replace(section=None, line=0) for c, e in sheet_release.codes.items()} == {
        c: e._replace(section=None, line=0) for c, e in release.codes.items()
    }


def test_generated_full_size_files_parse_with_the_right_counts(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import make_releases
    finally:
        sys.path.remove(str(ROOT / "bench"))
    paths = make_releases.write(tmp_path, seed=5)
    config = cpt.config_from_mapping(yaml.safe_load(paths["cpt"].read_text()), base_dir=paths["cpt"].parent)
    release = cpt.read_release(config)
    assert len(release.codes) == 11000
    assert all(e.medium and e.short and e.consumer for e in release.codes.values())
    categories = {e.category for e in release.codes.values()}
    assert categories == {"I", "II", "III"}


def _cpt_settings_validator() -> object:
    import json

    from jsonschema import Draft202012Validator

    defs = json.loads((ROOT / "codepages" / "releases" / "release.schema.json").read_text())["$defs"]
    schema = {
        "$defs": defs,
        "type": "object",
        "properties": {"release": {"$ref": "#/$defs/cpt_release"}},
        "allOf": [{"$ref": "#/$defs/cpt_licensed_needs_release"}],
    }
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_schema_fragment_accepts_the_proposal_and_rejects_mistakes() -> None:
    validator = _cpt_settings_validator()
    good = {"descriptor_source": "licensed", "release": readme_config()}
    assert list(validator.iter_errors(good)) == []  # type: ignore[attr-defined]
    assert list(validator.iter_errors({"descriptor_source": "paraphrase"})) == []  # type: ignore[attr-defined]
    assert list(validator.iter_errors({"descriptor_source": "licensed"}))  # type: ignore[attr-defined]  # no release
    bad = {"descriptor_source": "licensed", "release": {"files": [{"path": "a.txt", "columns": {"code": 1, "lnog": 2}}]}}
    assert list(validator.iter_errors(bad))  # type: ignore[attr-defined]
    generated = yaml.safe_load((ROOT / "bench" / "make_releases.py").read_text().split('CPT_CONFIG = """\\\n')[1].split('"""')[0])
    assert list(validator.iter_errors({"descriptor_source": "licensed", "release": generated})) == []  # type: ignore[attr-defined]
