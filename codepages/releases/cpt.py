"""A licensed operator's CPT data files as a content source.

The AMA licenses CPT descriptors as data files, several files each keyed by the code (a long
descriptor file such as LONGULT.txt, medium and short descriptor files such as MEDU.txt and
SHORTU.txt, a consumer-friendly descriptor file, ...), tab-delimited or "code, blank, text",
with or without a header row, or as one spreadsheet. Rather than hard-code one edition's
shapes, the operator maps each file's columns in `content/site.yaml` (see `SourceConfig`,
`config_from_mapping`, and release.schema.json beside this module); the files are joined
on the code.

Problems name the file, the line and the column, which for delimited files and
spreadsheets is the field number (1 = first field).

Formats: ``tsv`` (tab-delimited), ``csv`` (comma-separated, RFC 4180 quoting), ``space``
(the code, blanks, then the rest of the line as one field: columns 1 and 2), ``xlsx``
(first sheet, or ``sheet``; needs openpyxl). Columns are 1-based numbers, or header names
when ``header: true``.

Licensing: every descriptor field is the AMA's copyright (`LICENSED_FIELDS`). The build may
show them on pages only with ``descriptor_source: licensed``, and must keep them out of the
search index unless the operator sets ``search_index_licensed_text: true``
(`ReleaseConfig.search_index_licensed_text`; `searchable_fields()` says which fields may go
in). No AMA text is in this repository: the fixtures are our own words.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Final, Literal, NamedTuple

from .problems import Problem, ReleaseFileError

__all__ = [
    "FIELDS",
    "FORMATS",
    "LICENSED_FIELDS",
    "CptEntry",
    "CptRelease",
    "ReleaseConfig",
    "SourceConfig",
    "category_of",
    "config_from_mapping",
    "is_cpt_code",
    "read_release",
    "searchable_fields",
]

Format = Literal["tsv", "csv", "space", "xlsx"]
FORMATS: Final[tuple[str, ...]] = ("tsv", "csv", "space", "xlsx")
#: The fields a file's columns can be mapped to ("code" is required in every file).
FIELDS: Final[tuple[str, ...]] = ("code", "long", "medium", "short", "consumer", "clinician", "section")
#: Fields holding the AMA's text: never indexed for search unless the operator allows it.
LICENSED_FIELDS: Final[frozenset[str]] = frozenset({"long", "medium", "short", "consumer", "clinician"})

_CODE_RE: Final = re.compile(r"[0-9]{4}[0-9FTUM]")


def is_cpt_code(code: str) -> bool:
    """Four digits and a digit, F (Category II), T (Category III), U (PLA) or M (MAAA)."""
    return _CODE_RE.fullmatch(code) is not None


def category_of(code: str) -> Literal["I", "II", "III"]:
    """CPT category from the code's form: ...F is Category II, ...T Category III, else I."""
    return "II" if code.endswith("F") else "III" if code.endswith("T") else "I"


