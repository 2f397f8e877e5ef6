"""The ICD-10-CM tabular release as a content source (codepages.releases.icd10cm).

Expected values below were read from the XML release itself
(simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml), not copied from the module's output.
The full release is parsed once for this module.
"""
from __future__ import annotations

from collections import Counter

import pytest

from codepages.releases.icd10cm import (
    Entry,
    Note,
    Release,
    ReleaseError,
    code_references,
    default_release_path,
    read_release,
)


@pytest.fixture(scope="module")
def release() -> Release:
    return read_release()


@pytest.fixture(scope="module")
def entries(release: Release) -> dict[str, Entry]:
    return release.entries


def chain(entries: dict[str, Entry], key: str) -> list[str]:
    """The keys of `key`'s ancestors, parent first, up to its chapter."""
    keys = []
    parent = entries[key].parent
    while parent is not None:
        keys.append(parent)
        parent = entries[parent].parent
    return keys


def own(entry: Entry) -> list[tuple[str, str]]:
    return [(n.kind, n.text) for n in entry.notes if n.inherited_from is None]


# ---------------------------------------------------------------------------------------------
# The release as a whole


def test_default_path_is_the_packaged_release():
    path = default_release_path()
    assert path.name == "icd10c-tabular-April-1-2026.xml"
    assert path.parent.name == "data" and path.parent.parent.name == "simple_icd_10_cm"
    assert path.is_file()


def test_version_path_and_document_order(release):
    assert release.version == "2026"
    assert release.path == default_release_path()
    assert list(release.entries)[:5] == ["A00-B99", "A00-A09", "A00", "A00.0", "A00.1"]
    assert list(release.entries)[-3:] == ["U07.1", "U09", "U09.9"]


def test_counts_per_kind(entries):
    kinds = Counter(e.kind for e in entries.values())
    # 22 <chapter>, 297 <section>, 1918 <diag> directly under a <section>
    assert kinds["chapter"] == 22
    assert kinds["block"] == 297
    assert kinds["category"] == 1918
    assert kinds["subcategory"] + kinds["code"] == len(entries) - 22 - 297 - 1918
    assert set(kinds) == {"chapter", "block", "category", "subcategory", "code"}


CHAPTERS = [
    (1, "A00-B99", "Certain infectious and parasitic diseases"),
    (2, "C00-D49", "Neoplasms"),
    (3, "D50-D89", "Diseases of the blood and blood-forming organs and certain disorders involving the "
                   "immune mechanism"),
    (4, "E00-E89", "Endocrine, nutritional and metabolic diseases"),
    (5, "F01-F99", "Mental, Behavioral and Neurodevelopmental disorders"),
    (6, "G00-G99", "Diseases of the nervous system"),
    (7, "H00-H59", "Diseases of the eye and adnexa"),
    (8, "H60-H95", "Diseases of the ear and mastoid process"),
    (9, "I00-I99", "Diseases of the circulatory system"),
    (10, "J00-J99", "Diseases of the respiratory system"),
    (11, "K00-K95", "Diseases of the digestive system"),
    (12, "L00-L99", "Diseases of the skin and subcutaneous tissue"),
    (13, "M00-M99", "Diseases of the musculoskeletal system and connective tissue"),
    (14, "N00-N99", "Diseases of the genitourinary system"),
    (15, "O00-O9A", "Pregnancy, childbirth and the puerperium"),
    (16, "P00-P96", "Certain conditions originating in the perinatal period"),
    (17, "Q00-QA0", "Congenital malformations, deformations and chromosomal abnormalities"),
    (18, "R00-R99", "Symptoms, signs and abnormal clinical and laboratory findings, not elsewhere classified"),
    (19, "S00-T88", "Injury, poisoning and certain other consequences of external causes"),
    (20, "V00-Y99", "External causes of morbidity"),
    (21, "Z00-Z99", "Factors influencing health status and contact with health services"),
    (22, "U00-U85", "Codes for special purposes"),
]


def test_chapters(entries):
    chapters = [e for e in entries.values() if e.kind == "chapter"]
    assert [(c.chapter, c.key, c.descriptor) for c in chapters] == CHAPTERS
    for c in chapters:
        assert c.parent is None and not c.billable and c.children
        assert all(entries[k].kind == "block" for k in c.children)


