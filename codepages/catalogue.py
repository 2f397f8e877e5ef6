"""The catalogue: all records, cross-references resolved, hierarchy and neighbours known."""
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
    children: dict[str, list[Record]] = field(default_factory=dict)  # in force, in code order
    deleted_children: dict[str, list[Record]] = field(default_factory=dict)  # deleted codes kept below a record
    group_members: dict[str, list[Record]] = field(default_factory=dict)  # CPT folder (623) → its codes
    sequence: dict[str, list[Record]] = field(default_factory=dict)  # code set → codes in reading order
    position: dict[str, int] = field(default_factory=dict)  # code → index in its code set's sequence
    # computed on first use (the catalogue does not change once resolved)
    _top: dict[str, list[Record]] = field(default_factory=dict, repr=False)
    _code_counts: dict[str, int] = field(default_factory=dict, repr=False)
    _by_status: dict[tuple[str, str], list[Record]] | None = field(default=None, repr=False)

    def get(self, code: str) -> Record | None:
        return self.records.get(code)

    def url_of(self, code: str) -> str | None:
        record = self.records.get(code)
        return record.url if record is not None else None

    def top_level(self, code_set: str) -> list[Record]:
        """The records at the top of a code set (no parent), in code order."""
        found = self._top.get(code_set)
        if found is None:
            found = self._top[code_set] = sorted(
                (r for r in self.records.values() if r.code_set == code_set and r.parent is None
                 and r.kind != "group" and r.status != "deleted"), key=lambda r: sort_key(r.code))
        return found

    def children_of(self, record: Record) -> list[Record]:
        if record.kind == "group":
            return self.group_members.get(record.code, [])
        return self.children.get(record.code, [])

    def siblings_of(self, record: Record) -> list[Record]:
        """The codes beside a leaf code under its parent (itself included), for local navigation."""
        if record.parent is None or record.is_range or record.kind in ("section", "group"):
            return []
        return self.children.get(record.parent, [])

    def neighbours(self, record: Record) -> tuple[Record | None, Record | None]:
        """The previous and next code of its code set (modifiers: modifier), in reading order."""
        index = self.position.get(record.code)
        if index is None:
            return None, None
        codes = self.sequence[_sequence_of(record)]
        return (codes[index - 1] if index > 0 else None), (codes[index + 1] if index + 1 < len(codes) else None)

    def descendants(self, code: str) -> set[str]:
        """Every code below `code` (deleted ones kept below it too): their breadcrumbs show it."""
        found: set[str] = set()
        below = [code]
        while below:
            parent = below.pop()
            for child in [*self.children.get(parent, []), *self.deleted_children.get(parent, [])]:
                if child.code not in found:
                    found.add(child.code)
                    below.append(child.code)
        return found

    def ancestors(self, record: Record) -> list[Record]:
        chain: list[Record] = []
        parent = self.get(record.parent) if record.parent else None
        while parent is not None and parent not in chain:
            chain.insert(0, parent)
            parent = self.get(parent.parent) if parent.parent else None
        return chain

    def counts(self) -> dict[str, int]:
        """Pages per code set."""
        return {key: sum(1 for r in self.records.values() if r.code_set == key) for key in CODE_SETS}

    def code_counts(self) -> dict[str, int]:
        """Codes in force per code set (not ranges, sections, folders or deleted codes)."""
        if not self._code_counts:
            counts = dict.fromkeys(CODE_SETS, 0)
            for record in self.records.values():
                if not record.is_range and record.kind not in ("chapter", "block", "section", "group") \
                        and record.status not in ("deleted", "terminated"):
                    counts[record.code_set] += 1
            self._code_counts = counts
        return dict(self._code_counts)

    def with_status(self, code_set: str, status: str) -> list[Record]:
        """The records of a code set with that status, in the catalogue's order."""
        if self._by_status is None:
            self._by_status = {}
            for record in self.records.values():
                self._by_status.setdefault((record.code_set, record.status), []).append(record)
        return self._by_status.get((code_set, status), [])


def contains(outer: str, inner: str) -> bool:
    """Whether code or range `outer` holds `inner` (M50-M54 holds M54.16; M54 holds M54.1)."""
    if "-" in outer:
        low, high = outer.split("-")
        inner_low, _, inner_high = inner.partition("-")
        inner_high = inner_high or inner_low
        return inner_low[:len(low)] >= low and inner_high[:len(high)] <= high and outer != inner
    return inner.startswith(outer) and inner != outer


# The last catalogue this process resolved without problems, and the records it was resolved from
# (the preview resolves on every save; an edit mostly swaps a few records for same-shaped ones).
_last: tuple[list[Record], frozenset[str], Catalogue] | None = None


def resolve(records: list[Record], settings: Settings, problems: Problems,
            other_codes: frozenset[str] = frozenset()) -> Catalogue:
    """Index records by code and check every reference; problems go to `problems`.

    `other_codes` are codes known to exist without being loaded (a check of a few files).
    """
    global _last
    catalogue = _resolve_again(records, settings, problems, other_codes)
    if catalogue is None:
        catalogue = _resolve(records, settings, problems, other_codes)
    _last = (list(records), other_codes, catalogue) if not problems else None
    return catalogue