# --------------------------------------------------------------------------- config


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One data file: where it is, its format and which column holds which field."""

    path: Path
    format: Format
    columns: Mapping[str, int | str]  # field -> 1-based column number or header name
    header: bool = False
    sheet: str | None = None  # xlsx: sheet name (default: the first)
    skip_lines: int = 0  # lines (rows) before the header or the data, e.g. a notice block
    delimiter: str | None = None  # override for csv ("," by default) / tsv ("\t")


@dataclass(frozen=True, slots=True)
class ReleaseConfig:
    name: str  # provenance shown on pages, e.g. "AMA CPT 2026 data files"
    version: str | None
    files: tuple[SourceConfig, ...]
    encoding: str = "utf-8"
    search_index_licensed_text: bool = False


_RELEASE_KEYS: Final = ("name", "version", "encoding", "files", "search_index_licensed_text")
_FILE_KEYS: Final = ("path", "format", "header", "columns", "sheet", "skip_lines", "delimiter")


def _unknown(key: str, known: Sequence[str]) -> str:
    close = get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(known)}"


def config_from_mapping(
    data: object, *, base_dir: str | Path, name: str = "content/site.yaml"
) -> ReleaseConfig:
    """Validate `code_sets.cpt.release` of the site settings; paths are relative to `base_dir`.

    Every mistake is reported at once (`ReleaseFileError`, file = `name`, line 0: the caller
    knows the YAML lines, we do not).
    """
    problems: list[Problem] = []
    where = "code_sets.cpt.release"

    def bad(message: str) -> None:
        problems.append(Problem(name, 0, None, message))

    if not isinstance(data, Mapping):
        raise ReleaseFileError([Problem(name, 0, None, f"{where} must be a mapping")])
    for key in data:
        if key not in _RELEASE_KEYS:
            bad(f"unknown key {where}.{key}{_unknown(str(key), _RELEASE_KEYS)}")
    release_name = data.get("name", "CPT data files")
    if not isinstance(release_name, str) or not release_name.strip():
        bad(f"{where}.name must be a non-empty string (the provenance shown on pages)")
        release_name = "CPT data files"
    version = data.get("version")
    if version is not None and not isinstance(version, (str, int)):
        bad(f"{where}.version must be a string")
        version = None
    encoding = data.get("encoding", "utf-8")
    if not isinstance(encoding, str):
        bad(f"{where}.encoding must be a string such as utf-8 or cp1252")
        encoding = "utf-8"
    else:
        try:
            "".encode(encoding)
        except LookupError:
            bad(f"{where}.encoding {encoding!r} is not a known text encoding")
            encoding = "utf-8"
    allow = data.get("search_index_licensed_text", False)
    if not isinstance(allow, bool):
        bad(f"{where}.search_index_licensed_text must be true or false")
        allow = False
    files_data = data.get("files")
    files: list[SourceConfig] = []
    if not isinstance(files_data, list) or not files_data:
        bad(f"{where}.files must list at least one data file")
        files_data = []
    base = Path(base_dir)
    owners: dict[str, int] = {}
    for i, f in enumerate(files_data, 1):
        here = f"{where}.files[{i}]"
        if not isinstance(f, Mapping):
            bad(f"{here} must be a mapping with path, format and columns")
            continue
        for key in f:
            if key not in _FILE_KEYS:
                bad(f"unknown key {here}.{key}{_unknown(str(key), _FILE_KEYS)}")
        path = f.get("path")
        if not isinstance(path, str) or not path:
            bad(f"{here}.path must be the data file's path (relative to content/)")
            continue
        fmt = f.get("format", _guess_format(path))
        if fmt not in FORMATS:
            bad(f"{here}.format {fmt!r} is not one of {', '.join(FORMATS)}{_unknown(str(fmt), FORMATS)}")
            continue
        header = f.get("header", False)
        if not isinstance(header, bool):
            bad(f"{here}.header must be true or false")
            header = False
        columns = f.get("columns")
        if not isinstance(columns, Mapping) or not columns:
            bad(f"{here}.columns must map fields ({', '.join(FIELDS)}) to column numbers or header names")
            continue
        mapped: dict[str, int | str] = {}
        for fld, col in columns.items():
            if fld not in FIELDS:
                bad(f"{here}.columns: unknown field {fld!r}{_unknown(str(fld), FIELDS)}")
                continue
            if isinstance(col, bool) or not isinstance(col, (int, str)) or (isinstance(col, int) and col < 1):
                bad(f"{here}.columns.{fld} must be a column number (1 = first) or a header name")
                continue
            if isinstance(col, str) and not header:
                bad(f"{here}.columns.{fld} names column {col!r}, but the file has no header row (header: false); use its number")
                continue
            if fmt == "space" and isinstance(col, int) and col > 2:
                bad(f"{here}.columns.{fld}: a 'space' file has two columns (the code and the text)")
                continue
            mapped[fld] = col
            if fld != "code":
                if fld in owners:
                    bad(f"{here}.columns.{fld}: field {fld!r} already comes from files[{owners[fld]}]")
                owners[fld] = i
        if "code" not in mapped and "code" not in columns:
            bad(f"{here}.columns must map 'code' (the key the files are joined on)")
        skip = f.get("skip_lines", 0)
        if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
            bad(f"{here}.skip_lines must be a whole number")
            skip = 0
        sheet = f.get("sheet")
        if sheet is not None and not isinstance(sheet, str):
            bad(f"{here}.sheet must be a sheet name")
            sheet = None
        delimiter = f.get("delimiter")
        if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
            bad(f"{here}.delimiter must be one character")
            delimiter = None
        files.append(SourceConfig(base / path, fmt, mapped, header, sheet, skip, delimiter))
    if files_data and "long" not in owners:
        bad(f"{where}.files: no file gives 'long' (the official long descriptor every page shows)")
    if problems:
        raise ReleaseFileError(problems)
    return ReleaseConfig(str(release_name), None if version is None else str(version), tuple(files), encoding, allow)


def _guess_format(path: str) -> str:
    p = path.lower()
    return "csv" if p.endswith(".csv") else "xlsx" if p.endswith((".xlsx", ".xlsm")) else "tsv"


# --------------------------------------------------------------------------- data


class CptEntry(NamedTuple):
    """One CPT code joined from the data files. Descriptor fields are licensed text."""

    code: str
    long: str
    medium: str | None
    short: str | None
    consumer: str | None
    clinician: str | None
    section: str | None
    line: int  # line of the code in the file that gives `long`

    @property
    def category(self) -> Literal["I", "II", "III"]:
        return category_of(self.code)


@dataclass(frozen=True, slots=True)
class CptRelease:
    name: str
    version: str | None
    files: tuple[str, ...]
    codes: dict[str, CptEntry]
    search_index_licensed_text: bool = False
    licensed_fields: frozenset[str] = field(default=LICENSED_FIELDS)

    def get(self, code: str) -> CptEntry | None:
        return self.codes.get(code)


def searchable_fields(release: CptRelease | ReleaseConfig) -> tuple[str, ...]:
    """The entry fields the search index may hold for this release."""
    if release.search_index_licensed_text:
        return FIELDS
    return tuple(f for f in FIELDS if f not in LICENSED_FIELDS)


# --------------------------------------------------------------------------- reading


@dataclass(slots=True)
class _Table:
    """The rows of one file: (line, fields, not yet stripped) plus the header's names."""

    name: str
    rows: list[tuple[int, list[str]]]
    header: list[str] | None
    header_line: int
    width: int | None  # the expected number of fields (tsv/csv/xlsx), None for 'space'


