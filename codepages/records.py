"""Code records: `content/<code-set>/<CODE>.md`, YAML front matter and `## ` sections."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from . import cache, schemas, yamlfile
from .codesets import CODE_SETS, code_set_of, url_path
from .errors import Problems
from .markdown import ParsedSection, parse_sections
from .releases.icd10cm import Note
from .settings import Settings
from .textfile import read_text


class Reference(NamedTuple):
    """A code an editor's record names: in which field (parent, related, crosswalk.<set>, text) and on which line."""

    code: str
    line: int
    field: str

    @property
    def what(self) -> str:
        return f"'[[{self.code}]]'" if self.field == "text" else f"'{self.field}'"


@dataclass(slots=True)
class Section:
    title: str
    id: str
    protected: bool
    html: str
    text: str
    line: int
    crosswalk: list[str] = field(default_factory=list)  # codes listed under the section
    source: str | None = None  # filled by the build from a source (history, ms-drg, gems, hcpcs), not by editors


@dataclass(slots=True)
class Record:
    path: Path
    code_set: str
    code: str
    descriptor: str
    parent: str | None = None
    status: str = "active"
    billable: bool | None = None
    related: list[str] = field(default_factory=list)
    crosswalk: dict[str, list[str]] = field(default_factory=dict)
    synonyms: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    field_lines: dict[str, int] = field(default_factory=dict)  # front-matter key → line
    not_in_release: bool = False
    kind: str = ""  # ICD-10-CM release entries: chapter, block, category, subcategory or code
    notes: list[Note] = field(default_factory=list)  # instructional notes from the official release
    official: bool = False  # comes from (or is merged with) an official release entry
    digest: str | None = None  # of the editor's file as it was read (None: from a release only)
    source: str = ""  # where the official descriptor comes from: "ICD-10-CM FY2026 (April 1, 2026 update), CDC/NCHS"
    entry: Any = None  # the release's own entry (HcpcsEntry, CptEntry): code-set facts for the page
    change: str = ""  # what a release did to it, in words: "New in ICD-10-CM FY2026 (April 1, 2026 update)"
    changed_in: str = ""  # the release that did it: "ICD-10-CM FY2026 (April 1, 2026 update)"
    other_descriptors: dict[str, str] = field(default_factory=dict)  # "Short descriptor" → text
    updated: str = ""  # YYYY-MM-DD: when the editor's record (or the release) last changed
    searchable: bool = True  # False: its descriptors are licensed text kept out of the public search index
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = url_path(self.code_set, self.code)

    @property
    def crumb(self) -> str:
        """How breadcrumbs and short lists name it: the code, or a section's name."""
        if self.kind == "section":
            return "Modifiers" if self.code == "modifiers" else f"{self.code} codes"
        return self.code

    @property
    def code_line(self) -> int:
        return self.field_lines.get("code", 2)

    @property
    def is_range(self) -> bool:
        return "-" in self.code

    @property
    def public_sections(self) -> list[Section]:
        return [s for s in self.sections if not s.protected]

    @property
    def protected_sections(self) -> list[Section]:
        return [s for s in self.sections if s.protected]


def split_front_matter(text: str) -> tuple[str, str, int] | str:
    """(front matter, body, first body line) or the reason the file has none."""
    if not text.strip():
        return "empty file: a record starts with front matter between two '---' lines"
    lines = text.split("\n")
    if lines[0].rstrip() != "---":
        return "no front matter: the first line of a record must be '---'"
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "\n".join(lines[1:index]) + "\n", "\n".join(lines[index + 1:]), index + 2
    return "front matter is not closed: add a line '---' after the last field"


def load_record(path: Path, settings: Settings, problems: Problems) -> Record | None:
    """Read one record; add every problem found to `problems`.

    A record with problems is still returned, so references to and from it are checked in
    the same run; None means the file could not be read as a record at all.
    """
    text = read_text(path, problems)
    if text is None:
        return None
    return parse_record(path, text, hashlib.sha256(text.encode("utf-8")).hexdigest(), settings, problems)


