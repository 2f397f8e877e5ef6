"""Search: a code lookup index of prefix shards, and a Pagefind word index over public text.

Two indexes, because coders search two ways:

- **Codes** ("62326", "m545", "M54.50", "s72001a"): prefix shards under `site/search/codes/`
  (`shards`).
- **Words** ("low back pain"): Pagefind over generated documents holding public text only
  (`documents`, `pagefind`); filters: code set and ICD-10-CM chapter.

`start_index` begins the build's index step (Pagefind then runs while the pages are
rendered) and `Indexing.finish` ends it. Work is skipped where its input did not change:
nothing at all when what search reads of the catalogue is the same as for the index already
in the site being updated (or in the site a full build replaces, which is then reused);
Pagefind only when its documents changed.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import cache
from ..catalogue import Catalogue
from ..codesets import CODE_SETS, sort_key
from ..log import Log
from ..records import Record
from ..writing import InPlace, Writer
from . import documents, pagefind, shards
from .documents import Group
from .early import start_early
from .pagefind import PAGEFIND_FOLDER, PagefindRun, SearchIndexError
from .shards import CODES_FOLDER, normalise
from .tree import partial_tree, tree_of

__all__ = ["DOCUMENTS_FOLDER", "Indexing", "IndexStats", "PagefindRun", "SearchIndexError", "normalise", "page_context",
           "save_state", "script_asset", "start_early", "start_index", "version"]

# what the index is made by: a change to any of them makes the next build index everything
CODE_FILES = (Path(__file__), Path(__file__).parent / "shards.py", Path(__file__).parent / "documents.py",
              Path(__file__).parent / "tree.py", Path(__file__).parent / "pagefind.py",
              *sorted(pagefind.WASM_FOLDER.glob("*.gz")))


@dataclass
class Asset:
    path: str
    content: bytes


def script_asset(templates_dir: Path) -> Asset:
    script = (templates_dir / "static" / "search.js").read_bytes()
    return Asset(f"/assets/search.{hashlib.sha256(script).hexdigest()[:10]}.js", script)


def page_context(catalogue: Catalogue, templates_dir: Path) -> dict[str, Any]:
    """What templates/search.html needs: the script's URL and the filters' choices."""
    chapters = sorted((r for r in catalogue.records.values() if r.code_set == "icd-10-cm" and r.kind == "chapter"),
                      key=lambda r: sort_key(r.code))
    names = {key: catalogue.settings.code_sets[key].name for key in CODE_SETS}
    return {
        "script_url": script_asset(templates_dir).path,
        "code_sets": names,
        "chapters": [(r.code, r.descriptor) for r in chapters],
        "config": json.dumps({"codes": f"/{CODES_FOLDER}/", "pagefind": f"/{PAGEFIND_FOLDER}/pagefind.js",
                              "sets": names}, ensure_ascii=False).replace("</", "<\\/"),
    }


STATE_FILE = "search-state.pickle"  # in the project's cache
DOCUMENTS_FOLDER = "search-documents"  # in the project's cache: what Pagefind indexes


# a code's digest of what its shard shows, digest of what its word document shows, its word-document group
CodeFacts = tuple[str, str, Group | None]
NOT_INDEXED: CodeFacts = ("", "", None)


class CodeTable:
    """Code → CodeFacts for 120,000 codes, kept as columns (the codes, their digests joined,
    their groups by number) as they are pickled: an edit looks up a few codes and the members of
    a few groups, and a dictionary of 120,000 tuples took 0.13 s to unpickle and 0.09 s to make
    from the columns on every edit."""

    def __init__(self, facts: dict[str, CodeFacts] | None = None):
        facts = facts or {}
        numbers: dict[Group | None, int] = {None: -1}
        for _, _, group in facts.values():
            numbers.setdefault(group, len(numbers) - 1)
        self._codes = list(facts)
        self._shard = "".join(f[0] for f in facts.values())
        self._words = "".join(f[1] for f in facts.values())
        self._numbers = [numbers[f[2]] for f in facts.values()]
        self._groups: list[Group] = [g for g in numbers if g is not None]
        self._position: dict[str, int] | None = None  # made when a code is first looked up
        self._changed: dict[str, CodeFacts | None] = {}  # since the columns were made (None: removed)

    def _at(self, code: str) -> int | None:
        if self._position is None:
            self._position = dict(zip(self._codes, range(len(self._codes)), strict=True))
        return self._position.get(code)

    def get(self, code: str, default: CodeFacts = NOT_INDEXED) -> CodeFacts:
        if code in self._changed:
            return self._changed[code] or default
        at = self._at(code)
        if at is None:
            return default
        width, number = shards.DIGEST_CHARS, self._numbers[at]
        return (self._shard[at * width:(at + 1) * width], self._words[at * width:(at + 1) * width],
                self._groups[number] if number >= 0 else None)

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, str):
            return False
        return self._changed[code] is not None if code in self._changed else self._at(code) is not None

    def __setitem__(self, code: str, facts: CodeFacts) -> None:
        self._changed[code] = facts

    def __delitem__(self, code: str) -> None:
        self._changed[code] = None

    def members(self, groups: set[Group]) -> list[tuple[str, Group]]:
        """(code, group) of the codes in any of `groups`."""
        wanted = {n for n, group in enumerate(self._groups) if group in groups}
        found = [(self._codes[at], self._groups[number]) for at, number in enumerate(self._numbers) if number in wanted]
        found = [(code, group) for code, group in found if code not in self._changed]
        return found + [(code, facts[2]) for code, facts in self._changed.items()
                        if facts is not None and facts[2] is not None and facts[2] in groups]

    def __getstate__(self) -> tuple[object, ...]:
        """The columns with the changes made since they were read (an edit changes a few codes)."""
        codes, numbers, groups = list(self._codes), list(self._numbers), list(self._groups)
        shard, words, width = self._shard, self._words, shards.DIGEST_CHARS
        removed: set[int] = set()
        for code, facts in self._changed.items():
            at = self._at(code)
            if facts is None:
                if at is not None:
                    removed.add(at)
                continue
            if facts[2] is not None and facts[2] not in groups:
                groups.append(facts[2])
            number = -1 if facts[2] is None else groups.index(facts[2])
            if at is None:
                codes.append(code)
                shard, words = shard + facts[0], words + facts[1]
                numbers.append(number)
            else:
                shard = shard[:at * width] + facts[0] + shard[(at + 1) * width:]
                words = words[:at * width] + facts[1] + words[(at + 1) * width:]
                numbers[at] = number
        if removed:
            kept = [at for at in range(len(codes)) if at not in removed]
            codes, numbers = [codes[at] for at in kept], [numbers[at] for at in kept]
            shard = "".join(shard[at * width:(at + 1) * width] for at in kept)
            words = "".join(words[at * width:(at + 1) * width] for at in kept)
        return codes, shard, words, numbers, groups

    def __setstate__(self, state: tuple[object, ...]) -> None:
        codes, shard, words, numbers, groups = state
        if not (isinstance(codes, list) and isinstance(shard, str) and isinstance(words, str)
                and isinstance(numbers, list) and isinstance(groups, list)
                and len(shard) == len(words) == len(codes) * shards.DIGEST_CHARS == len(numbers) * shards.DIGEST_CHARS):
            raise TypeError("not a table of codes")  # cache.load then ignores the file
        self._codes, self._shard, self._words, self._numbers, self._groups = codes, shard, words, numbers, groups
        self._position, self._changed = None, {}


@dataclass
class SearchState:
    """What the index of a site was made from, so an edit can remake only what it touches. Kept
    in the project's cache beside the documents folder Pagefind indexes (never published)."""

    version: str  # of the code and Pagefind that made it
    codes: CodeTable
    groups: dict[Group, list[str]]  # word-document group → its documents' paths