def test_no_chapter_key_collides_with_a_block_key(entries):
    blocks = {k for k, e in entries.items() if e.kind == "block"}
    chapters = {k for k, e in entries.items() if e.kind == "chapter"}
    assert len(chapters) == 22 and not chapters & blocks


# (chapter, key, kind, descriptor, ancestors parent first, billable)
SAMPLES = [
    (1, "A00.0", "code", "Cholera due to Vibrio cholerae 01, biovar cholerae",
     ["A00", "A00-A09", "A00-B99"], True),
    (1, "B10.81", "code", "Human herpesvirus 6 infection", ["B10.8", "B10", "B10-B10", "A00-B99"], True),
    (2, "C34.11", "code", "Malignant neoplasm of upper lobe, right bronchus or lung",
     ["C34.1", "C34", "C30-C39", "C00-C75", "C00-C96", "C00-D49"], True),
    (2, "C7A.010", "code", "Malignant carcinoid tumor of the duodenum",
     ["C7A.01", "C7A.0", "C7A", "C7A-C7A", "C00-C96", "C00-D49"], True),
    (3, "D50.0", "code", "Iron deficiency anemia secondary to blood loss (chronic)",
     ["D50", "D50-D53", "D50-D89"], True),
    (4, "E11.65", "code", "Type 2 diabetes mellitus with hyperglycemia", ["E11.6", "E11", "E08-E13", "E00-E89"], True),
    (5, "F32.A", "code", "Depression, unspecified", ["F32", "F30-F39", "F01-F99"], True),
    (6, "G43.909", "code", "Migraine, unspecified, not intractable, without status migrainosus",
     ["G43.90", "G43.9", "G43", "G40-G47", "G00-G99"], True),
    (7, "H21.1X", "subcategory", "Other vascular disorders of iris and ciliary body",
     ["H21.1", "H21", "H15-H22", "H00-H59"], False),
    (7, "H21.1X1", "code", "Other vascular disorders of iris and ciliary body, right eye",
     ["H21.1X", "H21.1", "H21", "H15-H22", "H00-H59"], True),
    (7, "H40.113", "code", "Primary open-angle glaucoma, bilateral",
     ["H40.11", "H40.1", "H40", "H40-H42", "H00-H59"], False),
    (7, "H40.1131", "code", "Primary open-angle glaucoma, bilateral, mild stage",
     ["H40.113", "H40.11", "H40.1", "H40", "H40-H42", "H00-H59"], True),
    (8, "H60.01", "code", "Abscess of right external ear", ["H60.0", "H60", "H60-H62", "H60-H95"], True),
    (9, "I10", "category", "Essential (primary) hypertension", ["I10-I1A", "I00-I99"], True),
    (9, "I21.A1", "code", "Myocardial infarction type 2", ["I21.A", "I21", "I20-I25", "I00-I99"], True),
    (10, "J09.X1", "code", "Influenza due to identified novel influenza A virus with pneumonia",
     ["J09.X", "J09", "J09-J18", "J00-J99"], True),
    (10, "J45.909", "code", "Unspecified asthma, uncomplicated", ["J45.90", "J45.9", "J45", "J40-J4A", "J00-J99"], True),
    (11, "K35.80", "code", "Unspecified acute appendicitis", ["K35.8", "K35", "K35-K38", "K00-K95"], True),
    (12, "L40.0", "code", "Psoriasis vulgaris", ["L40", "L40-L45", "L00-L99"], True),
    (13, "M54", "category", "Dorsalgia", ["M50-M54", "M40-M54", "M00-M99"], False),
    (13, "M54.5", "subcategory", "Low back pain", ["M54", "M50-M54", "M40-M54", "M00-M99"], False),
    (13, "M54.50", "code", "Low back pain, unspecified", ["M54.5", "M54", "M50-M54", "M40-M54", "M00-M99"], True),
    (14, "N18.30", "code", "Chronic kidney disease, stage 3 unspecified", ["N18.3", "N18", "N17-N19", "N00-N99"], True),
    (15, "O09.A1", "code", "Supervision of pregnancy with history of molar pregnancy, first trimester",
     ["O09.A", "O09", "O09-O09", "O00-O9A"], True),
    (15, "O9A.111", "code", "Malignant neoplasm complicating pregnancy, first trimester",
     ["O9A.11", "O9A.1", "O9A", "O94-O9A", "O00-O9A"], True),
    (16, "P07.01", "code", "Extremely low birth weight newborn, less than 500 grams",
     ["P07.0", "P07", "P05-P08", "P00-P96"], True),
    (17, "QA0", "category", "Neurodevelopmental disorders related to specific genetic pathogenic variants",
     ["QA0-QA0", "Q00-QA0"], False),
    (17, "Q21.10", "code", "Atrial septal defect, unspecified", ["Q21.1", "Q21", "Q20-Q28", "Q00-QA0"], True),
    (18, "R07.9", "code", "Chest pain, unspecified", ["R07", "R00-R09", "R00-R99"], True),
    (18, "R40.2110", "code", "Coma scale, eyes open, never, unspecified time",
     ["R40.211", "R40.21", "R40.2", "R40", "R40-R46", "R00-R99"], True),
    (19, "S72.001", "code", "Fracture of unspecified part of neck of right femur",
     ["S72.00", "S72.0", "S72", "S70-S79", "S00-T88"], False),
    (19, "S72.001A", "code", "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture",
     ["S72.001", "S72.00", "S72.0", "S72", "S70-S79", "S00-T88"], True),
    (19, "T36.0X1A", "code", "Poisoning by penicillins, accidental (unintentional), initial encounter",
     ["T36.0X1", "T36.0X", "T36.0", "T36", "T36-T50", "T07-T88", "S00-T88"], True),
    (19, "S02.2XXA", "code", "Fracture of nasal bones, initial encounter for closed fracture",
     ["S02.2", "S02", "S00-S09", "S00-T88"], True),
    (19, "S12.8XXD", "code", "Fracture of other parts of neck, subsequent encounter",
     ["S12.8", "S12", "S10-S19", "S00-T88"], True),
    (19, "T20-T25", "block", "Burns and corrosions of external body surface, specified by site",
     ["T20-T32", "T07-T88", "S00-T88"], False),
    (20, "V43.52XA", "code",
     "Car driver injured in collision with other type car in traffic accident, initial encounter",
     ["V43.52", "V43.5", "V43", "V40-V49", "V00-V99", "V00-X58", "V00-Y99"], True),
    (20, "W08", "category", "Fall from other furniture", ["W00-W19", "W00-X58", "V00-X58", "V00-Y99"], False),
    (20, "W08.XXXA", "code", "Fall from other furniture, initial encounter",
     ["W08", "W00-W19", "W00-X58", "V00-X58", "V00-Y99"], True),
    (20, "X71-X83", "block", "Intentional self-harm", ["V00-Y99"], False),
    (20, "Y93.F", "subcategory", "Activities involving caregiving", ["Y93", "Y90-Y99", "V00-Y99"], False),
    (21, "Z3A.08", "code", "8 weeks gestation of pregnancy", ["Z3A.0", "Z3A", "Z30-Z39", "Z00-Z99"], True),
    (21, "Z79.4", "code", "Long term (current) use of insulin", ["Z79", "Z77-Z99", "Z00-Z99"], True),
    (22, "U07.1", "code", "COVID-19", ["U07", "U00-U49", "U00-U85"], True),
    (22, "U09.9", "code", "Post COVID-19 condition, unspecified", ["U09", "U00-U49", "U00-U85"], True),
]


