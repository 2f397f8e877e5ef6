"""MS-DRG v43.1 (effective April 1, 2026) facts per ICD-10-CM code, from drgpy's runtime data.

The file is ``drgpy/runtime_data/v43.1.json.xz`` of ``drgpy`` 0.2.1: xz-compressed JSON, built by
drgpy from the CMS MS-DRG Definitions Manual text files. It is read directly (lzma + json); drgpy
itself is not imported (it has no dependencies, but its engine is not needed). What is used:

* ``version`` == "v43.1" and ``schema_version`` == 1 — anything else is a `SourceError`.
* ``ccmap``: code -> {"level": "CC"|"MCC", "pdx": PDX-exclusion collection id ("0002"),
  "hac": HAC number ("05") or null, "aowa": CC/MCC only if the patient is discharged alive}
  (Definitions Manual Appendix C, parts 1 and 2).
* ``exmap``: collection id -> the principal diagnoses that exclude the codes of that collection
  as a CC/MCC (Appendix C, the "PDX collection" lists). drgpy's engine checks
  ``pdx in exmap[ccmap[dx]["pdx"]]``, so the list is the *principal diagnoses* that cancel it.
* ``drg_exclusions``: DRG -> codes that are not a CC/MCC when the case groups to that DRG
  (Appendix C part 3, "severity exclusions in select MS-DRGs"); inverted here per code.
* ``dxmap``: code -> labels from the MDC logic: "_MDCnn" (the code is a principal diagnosis of
  MDC nn), "_MDC24_PDX", "_TRAUMA24_SITE_*", and "<DRG>&<DRG>...|<role phrase>" where the phrase is
  the manual's heading over the code list, shortened by drgpy ("PRINCIPAL DIAGNOSIS" -> "PDX",
  "SECONDARY DIAGNOSIS" -> "SDX", "PRINCIPAL OR SECONDARY DIAGNOSIS" -> "PSDX"; a trailing "*"
  marks a repeated heading).
* ``drgmap``: DRG -> title, MDC ("" for pre-MDC DRGs), medical/surgical.

**DRGs a code groups to as principal diagnosis** — from the dxmap labels, by the phrase:

* a phrase with "EXCEPT" lists codes *excluded* from those DRGs ("PDX FROM MDC 18 EXCEPT"): ignored;
* "PSDX", or both "PDX" and "SDX" ("PDX OR SDX" of the AMI DRGs 280-285): role
  "principal_or_secondary";
* "PDX" otherwise ("PDX", "OR PDX", "SEPTICEMIA PDX", ...): role "principal";
* anything else is a secondary-diagnosis or other condition ("OR SDX", "AND SDX", "ACUTE COR
  PULMONALE", "AND NO SDX OR ONLY SDX"): ignored.

Two DRG families have no code list in the data and are added from the MDC logic: every principal
diagnosis of MDC 20 groups to 894-897, and a principal diagnosis of HIV infection (B20) also to 977
(HIV without a major related condition). DRGs that any principal diagnosis of an MDC can reach only
through a procedure or the discharge status (207-208 ventilator support, 286-287 cardiac
catheterization, 789 neonates died or transferred, 963-965 other multiple significant trauma, the
pre-MDC transplants and 981-989 unrelated O.R. procedures) are not listed per code.

So A41.9 lists 870-872 (septicemia, principal) and 974-976 (HIV with major related condition,
principal or secondary), but not 793 (newborn with major problems, where it is a secondary
diagnosis) — drgpy's own ``get_code_drg_candidates`` would list 793 too. Surgical DRGs appear
where the manual names the diagnosis in a surgical DRG's logic (e.g. 573-578 "SKIN ULCER OR
CELLULITIS PDX"); `Drg.kind` says which. The DRG a given case finally gets depends on procedures,
secondary diagnoses and discharge status, which a code page cannot know.

HAC names are not in the data; `HAC_NAMES` holds the 14 category names of the Definitions
Manual's Appendix I (checked against the v40.0 manual text; the v43.1 data uses the same numbers
01-14, and the tests check each number against the codes it holds). `MDC_TITLES` likewise.

Keys are converted to the dotted form of the release with `dotted_icd10` (dot after the 3rd
character); every code of the v43.1 data is a billable code of the April 1, 2026 release (tested).
"""
from __future__ import annotations

