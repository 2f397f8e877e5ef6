"""Instructional notes as the tabular list means them, as HTML.

The release's note lines are read as a coder reads the printed tabular list:

- A note whose text continues its heading ("Code first" + ", for adverse effects, the nature of
  the adverse effect, such as:") becomes one sentence ("Code first, for adverse effects, …"),
  and the lines after a line ending in ":" are its items, nested under it.
- Notes are grouped by where they apply from: the code's own first, then one group per
  ancestor ("From S72"), visually quieter than the code's own.
- Excludes1 and Excludes2 carry their short gloss ("not coded here", "not included here").
- The 7th-character definitions are a table (a line without a character continues the row
  above it), with the character of the code being shown marked.
- Codes, categories and ranges named in a note are linked: to their page, or, for a range that
  is not a page (O70-O71, E00-E88), to the narrowest block or chapter that holds it.

Every block that repeats on many pages (the notes an ancestor passes down, a 7th-character
table) is rendered once per build and reused.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from .releases.icd10cm import Note

LABELS = {
    "includes": "Includes",
    "inclusion_term": "Applicable to",
    "note": "Notes",
    "excludes1": "Excludes1",
    "excludes2": "Excludes2",
    "code_first": "Code first",
    "code_also": "Code also",
    "use_additional_code": "Use additional code",
}
GLOSS = {"excludes1": "not coded here", "excludes2": "not included here"}
SEVENTH = "seventh_character"
_ROW = re.compile(r"([0-9A-Z]) - (.*)")
# a code, optionally ending in "-" / ".-", optionally a range of two such (see icd10cm.code_references)
REFERENCE = re.compile(
    r"(?<![0-9A-Za-z./])(?<![Vv]itamin )"
    r"(?P<first>[A-Z](?:[0-9][0-9A-Z]|A[0-9])(?:\.[0-9A-Z]{1,4})?)(?P<dash1>\.?-)?"
    r"(?:-(?P<last>[A-Z](?:[0-9][0-9A-Z]|A[0-9])(?:\.[0-9A-Z]{1,4})?)(?P<dash2>\.?-)?)?"
    r"(?![0-9A-Za-z])"
)

Resolve = Callable[[str], str | None]  # key → URL of its page, or None


@dataclass(frozen=True)
class Item:
    text: str
    children: tuple[str, ...] = ()


_CONTINUES = (",", ";", ":")


def _sentence(text: str) -> str:
    text = text.lstrip(",;: ")
    return text[:1].upper() + text[1:]


def items_of(label: str, texts: Sequence[str]) -> tuple[str, list[Item]]:
    """The heading of a group of notes of one kind, and its items with "such as:" lines nested.

    A first line starting with a comma continues the heading and joins it:
    ("Code first", ", for adverse effects, …, such as:") → "Code first, for adverse effects, …".
    When several notes each continue it (Z71.85: "Code also" ", if applicable, encounter for
    immunization (Z23)" and ", if applicable, immunization not carried out (Z28.-)"), the
    heading stays the label and each becomes an item of its own, as a sentence.
    """
    heading = label
    lines = list(texts)
    continuing = [text for text in lines if text[:1] in _CONTINUES]
    if len(continuing) == 1 and lines[0][:1] in _CONTINUES:
        heading = label + lines.pop(0)
    elif continuing:
        lines = [_sentence(text) if text[:1] in _CONTINUES else text for text in lines]
    items: list[Item] = []
    if heading.endswith(":") and heading != label:
        return heading, [Item(text) for text in lines]
    for text in lines:
        if items and items[-1].text.endswith(":"):
            items[-1] = Item(items[-1].text, items[-1].children + (text,))
        else:
            items.append(Item(text))
    return heading, items


@dataclass(frozen=True)
class Row:
    character: str
    meaning: tuple[str, ...]


def seventh_table(texts: Sequence[str]) -> tuple[list[str], list[Row]]:
    """(introductory lines, rows): "A - initial encounter" is a row; a line without a character
    after a row continues that row (S72's B: "initial encounter for open fracture NOS")."""
    intro: list[str] = []
    rows: list[Row] = []
    for text in texts:
        match = _ROW.fullmatch(text)
        if match:
            rows.append(Row(match[1], (match[2],)))
        elif rows:
            rows[-1] = Row(rows[-1].character, rows[-1].meaning + (text,))
        else:
            intro.append(text)
    return intro, rows


def _reverse(text: str) -> tuple[int, ...]:
    """A key that sorts `text` backwards (so that max() prefers the earliest end)."""
    return tuple(-ord(c) for c in text)


class NoteRenderer:
    """Renders notes for one catalogue; `resolve` turns a key into the URL of its page."""

    def __init__(self, resolve: Resolve, ranges: Sequence[tuple[str, str, str]], label_of: Callable[[str], str],
                 index: str | None = None):
        self.resolve = resolve
        self.index = index  # the page listing every chapter: for a range wider than any chapter (A00-Y89)
        self.ranges = sorted(ranges, key=lambda r: (r[0], r[1]))  # (first, last, key) of blocks and chapters
        self.label_of = label_of  # key → how to name it in "From …"
        self._shared: dict[tuple[tuple[int, ...], str], Markup] = {}

    # -- links

    @functools.cache  # noqa: B019 - one renderer per build
    def target(self, key: str) -> str | None:
        """The page a code or range named in a note links to."""
        url = self.resolve(key)
        if url is not None:
            return url
        if "-" in key:
            first, last = key[:3], key.split("-")[1][:3]
            # blocks and chapters nest: the innermost one holding the range starts last and ends first
            holding = [(r_first, _reverse(r_last), k) for r_first, r_last, k in self.ranges
                       if r_first <= first and last <= r_last]
            if holding:
                return self.resolve(max(holding)[2])
            # wider than any chapter (A00-Y89): the index, if the catalogue has any of it at all
            touched = any(r_first <= last and first <= r_last for r_first, r_last, _ in self.ranges)
            return self.index if touched else None
        shorter = key
        while len(shorter) > 3:  # a code the release does not have: its nearest listed ancestor
            shorter = shorter[:-1].rstrip(".")
            url = self.resolve(shorter)
            if url is not None:
                return url
        return None

    def link(self, text: str) -> Markup:
        """Note text with every code, category and range it names linked."""
        out: list[Markup] = []
        last_end = 0
        for match in REFERENCE.finditer(text):
            first, last = match["first"], match["last"]
            if last and "." not in first and "." not in last:
                spans = [(match.start(), match.end(), f"{first}-{last}")]
            elif last:
                middle = text.index("-", match.start() + len(first))
                spans = [(match.start(), middle, first), (middle + 1, match.end(), last)]
            else:
                spans = [(match.start(), match.end(), first)]
            for start, end, key in spans:
                url = self.target(key)
                if url is None:
                    continue
                out.append(escape(text[last_end:start]))
                out.append(Markup(f'<a href="{escape(url)}">{escape(text[start:end])}</a>'))
                last_end = end
        out.append(escape(text[last_end:]))
        return Markup("").join(out)

    # -- blocks

    def forget_neighbours(self) -> None:
        """Drop the notes kept for the codes just rendered (see `Renderer.forget_neighbours`)."""
        self._shared.clear()
        for cached in (NoteRenderer.inherited_html, NoteRenderer.seventh_html):
            cached.cache_clear()

    def notes_of(self, notes: Sequence[Note], code: str) -> Markup:
        """`notes_html`, reused for every entry with the same notes (the codes below one category
        share the very Note objects they inherit) and the same 7th character."""
        character = code[-1] if len(code.replace(".", "")) == 7 else ""
        key = (tuple(map(id, notes)), character)
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = self.notes_html(notes, code)
        return found

    def notes_html(self, notes: Sequence[Note], code: str, heading_level: int = 3) -> Markup:
        """Every note of an entry: its own, the 7th-character table in effect, then per ancestor."""
        own: list[Note] = []
        inherited: dict[str, list[Note]] = {}
        seventh: list[Note] = []
        for note in notes:
            if note.kind == SEVENTH:
                seventh.append(note)
            elif note.inherited_from is None:
                own.append(note)
            else:
                inherited.setdefault(note.inherited_from, []).append(note)
        parts = [self.groups_html(tuple((n.kind, n.text) for n in own), heading_level)] if own else []
        if seventh:
            source = seventh[0].inherited_from
            character = code[-1] if len(code.replace(".", "")) == 7 else ""
            parts.append(self.seventh_html(tuple(n.text for n in seventh), source, character, heading_level))
        for source, group in inherited.items():
            parts.append(self.inherited_html(source, tuple((n.kind, n.text) for n in group), heading_level))
        return Markup("\n").join(parts)

    @functools.cache  # noqa: B019 - the notes an ancestor passes down repeat below it
    def inherited_html(self, source: str, notes: tuple[tuple[str, str], ...], heading_level: int) -> Markup:
        url = self.resolve(source)
        name = Markup('<a href="{}">{}</a>').format(url, self.label_of(source)) if url else escape(source)
        return (Markup('<div class="notes-inherited">\n<h{0} class="notes-from">From {1} '
                       '<span class="applies">(applies to every code below it)</span></h{0}>\n').format(heading_level, name)
                + self.groups_html(notes, heading_level + 1) + Markup("\n</div>"))

    def groups_html(self, notes: tuple[tuple[str, str], ...], level: int) -> Markup:
        """Notes (kind, text) as one group per kind, in the order coders read them."""
        by_kind: dict[str, list[str]] = {}
        for kind, text in notes:
            by_kind.setdefault(kind, []).append(text)
        parts = []
        for kind, label in LABELS.items():
            if kind not in by_kind:
                continue
            heading, items = items_of(label, by_kind[kind])
            gloss = Markup(' <span class="gloss">({})</span>').format(GLOSS[kind]) if kind in GLOSS else Markup("")
            parts.append(Markup('<div class="note-group note-{}">\n<h{} class="note-kind">{}{}</h{}>').format(
                kind.replace("_", "-"), level, self.link(heading), gloss, level))
            if items:
                parts.append(Markup("<ul>") + Markup("").join(self._item(i) for i in items) + Markup("</ul>"))
            parts.append(Markup("</div>"))
        return Markup("\n").join(parts)

    def _item(self, item: Item) -> Markup:
        inner = self.link(item.text)
        if item.children:
            inner += Markup("<ul>") + Markup("").join(Markup("<li>{}</li>").format(self.link(c))
                                                      for c in item.children) + Markup("</ul>")
        return Markup("<li>{}</li>").format(inner)

    @functools.cache  # noqa: B019 - one table serves every code under its category
    def seventh_html(self, texts: tuple[str, ...], source: str | None, character: str, level: int) -> Markup:
        intro, rows = seventh_table(texts)
        origin = Markup("")
        if source is not None:
            url = self.resolve(source)
            origin = Markup(' <span class="applies">(from {})</span>').format(
                Markup('<a href="{}">{}</a>').format(url, source) if url else source)
        parts = [Markup('<div class="seventh-characters">\n<h{0} class="note-kind">7th characters{1}</h{0}>').format(
            level, origin)]
        parts += [Markup("<p>{}</p>").format(self.link(text)) for text in intro]
        parts.append(Markup('<table>\n<thead><tr><th scope="col">7th character</th><th scope="col">Meaning</th></tr></thead>'
                            "\n<tbody>"))
        for row in rows:
            current = row.character == character
            meaning = Markup("<br>").join(self.link(line) for line in row.meaning)
            parts.append(Markup('<tr{}><th scope="row">{}</th><td>{}{}</td></tr>').format(
                Markup(' class="current" aria-current="true"') if current else Markup(""), row.character, meaning,
                Markup(' <span class="this-code">(this code)</span>') if current else Markup("")))
        parts.append(Markup("</tbody>\n</table>\n</div>"))
        return Markup("\n").join(parts)
