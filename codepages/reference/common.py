"""Pieces every reference source shares: the setup error, provenance records, code keys, digests.

Nothing here reads a source; `history`, `msdrg` and `gems` do, and `codepages.reference` loads them
together.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from codepages import cache

__all__ = [
    "Provenance",
    "SourceError",
    "descriptor_key",
    "dotted_icd9",
    "dotted_icd10",
    "file_sha256",
    "intern_tuple",
]


class SourceError(Exception):
    """A reference source is missing, of the wrong version, or malformed.

    ``str(exc)`` is a message for the operator: the file, what was expected, and how to fix it.
    """


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where one source's data comes from, for the line a page prints under the data.

    name:      what the data is ("MS-DRG", "ICD-10-CM tabular list", ...)
    version:   the publisher's version name ("v43.1", "FY2026 (April 1, 2026 update)")
    effective: the date the publisher made it effective, None where the publisher gives none
    publisher: who publishes it ("CMS", "CDC/NCHS")
    via:       the distribution it was read from ("drgpy 0.2.1"), or "" for a file the operator supplied
    file:      the file read (a path, or "<wheel>!<member>" for a file read out of a wheel)
    sha256:    hex digest of the bytes read (the key for caching anything derived from them)
    """

    name: str
    version: str
    effective: date | None
    publisher: str
    via: str
    file: str
    sha256: str

    def statement(self) -> str:
        """One line for a page, e.g. "MS-DRG v43.1 (effective April 1, 2026), CMS, via drgpy 0.2.1"."""
        text = f"{self.name} {self.version}"
        if self.effective is not None and _long_date(self.effective) not in self.version:
            text += f" (effective {_long_date(self.effective)})"
        text += f", {self.publisher}"
        if self.via:
            text += f", via {self.via}"
        return text


def _long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (remembered within one process while its size and time stay)."""
    return cache.digest_of(path)


# ------------------------------------------------------------------------------------------
# Code keys

_ICD10 = re.compile(r"[A-Z][0-9A-Z]{2}[0-9A-Z]{0,4}")  # QA0 (2026) has a letter 2nd
_ICD9_DX = re.compile(r"(?:[0-9]{3}[0-9]{0,2}|V[0-9]{2}[0-9]{0,2}|E[0-9]{3}[0-9]?)")


def dotted_icd10(code: str) -> str:
    """An ICD-10-CM code as published: the dot after the 3rd character ("M5450" -> "M54.50",
    "S72001A" -> "S72.001A", "A00" -> "A00"). A code that already has its dot is returned as it is.

    This is the rule of every code of the tabular release (checked against all keys of the
    April 1, 2026 file in the tests); placeholder X characters are part of the code.
    Raises ValueError for anything that is not an ICD-10-CM code.
    """
    bare = code.replace(".", "", 1) if "." in code else code
    if not _ICD10.fullmatch(bare):
        raise ValueError(f"{code!r} is not an ICD-10-CM code")
    return bare if len(bare) == 3 else f"{bare[:3]}.{bare[3:]}"


def dotted_icd9(code: str) -> str:
    """An ICD-9-CM diagnosis code with its dot, as the ICD-9-CM tabular list writes it.

    * numeric codes (001-999): the dot after the 3rd digit: "7242" -> "724.2", "4019" -> "401.9";
    * V codes: the dot after the 3rd character: "V707" -> "V70.7", "V0481" -> "V04.81";
    * E codes (external causes): the dot after the 4th character: "E8800" -> "E880.0";
    * a code of its category length alone ("042", "V01", "E849") has no dot.

    Raises ValueError for anything that is not an ICD-9-CM diagnosis code (GEM's "NoDx" included).
    """
    if not _ICD9_DX.fullmatch(code):
        raise ValueError(f"{code!r} is not an ICD-9-CM diagnosis code")
    head = 4 if code[0] == "E" else 3
    return code if len(code) == head else f"{code[:head]}.{code[head:]}"


# ------------------------------------------------------------------------------------------
# Text

_PUNCTUATION = re.compile(r"[^\w\s]")


def descriptor_key(text: str) -> str:
    """A descriptor reduced to its words: case-folded, punctuation removed, whitespace collapsed.

    Two descriptors with the same key differ only in case, punctuation or spacing.
    """
    return " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())


def intern_tuple(items: tuple[str, ...], pool: dict[tuple[str, ...], tuple[str, ...]]) -> tuple[str, ...]:
    """The one shared copy of `items` in `pool` (strings interned), so equal tuples cost memory once
    and pickle once."""
    shared = pool.get(items)
    if shared is None:
        shared = tuple(sys.intern(item) for item in items)
        pool[shared] = shared
    return shared