import json
import lzma
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from .common import Provenance, SourceError, dotted_icd10, intern_tuple
from .sources import ResolvedFile

__all__ = [
    "GROUPER", "HAC_NAMES", "MDC_TITLES", "Drg", "DrgGroup", "MsDrgCode", "MsDrgData", "read_msdrg",
]

GROUPER = "v43.1"
EFFECTIVE = date(2026, 4, 1)
SCHEMA_VERSION = 1

HAC_NAMES = {
    "01": "Foreign object retained after surgery",
    "02": "Air embolism",
    "03": "Blood incompatibility",
    "04": "Stage III and IV pressure ulcers",
    "05": "Falls and trauma",
    "06": "Catheter-associated urinary tract infection (UTI)",
    "07": "Vascular catheter-associated infection",
    "08": "Surgical site infection, mediastinitis, following coronary artery bypass graft (CABG)",
    "09": "Manifestations of poor glycemic control",
    "10": "Deep vein thrombosis (DVT)/pulmonary embolism (PE) following certain orthopedic procedures",
    "11": "Surgical site infection following bariatric surgery",
    "12": "Surgical site infection following certain orthopedic procedures of spine, shoulder and elbow",
    "13": "Surgical site infection following cardiac implantable electronic device (CIED) procedures",
    "14": "Iatrogenic pneumothorax with venous catheterization",
}

MDC_TITLES = {
    "01": "Diseases and Disorders of the Nervous System",
    "02": "Diseases and Disorders of the Eye",
    "03": "Diseases and Disorders of the Ear, Nose, Mouth and Throat",
    "04": "Diseases and Disorders of the Respiratory System",
    "05": "Diseases and Disorders of the Circulatory System",
    "06": "Diseases and Disorders of the Digestive System",
    "07": "Diseases and Disorders of the Hepatobiliary System and Pancreas",
    "08": "Diseases and Disorders of the Musculoskeletal System and Connective Tissue",
    "09": "Diseases and Disorders of the Skin, Subcutaneous Tissue and Breast",
    "10": "Endocrine, Nutritional and Metabolic Diseases and Disorders",
    "11": "Diseases and Disorders of the Kidney and Urinary Tract",
    "12": "Diseases and Disorders of the Male Reproductive System",
    "13": "Diseases and Disorders of the Female Reproductive System",
    "14": "Pregnancy, Childbirth and the Puerperium",
    "15": "Newborns and Other Neonates with Conditions Originating in the Perinatal Period",
    "16": "Diseases and Disorders of Blood, Blood Forming Organs and Immunologic Disorders",
    "17": "Myeloproliferative Diseases and Disorders and Poorly Differentiated Neoplasms",
    "18": "Infectious and Parasitic Diseases, Systemic or Unspecified Sites",
    "19": "Mental Diseases and Disorders",
    "20": "Alcohol/Drug Use and Alcohol/Drug Induced Organic Mental Disorders",
    "21": "Injuries, Poisonings and Toxic Effects of Drugs",
    "22": "Burns",
    "23": "Factors Influencing Health Status and Other Contacts with Health Services",
    "24": "Multiple Significant Trauma",
    "25": "Human Immunodeficiency Virus Infections",
}

_MDC_LABEL = re.compile(r"_MDC(\d\d)(?:_PDX)?")
_DRG = re.compile(r"\d{3}")


@dataclass(frozen=True, slots=True)
class Drg:
    """One MS-DRG: number ("551"), title, MDC ("08"; None for pre-MDC DRGs), kind
    ("medical" | "surgical" | "other" — 998/999)."""

    number: str
    title: str
    mdc: str | None
    kind: str