class ParsedRecords:
    """The records earlier builds read without a problem, by file and text: a record whose file did
    not change is unpickled instead of parsed again (YAML, schema and Markdown cost milliseconds a
    record, and a catalogue has thousands). `reading` names what else parsing depends on (settings,
    code); a file made for another reading is ignored. A record with problems is never kept, so its
    problems are reported on every run."""

    def __init__(self, file: Path, reading: str):
        self.file, self.reading = file, reading
        self.kept: dict[tuple[str, str], Record] = {}
        self.read: dict[tuple[str, str], Record] = {}
        found = cache.load(file, tuple)
        if found is not None and len(found) == 2 and found[0] == reading and isinstance(found[1], dict):
            self.kept = found[1]

    def load(self, path: Path, settings: Settings, problems: Problems) -> Record | None:
        text = read_text(path, problems)
        if text is None:
            return None
        key = (str(path), hashlib.sha256(text.encode("utf-8")).hexdigest())
        record = self.kept.get(key)
        if record is None:
            found = len(problems)
            record = parse_record(path, text, key[1], settings, problems)
            if record is None or len(problems) > found:
                return record
        self.read[key] = record
        return record

    def save(self) -> None:
        """Keep what this run read (call it before the records are merged and resolved, which add to them)."""
        if self.read.keys() != self.kept.keys():
            cache.store(self.file, (self.reading, self.read))