@dataclass
class IndexStats:
    outcome: str  # "indexed", "updated" (the parts an edit touched) or "unchanged"
    shards: int  # shard files made
    documents: int  # documents Pagefind indexes (made or remade)
    codes_in_words: int  # codes in those documents
    pagefind: str  # "indexed", "reused" or "unchanged"
    seconds: float
    early: bool = False  # Pagefind's run started before loading (`start_early`) was kept
    state: SearchState | None = None  # what it was made from, saved once the site is published


@functools.cache
def version() -> str:
    salt = hashlib.sha256(b"".join(p.read_bytes() for p in CODE_FILES)).hexdigest()[:16]
    return f"pagefind {pagefind.PAGEFIND_VERSION} {pagefind.INDEX_CHUNK_UNITS} {salt}"


def start_index(catalogue: Catalogue, templates_dir: Path, writer: Writer, cache_dir: Path,
                changed: set[str] | None = None, low_priority: bool = False, *, tools_dir: Path,
                early: pagefind.PagefindRun | None = None) -> Indexing:
    """Write the code shards, the word documents and the search script into the site `writer`
    makes, and start Pagefind on the documents; `Indexing.finish()` waits for its bundle.

    `tools_dir`: the project's fetched tools (Pagefind's binary; `pagefind.fetch`).
    `changed`: the codes an incremental build touched (None: a full build). Only their shards
    and word documents are made again; Pagefind indexes the documents folder in the project's
    cache, which keeps every document between builds. A full build reuses the Pagefind bundle of
    the site it replaces when the documents are the same. `early`: Pagefind already at work on
    guessed documents (`start_early`), kept when they are the documents written here.
    """
    started = time.perf_counter()
    script = script_asset(templates_dir)
    writer.write(script.path, script.content)
    state_path, documents_dir = cache_dir / STATE_FILE, cache_dir / DOCUMENTS_FOLDER
    state = _read_state(state_path)
    # until the build is published and save_state() runs, no state: a failed build leaves the next
    # one to index everything rather than trust documents that no published index was made from
    state_path.unlink(missing_ok=True)
    if changed is not None and state is not None and isinstance(writer, InPlace) and documents_dir.is_dir():
        stats = _update(catalogue, writer, changed, state, documents_dir)
    else:
        state, stats = _index_everything(catalogue, writer, documents_dir)
    stats.state = state
    run = None
    if stats.outcome != "unchanged":
        run = _start_pagefind(writer, documents_dir, low_priority, tools_dir, early)
        stats.early = run is early
    elif early is not None:
        early.stop()
    return Indexing(stats, writer, run, started)