class DrgGroup(NamedTuple):
    """A DRG family a code belongs to as principal diagnosis.

    drgs:  the family's DRG numbers as the manual lists them together ("551", "552")
    role:  "principal" or "principal_or_secondary" (the code counts as principal or secondary)
    logic: the manual's heading over the list, as drgpy shortened it ("PDX", "SEPTICEMIA PDX")
    """

    drgs: tuple[str, ...]
    role: str
    logic: str


@dataclass(frozen=True, slots=True)
class MsDrgCode:
    """What MS-DRG v43.1 says about one code (returned by `MsDrgData.lookup`).

    severity:             "CC" | "MCC" | None (neither)
    exclusion_collection: the Appendix C PDX collection number ("0002"), None when not a CC/MCC
    excluded_with:        principal diagnoses (dotted) with which this code is not a CC/MCC
    alive_only:           a CC/MCC only when the patient is discharged alive
    severity_excluded_in: DRGs in which it is not a CC/MCC (Appendix C part 3)
    hac, hac_name:        its hospital-acquired-condition category ("05", "Falls and trauma")
    mdcs:                 MDCs a case with it as principal diagnosis is assigned to
    groups:               DRG families it groups to as principal diagnosis (see module docstring)
    """

    code: str
    severity: str | None
    exclusion_collection: str | None
    excluded_with: tuple[str, ...]
    alive_only: bool
    severity_excluded_in: tuple[str, ...]
    hac: str | None
    hac_name: str | None
    mdcs: tuple[str, ...]
    groups: tuple[DrgGroup, ...]

    @property
    def drgs(self) -> tuple[str, ...]:
        """Every DRG number of `groups`, ascending."""
        return tuple(sorted({d for g in self.groups for d in g.drgs}, key=int))


# per code, compact: (severity, collection, hac, alive_only)
_Cc = tuple[str, str, "str | None", bool]
# per code: (mdcs, groups)
_Dx = tuple[tuple[str, ...], tuple[DrgGroup, ...]]


@dataclass(frozen=True, slots=True)
class MsDrgData:
    """MS-DRG data for every code that has any (picklable; shared tuples are shared in the pickle).

    drgs:       DRG number -> Drg
    exclusions: PDX collection id -> the principal diagnoses (dotted) of that collection
    cc, dx, severity_exclusions: per dotted code, compact tuples; use `lookup`
    """

    provenance: Provenance
    grouper: str
    drgs: Mapping[str, Drg]
    exclusions: Mapping[str, tuple[str, ...]]
    cc: Mapping[str, _Cc]
    dx: Mapping[str, _Dx]
    severity_exclusions: Mapping[str, tuple[str, ...]]

    def lookup(self, code: str) -> MsDrgCode | None:
        """The code's MS-DRG facts, or None when the data says nothing about it."""
        cc = self.cc.get(code)
        dx = self.dx.get(code)
        excluded_in = self.severity_exclusions.get(code, ())
        if cc is None and dx is None and not excluded_in:
            return None
        severity, collection, hac = (cc[0], cc[1], cc[2]) if cc else (None, None, None)
        mdcs, groups = dx if dx else ((), ())
        return MsDrgCode(
            code, severity, collection, self.exclusions.get(collection, ()) if collection else (),
            bool(cc and cc[3]), excluded_in, hac, HAC_NAMES.get(hac) if hac else None, mdcs, groups)

    def codes(self) -> Iterator[str]:
        """Every code with any MS-DRG data."""
        seen = set(self.cc) | set(self.dx) | set(self.severity_exclusions)
        return iter(sorted(seen))

    def counts(self) -> dict[str, int]:
        """CC, MCC, HAC, alive-only and DRG-list counts (codes), and the collections."""
        levels = [v[0] for v in self.cc.values()]
        return {
            "cc": levels.count("CC"), "mcc": levels.count("MCC"),
            "hac": sum(1 for v in self.cc.values() if v[2]),
            "alive_only": sum(1 for v in self.cc.values() if v[3]),
            "with_drgs": sum(1 for v in self.dx.values() if v[1]),
            "with_mdc": sum(1 for v in self.dx.values() if v[0]),
            "severity_excluded_somewhere": len(self.severity_exclusions),
            "exclusion_collections": len(self.exclusions),
            "drgs": len(self.drgs),
        }


