"""The CMS HCPCS Level II quarterly release ("alpha-numeric HCPCS file") as a content source.

CMS publishes the Level II codes every quarter as a zip ("HCPC<year>_<month>_ANWEB...")
holding the same records twice: a fixed-width text file and a spreadsheet. This module reads
the text file (`read_text`, the reference form: exact, and fast) and, if asked, the
spreadsheet (`read_spreadsheet`, needs openpyxl). Both give the same `HcpcsRelease`.

Record layout (CMS "HCPCS Contractor Record", HCPC<year>_recordlayout.txt; every record is
320 characters, columns 1-based, inclusive):

=========  =====================================================================
columns    field
=========  =====================================================================
1-5        HCPCS code; for a modifier, columns 1-3 blank and the modifier in 4-5
6-10       sequence number (by 100s; groups the lines of one code)
11         record identification code: 3 / 7 first line of a procedure / modifier
           (holds all detail fields), 4 / 8 a further line of its long description
           (no detail fields)
12-91      long description (continued on the 4 / 8 lines)
92-119     short description
120-127    pricing indicator, 4 x 2
128        multiple pricing indicator
129-146    Coverage Issues Manual reference section number, 3 x 6
147-170    Medicare Carriers Manual reference section number, 3 x 8
171-180    statute number
181-204    lab certification code, 8 x 3
205-229    cross reference code, 5 x 5
230        coverage code
231-232    ASC payment group ("YY" = approved for an ambulatory surgical center)
233-240    ASC payment group effective date (YYYYMMDD)
241-243    payment group (MOG in older layouts; "OPPS" in the spreadsheet)
244        payment policy indicator ("MOG payment policy indicator"; "OPPS_PI")
245-252    payment group effective date ("OPPS_DT")
253-256    processing note number
257-259    BETOS code
260        filler
261-265    type of service code, 5 x 1
266-268    anesthesia base unit quantity
269-276    code added date (YYYYMMDD)
277-284    action effective date (YYYYMMDD)
285-292    termination date (YYYYMMDD): last day the code may be used
293        action code
294-320    filler
=========  =====================================================================

Continuation lines (4 / 8) are 91 characters in CMS's files (columns 92-320 left off) or
padded with blanks to 320; both are accepted. Lines may end in CRLF (as CMS ships them) or
LF; blank lines are ignored.

Licensing: HCPCS Level II is public domain, except the D codes, which are the American
Dental Association's CDT: they are refused (skipped and counted; their descriptors are never
kept), and so are 5-digit numeric codes and 2-digit numeric modifiers, which are the AMA's
CPT. `LICENSED_FIELDS` is therefore empty: every field of an entry may be indexed.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from difflib import get_close_matches
from pathlib import Path
from typing import Final, Literal, NamedTuple

from .hcpcs_tables import (
    ACTION_CODES,
    BETOS,
    COVERAGE_CODES,
    LAB_CERTIFICATION,
    MULTIPLE_PRICING,
    PAYMENT_POLICY,
    PRICING_INDICATORS,
    TYPE_OF_SERVICE,
)
from .problems import Problem, ReleaseFileError

__all__ = [
    "ACTION_MEANINGS",
    "LICENSED_FIELDS",
    "RECORD_LENGTH",
    "SECTIONS",
    "SPREADSHEET_COLUMNS",
    "Change",
    "Coded",
    "HcpcsEntry",
    "HcpcsRange",
    "HcpcsRelease",
    "HcpcsSection",
    "HcpcsStatus",
    "ReleaseDiff",
    "diff",
    "format_entry",
    "format_text",
    "parse_text",
    "range_of",
    "read_release",
    "read_spreadsheet",
    "read_text",
    "section_of",
]

RECORD_LENGTH: Final = 320
DESCRIPTION_WIDTH: Final = 80

#: Fields of an entry that hold licensed text (none: HCPCS Level II is public domain).
LICENSED_FIELDS: Final[frozenset[str]] = frozenset()

StatusKind = Literal["active", "added", "changed", "terminated", "reactivated"]
EntryKind = Literal["code", "modifier"]


# --------------------------------------------------------------------------- data


class Coded(NamedTuple):
    """A coded value and CMS's meaning of it (None: not in the layout's published table)."""

    code: str
    meaning: str | None

    def __str__(self) -> str:
        return f"{self.code} ({self.meaning})" if self.meaning else self.code


class HcpcsStatus(NamedTuple):
    """Where a code stands, decoded from the action code and the three dates.

    kind: "added" (action A), "changed" (B, C, F, P, S, T; `changed` says what),
    "reactivated" (R), "terminated" (action D, or any code with a termination date: CMS
    keeps discontinued codes in the file for four years, then with action N), "active" (N).
    """

    kind: StatusKind
    action: Coded
    changed: tuple[str, ...]
    added: date | None
    effective: date | None
    terminated: date | None

    def in_use_on(self, day: date) -> bool:
        """True if the code may be used on `day` (on or after it was added, not past its
        termination date)."""
        if self.added is not None and day < self.added:
            return False
        return self.terminated is None or day <= self.terminated


class HcpcsEntry(NamedTuple):
    """One HCPCS Level II code or modifier of a release, all fields of its record."""

    code: str  # "J1040", or the modifier: "LT"
    kind: EntryKind
    long_description: str  # the official long descriptor, continuation lines joined
    short_description: str
    status: HcpcsStatus
    pricing: tuple[Coded, ...]
    multiple_pricing: Coded | None
    coverage: Coded | None
    betos: Coded | None
    type_of_service: tuple[Coded, ...]
    lab_certification: tuple[Coded, ...]
    cross_references: tuple[str, ...]  # codes (or modifiers) to link
    coverage_issues_manual: tuple[str, ...]
    carriers_manual: tuple[str, ...]
    statute: str | None
    asc_group: str | None  # "YY": approved for ASC
    asc_effective: date | None
    payment_group: str | None
    payment_policy: Coded | None
    payment_group_effective: date | None
    processing_note: str | None
    anesthesia_base_units: int | None
    sequence: int
    line: int  # the line (text) or row (spreadsheet) of its first record

    @property
    def section(self) -> HcpcsSection | None:
        return section_of(self.code) if self.kind == "code" else None

    @property
    def asc_approved(self) -> bool:
        return self.asc_group == "YY"

    @property
    def dates_in_use(self) -> tuple[date | None, date | None]:
        """When the code was added and when it ends: what a quarter can change about its status.
        The action code and its date say what the quarter's maintenance did, not a change."""
        return self.status.added, self.status.terminated