def test_samples_cover_every_chapter():
    assert {s[0] for s in SAMPLES} == set(range(1, 23))


@pytest.mark.parametrize("chapter, key, kind, descriptor, ancestors, billable", SAMPLES,
                         ids=[s[1] for s in SAMPLES])
def test_sample_entry(entries, chapter, key, kind, descriptor, ancestors, billable):
    entry = entries[key]
    assert entry.key == key
    assert entry.kind == kind
    assert entry.descriptor == descriptor
    assert chain(entries, key) == ancestors
    assert entry.billable is billable
    assert entry.chapter == chapter
    assert entry.parent is None or key in entries[entry.parent].children


def test_parent_and_children_agree(entries):
    for key, entry in entries.items():
        for child in entry.children:
            assert entries[child].parent == key
        if entry.parent is not None:
            assert entries[entry.parent].children.count(key) == 1
            assert entries[entry.parent].chapter == entry.chapter


def test_children_in_release_order(entries):
    assert entries["M54.5"].children == ["M54.50", "M54.51", "M54.59"]
    assert entries["M40-M54"].children == ["M40-M43", "M45-M49", "M50-M54"]
    assert entries["C00-C96"].children == ["C00-C75", "C7A-C7A", "C7B-C7B", "C76-C80", "C81-C96"]
    assert entries["M00-M99"].children == ["M00-M25", "M26-M27", "M30-M36", "M40-M54", "M60-M79", "M80-M94",
                                           "M95-M95", "M96-M96", "M97-M97", "M99-M99"]