# Phrases naming a condition with neither PDX nor SDX: "175&176|ACUTE COR PULMONALE" (DRG 175,
# "Pulmonary embolism with MCC or acute cor pulmonale": the grouper takes it as principal or
# secondary diagnosis).
_CONDITIONS = {"ACUTE COR PULMONALE": "principal_or_secondary"}
# DRG families the MDC logic assigns without a list of codes (drgpy's mdc20/mdc25 functions):
# every principal diagnosis of MDC 20 groups to 894-897; a principal diagnosis of HIV infection
# without a major related condition groups to 977.
_MDC_WIDE = {"20": DrgGroup(("894", "895", "896", "897"), "principal", "ANY PDX OF MDC 20")}
_HIV = "PSDX OF HIV INFECTION"
_HIV_ALONE = DrgGroup(("977",), "principal", "PDX OF HIV INFECTION WITHOUT MAJOR RELATED CONDITION")


def _role(phrase: str) -> str | None:
    words = phrase.rstrip("*")
    if words in _CONDITIONS:
        return _CONDITIONS[words]
    if "EXCEPT" in words:
        return None
    if "PSDX" in words or ("PDX" in words and "SDX" in words.replace("PSDX", "")):
        return "principal_or_secondary"
    if re.search(r"\bPDX\b", words):
        return "principal"
    return None


def _fail(source: ResolvedFile, what: str) -> SourceError:
    return SourceError(f"MS-DRG data {source.display}: {what}; expected drgpy's runtime data for "
                       f"MS-DRG {GROUPER} (drgpy 0.2.1: drgpy/runtime_data/{GROUPER}.json.xz)")


def _mapping(payload: Mapping[str, Any], key: str, source: ResolvedFile) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict) or not value:
        raise _fail(source, f"its '{key}' table is missing or empty")
    return value


_DOTTED: dict[str, str] = {}


def _code(raw: Any, source: ResolvedFile, table: str) -> str:
    known = _DOTTED.get(raw)
    if known is not None:
        return known
    try:
        dotted = _DOTTED[raw] = sys.intern(dotted_icd10(str(raw)))
        return dotted
    except ValueError:
        raise _fail(source, f"its '{table}' table has the key {raw!r}, which is not an ICD-10-CM "
                            "code") from None