@dataclass(frozen=True, slots=True)
class HcpcsRange:
    first: str
    last: str
    name: str

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and len(code) == 5 and self.first <= code <= self.last

    @property
    def label(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass(frozen=True, slots=True)
class HcpcsSection:
    """A letter section of the code set, with the named ranges inside it."""

    letter: str
    name: str
    ranges: tuple[HcpcsRange, ...]

    @property
    def first(self) -> str:
        return f"{self.letter}0000"

    @property
    def last(self) -> str:
        return f"{self.letter}9999"


def _section(letter: str, name: str, *ranges: tuple[str, str, str]) -> HcpcsSection:
    rs = tuple(HcpcsRange(a, b, n) for a, b, n in ranges) or (
        HcpcsRange(f"{letter}0000", f"{letter}9999", name),
    )
    return HcpcsSection(letter, name, rs)


#: The letter sections of HCPCS Level II and their named ranges, as headed in the HCPCS
#: Level II code book. The CMS data file carries no section names; these were checked
#: against several public HCPCS references (see the report of issue 12), not against a
#: CMS-published table. Range bounds cover the whole letter (X0000-X9999), split where the
#: book splits a letter, so that every valid code falls in exactly one range. D (CDT) is
#: refused and has no section here.
SECTIONS: Final[tuple[HcpcsSection, ...]] = (
    _section(
        "A",
        "Transportation Services Including Ambulance, Medical and Surgical Supplies,"
        " Administrative, Miscellaneous and Investigational",
        ("A0000", "A0999", "Transportation Services Including Ambulance"),
        ("A1000", "A8999", "Medical and Surgical Supplies"),
        ("A9000", "A9999", "Administrative, Miscellaneous and Investigational"),
    ),
    _section("B", "Enteral and Parenteral Therapy"),
    _section("C", "Outpatient PPS"),
    _section("E", "Durable Medical Equipment"),
    _section("G", "Procedures/Professional Services (Temporary)"),
    _section("H", "Alcohol and Drug Abuse Treatment Services"),
    _section(
        "J",
        "Drugs Administered Other Than Oral Method, Chemotherapy Drugs",
        ("J0000", "J8999", "Drugs Administered Other Than Oral Method"),
        ("J9000", "J9999", "Chemotherapy Drugs"),
    ),
    _section("K", "Temporary Codes (Durable Medical Equipment Medicare Administrative Contractors)"),
    _section(
        "L",
        "Orthotic Procedures and Services, Prosthetic Procedures",
        ("L0000", "L4999", "Orthotic Procedures and Services"),
        ("L5000", "L9999", "Prosthetic Procedures"),
    ),
    _section("M", "Medical Services"),
    _section("P", "Pathology and Laboratory Services"),
    _section("Q", "Q Codes (Temporary)"),
    _section("R", "Diagnostic Radiology Services"),
    _section("S", "Temporary National Codes (Non-Medicare)"),
    _section("T", "National T Codes Established for State Medicaid Agencies"),
    _section("U", "Coronavirus Diagnostic Panel"),
    _section(
        "V",
        "Vision Services, Hearing Services, Speech-Language Pathology Services",
        ("V0000", "V4999", "Vision Services"),
        ("V5000", "V5299", "Hearing Services"),
        ("V5300", "V9999", "Speech-Language Pathology Services"),
    ),
)

_SECTION_BY_LETTER: Final = {s.letter: s for s in SECTIONS}


def section_of(code: str) -> HcpcsSection | None:
    """The letter section of a Level II code (None for D codes and non-codes)."""
    return _SECTION_BY_LETTER.get(code[:1]) if _CODE_RE.fullmatch(code) else None


def range_of(code: str) -> HcpcsRange | None:
    """The named range of a Level II code within its section."""
    section = section_of(code)
    if section is None:
        return None
    for r in section.ranges:
        if code in r:
            return r
    return None  # pragma: no cover - ranges cover the letter


@dataclass(frozen=True, slots=True)
class HcpcsRelease:
    """One HCPCS Level II release file, parsed. Codes and modifiers keep the file's order."""

    file: str
    version: str | None  # "2026 JAN" from a CMS file name, else None
    codes: dict[str, HcpcsEntry]
    modifiers: dict[str, HcpcsEntry]
    refused_dental: int  # D codes (CDT, ADA copyright): skipped, descriptors not kept
    refused_cpt: int  # numeric codes and modifiers (CPT, AMA copyright): likewise
    notices: tuple[str, ...]

    def get(self, code: str) -> HcpcsEntry | None:
        """A code ("J1040") or a modifier ("LT")."""
        return self.codes.get(code) if len(code) == 5 else self.modifiers.get(code)

    def in_section(self, letter: str) -> list[HcpcsEntry]:
        return [e for c, e in self.codes.items() if c[0] == letter]

    def in_range(self, r: HcpcsRange) -> list[HcpcsEntry]:
        return [e for c, e in self.codes.items() if c in r]


# --------------------------------------------------------------------------- layout

#: The record's fields in order: (name, first column, last column), 1-based inclusive.
#: The names are the column headers of CMS's spreadsheet form of the same release.
_LAYOUT: Final[tuple[tuple[str, int, int], ...]] = (
    ("HCPC", 1, 5),
    ("SEQNUM", 6, 10),
    ("RECID", 11, 11),
    ("LONG DESCRIPTION", 12, 91),
    ("SHORT DESCRIPTION", 92, 119),
    ("PRICE1", 120, 121),
    ("PRICE2", 122, 123),
    ("PRICE3", 124, 125),
    ("PRICE4", 126, 127),
    ("MULT_PI", 128, 128),
    ("CIM1", 129, 134),
    ("CIM2", 135, 140),
    ("CIM3", 141, 146),
    ("MCM1", 147, 154),
    ("MCM2", 155, 162),
    ("MCM3", 163, 170),
    ("STATUTE", 171, 180),
    *((f"LABCERT{i + 1}", 181 + 3 * i, 183 + 3 * i) for i in range(8)),
    *((f"XREF{i + 1}", 205 + 5 * i, 209 + 5 * i) for i in range(5)),
    ("COV", 230, 230),
    ("ASC_GRP", 231, 232),
    ("ASC_DT", 233, 240),
    ("OPPS", 241, 243),
    ("OPPS_PI", 244, 244),
    ("OPPS_DT", 245, 252),
    ("PROCNOTE", 253, 256),
    ("BETOS", 257, 259),
    *((f"TOS{i + 1}", 261 + i, 261 + i) for i in range(5)),
    ("ANEST_BU", 266, 268),
    ("ADD DT", 269, 276),
    ("ACT EFF DT", 277, 284),
    ("TERM DT", 285, 292),
    ("ACTION CD", 293, 293),
)
SPREADSHEET_COLUMNS: Final[tuple[str, ...]] = tuple(name for name, _, _ in _LAYOUT)
_TEXT_COLUMNS: Final[tuple[int, ...]] = tuple(first for _, first, _ in _LAYOUT)
def _record_pattern() -> re.Pattern[str]:
    pattern, position = "", 1
    for _, first, last in _LAYOUT:
        if first > position:
            pattern += f".{{{first - position}}}"
        pattern += f"(.{{{last - first + 1}}})"
        position = last + 1
    return re.compile(pattern, re.DOTALL)


_RECORD_RE: Final = _record_pattern()
_F: Final = {name: i for i, name in enumerate(SPREADSHEET_COLUMNS)}
_ACTION_COLUMN: Final = 293
_I_SEQ, _I_SHORT, _I_PRICE, _I_MULT = _F["SEQNUM"], _F["SHORT DESCRIPTION"], _F["PRICE1"], _F["MULT_PI"]
_I_CIM, _I_MCM, _I_STATUTE, _I_LAB, _I_XREF = _F["CIM1"], _F["MCM1"], _F["STATUTE"], _F["LABCERT1"], _F["XREF1"]
_I_COV, _I_ASC_GRP, _I_ASC_DT, _I_OPPS, _I_OPPS_PI = _F["COV"], _F["ASC_GRP"], _F["ASC_DT"], _F["OPPS"], _F["OPPS_PI"]
_I_OPPS_DT, _I_PROCNOTE, _I_BETOS, _I_TOS = _F["OPPS_DT"], _F["PROCNOTE"], _F["BETOS"], _F["TOS1"]
_I_ANEST_BU, _I_ADD_DT, _I_EFF_DT = _F["ANEST_BU"], _F["ADD DT"], _F["ACT EFF DT"]
_I_TERM_DT, _I_ACTION = _F["TERM DT"], _F["ACTION CD"]
ACTION_MEANINGS: Final = {code: meaning for code, (meaning, _, _) in ACTION_CODES.items()}

_CODE_RE: Final = re.compile(r"[A-Z][0-9]{4}")
_MODIFIER_RE: Final = re.compile(r"[A-Z0-9]{2}")
_VERSION_RE: Final = re.compile(
    r"HCPC(\d{4})(?:_(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC))?", re.IGNORECASE
)
_DATE_LABELS: Final = {
    "ASC_DT": "ASC payment group effective date",
    "OPPS_DT": "payment group effective date",
    "ADD DT": "code added date",
    "ACT EFF DT": "action effective date",
    "TERM DT": "termination date",
}


def _span(name: str) -> str:
    _, a, b = _LAYOUT[_F[name]]
    return f"column {a}" if a == b else f"columns {a}-{b}"


# --------------------------------------------------------------------------- building

# A raw record: (line, values in _LAYOUT order, all str, unstripped for text).
_Raw = tuple[int, Sequence[str]]


@dataclass(slots=True)
class _Group:
    code: str
    ric: str
    seq: int | None
    line: int
    values: Sequence[str] | None
    parts: list[str] | None


class _Builder:
    """Turns raw records of one file into entries, collecting every problem."""

    def __init__(self, name: str, columns: Sequence[int], spreadsheet: bool, file_name: str | None = None) -> None:
        self.name = name
        self.file_name = file_name or name
        self.columns = columns
        self.spreadsheet = spreadsheet
        self.problems: list[Problem] = []
        self.codes: dict[str, HcpcsEntry] = {}
        self.modifiers: dict[str, HcpcsEntry] = {}
        self.first_line: dict[str, int] = {}
        self.refused_dental = 0
        self.refused_cpt = 0
        self.unknown: dict[str, set[str]] = {}
        self._coded: dict[tuple[str, str], Coded] = {}
        self._dates: dict[str, date] = {}
        # the record group being read (a refused or duplicate code's too, without a first
        # record, so that its continuation lines are accepted and skipped)
        self._group: _Group | None = None

    # -- problems
    def problem(self, line: int, field: str | None, message: str, column: int | None = None) -> None:
        if column is None and field is not None:
            column = self.columns[_F[field]]
        self.problems.append(Problem(self.name, line, column, message))

    def where(self, field: str) -> str:
        if self.spreadsheet:
            return f"column {field!r}"
        return _span(field)

    # -- values
    def coded(self, table_name: str, table: dict[str, str], value: str) -> Coded:
        key = (table_name, value)
        c = self._coded.get(key)
        if c is None:
            meaning = table.get(value)
            if meaning is None:
                self.unknown.setdefault(table_name, set()).add(value)
            c = self._coded[key] = Coded(value, meaning)
        return c

    def date(self, line: int, values: Sequence[str], index: int) -> date | None:
        s = values[index]
        day = self._dates.get(s)
        if day is not None:
            return day
        field = SPREADSHEET_COLUMNS[index]
        if len(s) == 8 and s.isdigit():
            try:
                day = self._dates[s] = date(int(s[:4]), int(s[4:6]), int(s[6:]))
                return day
            except ValueError:
                pass
        self.problem(
            line, field, f"{_DATE_LABELS[field]} {s!r} in {self.where(field)} is not a date (YYYYMMDD)"
        )
        return None

    # -- records
    def record(self, line: int, values: Sequence[str]) -> None:
        """One raw record (a line of the text file or a row of the spreadsheet)."""
        ric = values[2].strip()
        seq_text = values[1].strip()
        seq = int(seq_text) if seq_text.isdigit() else None
        if seq is None:
            self.problem(
                line, "SEQNUM", f"sequence number {seq_text!r} in {self.where('SEQNUM')} is not a number"
            )
        if ric in ("4", "8"):
            self.continuation(line, values, ric, seq)
            return
        self.finish_group()
        if ric not in ("3", "7"):
            self.problem(
                line,
                "RECID",
                f"unknown record identification code {ric!r} in {self.where('RECID')}; the layout"
                " defines 3 and 7 (first line of a procedure / a modifier) and 4 and 8 (further"
                " lines of its long description)",
            )
            return
        raw_code = values[0]
        code = self.check_code(line, raw_code, ric)
        if code is None:
            return
        if code.startswith("!"):  # refused; remember it so its continuation lines are skipped
            self._group = _Group(code[1:], ric, seq, 0, None, None)
            return
        previous = self.first_line.get(code)
        if previous is not None:
            what = "modifier" if ric == "7" else "code"
            self.problem(
                line, "HCPC", f"duplicate {what} {code}: it is already defined on line {previous}"
            )
            self._group = _Group(code, ric, seq, 0, None, None)
            return
        self.first_line[code] = line
        self._group = _Group(code, ric, seq, line, values, [values[3]])

    def check_code(self, line: int, raw: str, ric: str) -> str | None:
        """The code of a first line; "!" + code when refused (D / CPT); None when invalid."""
        if ric == "7":
            modifier = raw[3:].strip() if not self.spreadsheet else raw.strip()
            if raw[:3].strip() and not self.spreadsheet:
                self.problem(
                    line,
                    "HCPC",
                    f"modifier record (identification code 7) has {raw.strip()!r} in columns 1-5;"
                    " a modifier has columns 1-3 blank and the modifier in columns 4-5",
                )
                return None
            if modifier.isdigit() and len(modifier) == 2:
                self.refused_cpt += 1
                return "!" + modifier
            if not _MODIFIER_RE.fullmatch(modifier):
                self.problem(
                    line,
                    "HCPC",
                    f"{modifier!r} in {self.where('HCPC')} is not a HCPCS modifier (two letters"
                    " or digits)",
                )
                return None
            return modifier
        code = raw.strip()
        if len(code) == 5 and code[0] == "D" and code[1:].isdigit():
            self.refused_dental += 1
            return "!" + code
        if len(code) == 5 and code[:4].isdigit() and (code[4].isdigit() or code[4] in "FTUM"):
            self.refused_cpt += 1
            return "!" + code
        if not _CODE_RE.fullmatch(code):
            hint = ""
            if not self.spreadsheet and not raw[:3].strip() and _MODIFIER_RE.fullmatch(raw[3:]):
                hint = "; it looks like a modifier, whose records have identification code 7 or 8"
            self.problem(
                line,
                "HCPC",
                f"{code!r} in {self.where('HCPC')} is not a HCPCS Level II code (a letter and"
                f" four digits){hint}",
            )
            return None
        return code

    def continuation(self, line: int, values: Sequence[str], ric: str, seq: int | None) -> None:
        raw = values[0]
        shown = raw.strip() or "(blank)"
        code = (raw[3:] if ric == "8" and not self.spreadsheet else raw).strip()
        group = self._group
        first_ric = "3" if ric == "4" else "7"
        if group is None or group.code != code or group.ric != first_ric:
            what = "procedure" if ric == "4" else "modifier"
            hint = ""
            if not self.spreadsheet and ric == "8" and raw[:3].strip():
                hint = " (8 continues a modifier; further lines of a procedure code have 4)"
            elif not self.spreadsheet and ric == "4" and not raw[:3].strip():
                hint = " (4 continues a procedure; further lines of a modifier have 8)"
            self.problem(
                line,
                "RECID",
                f"continuation record (identification code {ric}) of {shown} does not follow a"
                f" first line of that {what} (identification code {first_ric}){hint}; the file is"
                " out of order or a line is missing",
            )
            return
        last = group.seq
        if seq is not None and last is not None and seq <= last:
            self.problem(
                line,
                "SEQNUM",
                f"sequence number {seq} of {code} does not follow {last} of its previous line",
            )
        if seq is not None:
            group.seq = seq
        if group.parts is not None:
            group.parts.append(values[3])

    def finish_group(self) -> None:
        group = self._group
        self._group = None
        if group is None or group.values is None or group.parts is None:
            return
        text = " ".join(p.strip() for p in group.parts if p.strip())
        self.entry(group.line, group.values, text, group.ric == "7")

    def entry(self, line: int, values: Sequence[str], long_description: str, modifier: bool) -> None:
        """Build the entry of a first line (values stripped, except the code)."""
        code = values[0].strip()
        nproblems = len(self.problems)
        if not long_description:
            self.problem(
                line, "LONG DESCRIPTION", f"{code} has no long description in {self.where('LONG DESCRIPTION')}"
            )
        asc_dt = self.date(line, values, _I_ASC_DT) if values[_I_ASC_DT] else None
        opps_dt = self.date(line, values, _I_OPPS_DT) if values[_I_OPPS_DT] else None
        added = self.date(line, values, _I_ADD_DT) if values[_I_ADD_DT] else None
        effective = self.date(line, values, _I_EFF_DT) if values[_I_EFF_DT] else None
        terminated = self.date(line, values, _I_TERM_DT) if values[_I_TERM_DT] else None
        action = values[_I_ACTION]
        decoded = ACTION_CODES.get(action)
        if decoded is None:
            if action:
                msg = (
                    f"unknown action code {action!r} in {self.where('ACTION CD')}; CMS defines"
                    f" {', '.join(ACTION_CODES)}"
                )
            else:
                msg = f"{code} has no action code in {self.where('ACTION CD')}"
            self.problem(line, "ACTION CD", msg)
        elif action == "D" and not values[_I_TERM_DT]:
            self.problem(
                line,
                "TERM DT",
                f"{code} has action code D (discontinue) but no termination date in"
                f" {self.where('TERM DT')}",
            )
        bu_text = values[_I_ANEST_BU]
        base_units: int | None = None
        if bu_text:
            if bu_text.isdigit():
                base_units = int(bu_text)
            else:
                self.problem(
                    line,
                    "ANEST_BU",
                    f"anesthesia base units {bu_text!r} in {self.where('ANEST_BU')} is not a number",
                )
        if len(self.problems) != nproblems or decoded is None:
            return
        _, kind, changed = decoded
        if terminated is not None or action == "D":
            kind = "terminated"
        status = HcpcsStatus(
            kind,  # type: ignore[arg-type]
            self.coded("action", ACTION_MEANINGS, action),
            changed,
            added,
            effective,
            terminated,
        )
        get = self._coded.get
        slow = self.coded
        pricing = tuple(filter(None, values[_I_PRICE : _I_PRICE + 4]))
        tos = tuple(filter(None, values[_I_TOS : _I_TOS + 5]))
        labs = tuple(filter(None, values[_I_LAB : _I_LAB + 8]))
        v_mult, v_cov, v_betos, v_pi = values[_I_MULT], values[_I_COV], values[_I_BETOS], values[_I_OPPS_PI]
        seq_text = values[_I_SEQ]
        entry = HcpcsEntry(
            code,
            "modifier" if modifier else "code",
            long_description,
            values[_I_SHORT],
            status,
            tuple(get(("pricing indicator", v)) or slow("pricing indicator", PRICING_INDICATORS, v) for v in pricing)
            if pricing
            else (),
            (get(("multiple pricing indicator", v_mult)) or slow("multiple pricing indicator", MULTIPLE_PRICING, v_mult))
            if v_mult
            else None,
            (get(("coverage code", v_cov)) or slow("coverage code", COVERAGE_CODES, v_cov)) if v_cov else None,
            (get(("BETOS", v_betos)) or slow("BETOS", BETOS, v_betos)) if v_betos else None,
            tuple(get(("type of service", v)) or slow("type of service", TYPE_OF_SERVICE, v) for v in tos) if tos else (),
            tuple(get(("lab certification", v)) or slow("lab certification", LAB_CERTIFICATION, v) for v in labs)
            if labs
            else (),
            tuple(filter(None, values[_I_XREF : _I_XREF + 5])),
            tuple(filter(None, values[_I_CIM : _I_CIM + 3])),
            tuple(filter(None, values[_I_MCM : _I_MCM + 3])),
            values[_I_STATUTE] or None,
            values[_I_ASC_GRP] or None,
            asc_dt,
            values[_I_OPPS] or None,
            (get(("payment policy indicator", v_pi)) or slow("payment policy indicator", PAYMENT_POLICY, v_pi))
            if v_pi
            else None,
            opps_dt,
            values[_I_PROCNOTE] or None,
            base_units,
            int(seq_text) if seq_text.isdigit() else 0,
            line,
        )
        (self.modifiers if modifier else self.codes)[code] = entry

    def release(self) -> HcpcsRelease:
        self.finish_group()
        if not self.codes and not self.modifiers and not self.problems and not (
            self.refused_cpt or self.refused_dental
        ):
            self.problems.append(Problem(self.name, 0, None, "the file holds no HCPCS records"))
        if self.problems:
            raise ReleaseFileError(self.problems)
        notices: list[str] = []
        if self.refused_dental:
            notices.append(
                f"refused {self.refused_dental} D code(s): CDT is the American Dental Association's"
                " copyright; their descriptors were not kept"
            )
        if self.refused_cpt:
            notices.append(
                f"refused {self.refused_cpt} numeric code(s) or modifier(s): CPT is the American"
                " Medical Association's copyright; their descriptors were not kept"
            )
        for table_name, values in sorted(self.unknown.items()):
            if table_name == "action":
                continue
            notices.append(
                f"{table_name} value(s) not in CMS's published table, kept without a meaning: "
                + ", ".join(sorted(values))
            )
        return HcpcsRelease(
            file=self.name,
            version=_version(self.file_name),
            codes=self.codes,
            modifiers=self.modifiers,
            refused_dental=self.refused_dental,
            refused_cpt=self.refused_cpt,
            notices=tuple(notices),
        )


def _version(name: str) -> str | None:
    m = _VERSION_RE.search(Path(name).name)
    if m is None:
        return None
    return f"{m.group(1)} {m.group(2).upper()}" if m.group(2) else m.group(1)


# --------------------------------------------------------------------------- text


def _decode(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_text(data: bytes | str, *, name: str, file_name: str | None = None) -> HcpcsRelease:
    """Parse the fixed-width text form of a release. `name` is used in problems; the
    version ("2026 JAN") is read from `file_name` (default: `name`)."""
    text = _decode(data) if isinstance(data, bytes) else data
    builder = _Builder(name, _TEXT_COLUMNS, spreadsheet=False, file_name=file_name)
    lines = text.split("\n")
    ends_with_newline = lines[-1] == ""
    if ends_with_newline:
        lines.pop()
    last = len(lines)
    match = _RECORD_RE.match
    strip = str.strip
    problem = builder.problem
    for number, line in enumerate(lines, 1):
        line = line.removesuffix("\r")
        n = len(line)
        if n == 0 or line.isspace():
            continue
        truncated = number == last and not ends_with_newline
        if n > RECORD_LENGTH:
            problem(
                number,
                None,
                f"line is {n} characters long; a HCPCS record has {RECORD_LENGTH} (is this the"
                " CMS fixed-width file? were lines joined?)",
                column=RECORD_LENGTH + 1,
            )
            continue
        if "\t" in line:
            problem(
                number,
                None,
                "tab character in a fixed-width record: the file was edited or converted;"
                " columns are counted in characters, blanks are spaces",
                column=line.index("\t") + 1,
            )
            continue
        ric = line[10:11]
        if n < 11:
            problem(number, None, _short_line(n, 11, truncated), column=n + 1)
            continue
        if ric in ("3", "7"):
            if n < _ACTION_COLUMN:
                problem(number, None, _short_line(n, RECORD_LENGTH, truncated), column=n + 1)
                continue
            if n < RECORD_LENGTH:
                line = line.ljust(RECORD_LENGTH)
            if _refused(line, ric):
                line = line[:11] + " " * 108 + line[119:]  # CDT / CPT text: never copied
            m = match(line)
            assert m is not None  # 320 characters always match
            values = list(map(strip, m.groups()))
            values[0] = line[0:5]
            builder.record(number, values)
        elif ric in ("4", "8"):
            rest = line[91:]
            if rest.strip():
                col = 92 + (len(rest) - len(rest.lstrip()))
                problem(
                    number,
                    None,
                    f"continuation record (identification code {ric}) has data at column {col};"
                    " its columns 92-320 must be blank",
                    column=col,
                )
                continue
            builder.record(number, (line[0:5], line[5:10], ric, "" if _refused(line, ric) else line[11:91]))
        else:
            builder.record(number, (line[0:5], line[5:10], ric))
    return builder.release()


def _refused(line: str, ric: str) -> bool:
    """A D code (CDT), a numeric code or a numeric modifier (CPT): text not to be copied."""
    if ric in ("3", "4"):
        return line[1:4].isdigit() and (line[0] == "D" or line[0].isdigit())
    return line[3:5].isdigit() and not line[:3].strip()


def _short_line(n: int, needed: int, truncated: bool) -> str:
    if truncated:
        return (
            f"the file ends in the middle of a record: its last line has {n} of {needed}"
            " characters and no line end; the file looks truncated (copy or download it again)"
        )
    return (
        f"line is {n} characters long; a first line of a code (identification code 3 or 7)"
        f" has {RECORD_LENGTH}, with the action code in column {_ACTION_COLUMN}"
        if needed == RECORD_LENGTH
        else f"line is {n} characters long; a record has at least code, sequence number and"
        " record identification code (columns 1-11)"
    )


def read_text(path: str | Path, *, name: str | None = None) -> HcpcsRelease:
    """Read the fixed-width text file of a release (HCPC<year>_<month>_ANWEB*.txt)."""
    p = Path(path)
    return parse_text(p.read_bytes(), name=name or str(path), file_name=p.name)


# --------------------------------------------------------------------------- spreadsheet


def read_spreadsheet(path: str | Path, *, name: str | None = None) -> HcpcsRelease:
    """Read the spreadsheet form of a release (see `_read_spreadsheet`)."""
    with warnings.catch_warnings():  # CMS's sheets have print headers openpyxl warns about
        warnings.simplefilter("ignore", UserWarning)
        return _read_spreadsheet(path, name=name)


def _read_spreadsheet(path: str | Path, *, name: str | None = None) -> HcpcsRelease:
    """Read the spreadsheet form of a release (HCPC<year>_<month>_ANWEB*.xlsx; openpyxl).

    The header row is found by its first cell "HCPC"; columns are matched by CMS's header
    names (`SPREADSHEET_COLUMNS`), so their order does not matter. Problems name the row and
    the spreadsheet column (A = 1). The text file is the reference form and about ten times
    faster to read; use this when only the spreadsheet is at hand.
    """
    import openpyxl  # type: ignore[import-untyped]  # optional dependency, only for this form
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    _WORKBOOK_ERRORS = (OSError, zipfile.BadZipFile, KeyError, ValueError, InvalidFileException)

    label = name or str(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except _WORKBOOK_ERRORS as exc:  # any unreadable workbook is one problem
        raise ReleaseFileError([Problem(label, 0, None, f"not a readable .xlsx workbook: {exc}")]) from exc
    try:
        sheet = workbook.worksheets[0]
        rows: Iterator[tuple[object, ...]] = sheet.iter_rows(values_only=True)
        header: tuple[object, ...] | None = None
        header_row = 0
        for header_row, row in enumerate(rows, 1):  # noqa: B007 - the header's row number is used below
            if row and isinstance(row[0], str) and row[0].strip().upper() == "HCPC":
                header = row
                break
        if header is None:
            raise ReleaseFileError(
                [Problem(label, 0, None, "no header row starting with 'HCPC' in the first sheet")]
            )
        names = [str(h).strip().upper() if h is not None else "" for h in header]
        index: list[int] = []
        problems: list[Problem] = []
        for column in SPREADSHEET_COLUMNS:
            if column in names:
                index.append(names.index(column))
                continue
            close = get_close_matches(column, [n for n in names if n], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(Problem(label, header_row, None, f"no column {column!r} in the header row{hint}"))
            index.append(-1)
        if problems:
            raise ReleaseFileError(problems)
        builder = _Builder(label, [i + 1 for i in index], spreadsheet=True, file_name=Path(path).name)
        for number, row in enumerate(rows, header_row + 1):
            if not row or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue
            values = [_cell(row[i]).strip() if i < len(row) else "" for i in index]
            code = values[0].strip()
            if values[2].strip() in ("3", "4") and len(code) == 5 and (
                code[0] == "D" or code[:4].isdigit()
            ):
                values[3] = values[4] = ""  # never hold CDT / CPT text beyond this row
            builder.record(number, values)
        return builder.release()
    finally:
        workbook.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    return str(value)


def read_release(path: str | Path, *, name: str | None = None) -> HcpcsRelease:
    """Read a release file, text or spreadsheet by its suffix."""
    if str(path).lower().endswith((".xlsx", ".xlsm")):
        return read_spreadsheet(path, name=name)
    return read_text(path, name=name)


# --------------------------------------------------------------------------- writing


def _wrap(text: str, width: int = DESCRIPTION_WIDTH) -> list[str]:
    """Split a long description into lines as CMS does: while the rest is longer than
    `width`, cut at the last space within its first `width` characters (a word ending
    exactly at the last column moves to the next line); no space there, cut at `width`."""
    lines: list[str] = []
    while len(text) > width:
        cut = text.rfind(" ", 0, width)
        if cut <= 0:
            lines.append(text[:width])
            text = text[width:]
        else:
            lines.append(text[:cut])
            text = text[cut + 1 :]
    lines.append(text)
    return lines


def _fit(value: str, width: int, what: str) -> str:
    if len(value) > width:
        raise ValueError(f"{what} {value!r} is longer than its {width} columns")
    return value.ljust(width)


def format_entry(entry: HcpcsEntry) -> list[str]:
    """The fixed-width records of one entry (first line and continuation lines, no line ends)."""
    code = f"   {entry.code}" if entry.kind == "modifier" else entry.code
    fields: dict[str, str] = {
        "HCPC": code,
        "SEQNUM": f"{entry.sequence:05d}",
        "RECID": "7" if entry.kind == "modifier" else "3",
        "SHORT DESCRIPTION": entry.short_description,
        "MULT_PI": entry.multiple_pricing.code if entry.multiple_pricing else "",
        "STATUTE": entry.statute or "",
        "COV": entry.coverage.code if entry.coverage else "",
        "ASC_GRP": entry.asc_group or "",
        "OPPS": entry.payment_group or "",
        "OPPS_PI": entry.payment_policy.code if entry.payment_policy else "",
        "PROCNOTE": entry.processing_note or "",
        "BETOS": entry.betos.code if entry.betos else "",
        "ANEST_BU": "" if entry.anesthesia_base_units is None else f"{entry.anesthesia_base_units:3d}",
        "ACTION CD": entry.status.action.code,
    }
    for name, day in (
        ("ASC_DT", entry.asc_effective),
        ("OPPS_DT", entry.payment_group_effective),
        ("ADD DT", entry.status.added),
        ("ACT EFF DT", entry.status.effective),
        ("TERM DT", entry.status.terminated),
    ):
        fields[name] = day.strftime("%Y%m%d") if day else ""
    for prefix, values in (
        ("PRICE", [c.code for c in entry.pricing]),
        ("CIM", list(entry.coverage_issues_manual)),
        ("MCM", list(entry.carriers_manual)),
        ("LABCERT", [c.code for c in entry.lab_certification]),
        ("XREF", list(entry.cross_references)),
        ("TOS", [c.code for c in entry.type_of_service]),
    ):
        for i, v in enumerate(values, 1):
            fields[f"{prefix}{i}"] = v
    desc = _wrap(entry.long_description)
    fields["LONG DESCRIPTION"] = desc[0]
    record = [" "] * RECORD_LENGTH
    for name, first, last in _LAYOUT:
        record[first - 1 : last] = _fit(fields.get(name, ""), last - first + 1, f"{entry.code} {name}")
    out = ["".join(record)]
    ric = "8" if entry.kind == "modifier" else "4"
    for i, part in enumerate(desc[1:], 1):
        out.append(f"{code}{entry.sequence + 100 * i:05d}{ric}{part.ljust(DESCRIPTION_WIDTH)}")
    return out


def format_text(entries: Iterable[HcpcsEntry], *, newline: str = "\r\n") -> str:
    """Write entries in CMS's fixed-width layout (CRLF line ends, as CMS ships the file)."""
    return "".join(line + newline for e in entries for line in format_entry(e))


# --------------------------------------------------------------------------- updates


@dataclass(frozen=True, slots=True)
class Change:
    """A code present in both releases whose record changed; `fields` says what."""

    code: str
    fields: tuple[str, ...]  # "long description", "short description", "status", ...
    before: HcpcsEntry
    after: HcpcsEntry


@dataclass(frozen=True, slots=True)
class ReleaseDiff:
    """What a quarterly update did, code by code (modifiers included, by their code)."""

    new: tuple[HcpcsEntry, ...]  # in current, not in previous
    changed: tuple[Change, ...]  # in both, record changed (not newly terminated)
    terminated: tuple[HcpcsEntry, ...]  # terminated in current, in use in previous
    reactivated: tuple[HcpcsEntry, ...]  # terminated in previous, in use in current
    removed: tuple[HcpcsEntry, ...]  # in previous, gone from current (CMS drops codes
    # four years after termination); the previous entry


_COMPARED: Final[tuple[tuple[str, str], ...]] = (
    ("long_description", "long description"),
    ("short_description", "short description"),
    ("dates_in_use", "dates added or terminated"),
    ("pricing", "pricing indicator"),
    ("multiple_pricing", "multiple pricing indicator"),
    ("coverage", "coverage code"),
    ("betos", "BETOS"),
    ("type_of_service", "type of service"),
    ("lab_certification", "lab certification"),
    ("cross_references", "cross references"),
    ("coverage_issues_manual", "Coverage Issues Manual reference"),
    ("carriers_manual", "Medicare Carriers Manual reference"),
    ("statute", "statute"),
    ("asc_group", "ASC payment group"),
    ("asc_effective", "ASC payment group effective date"),
    ("payment_group", "payment group"),
    ("payment_policy", "payment policy indicator"),
    ("payment_group_effective", "payment group effective date"),
    ("processing_note", "processing note"),
    ("anesthesia_base_units", "anesthesia base units"),
)


def diff(previous: HcpcsRelease, current: HcpcsRelease) -> ReleaseDiff:
    """Compare two releases: new, changed (and what), terminated, reactivated, removed."""
    new: list[HcpcsEntry] = []
    changed: list[Change] = []
    terminated: list[HcpcsEntry] = []
    reactivated: list[HcpcsEntry] = []
    removed: list[HcpcsEntry] = []
    for before_map, after_map in ((previous.modifiers, current.modifiers), (previous.codes, current.codes)):
        for code, after in after_map.items():
            before = before_map.get(code)
            if before is None:
                new.append(after)
                continue
            was_off = before.status.kind == "terminated"
            is_off = after.status.kind == "terminated"
            if is_off and not was_off:
                terminated.append(after)
                continue
            if was_off and not is_off:
                reactivated.append(after)
                continue
            fields = tuple(
                label for attr, label in _COMPARED if getattr(before, attr) != getattr(after, attr)
            )
            if fields:
                changed.append(Change(code, fields, before, after))
        removed.extend(e for code, e in before_map.items() if code not in after_map)
    return ReleaseDiff(tuple(new), tuple(changed), tuple(terminated), tuple(reactivated), tuple(removed))