class Indexing:
    """The index step once begun: shards and documents written, Pagefind at work in the
    background while the pages are rendered."""

    def __init__(self, stats: IndexStats, writer: Writer, run: pagefind.PagefindRun | None, started: float):
        self.stats, self.writer, self.run, self.started = stats, writer, run, started

    def finish(self, log: Log) -> IndexStats:
        """Wait for Pagefind and put its bundle into the site; log what the step did."""
        run, stats, writer = self.run, self.stats, self.writer
        self.run = None
        if run is not None:
            run.finish()
            if run.bundle is not None:
                writer.put_folder(f"/{PAGEFIND_FOLDER}/", run.bundle)
                stats.pagefind = "indexed"
            elif run.reuse is not None and run.reuse.parent != writer.folder:
                writer.copy_folder(f"/{PAGEFIND_FOLDER}/", run.reuse)
                stats.pagefind = "reused"
            else:
                stats.pagefind = "unchanged"
        stats.seconds = time.perf_counter() - self.started
        return _report(log, stats)

    def abandon(self) -> None:
        """The build failed: stop Pagefind and remove its unfinished bundle."""
        if self.run is not None:
            self.run.stop()
            self.run = None


def save_state(stats: IndexStats, cache_dir: Path) -> None:
    """After publishing: remember what the published index was made from."""
    if stats.state is not None:
        cache.store(cache_dir / STATE_FILE, stats.state)


def _index_everything(catalogue: Catalogue, writer: Writer, documents_dir: Path) -> tuple[SearchState, IndexStats]:
    tree = tree_of(catalogue)
    groups: dict[Group, list[Record]] = {}
    codes: dict[str, CodeFacts] = {}
    for record in catalogue.records.values():
        group = documents.group_of(record, tree) if documents.indexed(record) else None
        if group is not None:
            groups.setdefault(group, []).append(record)
        if record.kind != "group":
            codes[record.code] = (shards.looked_up(record), documents.searchable(record), group)
    made: dict[Group, list[documents.Document]] = {
        group: documents.group_documents(group, members, tree) for group, members in sorted(groups.items())}
    if documents_dir.exists():
        shutil.rmtree(documents_dir)
    docs = [d for listed in made.values() for d in listed]
    _write_documents(documents_dir, documents.render_documents(docs))
    files = shards.shard_files(shards.build_shards(shards.code_entries(catalogue, tree)))
    for path, data in files.items():
        writer.write(path, data)
    _remove_stale_shards(writer, files, None)
    state = SearchState(version(), CodeTable(codes), {group: [d.path for d in listed] for group, listed in made.items()})
    return state, IndexStats("indexed", len(files), len(docs), sum(len(d.records) for d in docs), "", 0.0)