def test_single_category_block(entries):
    block, category = entries["B10-B10"], entries["B10"]
    assert (block.kind, block.descriptor, block.parent) == ("block", "Other human herpesviruses", "A00-B99")
    assert block.children == ["B10"]
    assert (category.kind, category.descriptor, category.parent) == ("category", "Other human herpesviruses", "B10-B10")
    assert category.children == ["B10.0", "B10.8"]


def test_block_descriptors_drop_the_range(entries):
    assert entries["A00-A09"].descriptor == "Intestinal infectious diseases"
    assert entries["M50-M54"].descriptor == "Other dorsopathies"
    for entry in entries.values():
        if entry.kind in ("chapter", "block"):
            assert not entry.descriptor.endswith(")"), entry.key


# ---------------------------------------------------------------------------------------------
# Billable codes and 7th characters


def package_code_list() -> list[str]:
    """The package's flat list of the tabular tree in release order: chapters as numbers, blocks as
    their section id ("A00-A09", "B10"), codes without dots. Line ends are mixed CRLF / CR."""
    text = default_release_path().with_name("code-list-April-2026.txt").read_text(encoding="ascii")
    return text.splitlines()


def test_every_item_matches_the_package_code_list_in_order(entries):
    def as_listed(entry: Entry) -> str:
        if entry.kind == "chapter":
            return str(entry.chapter)
        if entry.kind == "block":
            first, last = entry.key.split("-")
            return first if first == last else entry.key
        return entry.key.replace(".", "")

    assert [as_listed(e) for e in entries.values()] == package_code_list()


def test_billable_set_equals_the_package_code_list(entries):
    items = {line for line in package_code_list() if not line.isdigit() and "-" not in line}
    ordered = sorted(items)
    # a listed code is billable when no other listed code extends it
    leaves = {c for c, nxt in zip(ordered, ordered[1:] + [""], strict=True) if not nxt.startswith(c)}
    billable = {k.replace(".", "") for k, e in entries.items() if e.billable}
    assert billable == leaves
    # 74,719: the FY2026 count (74,260 in FY2025 + 487 new - 28 deleted)
    assert len(billable) == 74_719


def test_header_versus_billable(entries):
    for key, entry in entries.items():
        if entry.kind in ("chapter", "block"):
            assert not entry.billable, key
        else:
            assert entry.billable == (not entry.children), key
    # an XML leaf under a 7th-character table is a header
    assert not entries["S72.001"].billable
    assert entries["S72.001"].children == [f"S72.001{c}" for c in "ABCDEFGHJKMNPQRS"]
    assert not entries["T36.0X1"].billable
    assert entries["T36.0X1"].children == ["T36.0X1A", "T36.0X1D", "T36.0X1S"]
    # a category without subdivisions is itself a billable code
    assert entries["I10"].billable and entries["I10"].children == []
    assert entries["M54.50"].billable


def test_generated_codes_have_seven_characters(entries):
    generated = [e for e in entries.values() if e.kind == "code" and e.parent and entries[e.parent].seventh_characters
                 and e.key.replace(".", "")[:-1] == e.parent.replace(".", "").ljust(6, "X")]
    assert len(generated) > 50_000
    for entry in generated:
        stem = entry.key.replace(".", "")
        assert len(stem) == 7 and entry.key[3] == "."
        parent = entries[entry.parent]
        assert entry.descriptor == f"{parent.descriptor}, {parent.seventh_characters[stem[-1]]}"
        assert entry.billable and not entry.children