def read_msdrg(source: ResolvedFile, grouper: str = GROUPER, effective: date = EFFECTIVE) -> MsDrgData:
    """Read drgpy's runtime data file; SourceError for a damaged file or another grouper version."""
    raw = source.read_bytes()
    try:
        text = lzma.decompress(raw)
    except lzma.LZMAError as exc:
        raise _fail(source, f"it is not a complete xz file ({exc}); the file is damaged or "
                            "truncated: reinstall drgpy") from None
    try:
        payload = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(source, f"it does not hold valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise _fail(source, "it holds no JSON object")
    if payload.get("schema_version") != SCHEMA_VERSION:
        raise _fail(source, f"its schema_version is {payload.get('schema_version')!r}, not "
                            f"{SCHEMA_VERSION}")
    if payload.get("version") != grouper:
        raise _fail(source, f"it is the data of MS-DRG {payload.get('version')!r}, not {grouper}")
    try:
        return _build(payload, source, grouper, effective)
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise _fail(source, f"its structure is not drgpy's ({type(exc).__name__}: {exc})") from None


def _build(payload: Mapping[str, Any], source: ResolvedFile, grouper: str, effective: date) -> MsDrgData:
    drgmap = _mapping(payload, "drgmap", source)
    drgs: dict[str, Drg] = {}
    for number, item in drgmap.items():
        kind = "surgical" if item["is_surgical"] else "medical" if item["is_medical"] else "other"
        mdc = str(item["mdc"]).strip() or None
        drgs[sys.intern(number)] = Drg(sys.intern(number), str(item["desc"]), mdc, kind)

    pool: dict[tuple[str, ...], tuple[str, ...]] = {}
    exclusions: dict[str, tuple[str, ...]] = {}
    for collection, codes in _mapping(payload, "exmap", source).items():
        exclusions[sys.intern(collection)] = intern_tuple(
            tuple(sorted(_code(c, source, "exmap") for c in codes)), pool)

    cc: dict[str, _Cc] = {}
    for raw, item in _mapping(payload, "ccmap", source).items():
        level = item["level"]
        if level not in ("CC", "MCC"):
            raise _fail(source, f"ccmap gives {raw} the level {level!r}, expected CC or MCC")
        collection = sys.intern(str(item["pdx"]))
        if collection not in exclusions:
            raise _fail(source, f"ccmap gives {raw} the PDX collection {collection}, which exmap lacks")
        hac = item.get("hac")
        if hac is not None and hac not in HAC_NAMES:
            raise _fail(source, f"ccmap gives {raw} the HAC {hac!r}, expected one of 01-14")
        cc[_code(raw, source, "ccmap")] = (sys.intern(level), collection,
                                           sys.intern(hac) if hac else None, bool(item["aowa"]))

    inverted: dict[str, list[str]] = {}
    for drg, codes in _mapping(payload, "drg_exclusions", source).items():
        for raw in codes:
            inverted.setdefault(_code(raw, source, "drg_exclusions"), []).append(drg)
    severity_exclusions = {code: intern_tuple(tuple(sorted(set(d), key=int)), pool)
                           for code, d in inverted.items()}

    group_pool: dict[DrgGroup, DrgGroup] = {}
    pair_pool: dict[_Dx, _Dx] = {}
    groups_pool: dict[tuple[DrgGroup, ...], tuple[DrgGroup, ...]] = {}
    dx: dict[str, _Dx] = {}
    for raw, labels in _mapping(payload, "dxmap", source).items():
        mdcs: list[str] = []
        groups: list[DrgGroup] = []
        for label in labels:
            match = _MDC_LABEL.fullmatch(label)
            if match:
                if match.group(1) not in mdcs:
                    mdcs.append(match.group(1))
                continue
            if "|" not in label:
                continue  # _TRAUMA24_SITE_*: a trauma body site, not an assignment
            head, phrase = label.split("|", 2)[:2]
            role = _role(phrase)
            if role is None:
                continue
            numbers = tuple(head.split("&"))
            if not all(_DRG.fullmatch(n) and n in drgs for n in numbers):
                raise _fail(source, f"dxmap gives {raw} the label {label!r}, naming a DRG that "
                                    "drgmap lacks")
            group = DrgGroup(intern_tuple(numbers, pool), sys.intern(role), sys.intern(phrase.rstrip("*")))
            group = group_pool.setdefault(group, group)
            if group not in groups:
                groups.append(group)
        for mdc in mdcs:
            if mdc in _MDC_WIDE:
                groups.append(_MDC_WIDE[mdc])
        if any(g.logic == _HIV for g in groups):
            groups.append(_HIV_ALONE)
        if not mdcs and not groups:
            continue
        groups_key = tuple(groups)
        pair = (intern_tuple(tuple(mdcs), pool), groups_pool.setdefault(groups_key, groups_key))
        dx[_code(raw, source, "dxmap")] = pair_pool.setdefault(pair, pair)

    provenance = Provenance("MS-DRG", grouper, effective, "CMS", source.via, source.display,
                            source.sha256)
    return MsDrgData(provenance, grouper, drgs, exclusions, cc, dx, severity_exclusions)