def _read_lines(src: SourceConfig, label: str, encoding: str, problems: list[Problem]) -> tuple[list[str], bool] | None:
    try:
        data = src.path.read_bytes()
    except OSError as exc:
        problems.append(Problem(label, 0, None, f"cannot read the data file: {exc.strerror or exc}"))
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.append(
            Problem(label, line, col, f"not valid {encoding} text (byte 0x{data[exc.start]:02x}); "
                    "set the release's encoding (for example cp1252)")
        )
        return None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    ends = text.endswith("\n")
    lines = text.split("\n")
    if ends:
        lines.pop()
    return lines, ends


def _table(src: SourceConfig, label: str, encoding: str, problems: list[Problem]) -> _Table | None:
    if src.format == "xlsx":
        return _xlsx_table(src, label, problems)
    read = _read_lines(src, label, encoding, problems)
    if read is None:
        return None
    lines, ends = read
    n_lines = len(lines)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    header_line = 0
    width: int | None = None
    start = src.skip_lines
    if src.format == "csv":
        reader = csv.reader(
            io.StringIO("\n".join(lines[start:]) + ("\n" if ends else "")),
            delimiter=src.delimiter or ",",
            strict=True,
        )
        try:
            parsed = [(reader.line_num + start, r) for r in reader]
        except csv.Error as exc:
            problems.append(
                Problem(label, reader.line_num + start, None, f"{exc}; the file looks truncated or a quote is unbalanced")
            )
            return None
        # csv.reader's line_num is the line where a record ends; records starting there
        items = [(ln, r) for ln, r in parsed if r and any(c.strip() for c in r)]
    else:
        items = []
        sep = src.delimiter or "\t"
        space = src.format == "space"
        append = items.append
        for number, text in enumerate(lines[start:], start + 1):
            if not text or text.isspace():
                continue
            append((number, text.strip().split(None, 1) if space else text.split(sep)))
    if src.header:
        if not items:
            problems.append(Problem(label, 0, None, "the file has no header row"))
            return None
        header_line, header_fields = items[0]
        header = [h.strip() for h in header_fields]
        items = items[1:]
    if src.format != "space":
        width = len(header) if header is not None else (len(items[0][1]) if items else None)
    if width is None:
        rows = items
    else:
        rows = [item for item in items if len(item[1]) == width]
        if len(rows) != len(items):
            for number, fields in items:
                got = len(fields)
                if got == width:
                    continue
                truncated = number == n_lines and not ends and got < width
                if truncated:
                    msg = (
                        f"the file ends in the middle of a record: its last line has {got} of"
                        f" {width} fields and no line end; the file looks truncated (copy it again)"
                    )
                else:
                    basis = "the header row" if header is not None else f"line {items[0][0]}"
                    if got > width:
                        detail = f"field {width + 1} is one too many (a stray delimiter in the text?)"
                    else:
                        detail = f"field {got + 1} is missing (a delimiter lost or replaced by blanks?)"
                    msg = f"line has {got} field(s); {basis} has {width}: {detail}"
                problems.append(Problem(label, number, min(got, width) + 1, msg))
    if not rows and not items:
        problems.append(Problem(label, 0, None, "the file holds no records"))
    return _Table(label, rows, header, header_line, width)