def test_s72_seventh_characters(entries):
    expected = {
        "A": "initial encounter for closed fracture",
        "B": "initial encounter for open fracture type I or II",
        "C": "initial encounter for open fracture type IIIA, IIIB, or IIIC",
        "D": "subsequent encounter for closed fracture with routine healing",
        "E": "subsequent encounter for open fracture type I or II with routine healing",
        "F": "subsequent encounter for open fracture type IIIA, IIIB, or IIIC with routine healing",
        "G": "subsequent encounter for closed fracture with delayed healing",
        "H": "subsequent encounter for open fracture type I or II with delayed healing",
        "J": "subsequent encounter for open fracture type IIIA, IIIB, or IIIC with delayed healing",
        "K": "subsequent encounter for closed fracture with nonunion",
        "M": "subsequent encounter for open fracture type I or II with nonunion",
        "N": "subsequent encounter for open fracture type IIIA, IIIB, or IIIC with nonunion",
        "P": "subsequent encounter for closed fracture with malunion",
        "Q": "subsequent encounter for open fracture type I or II with malunion",
        "R": "subsequent encounter for open fracture type IIIA, IIIB, or IIIC with malunion",
        "S": "sequela",
    }
    for key in ("S72", "S72.0", "S72.00", "S72.001", "S72.001A"):
        assert entries[key].seventh_characters == expected, key
    assert entries["S72.001B"].descriptor == ("Fracture of unspecified part of neck of right femur, "
                                              "initial encounter for open fracture type I or II")
    assert entries["M54.50"].seventh_characters == {}
    assert entries["S70-S79"].seventh_characters == {}


def test_s72_001a_inherits_the_seventh_character_notes(entries):
    notes = entries["S72.001A"].notes
    seventh = [n for n in notes if n.kind == "seventh_character"]
    assert {n.inherited_from for n in seventh} == {"S72"}
    texts = [n.text for n in seventh]
    assert texts[0] == "The appropriate 7th character is to be added to all codes from category S72"
    assert texts[1] == "A - initial encounter for closed fracture"
    # the extra line the table gives under B (a <note> inside <sevenChrDef>, published with a tab)
    assert texts[2:4] == ["B - initial encounter for open fracture type I or II",
                          "initial encounter for open fracture NOS"]
    assert texts[-1] == "S - sequela"
    # S72's other notes come along, marked
    assert Note("note", "A fracture not indicated as open or closed should be coded to closed", "S72") in notes
    assert Note("excludes1", "traumatic amputation of hip and thigh (S78.-)", "S72") in notes
    assert Note("excludes2", "physeal fracture of upper end of femur (S79.0-)", "S72.0") in notes
    # ... but not S72.00's inclusion terms (they name S72.00 only)
    assert not any(n.text == "Fracture of hip NOS" for n in notes)
    assert all(n.inherited_from is not None for n in notes)


def test_a_subcategory_table_replaces_the_category_table(entries):
    """S72.47 has its own <sevenChrDef>: no B, C, E ... and its own 7th-character notes."""
    assert entries["S72.47"].seventh_characters == {
        "A": "initial encounter for closed fracture",
        "D": "subsequent encounter for fracture with routine healing",
        "G": "subsequent encounter for fracture with delayed healing",
        "K": "subsequent encounter for fracture with nonunion",
        "P": "subsequent encounter for fracture with malunion",
        "S": "sequela",
    }
    assert entries["S72.471"].children == ["S72.471A", "S72.471D", "S72.471G", "S72.471K", "S72.471P", "S72.471S"]
    assert entries["S72.471D"].descriptor == ("Torus fracture of lower end of right femur, "
                                              "subsequent encounter for fracture with routine healing")
    seventh = [n for n in entries["S72.471D"].notes if n.kind == "seventh_character"]
    assert {n.inherited_from for n in seventh} == {"S72.47"}
    assert seventh[0].text == "The appropriate 7th character is to be added to all codes in subcategory S72.47"
    own_seventh = [n for n in entries["S72.47"].notes if n.kind == "seventh_character"]
    assert {n.inherited_from for n in own_seventh} == {None}


def test_s06_death_codes_take_only_initial_encounter(entries):
    """S06's note: 7th characters D and S do not apply with 6th character 7 or 8."""
    assert entries["S06.1X7"].children == ["S06.1X7A"]
    assert entries["S06.1X8"].children == ["S06.1X8A"]
    assert entries["S06.1X7"].seventh_characters == {"A": "initial encounter"}
    assert entries["S06.1X6"].children == ["S06.1X6A", "S06.1X6D", "S06.1X6S"]
    assert "S06.1X7D" not in entries and "S06.1X7S" not in entries


def test_placeholder_x_padding(entries):
    assert entries["W08"].children == ["W08.XXXA", "W08.XXXD", "W08.XXXS"]
    assert entries["S12.8"].children == ["S12.8XXA", "S12.8XXD", "S12.8XXS"]
    assert entries["S02.2"].children == ["S02.2XXA", "S02.2XXB", "S02.2XXD", "S02.2XXG", "S02.2XXK", "S02.2XXS"]
    assert "T36.0X1A" in entries and "T36.0XX1A" not in entries


