"""The ICD-10-CM tabular list (CDC XML release) as a content source.

`read_release()` turns the official tabular XML (root element ``<ICD10CM.tabular>``) into a flat,
document-ordered dict of `Entry` objects: chapters, blocks (the XML's ``<section>``), categories,
subcategories and codes, including the 7th-character codes that the release defines only through
``<sevenChrDef>`` tables (S72.001A, T36.0X1A, W08.XXXA ...).

Conventions used here, all checked against the April 1, 2026 release:

* Keys. Codes keep their published dot ("M54.50"); generated 7th-character codes are padded with
  the placeholder X to six characters before the 7th ("S12.8" + "A" -> "S12.8XXA"). Blocks are
  keyed by their range ("M50-M54"); a single-category block (section id "B10") becomes "B10-B10"
  so it never collides with category "B10". Chapters are keyed by the range in their title
  ("M00-M99"); if any chapter range equalled a block key anywhere in the release, every chapter
  would be keyed "chapter-<n>" instead (no collision in the 2026 release).
* Block nesting. The XML lists every ``<section>`` flat under its chapter, but some of them are
  headings over others (C00-C96 > C00-C75 > C00-C14, M40-M54 > M50-M54, T20-T32 > T20-T25 ...).
  A block's parent is the nearest preceding block of the chapter whose range contains its range.
* Kinds. A ``<diag>`` directly under a block is a "category" whatever its depth of children;
  a deeper ``<diag>`` is a "subcategory" if the XML lists codes below it, else a "code";
  generated 7th-character codes are "code". Placeholder levels the XML marks
  ``<diag placeholder="true">`` (H21.1X, J09.X, S06.0X ...) are kept as subcategories, so that
  references such as "(S06.0X-)" resolve and the parent chain mirrors the release.
* Billable: an entry below block level with no children (after generating 7th characters).
* Notes. Own notes in document order, then inherited ones, nearest ancestor first, marked with
  `Note.inherited_from`; a note identical (kind and text) to one already listed is left out
  (this also drops the odd line the release repeats within one note list).
  Every kind except "inclusion_term" is inherited (inclusion terms are synonyms of one title).
  7th-character notes (the ``<sevenChrNote>`` lines, then one line per character, "A - initial
  encounter ...") come only from the entry whose ``<sevenChrDef>`` is in effect: the nearest one,
  so S72.47's own table replaces S72's for codes under S72.47.

Entries share some objects to keep memory low (inherited `Note` objects, the `seventh_characters`
dict of every entry under one table): treat a `Release` as read-only.
"""
from __future__ import annotations

import codecs
import gc
import importlib.util
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ..cache import pickled_by_fields

__all__ = [
    "Entry", "Note", "Release", "ReleaseError",
    "code_references", "default_release_path", "read_release",
]

DEFAULT_RELEASE_PACKAGE = "simple_icd_10_cm"
DEFAULT_RELEASE_FILE = "icd10c-tabular-April-1-2026.xml"
ROOT_TAG = "ICD10CM.tabular"


class ReleaseError(Exception):
    """The release file is unusable. str(exc) is a message for the operator naming the file and what is wrong:
    missing file, not XML / not an ICD-10-CM tabular file, truncated XML (give the line)."""


@pickled_by_fields
@dataclass(slots=True)
class Note:
    kind: str  # includes | inclusion_term | excludes1 | excludes2 | code_first | code_also |
    #            use_additional_code | note | seventh_character
    text: str  # one note line, whitespace-normalised, as published
    inherited_from: str | None = None  # key of the ancestor the note comes from (None = the entry's own)


@pickled_by_fields
@dataclass(slots=True)
class Entry:
    key: str
    kind: str  # chapter | block | category | subcategory | code
    descriptor: str
    parent: str | None
    billable: bool
    children: list[str]
    notes: list[Note]
    chapter: int
    seventh_characters: dict[str, str]


@dataclass
class Release:
    path: Path
    entries: dict[str, Entry]
    version: str