def _update(catalogue: Catalogue, writer: InPlace, changed: set[str], state: SearchState,
            documents_dir: Path) -> IndexStats:
    """Remake the shards of the changed codes whose looked-up facts changed, and the word documents
    of those whose searchable facts changed (an edit of a section's text leaves the shards alone)."""
    present = [r for code in changed if (r := catalogue.get(code)) is not None and r.kind != "group"]
    gone = {code for code in changed if catalogue.get(code) is None and code in state.codes}
    before = {code: state.codes.get(code, NOT_INDEXED) for code in changed}
    in_shards = {r.code for r in present if before[r.code][0] != shards.looked_up(r)} | gone
    in_words = {r.code for r in present if before[r.code][1] != documents.searchable(r)} | gone
    if not in_shards and not in_words:
        return IndexStats("unchanged", 0, 0, 0, "unchanged", 0.0)
    files: dict[str, bytes] = {}
    if in_shards:  # the shards under the first character of every such code
        firsts = {normalise(code)[0] for code in in_shards}
        # a code's first character is its looked-up form's (no code starts with a dot or a space):
        # normalising all 100,000 codes to compare one character cost 0.14 s of each edit
        under = [r for r in catalogue.records.values() if r.code[:1].upper() in firsts and r.kind != "group"]
        files = shards.shard_files(shards.build_shards(shards.code_entries_of(under, partial_tree(catalogue, under))))
        for path, data in files.items():
            writer.write(path, data)
        _remove_stale_shards(writer, files, firsts)
    for code in gone:
        del state.codes[code]
    for record in present:
        if record.code in in_shards and record.code not in in_words:
            state.codes[record.code] = (shards.looked_up(record), *before[record.code][1:])
    # the word documents of every group a code whose words changed is in, or was in
    groups = {group for code in in_words if (group := before[code][2]) is not None}
    words_changed = [r for r in present if r.code in in_words]
    small = partial_tree(catalogue, words_changed)
    for record in words_changed:
        group = documents.group_of(record, small) if documents.indexed(record) else None
        state.codes[record.code] = (shards.looked_up(record), documents.searchable(record), group)
        if group is not None:
            groups.add(group)
    members: dict[Group, list[Record]] = {group: [] for group in groups}
    for code, group in state.codes.members(groups):
        if (found := catalogue.get(code)) is not None:
            members[group].append(found)
    member_tree = partial_tree(catalogue, [r for listed in members.values() for r in listed])
    made = codes_in = 0
    for group in groups:
        for path in state.groups.pop(group, []):
            (documents_dir / path).unlink(missing_ok=True)
        docs = documents.group_documents(group, members[group], member_tree) if members[group] else []
        _write_documents(documents_dir, documents.render_documents(docs))
        state.groups[group] = [d.path for d in docs]
        made += len(docs)
        codes_in += sum(len(d.records) for d in docs)
    return IndexStats("updated", len(files), made, codes_in, "", 0.0)


def _start_pagefind(writer: Writer, documents_dir: Path, low_priority: bool, tools_dir: Path,
                    early: pagefind.PagefindRun | None) -> pagefind.PagefindRun:
    files = pagefind.read_documents(documents_dir)
    digest = pagefind.documents_digest(version(), files)
    if early is not None:
        if early.digest == digest:
            return early
        early.stop()
    reuse = [site / PAGEFIND_FOLDER for site in (writer.folder, writer.previous) if site is not None]
    return pagefind.PagefindRun(documents_dir, files, digest, writer.scratch, reuse, tools_dir).start(low_priority)


def _write_documents(folder: Path, pages: dict[str, bytes]) -> None:
    """Each document as a new file: an early Pagefind run may hold a link to the old one (`early`)."""
    for relative, data in pages.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        path.write_bytes(data)


def _remove_stale_shards(writer: Writer, files: dict[str, bytes], firsts: set[str] | None) -> None:
    """Updating a site in place: remove the shards no longer made (under `firsts`, or all)."""
    folder = writer.folder / CODES_FOLDER
    if not isinstance(writer, InPlace) or not folder.is_dir():
        return
    for first in os.listdir(folder):
        if firsts is not None and first not in firsts or not (folder / first).is_dir():
            continue
        for name in os.listdir(folder / first):
            url = f"/{CODES_FOLDER}/{first}/{name}"
            if url not in files:
                writer.remove(url)


def _read_state(path: Path) -> SearchState | None:
    state = cache.load(path, SearchState)
    return state if state is not None and state.version == version() else None


def _report(log: Log, stats: IndexStats) -> IndexStats:
    if stats.outcome in ("indexed", "updated"):
        log.say(f"  search: {stats.shards} code shards, {stats.documents} word documents "
                f"({stats.codes_in_words} codes) {stats.outcome}, Pagefind index {stats.pagefind}"
                + (" (started before loading, on the documents the edit was expected to give)" if stats.early else ""))
    else:
        log.say(f"  search: index {stats.outcome}")
    return stats
