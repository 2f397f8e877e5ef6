"""Search: a code lookup index of prefix shards, and a Pagefind word index over public text.

Two indexes, because coders search two ways:

- **Codes** ("62326", "m545", "M54.50", "s72001a"): prefix shards under `site/search/codes/`
  (`shards`).
- **Words** ("low back pain"): Pagefind over generated documents holding public text only
  (`documents`, `pagefind`); filters: code set and ICD-10-CM chapter.

`write_index` is the build's index step. Work is skipped where its input did not change:
nothing at all when what search reads of the catalogue is the same as for the index already
in the site being updated (or in the site a full build replaces, which is then reused);
Pagefind only when its documents changed.
"""
from __future__ import annotations

import gc
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..catalogue import Catalogue
from ..codesets import CODE_SETS, sort_key
from ..log import Log
from ..writing import InPlace, Writer
from . import documents, pagefind, shards
from .pagefind import PAGEFIND_FOLDER, SearchIndexError
from .shards import CODES_FOLDER, normalise
from .tree import tree_of

__all__ = ["IndexStats", "SearchIndexError", "normalise", "page_context", "script_asset", "write_index"]

SOURCE_FILE = "search/index-source.sha256"  # a digest of what the whole search index was made from
CODE_FILES = (Path(__file__).parent / "shards.py", Path(__file__).parent / "documents.py",
              Path(__file__).parent / "tree.py")


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


@dataclass
class IndexStats:
    outcome: str  # "indexed", "reused" (from the site being replaced) or "unchanged"
    shards: int  # shard files made
    documents: int  # documents Pagefind indexes
    codes_in_words: int  # codes in those documents
    pagefind: str  # "indexed", "reused" or "unchanged"
    seconds: float


def source_digest(catalogue: Catalogue) -> str:
    """A digest of everything the search index is made of (and of the code making it)."""
    digest = hashlib.sha256(f"pagefind {pagefind.PAGEFIND_VERSION} {pagefind.INDEX_CHUNK_UNITS}".encode())
    for path in CODE_FILES:
        digest.update(path.read_bytes())
    for code, record in catalogue.records.items():
        digest.update(repr((
            code, record.code_set, record.descriptor, record.billable, record.parent, record.kind, record.synonyms,
            [(s.title, None if s.protected else s.text) for s in record.sections],  # never protected text
            [n.text for n in record.notes if n.kind in ("inclusion_term", "includes") and n.inherited_from is None],
        )).encode("utf-8"))
    digest.update(json.dumps({k: v.name for k, v in catalogue.settings.code_sets.items()}, sort_keys=True).encode())
    return digest.hexdigest()


def write_index(catalogue: Catalogue, templates_dir: Path, writer: Writer, log: Log) -> IndexStats:
    """Write the code shards, the word index and the search script into the site `writer` makes."""
    started = time.perf_counter()
    script = script_asset(templates_dir)
    writer.write(script.path, script.content)
    source = source_digest(catalogue)
    marker = writer.folder / SOURCE_FILE
    if pagefind.read_digest(marker) == source:
        return _report(log, IndexStats("unchanged", 0, 0, 0, "unchanged", time.perf_counter() - started))
    previous = writer.previous
    if previous is not None and pagefind.read_digest(previous / SOURCE_FILE) == source:
        for part in (CODES_FOLDER, PAGEFIND_FOLDER):
            writer.copy_folder(f"/{part}/", previous / part)
        writer.write(f"/{SOURCE_FILE}", source + "\n")
        return _report(log, IndexStats("reused", 0, 0, 0, "reused", time.perf_counter() - started))
    with _no_garbage_collection():  # many small objects, no cycles: collecting only costs time
        tree = tree_of(catalogue)
        docs = documents.word_documents(catalogue, tree)
        salt = hashlib.sha256(b"".join(p.read_bytes() for p in CODE_FILES)).hexdigest()
        pages, digest = documents.render_documents(docs, f"pagefind {pagefind.PAGEFIND_VERSION} "
                                                         f"{pagefind.INDEX_CHUNK_UNITS} {salt}")
        reuse = [site / PAGEFIND_FOLDER for site in (writer.folder, previous) if site is not None]
        with pagefind.PagefindRun(pages, digest, writer.scratch, reuse) as run:
            files = shards.shard_files(shards.build_shards(shards.code_entries(catalogue, tree)))
            for path, data in files.items():
                writer.write(path, data)
            codes_folder = writer.folder / CODES_FOLDER
            if isinstance(writer, InPlace) and codes_folder.is_dir():  # drop the shards no longer made
                for stale in {f"/{CODES_FOLDER}/{name}" for name in os.listdir(codes_folder)} - files.keys():
                    writer.remove(stale)
        if run.bundle is not None:
            writer.put_folder(f"/{PAGEFIND_FOLDER}/", run.bundle)
            outcome = "indexed"
        elif run.reuse is not None and run.reuse.parent != writer.folder:
            writer.copy_folder(f"/{PAGEFIND_FOLDER}/", run.reuse)
            outcome = "reused"
        else:
            outcome = "unchanged"
    writer.write(f"/{SOURCE_FILE}", source + "\n")
    stats = IndexStats("indexed", len(files), len(docs), sum(len(d.records) for d in docs), outcome,
                       time.perf_counter() - started)
    return _report(log, stats)


@contextmanager
def _no_garbage_collection() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _report(log: Log, stats: IndexStats) -> IndexStats:
    if stats.outcome == "indexed":
        log.say(f"  search: {stats.shards} code shards, {stats.documents} word documents "
                f"({stats.codes_in_words} codes), Pagefind index {stats.pagefind}")
    else:
        log.say(f"  search: index {stats.outcome}")
    return stats