def default_release_path() -> Path:
    """The tabular XML shipped in the `simple-icd-10-cm` package (located via its package path).

    The package is located without importing it: importing `simple_icd_10_cm` parses the whole
    release itself, which takes seconds.
    """
    spec = importlib.util.find_spec(DEFAULT_RELEASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ReleaseError(f"the default ICD-10-CM release comes with the Python package "
                           f"{DEFAULT_RELEASE_PACKAGE!r} (simple-icd-10-cm), which is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / DEFAULT_RELEASE_FILE


# --------------------------------------------------------------------------------------------
# Reading the file

_NOTE_KINDS = {
    "includes": "includes",
    "inclusionTerm": "inclusion_term",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "codeAlso": "code_also",
    "useAdditionalCode": "use_additional_code",
    "notes": "note",
    "sevenChrNote": "seventh_character",
}
_NOT_INHERITED = frozenset({"inclusion_term"})
_SEVENTH = "seventh_character"

# "Intestinal infectious diseases (A00-A09)", "Other human herpesviruses (B10)"
_TITLE_RANGE = re.compile(r"\s*\(([A-Z][0-9A-Z]{2})(?:-([A-Z][0-9A-Z]{2}))?\)\s*$")
_CODE = re.compile(r"[A-Z][0-9A-Z]{2}(?:\.[0-9A-Z]{1,4})?")
_CATEGORY = re.compile(r"[A-Z][0-9A-Z]{2}")
# The one restriction of a 7th-character table that the release states only in prose, at S06:
# "7th characters D and S do not apply to codes in category S06 with 6th character 7 - death due
# to brain injury prior to regaining consciousness, or 8 - death due to other cause prior to
# regaining consciousness."  It is read from the note, so it applies where the release says it does.
_SEVENTH_EXCEPTION = re.compile(
    r"7th characters? (?P<chars>[A-Z](?:(?:,? and |,? or |, )[A-Z])*) do(?:es)? not apply to codes "
    r"in category (?P<category>[A-Z][0-9A-Z]{2}) with 6th characters? (?P<rest>.*)")
_SIXTH_CHARACTER = re.compile(r"(?:^|, or |, | or )([0-9A-Z]) - ")


def _clean(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def _text(element: ET.Element) -> str:
    return _clean("".join(element.itertext()))


def _load(path: Path) -> ET.Element:
    """Parse the file, turning every failure into a ReleaseError that names the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReleaseError(f"ICD-10-CM release file not found: {path}") from None
    except IsADirectoryError:
        raise ReleaseError(f"ICD-10-CM release {path} is a directory, not the tabular XML file") from None
    except OSError as exc:
        raise ReleaseError(f"cannot read ICD-10-CM release {path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise ReleaseError(f"ICD-10-CM release {path} is empty; expected the ICD-10-CM tabular XML file")
    parser = ET.XMLParser()
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]  # expat's message without its own "line x, column y"
        last_line = data.count(b"\n") + 1
        looks_like_xml = data.removeprefix(codecs.BOM_UTF8).lstrip()[:1] == b"<"
        if looks_like_xml and line >= last_line and reason in ("no element found", "unclosed token"):
            raise ReleaseError(
                f"ICD-10-CM release {path} is truncated: the XML ends unexpectedly at line {line}, "
                f"column {column + 1} ({len(data):,} bytes), before its elements are closed; "
                "the file is incomplete, download it again") from None
        if not looks_like_xml:
            raise ReleaseError(
                f"ICD-10-CM release {path} is not XML ({reason} at line {line}, column {column + 1}); "
                "expected the ICD-10-CM tabular XML file") from None
        raise ReleaseError(
            f"ICD-10-CM release {path} is not well-formed XML: {reason} at line {line}, "
            f"column {column + 1}") from None
    if root.tag != ROOT_TAG:
        raise ReleaseError(
            f"ICD-10-CM release {path} is not an ICD-10-CM tabular file: its root element is <{root.tag}>, "
            f"expected <{ROOT_TAG}>")
    if root.find("chapter") is None:
        raise ReleaseError(f"ICD-10-CM release {path} is not usable: it has no <chapter> elements")
    return root


# --------------------------------------------------------------------------------------------
# Building entries


class _Builder:
    def __init__(self, path: Path, chapter_keys_by_number: bool = False):
        self.path = path
        self.chapter_keys_by_number = chapter_keys_by_number
        self.entries: dict[str, Entry] = {}
        # key -> the inheritable notes a child of this entry receives (already marked inherited)
        self.passdown: dict[str, list[Note]] = {}
        # category -> [(7th characters that do not apply, for these 6th characters)]
        self.seventh_exceptions: dict[str, list[tuple[frozenset[str], frozenset[str]]]] = {}

    def fail(self, message: str) -> ReleaseError:
        return ReleaseError(f"ICD-10-CM release {self.path} is not usable: {message}")

    # -- notes

    def own_notes(self, element: ET.Element) -> tuple[list[Note], dict[str, str] | None]:
        """(own notes in document order, the 7th-character table if it is defined here)."""
        notes: list[Note] = []
        table: dict[str, str] | None = None
        for child in element:
            tag = child.tag
            kind = _NOTE_KINDS.get(tag)
            if kind is not None:
                for note in child.iter("note"):
                    text = _text(note)
                    if text:
                        notes.append(Note(kind, text))
                        if kind == "note" and "do not apply" in text:
                            self.seventh_exception(text)
            elif tag == "sevenChrDef":
                table = {}
                for item in child:
                    text = _text(item)
                    if item.tag == "extension":
                        char = (item.get("char") or "").strip()
                        if len(char) != 1 or not char.isalnum():
                            raise self.fail(f"7th character {char!r} in the table of "
                                            f"{element.findtext('name')} is not one letter or digit")
                        table[char] = text
                        notes.append(Note(_SEVENTH, f"{char} - {text}"))
                    elif item.tag == "note" and text:
                        # an extra line under the preceding character, e.g. under S72 "B":
                        # "initial encounter for open fracture NOS"
                        notes.append(Note(_SEVENTH, text))
                if not table:
                    raise self.fail(f"the 7th-character table of {element.findtext('name')} is empty")
            elif tag == "visualImpairment":
                notes.extend(_visual_impairment_notes(child))
        return notes, table

    def seventh_exception(self, text: str) -> None:
        match = _SEVENTH_EXCEPTION.search(text)
        if match:
            chars = frozenset(re.findall(r"[A-Z]", match.group("chars").replace(" and ", " ").replace(" or ", " ")))
            sixth = frozenset(_SIXTH_CHARACTER.findall(match.group("rest")))
            if chars and sixth:
                self.seventh_exceptions.setdefault(match.group("category"), []).append((chars, sixth))

    def notes_for(self, key: str, own: list[Note], parent: str | None, own_table: bool) -> list[Note]:
        """Own notes + inherited ones; also records what this entry passes down to its children."""
        inherited = self.passdown.get(parent, []) if parent is not None else []
        if own_table and inherited:
            # a table of its own replaces the ancestor's 7th characters and their notes
            inherited = [n for n in inherited if n.kind != _SEVENTH]
        if not own:
            self.passdown[key] = inherited
            return list(inherited)
        seen: set[tuple[str, str]] = set()
        notes = []
        for note in own:  # the release repeats a line now and then (A87's excludes1)
            ident = (note.kind, note.text)
            if ident not in seen:
                seen.add(ident)
                notes.append(note)
        own = notes
        notes = list(own)
        down: list[Note] = []
        for note in own:
            if note.kind not in _NOT_INHERITED:
                down.append(Note(note.kind, note.text, key))
        down_seen = {(n.kind, n.text) for n in down}
        for note in inherited:
            ident = (note.kind, note.text)
            if ident not in seen:
                seen.add(ident)
                notes.append(note)
            if ident not in down_seen:
                down_seen.add(ident)
                down.append(note)
        self.passdown[key] = down
        return notes

    def add(self, entry: Entry) -> None:
        if entry.key in self.entries:
            raise self.fail(f"the key {entry.key!r} occurs twice")
        self.entries[entry.key] = entry
        if entry.parent is not None:
            self.entries[entry.parent].children.append(entry.key)

    # -- structure

    def chapter(self, element: ET.Element) -> None:
        name = _clean(element.findtext("name"))
        title = _clean(element.findtext("desc"))
        if not name.isdigit():
            raise self.fail(f"a <chapter> has the name {name!r}, expected its number")
        number = int(name)
        match = _TITLE_RANGE.search(title)
        if not match or not match.group(2):
            raise self.fail(f"chapter {number}'s title {title!r} does not end with its code range")
        key = f"chapter-{number}" if self.chapter_keys_by_number else f"{match.group(1)}-{match.group(2)}"
        own, _ = self.own_notes(element)
        entry = Entry(key, "chapter", title[:match.start()], None, False, [], [], number, {})
        entry.notes = self.notes_for(key, own, None, False)
        self.add(entry)
        open_blocks: list[tuple[str, str, str]] = []  # (first, last, key), outermost first
        for section in element.iterfind("section"):
            self.block(section, entry, open_blocks)

    def block(self, element: ET.Element, chapter: Entry, open_blocks: list[tuple[str, str, str]]) -> None:
        ident = _clean(element.get("id"))
        title = _clean(element.findtext("desc"))
        first, _, last = ident.partition("-")
        last = last or first
        if not (_CATEGORY.fullmatch(first) and _CATEGORY.fullmatch(last)) or first > last:
            raise self.fail(f"a <section> in chapter {chapter.chapter} has the id {ident!r}, "
                            "expected a category range such as A00-A09")
        key = f"{first}-{last}"
        match = _TITLE_RANGE.search(title)
        descriptor = title[:match.start()] if match else title
        while open_blocks and not (open_blocks[-1][0] <= first and last <= open_blocks[-1][1]):
            open_blocks.pop()
        parent = open_blocks[-1][2] if open_blocks else chapter.key
        open_blocks.append((first, last, key))
        own, _ = self.own_notes(element)
        entry = Entry(key, "block", descriptor, parent, False, [], [], chapter.chapter, {})
        entry.notes = self.notes_for(key, own, parent, False)
        self.add(entry)
        for diag in element.iterfind("diag"):
            self.diag(diag, entry, chapter.chapter, "category", {}, None)

    def diag(self, element: ET.Element, parent: Entry, chapter: int, kind: str,
             table: dict[str, str], table_owner: str | None) -> None:
        key = _clean(element.findtext("name"))
        if not _CODE.fullmatch(key):
            raise self.fail(f"a <diag> under {parent.key} has the name {key!r}, which is not an ICD-10-CM code")
        descriptor = _clean(element.findtext("desc"))
        if not descriptor:
            raise self.fail(f"{key} has no description")
        own, own_table = self.own_notes(element)
        if own_table is not None:
            table, table_owner = own_table, key
        subdiags = element.findall("diag")
        if kind != "category":
            kind = "subcategory" if subdiags else "code"
        generate = bool(table) and not subdiags
        entry = Entry(key, kind, descriptor, parent.key, not subdiags and not generate, [], [], chapter,
                      table if table else {})
        entry.notes = self.notes_for(key, own, parent.key, own_table is not None)
        self.add(entry)
        for sub in subdiags:
            self.diag(sub, entry, chapter, "subcategory", table, table_owner)
        if generate:
            self.seventh_character_codes(entry, table, table_owner)

    def seventh_character_codes(self, header: Entry, table: dict[str, str], owner: str | None) -> None:
        stem = header.key.replace(".", "")
        if len(stem) > 6:
            raise self.fail(f"{header.key} is under the 7th-character table of {owner} "
                            "but already has seven characters")
        stem = stem.ljust(6, "X")
        excluded: set[str] = set()
        for chars, sixth in self.seventh_exceptions.get(stem[:3], ()):
            if stem[5] in sixth:
                excluded |= chars
        if excluded:
            table = {char: meaning for char, meaning in table.items() if char not in excluded}
            header.seventh_characters = table
        stem = f"{stem[:3]}.{stem[3:]}"
        notes = self.passdown[header.key]
        chapter = header.chapter
        for char, meaning in table.items():
            self.add(Entry(stem + char, "code", f"{header.descriptor}, {meaning}", header.key, True, [],
                           list(notes), chapter, table))


def _visual_impairment_notes(table: ET.Element) -> list[Note]:
    """The H54 table of visual impairment categories, one note line per category.

    The release gives this table as structured XML (``<visualImpairment>``); it is rendered here as
    text lines built from the table's own headings, e.g. "Category of visual impairment 1: Visual
    acuity with best possible correction: Maximum less than: 6/18, 3/10(0.3), 20/70; Minimum equal
    to or better than: 6/60, 1/10(0.1), 20/200".
    """
    heads = {"category": "", "range": "", "max": "", "min": ""}
    lines: list[Note] = []
    for category in table.iterfind("visCategory"):
        value = _clean(category.findtext("value"))
        if not value:  # the heading row
            heads["category"] = _clean(category.findtext("heading"))
            heads["range"] = _clean(category.findtext("visRange/heading"))
            heads["max"] = _clean(category.findtext("visRange/visMax/heading"))
            heads["min"] = _clean(category.findtext("visRange/visMin/heading"))
            continue
        maxima = [_clean(v.text) for v in category.iterfind("visRange/visMax/value") if _clean(v.text)]
        minima = [_clean(v.text) for v in category.iterfind("visRange/visMin/value") if _clean(v.text)]
        parts = [f"{heads['max'] or 'Maximum less than:'} {', '.join(maxima)}"] if maxima else []
        if minima:
            parts.append(f"{heads['min'] or 'Minimum equal to or better than:'} {', '.join(minima)}")
        head = f"{heads['category'] or 'Category of visual impairment'} {value}:"
        if heads["range"]:
            head += f" {heads['range']}:"
        lines.append(Note("note", _clean(f"{head} {'; '.join(parts)}")))
    return lines


def chapter_block_collisions(root: ET.Element) -> set[str]:
    """Chapter ranges (from the chapter titles) that equal a block key anywhere in the release.

    If there is any, every chapter is keyed "chapter-<n>" instead of by its range.
    """
    chapters = set()
    for chapter in root.iterfind("chapter"):
        match = _TITLE_RANGE.search(_clean(chapter.findtext("desc")))
        if match and match.group(2):
            chapters.add(f"{match.group(1)}-{match.group(2)}")
    blocks = set()
    for section in root.iterfind("chapter/section"):
        first, _, last = _clean(section.get("id")).partition("-")
        blocks.add(f"{first}-{last or first}")
    return chapters & blocks


def read_release(path: Path | None = None) -> Release:
    """Read an ICD-10-CM tabular XML release (default: `default_release_path()`)."""
    path = Path(path) if path is not None else default_release_path()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # ~300,000 new objects and no cycles: collecting during the build only costs time
    try:
        root = _load(path)
        builder = _Builder(path, chapter_keys_by_number=bool(chapter_block_collisions(root)))
        for chapter in root.iterfind("chapter"):
            builder.chapter(chapter)
    finally:
        if gc_was_enabled:
            gc.enable()
    version = _clean(root.findtext("version")) or "unknown"
    return Release(path, builder.entries, version)


# --------------------------------------------------------------------------------------------
# Code references in note text

# A code, optionally ending in "-" / ".-" (= "and its subdivisions"), optionally a range of two such.
# Not inside a longer token ("G6PD", "A/H5N1", "IGF1") and not "vitamin B12".
_REF = re.compile(
    r"(?<![0-9A-Za-z./])(?<![Vv]itamin )"
    r"(?P<first>[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)\.?-?"
    r"(?:-(?P<last>[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)\.?-?)?"
    r"(?![0-9A-Za-z])"
)


def code_references(text: str) -> list[str]:
    """Codes named inside a note's text, e.g. "(M51.2-)" → "M51.2", "(S39.012)" → "S39.012",
    "(B95-B97)" → the block "B95-B97", "(M54.1-)"; return keys as they should be looked up in entries
    (strip trailing '-' / '.-'). Used to link codes in notes.

    The whole text is read, not only parentheses: the release also names codes in running text
    ("Conditions classifiable to C00-C14, C40-C49", "jaw pain R68.84", "category S06").
    A range of two categories ("B95-B97", "A00-B99") is returned as one key, the form of block and
    chapter keys; a range of finer codes ("H54.0-H54.7") as its two ends. Keys come once each, in
    text order. Not every key exists: many notes name ranges of categories that are not a block
    ("O00-O07", "T36-T65"), and a few name codes the release does not have ("G31.90"); a caller
    links only keys found in `Release.entries` (and may fall back to the two ends of a range).
    """
    found: list[str] = []
    for match in _REF.finditer(text):
        first, last = match.group("first"), match.group("last")
        if last and "." not in first and "." not in last:
            keys: tuple[str, ...] = (f"{first}-{last}",)
        else:
            keys = (first, last) if last else (first,)
        for key in keys:
            if key not in found:
                found.append(key)
    return found