# ---------------------------------------------------------------------------------------------
# Notes


M00_M99_EXCLUDES2 = [
    "arthropathic psoriasis (L40.5-)",
    "certain conditions originating in the perinatal period (P04-P96)",
    "certain infectious and parasitic diseases (A00-B99)",
    "compartment syndrome (traumatic) (T79.A-)",
    "complications of pregnancy, childbirth and the puerperium (O00-O9A)",
    "congenital malformations, deformations, and chromosomal abnormalities (Q00-Q99)",
    "endocrine, nutritional and metabolic diseases (E00-E88)",
    "injury, poisoning and certain other consequences of external causes (S00-T88)",
    "neoplasms (C00-D49)",
    "symptoms, signs and abnormal clinical and laboratory findings, not elsewhere classified (R00-R94)",
]


def test_m54_notes(entries):
    notes = entries["M54"].notes
    assert notes[0] == Note("excludes1", "psychogenic dorsalgia (F45.41)")
    assert notes[1:3] == [Note("excludes1", "current injury - see injury of spine by body region", "M50-M54"),
                          Note("excludes1", "discitis NOS (M46.4-)", "M50-M54")]
    assert notes[3].kind == "note" and notes[3].inherited_from == "M00-M99"
    assert notes[3].text.startswith("Use an external cause code following the code for the musculoskeletal condition")
    assert [n.text for n in notes[4:]] == M00_M99_EXCLUDES2
    assert {(n.kind, n.inherited_from) for n in notes[4:]} == {("excludes2", "M00-M99")}


def test_m54_5_and_m54_50_notes(entries):
    m54_5_own = [
        ("excludes1", "intervertebral disc degeneration, lumbar region with discogenic back pain only (M51.360)"),
        ("excludes1", "intervertebral disc degeneration, lumbosacral region with discogenic back pain only (M51.370)"),
        ("excludes1", "low back strain (S39.012)"),
        ("excludes1", "lumbago due to intervertebral disc displacement (M51.2-)"),
        ("excludes1", "lumbago with sciatica (M54.4-)"),
    ]
    assert own(entries["M54.5"]) == m54_5_own
    notes = entries["M54.50"].notes
    assert notes[:2] == [Note("inclusion_term", "Loin pain"), Note("inclusion_term", "Lumbago NOS")]
    inherited = [(n.kind, n.text) for n in notes[2:7]]
    assert inherited == m54_5_own and {n.inherited_from for n in notes[2:7]} == {"M54.5"}
    assert notes[7] == Note("excludes1", "psychogenic dorsalgia (F45.41)", "M54")
    # nearest ancestor first: M54.5, M54, then the blocks, then the chapter
    order = [n.inherited_from for n in notes if n.inherited_from]
    assert order == sorted(order, key=["M54.5", "M54", "M50-M54", "M40-M54", "M00-M99"].index)
    assert len(notes) == 2 + 5 + 1 + 2 + 1 + 10


def test_code_first_inherited(entries):
    f02 = entries["F02"]
    code_first = [n.text for n in f02.notes if n.kind == "code_first" and n.inherited_from is None]
    assert code_first[0] == "the underlying physiological condition, such as:"
    assert "Alzheimer's (G30.-)" in code_first and len(code_first) == 26
    child = entries["F02.818"]
    assert Note("code_first", "Alzheimer's (G30.-)", "F02") in child.notes
    # its own use additional code note comes first
    assert child.notes[2] == Note("use_additional_code",
                                  "code, if applicable, to identify wandering in dementia in conditions "
                                  "classified elsewhere (Z91.83)")


def test_use_additional_code_inherited(entries):
    e11_65 = entries["E11.65"]
    use = [n for n in e11_65.notes if n.kind == "use_additional_code"]
    assert [n.text for n in use[:5]] == [
        "code to identify control using:",
        "injectable non-insulin antidiabetic drugs (Z79.85)",
        "insulin (Z79.4)",
        "oral antidiabetic drugs (Z79.84)",
        "oral hypoglycemic drugs (Z79.84)",
    ]
    assert {n.inherited_from for n in use[:5]} == {"E11"}
    assert Note("includes", "diabetes NOS", "E11") in e11_65.notes
    # chapter 1's use-additional-code note reaches down to a code
    assert Note("use_additional_code", "code to identify resistance to antimicrobial drugs (Z16.-)",
                "A00-B99") in entries["A00.0"].notes


