"""The catalogue: all records, cross-references resolved, hierarchy known."""
from __future__ import annotations

from dataclasses import dataclass, field

from .codesets import CODE_SETS, sort_key
from .errors import Problems
from .records import Record
from .settings import Settings


@dataclass
class Catalogue:
    settings: Settings
    records: dict[str, Record] = field(default_factory=dict)  # code → record (code forms never overlap)
    children: dict[str, list[Record]] = field(default_factory=dict)

    def get(self, code: str) -> Record | None:
        return self.records.get(code)

    def in_set(self, code_set: str) -> list[Record]:
        return sorted((r for r in self.records.values() if r.code_set == code_set), key=lambda r: sort_key(r.code))

    def top_level(self, code_set: str) -> list[Record]:
        return [r for r in self.in_set(code_set) if r.parent is None]

    def children_of(self, record: Record) -> list[Record]:
        return self.children.get(record.code, [])

    def ancestors(self, record: Record) -> list[Record]:
        chain: list[Record] = []
        parent = self.get(record.parent) if record.parent else None
        while parent is not None and parent not in chain:
            chain.insert(0, parent)
            parent = self.get(parent.parent) if parent.parent else None
        return chain

    def counts(self) -> dict[str, int]:
        return {key: sum(1 for r in self.records.values() if r.code_set == key) for key in CODE_SETS}


def contains(outer: str, inner: str) -> bool:
    """Whether code or range `outer` holds `inner` (M50-M54 holds M54.16; M54 holds M54.1)."""
    if "-" in outer:
        low, high = outer.split("-")
        inner_low, _, inner_high = inner.partition("-")
        inner_high = inner_high or inner_low
        return inner_low[:len(low)] >= low and inner_high[:len(high)] <= high and outer != inner
    return inner.startswith(outer) and inner != outer


def resolve(records: list[Record], settings: Settings, problems: Problems,
            other_codes: frozenset[str] = frozenset()) -> Catalogue:
    """Index records by code and check every reference; problems go to `problems`.

    `other_codes` are codes known to exist without being loaded (a check of a few files).
    """
    catalogue = Catalogue(settings)
    # a record in its rightly named file wins; the other copy is the one reported
    for record in sorted(records, key=lambda r: r.path.stem != r.code):
        first = catalogue.records.get(record.code)
        if first is not None:
            problems.add(record.path, record.code_line,
                         f"code {record.code} is defined twice: here and in {problems.display(first.path)}")
            continue
        catalogue.records[record.code] = record
    for record in catalogue.records.values():
        for ref in record.references:
            if catalogue.get(ref.code) is None and ref.code not in other_codes:
                problems.add(record.path, ref.line, f"{ref.what} names unknown code {ref.code}")
            elif ref.field == "parent" and not contains(ref.code, record.code):
                problems.add(record.path, ref.line, f"'parent' names {ref.code}, which does not contain {record.code}")
        if record.parent and catalogue.get(record.parent):
            catalogue.children.setdefault(record.parent, []).append(record)
    for siblings in catalogue.children.values():
        siblings.sort(key=lambda r: sort_key(r.code))
    return catalogue
