"""Code lookup: `site/search/codes/<P>/<PREFIX>.json`, one shard per prefix of the normalised codes,
in a folder per first character (so no folder grows with the catalogue: see `hosting`).

Codes are normalised to upper case without dots (M54.50 → M5450). Every prefix of one to three
characters has a shard; a longer prefix has one only where its parent shard was too big to
list everything. A shard is a *leaf* (every entry under its prefix) or lists the most general
entries under it plus `more`: the child prefixes whose entries are not all listed. The browser
fetches the shard for the first min(len, 3) characters and goes one character deeper only while
`more` names the typed prefix, so a lookup costs a few small files.

A shard: `{"prefix", "total", "codes": [[code, descriptor, code set, URL path, billable 1/0/null,
(status, when the newest release made it new, revised, deleted or terminated)]], "more": [child
prefixes]}`. A licensed descriptor the operator keeps out of the search index is "".
"""
from __future__ import annotations

import hashlib
import heapq
import json
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from ..catalogue import Catalogue
from ..records import Record
from .tree import Tree

CODES_FOLDER = "search/codes"  # under the site
SHARD_LIMIT = 100  # entries a shard may list in full; bigger prefixes get deeper shards
LISTED = 20  # entries a shard with `more` lists: the most general ones under its prefix
DIGEST_CHARS = 16  # of the digests that tell a code's facts changed (64 bits: plenty for that)
DESCRIPTOR_LIMIT = 72  # characters of a descriptor in a shard (the code page has it whole)
NORMALISE = re.compile(r"[.\s]")

Shard = dict[str, Any]


def normalise(code: str) -> str:
    """The form codes are looked up by: upper case, no dots or spaces (m54.50 → M5450)."""
    return NORMALISE.sub("", code).upper()


MARKED = ("new", "revised", "deleted", "terminated")  # a row's 6th field, when the newest release changed it
Row = tuple[str, str, str, str, int | None] | tuple[str, str, str, str, int | None, str]


class CodeEntry(NamedTuple):
    norm: str  # normalised code
    depth: int  # ancestors: the fewer, the more general
    order: int  # position in code order
    row: Row  # as written to the shard


def code_entries(catalogue: Catalogue, tree: Tree) -> list[CodeEntry]:
    return code_entries_of(catalogue.records.values(), tree)


def code_entries_of(records: Iterable[Record], tree: Tree) -> list[CodeEntry]:
    """The shard rows of `records` (all of a catalogue's, or some with a partial tree)."""
    entries = []
    for record in records:
        if record.kind == "group":  # a folder of CPT codes: its codes are listed themselves
            continue
        code = record.code
        entries.append(CodeEntry(normalise(code), tree.depth[code], tree.order[code], _row(record)))
    entries.sort(key=lambda e: e.order)
    return entries


def _row(record: Record) -> Row:
    billable = 0 if record.is_range else None if record.billable is None else int(record.billable)
    descriptor = truncate(record.descriptor, DESCRIPTOR_LIMIT) if record.searchable else ""
    row: Row = (record.code, descriptor, record.code_set, record.url, billable)
    return (*row, record.status) if record.status in MARKED else row


def facts_digest(facts: object) -> str:
    """A short digest of some facts of a record (their repr), to tell when they change."""
    return hashlib.sha1(repr(facts).encode("utf-8")).hexdigest()[:DIGEST_CHARS]


def looked_up(record: Record) -> str:
    """A digest of what code lookup shows of a record: its row, and its place (parent, kind)."""
    return facts_digest((_row(record), record.parent, record.kind))


def _generality(entry: CodeEntry) -> tuple[int, int, int]:
    return entry.depth, len(entry.norm), entry.order


def build_shards(entries: list[CodeEntry]) -> dict[str, Shard]:
    """prefix → shard. Every prefix of 1..3 characters, and deeper ones where needed.

    `entries` are in code order; so are the codes of every shard.
    """
    shards: dict[str, Shard] = {}

    def make(prefix: str, members: list[CodeEntry]) -> None:
        if len(members) <= SHARD_LIMIT:
            shards[prefix] = {"prefix": prefix, "total": len(members), "codes": [m.row for m in members]}
            return
        exact = [m for m in members if m.norm == prefix]
        listed = exact + heapq.nsmallest(max(LISTED - len(exact), 0), (m for m in members if m.norm != prefix),
                                         key=_generality)
        listed_orders = {m.order for m in listed}
        children: dict[str, list[CodeEntry]] = {}
        depth = len(prefix) + 1
        for member in members:
            if len(member.norm) >= depth:
                children.setdefault(member.norm[:depth], []).append(member)
        more = sorted(c for c, group in children.items() if any(m.order not in listed_orders for m in group))
        shards[prefix] = {"prefix": prefix, "total": len(members),
                          "codes": [m.row for m in sorted(listed, key=lambda m: m.order)], "more": more}
        for child in more:
            if len(child) > 3:  # shards of 1..3 characters are made for every prefix anyway
                make(child, children[child])

    for length in (1, 2, 3):
        groups: dict[str, list[CodeEntry]] = {}
        for entry in entries:
            if len(entry.norm) >= length:
                groups.setdefault(entry.norm[:length], []).append(entry)
        for prefix, members in groups.items():
            make(prefix, members)
    return shards


def shard_url(prefix: str) -> str:
    """`/search/codes/M/M54.json`: the browser's search, the 404 page and the edge read the same."""
    return f"/{CODES_FOLDER}/{prefix[0]}/{prefix}.json"


def shard_files(shards: dict[str, Shard]) -> dict[str, bytes]:
    """URL path → file content of every shard."""
    return {shard_url(prefix): json.dumps(shard, ensure_ascii=False, separators=(",", ":")).encode()
            for prefix, shard in shards.items()}


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