def _shape(record: Record) -> tuple[object, ...]:
    """What of a record places it in the catalogue (everything `_resolve` indexes it by)."""
    return (record.code, record.code_set, record.parent, record.status, record.kind, record.official,
            record.path.stem == record.code, record.descriptor if record.kind == "group" else None)


def _resolve_again(records: list[Record], settings: Settings, problems: Problems,
                   other_codes: frozenset[str]) -> Catalogue | None:
    """The last catalogue with `records` put in place of the ones they replace, when each one has
    the shape of the record it replaces (same code, parent, status, kind …) — the catalogue
    `_resolve` would make, without indexing 100,000 records again. None when the shapes differ.
    A new catalogue: the last one stays as it was (it shares only the lists nothing replaced)."""
    if _last is None or len(_last[0]) != len(records) or _last[1] != other_codes:
        return None
    before, _, last = _last
    swapped = [(old, new) for old, new in zip(before, records, strict=True) if old is not new]
    if any(_shape(old) != _shape(new) for old, new in swapped):
        return None
    catalogue = Catalogue(settings, dict(last.records), dict(last.children), dict(last.deleted_children),
                          dict(last.group_members), dict(last.sequence), last.position)
    replaced = {id(old): new for old, new in swapped}
    touched: dict[str, set[str]] = {"children": set(), "deleted_children": set(), "group_members": set()}
    sequences: dict[str, list[Record]] = {}
    for _, new in swapped:
        catalogue.records[new.code] = new
        touched["children" if new.status != "deleted" else "deleted_children"].add(new.parent or "")
        if new.code_set == "cpt" and not new.is_range:
            touched["group_members"].add(new.code[:3])
        index = catalogue.position.get(new.code)
        if index is not None:  # its place in the previous / next sequence: copied once, set by position
            key = _sequence_of(new)
            if key not in sequences:
                sequences[key] = catalogue.sequence[key] = list(catalogue.sequence[key])
            sequences[key][index] = new
    for name, keys in touched.items():
        lists: dict[str, list[Record]] = getattr(catalogue, name)
        for key in keys & lists.keys():  # a parent's children, a CPT folder's codes: short lists
            lists[key] = [replaced.get(id(member), member) for member in lists[key]]
    _check_references([new for _, new in swapped], catalogue, problems, other_codes)
    return catalogue


def _check_references(records: list[Record], catalogue: Catalogue, problems: Problems,
                      other_codes: frozenset[str]) -> None:
    for record in records:
        for ref in record.references:
            if catalogue.get(ref.code) is None and ref.code not in other_codes:
                problems.add(record.path, ref.line, f"{ref.what} names unknown code {ref.code}")
            elif ref.field == "parent" and not contains(ref.code, record.code):
                problems.add(record.path, ref.line, f"'parent' names {ref.code}, which does not contain {record.code}")


def _resolve(records: list[Record], settings: Settings, problems: Problems,
             other_codes: frozenset[str]) -> Catalogue:
    catalogue = Catalogue(settings)
    # a record in its rightly named file wins; the other copy is the one reported
    for record in sorted(records, key=lambda r: not r.official and r.path.stem != r.code):
        first = catalogue.records.get(record.code)
        if first is not None:
            problems.add(record.path, record.code_line,
                         f"code {record.code} is defined twice: here and in {problems.display(first.path)}")
            continue
        catalogue.records[record.code] = record
    _check_references(list(catalogue.records.values()), catalogue, problems, other_codes)
    for record in catalogue.records.values():
        if record.kind == "group":
            continue
        if record.code_set == "cpt" and not record.is_range:
            catalogue.group_members.setdefault(record.code[:3], []).append(record)
        if record.parent and catalogue.get(record.parent):
            kept = catalogue.deleted_children if record.status == "deleted" else catalogue.children
            kept.setdefault(record.parent, []).append(record)
    for listed in (*catalogue.children.values(), *catalogue.deleted_children.values(),
                   *catalogue.group_members.values()):
        listed.sort(key=lambda r: sort_key(r.code))
    sequences: dict[str, list[Record]] = {}
    for record in catalogue.records.values():
        if not record.is_range and record.kind not in ("chapter", "block", "section", "group") \
                and record.status != "deleted":
            sequences.setdefault(_sequence_of(record), []).append(record)
    for key, codes in sequences.items():
        if not key.startswith("icd-10-cm"):  # ICD-10-CM keeps the tabular list's own order
            codes.sort(key=lambda r: sort_key(r.code))
        catalogue.sequence[key] = codes
        catalogue.position.update((r.code, i) for i, r in enumerate(codes))
    return catalogue


def _sequence_of(record: Record) -> str:
    """Which sequence of previous/next codes a record belongs to: its code set, or its modifiers."""
    return f"{record.code_set} modifiers" if record.kind == "modifier" else record.code_set