def _xlsx_table(src: SourceConfig, label: str, problems: list[Problem]) -> _Table | None:
    import openpyxl  # type: ignore[import-untyped]  # optional dependency
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    _WORKBOOK_ERRORS = (OSError, zipfile.BadZipFile, KeyError, ValueError, InvalidFileException)

    try:
        workbook = openpyxl.load_workbook(src.path, read_only=True, data_only=True)
    except _WORKBOOK_ERRORS as exc:  # any unreadable workbook is one problem
        problems.append(Problem(label, 0, None, f"not a readable .xlsx workbook: {exc}"))
        return None
    try:
        if src.sheet is not None and src.sheet not in workbook.sheetnames:
            problems.append(
                Problem(label, 0, None, f"no sheet {src.sheet!r}{_unknown(src.sheet, workbook.sheetnames)}")
            )
            return None
        sheet = workbook[src.sheet] if src.sheet else workbook.worksheets[0]
        rows_iter: Iterator[tuple[object, ...]] = sheet.iter_rows(values_only=True)
        items: list[tuple[int, list[str]]] = []
        for number, row in enumerate(rows_iter, 1):
            if number <= src.skip_lines:
                continue
            cells = ["" if v is None else str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in row]
            while cells and not cells[-1].strip():
                cells.pop()
            if cells:
                items.append((number, [c.strip() for c in cells]))
    finally:
        workbook.close()
    header: list[str] | None = None
    header_line = 0
    if src.header and items:
        header_line, header = items[0]
        items = items[1:]
    return _Table(label, items, header, header_line, None)