def parse_record(path: Path, text: str, digest: str, settings: Settings, problems: Problems) -> Record | None:
    parts = split_front_matter(text)
    if isinstance(parts, str):
        problems.add(path, 1, parts)
        return None
    front, body, body_line = parts
    try:
        doc = yamlfile.load(front, first_line=2)
    except yamlfile.YamlError as exc:
        problems.add(path, exc.line, exc.message, exc.col)
        return None
    if not isinstance(doc.data, dict):
        problems.add(path, 2, "front matter must be fields, one per line (code: \"62326\")")
        return None
    data = doc.data
    schemas.check(doc, "record.schema.json", path, problems)
    record = Record(
        path=path,
        code_set=path.parent.name,
        code=str(data.get("code", path.stem)),
        descriptor=str(data.get("descriptor", "")),
        parent=_text_or_none(data.get("parent")),
        status=str(data.get("status", "active")),
        billable=data.get("billable") if isinstance(data.get("billable"), bool) else None,
        related=_texts(data.get("related")),
        crosswalk={k: _texts(v) for k, v in data["crosswalk"].items() if k in CODE_SETS}
        if isinstance(data.get("crosswalk"), dict) else {},
        synonyms=_texts(data.get("synonyms")),
        field_lines={key: doc.line_of((key,)) for key in data},
        not_in_release=data.get("not_in_release") is True,
        digest=digest,
    )
    if "descriptor" not in data and not settings.descriptors_from_release(record.code_set):
        problems.add(path, doc.line_of(()), "missing required field 'descriptor'")
    _check_identity(record, data, doc, problems)
    _collect_references(record, doc, problems)
    _load_sections(record, body, body_line, data.get("section_access"), doc, settings, problems)
    return record


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _texts(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _check_identity(record: Record, data: dict[str, Any], doc: yamlfile.Document, problems: Problems) -> None:
    path, code = record.path, record.code
    code_set = CODE_SETS[record.code_set]
    if isinstance(data.get("code_set"), str) and data["code_set"] in CODE_SETS and data["code_set"] != code_set.key:
        problems.add(path, doc.line_of(("code_set",)),
                     f"code_set '{data['code_set']}' does not match the folder: move the file to "
                     f"content/{data['code_set']}/ or write code_set: {code_set.key}")
    if not isinstance(data.get("code"), str):
        return
    if not code_set.is_valid(code):
        hint = f" (did you mean '{code.upper()}'?)" if code_set.is_valid(code.upper()) else ""
        problems.add(path, doc.line_of(("code",)), f"'{code}' is not a valid {code_set.label} code{hint}: {code_set.rule}")
    elif code_set.is_range(code):
        first, last = code.split("-")
        if first > last:
            problems.add(path, doc.line_of(("code",)), f"range '{code}' runs backwards: write {last}-{first}")
    if path.stem != code:
        problems.add(path, doc.line_of(("code",)),
                     f"file name '{path.name}' does not match its code '{code}': rename the file to {code}.md")


def _collect_references(record: Record, doc: yamlfile.Document, problems: Problems) -> None:
    """Check the form of every code the front matter names; keep them for resolution."""
    named: list[tuple[str, tuple[str | int, ...], str, str | None]] = []
    if record.parent:
        named.append((record.parent, ("parent",), "parent", record.code_set))
    named += [(c, ("related", i), "related", None) for i, c in enumerate(record.related)]
    for key, codes in record.crosswalk.items():
        named += [(c, ("crosswalk", key, i), f"crosswalk.{key}", key) for i, c in enumerate(codes)]
    for code, location, name, expected_set in named:
        line = doc.line_of(location)
        what = f"'{name}'"
        found = code_set_of(code)
        if found is None:
            hint = f" (did you mean '{code.upper()}'?)" if code_set_of(code.upper()) else ""
            problems.add(record.path, line, f"{what} names '{code}', which is not a CPT, HCPCS or ICD-10-CM code{hint}")
        elif expected_set and found.key != expected_set:
            problems.add(record.path, line, f"{what} names {found.label} code {code}; it needs a {CODE_SETS[expected_set].label} code")
        elif code == record.code:
            problems.add(record.path, line, f"{what} names the record's own code {code}")
        else:
            record.references.append(Reference(code, line, name))


def _load_sections(record: Record, body: str, body_line: int, access_overrides: Any, doc: yamlfile.Document,
                   settings: Settings, problems: Problems) -> None:
    policy = settings.section_policy
    overrides: dict[str, str] = access_overrides if isinstance(access_overrides, dict) else {}
    for title, access in overrides.items():
        line = doc.line_of(("section_access", title))
        if title not in policy:
            problems.add(record.path, line, f"section_access names unknown section '{title}'{schemas.did_you_mean(title, policy)}")
        elif policy[title].protected and access == "public":
            problems.add(record.path, line,
                         f"section '{title}' is protected by the site's section policy; a record cannot make it public")
    parsed, issues = parse_sections(body)
    for issue in issues:
        problems.add(record.path, body_line + issue.line, issue.message)
    by_title: dict[str, ParsedSection] = {}
    for section in parsed:
        line = body_line + section.line
        if section.title in policy and policy[section.title].source:
            problems.add(record.path, line, f"section '## {section.title}' is filled by the build from its "
                         f"{policy[section.title].source} source; remove it from the record")
        elif section.title not in policy:
            problems.add(record.path, line, f"unknown section heading '## {section.title}'"
                         f"{schemas.did_you_mean(section.title, policy)}; the sections are listed in content/site.yaml")
        elif section.title in by_title:
            problems.add(record.path, line, f"section '## {section.title}' appears twice "
                         f"(first on line {body_line + by_title[section.title].line})")
        else:
            by_title[section.title] = section
        record.references += [Reference(code, body_line + ref_line, "text") for code, ref_line in section.refs]
    for title, rule in policy.items():  # in page order
        if rule.source:
            continue
        written = by_title.get(title)
        crosswalk = record.crosswalk.get(rule.crosswalk, []) if rule.crosswalk else []
        if written is None and not crosswalk:
            continue
        protected = rule.protected or overrides.get(title) == "protected"
        line = body_line + written.line if written else doc.line_of(("crosswalk", rule.crosswalk or ""))
        if record.is_range and protected:
            problems.add(record.path, line, f"section '{title}' is protected, but range pages are not metered: "
                         f"put protected guidance on the codes' own records")
        record.sections.append(Section(title, rule.id, protected, written.html if written else "",
                                       written.text if written else "", line, crosswalk))