def test_block_notes_reach_nested_blocks_and_codes(entries):
    """T20-T32 is a heading block over T20-T25; its includes apply to T20 codes."""
    scalds = Note("includes", "scalds", "T20-T32")
    assert scalds in entries["T20-T25"].notes
    assert scalds in entries["T20.011A"].notes


def test_identical_notes_are_not_repeated(entries):
    """A74 repeats the excludes1 note of its block A70-A74: it is listed once, as A74's own.
    A87's excludes1 list repeats a line in the XML: listed once."""
    text = "sexually transmitted chlamydial diseases (A55-A56)"
    a74 = [n for n in entries["A74"].notes if n.text == text]
    assert a74 == [Note("excludes1", text)]
    a74_0 = [n for n in entries["A74.0"].notes if n.text == text]
    assert a74_0 == [Note("excludes1", text, "A74")]
    assert own(entries["A87"])[:2] == [("excludes1", "meningitis due to herpesvirus [herpes simplex] (B00.3)"),
                                       ("excludes1", "meningitis due to measles virus (B05.1)")]
    for entry in entries.values():
        seen = [(n.kind, n.text) for n in entry.notes]
        assert len(seen) == len(set(seen)), entry.key


def test_note_text_is_whitespace_normalised(entries):
    for entry in entries.values():
        for note in entry.notes:
            assert note.text and note.text == " ".join(note.text.split())


def test_visual_impairment_table_becomes_note_lines(entries):
    lines = [n.text for n in entries["H54.8"].notes if n.inherited_from is None and n.kind == "note"]
    assert lines[3] == ("Category of visual impairment 1: Visual acuity with best possible correction: "
                        "Maximum less than: 6/18, 3/10(0.3), 20/70; "
                        "Minimum equal to or better than: 6/60, 1/10(0.1), 20/200")
    assert lines[-1].startswith("Category of visual impairment 9:")


# ---------------------------------------------------------------------------------------------
# Code references


@pytest.mark.parametrize("key, kind, text, expected", [
    ("M54.5", "excludes1", "lumbago due to intervertebral disc displacement (M51.2-)", ["M51.2"]),
    ("M54.5", "excludes1", "low back strain (S39.012)", ["S39.012"]),
    ("M54.5", "excludes1", "lumbago with sciatica (M54.4-)", ["M54.4"]),
    ("M50-M54", "excludes1", "discitis NOS (M46.4-)", ["M46.4"]),
    ("A00-B99", "excludes2", "carrier or suspected carrier of infectious disease (Z22.-)", ["Z22"]),
    ("B10", "excludes2", "human herpesvirus 3 (B01.-, B02.-)", ["B01", "B02"]),
    ("M00-M99", "excludes2", "neoplasms (C00-D49)", ["C00-D49"]),
    ("H54.8", "excludes1", "legal blindness with specification of impairment level (H54.0-H54.7)",
     ["H54.0", "H54.7"]),
    ("F02", "code_first", "hypothyroidism, acquired (E00-E03.-)", ["E00-E03"]),
    ("W00-W19", "excludes2", "at risk for fall (history of fall) Z91.81", ["Z91.81"]),
    ("J09", "excludes1", "influenza A/H1N1 (J10.-)", ["J10"]),
])
def test_code_references_in_real_notes(entries, key, kind, text, expected):
    assert Note(kind, text) in entries[key].notes  # the text really is in the release
    assert code_references(text) == expected


def test_code_references_find_blocks_and_codes(entries):
    text = "bacterial and viral infectious agents (B95-B97)"
    assert code_references(text) == ["B95-B97"]
    assert entries["B95-B97"].kind == "block"
    for ref in code_references("traumatic brain injury (S06.-) (S06.0X-) (S72.001A) (O09.A-) (Z3A.-)"):
        assert ref in entries, ref


def test_code_references_ignore_non_codes():
    assert code_references("Influenza A/H5N1") == []
    assert code_references("glucose-6-phosphate dehydrogenase [G6PD] deficiency") == []
    assert code_references("vitamin B12 deficiency (E53.8)") == ["E53.8"]
    assert code_references("with C3 glomerulopathy") == []