def _resolve(src: SourceConfig, table: _Table, problems: list[Problem]) -> dict[str, int] | None:
    """Column index (0-based) of each mapped field in this table."""
    out: dict[str, int] = {}
    ok = True
    for fld, col in src.columns.items():
        if isinstance(col, str):
            names = table.header or []
            if col in names:
                out[fld] = names.index(col)
                continue
            folded = [n.casefold() for n in names]
            if col.casefold() in folded:
                out[fld] = folded.index(col.casefold())
                continue
            close = get_close_matches(col, names, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; its columns are {', '.join(map(repr, names))}"
            problems.append(Problem(table.name, table.header_line, None, f"no column {col!r} in the header row for {fld!r}{hint}"))
            ok = False
        else:
            if table.width is not None and col > table.width:
                problems.append(
                    Problem(table.name, table.header_line or (table.rows[0][0] if table.rows else 0), None,
                            f"column {col} for {fld!r} does not exist: the file has {table.width} column(s)")
                )
                ok = False
                continue
            out[fld] = col - 1
    return out if ok else None


def _column_of(table: _Table, src: SourceConfig, fields: list[str], index: int) -> int | None:
    """1-based column of a field: its field number (for a 'space' file: 1 for the code, and
    the character position where the text starts for the text)."""
    if src.format == "space" and index == 1:
        return None
    return index + 1


def read_release(config: ReleaseConfig, *, names: Mapping[Path, str] | None = None) -> CptRelease:
    """Read and join every data file of the release; every problem of every file at once.

    `names` maps a file's path to the name used in problems (default: the path as given).
    """
    problems: list[Problem] = []
    columns: dict[str, dict[str, str]] = {}  # field -> code -> text
    first_seen: dict[str, tuple[str, int]] = {}  # code -> (file, line), for codes without long
    long_lines: dict[str, int] = {}
    long_file: str | None = None
    fullmatch = _CODE_RE.fullmatch
    for src in config.files:
        label = (names or {}).get(src.path, str(src.path))
        table = _table(src, label, config.encoding, problems)
        if table is None:
            continue
        index = _resolve(src, table, problems)
        if index is None:
            continue
        ci = index["code"]
        rows = [(n, f) for n, f in table.rows if ci < len(f)]
        for number, _ in (r for r in table.rows if ci >= len(r[1])):
            problems.append(Problem(label, number, None, "line has no code column"))
        codes = [f[ci].strip() for _, f in rows]
        lines = {c: n for c, (n, _) in zip(codes, rows, strict=True)}
        good = [fullmatch(c) is not None for c in codes]
        if not all(good) or len(lines) != len(codes):  # the slow path: say which and where
            seen: dict[str, int] = {}
            keep = []
            for code, ok, (number, fields) in zip(codes, good, rows, strict=True):
                if not ok:
                    problems.append(
                        Problem(label, number, _column_of(table, src, fields, ci),
                                f"{code!r} is not a CPT code (four digits and a digit, F, T, U or M)")
                    )
                elif code in seen:
                    problems.append(
                        Problem(label, number, _column_of(table, src, fields, ci),
                                f"duplicate code {code}: already on line {seen[code]}")
                    )
                else:
                    seen[code] = number
                    keep.append(True)
                    continue
                keep.append(False)
            rows = [r for r, k in zip(rows, keep, strict=True) if k]
            codes = [c for c, k in zip(codes, keep, strict=True) if k]
            lines = seen
        for code, number in lines.items():
            first_seen.setdefault(code, (label, number))
        for fld, i in index.items():
            if fld == "code":
                continue
            texts = [f[i].strip() if i < len(f) else "" for _, f in rows]
            column = columns.setdefault(fld, {})
            column.update((c, t) for c, t in zip(codes, texts, strict=True) if t)
            if fld == "long":
                long_file = label
                long_lines = lines
                for code, text, (number, fields) in zip(codes, texts, rows, strict=True):
                    if not text:
                        problems.append(
                            Problem(label, number, _column_of(table, src, fields, i), f"{code} has an empty long descriptor")
                        )
    longs = columns.get("long", {})
    if not problems:
        for code, (label, number) in first_seen.items():
            if code not in longs:
                problems.append(
                    Problem(label, number, None, f"{code} is not in {long_file or 'the long descriptor file'} "
                            "(every code needs its long descriptor)")
                )
    if problems:
        raise ReleaseFileError(problems)
    empty: dict[str, str] = {}
    medium, short = columns.get("medium", empty), columns.get("short", empty)
    consumer, clinician = columns.get("consumer", empty), columns.get("clinician", empty)
    section = columns.get("section", empty)
    codes_out = {
        code: CptEntry(
            code,
            longs[code],
            medium.get(code),
            short.get(code),
            consumer.get(code),
            clinician.get(code),
            section.get(code),
            long_lines.get(code, 0),
        )
        for code in sorted(longs)
    }
    files = tuple((names or {}).get(s.path, str(s.path)) for s in config.files)
    return CptRelease(config.name, config.version, files, codes_out, config.search_index_licensed_text)