def test_most_references_resolve(entries):
    refs = Counter()
    for entry in entries.values():
        for note in entry.notes:
            if note.inherited_from is None:
                for ref in code_references(note.text):
                    refs[ref in entries] += 1
    assert refs[True] > 8000
    assert refs[False] < refs[True] / 20


# ---------------------------------------------------------------------------------------------
# Unusable release files


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "icd10cm.xml"
    with pytest.raises(ReleaseError) as err:
        read_release(path)
    assert str(path) in str(err.value) and "not found" in str(err.value)


def test_directory(tmp_path):
    with pytest.raises(ReleaseError, match="is a directory") as err:
        read_release(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_not_xml(tmp_path):
    path = tmp_path / "codes.xml"
    path.write_text("A00.0\tCholera due to Vibrio cholerae 01, biovar cholerae\n", encoding="utf-8")
    with pytest.raises(ReleaseError) as err:
        read_release(path)
    assert str(path) in str(err.value) and "is not XML" in str(err.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.xml"
    path.write_bytes(b"")
    with pytest.raises(ReleaseError, match="is empty") as err:
        read_release(path)
    assert str(path) in str(err.value)


def test_xml_that_is_not_a_tabular_release(tmp_path):
    path = tmp_path / "index.xml"
    path.write_text('<?xml version="1.0"?>\n<ICD10CM.index><version>2026</version></ICD10CM.index>\n')
    with pytest.raises(ReleaseError) as err:
        read_release(path)
    message = str(err.value)
    assert str(path) in message and "not an ICD-10-CM tabular file" in message and "<ICD10CM.index>" in message


def test_tabular_root_without_chapters(tmp_path):
    path = tmp_path / "hollow.xml"
    path.write_text("<ICD10CM.tabular><version>2026</version></ICD10CM.tabular>")
    with pytest.raises(ReleaseError, match="no <chapter>") as err:
        read_release(path)
    assert str(path) in str(err.value)


def test_truncated_release(tmp_path):
    path = tmp_path / "icd10cm-tabular.xml"
    data = default_release_path().read_bytes()[:100 * 1024]
    path.write_bytes(data)
    with pytest.raises(ReleaseError) as err:
        read_release(path)
    message = str(err.value)
    last_line = data.count(b"\n") + 1
    assert str(path) in message and "truncated" in message
    assert f"line {last_line}," in message


def test_malformed_xml_names_the_line(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text("<ICD10CM.tabular>\n<chapter><name>1</name>\n</ICD10CM.tabular>\n<!-- end -->\n")
    with pytest.raises(ReleaseError) as err:
        read_release(path)
    message = str(err.value)
    assert str(path) in message and "not well-formed XML" in message and "line 3" in message


def test_bad_structure_is_reported(tmp_path):
    path = tmp_path / "odd.xml"
    path.write_text("<ICD10CM.tabular><chapter><name>1</name><desc>Things (A00-A09)</desc>"
                    '<section id="A00-A09"><desc>Things (A00-A09)</desc>'
                    "<diag><name>cholera</name><desc>Cholera</desc></diag></section></chapter></ICD10CM.tabular>")
    with pytest.raises(ReleaseError, match="'cholera'") as err:
        read_release(path)
    assert str(path) in str(err.value)


def test_chapter_keys_fall_back_to_numbers_on_collision(tmp_path):
    """A chapter whose range equals a block id: every chapter is keyed chapter-<n>."""
    path = tmp_path / "small.xml"
    path.write_text(
        "<ICD10CM.tabular><version>test</version>"
        "<chapter><name>1</name><desc>Things (A00-A09)</desc>"
        '<section id="A00-A09"><desc>Things (A00-A09)</desc>'
        "<diag><name>A00</name><desc>Thing</desc></diag></section></chapter>"
        "<chapter><name>2</name><desc>Other things (B00-B09)</desc>"
        '<section id="B00"><desc>Other thing (B00)</desc>'
        "<diag><name>B00</name><desc>Other thing</desc><diag><name>B00.1</name><desc>Other thing, one</desc>"
        "</diag></diag></section></chapter></ICD10CM.tabular>")
    small = read_release(path)
    assert small.version == "test"
    assert list(small.entries) == ["chapter-1", "A00-A09", "A00", "chapter-2", "B00-B00", "B00", "B00.1"]
    assert small.entries["A00-A09"].parent == "chapter-1"
    assert small.entries["B00.1"].billable and not small.entries["B00"].billable
