"""Search: a code lookup index of prefix shards, and a Pagefind word index over public text.

Two indexes, because coders search two ways:

- **Codes** ("62326", "m545", "M54.50", "s72001a"): `site/search/codes/<PREFIX>.json`, one shard
  per prefix of the normalised codes (upper case, no dot: M54.50 → M5450). Every prefix of one to
  three characters has a shard; a longer prefix has one only where its parent shard was too big
  to list everything. A shard is a *leaf* (every entry under its prefix) or lists the most
  general entries under it plus `more`: the child prefixes whose entries are not all listed. The
  browser fetches the shard for the first min(len, 3) characters and goes one character deeper
  only while `more` names the typed prefix, so a lookup costs a few small files.
- **Words** ("low back pain"): Pagefind (the real `pagefind` binary of `pagefind-bin`), run over
  generated documents in a private temporary folder beside the site, never over the 98,000
  pages: the categories of one ICD-10-CM block packed into documents of at most DOC_HEADINGS
  codes (a big category split between its subcategories), the blocks of each chapter, and the
  codes of each CPT/HCPCS range. Each code is a heading whose id is the code, followed by that
  code's public text only: descriptor, synonyms, inclusion terms and the public sections' text.
  Protected sections are never read here. Pagefind's sub-results (one per heading id) then name
  individual codes; filters: code set and ICD-10-CM chapter. Generated 7th-character codes
  (S72.001A …) are left out of the word index: code lookup finds them, and their parent's page
  lists them.

Rebuilds skip what did not change (see `write_index`); Pagefind's output is made byte-for-byte
reproducible (see `canonicalise_bundle`).
"""
from __future__ import annotations

import gc
import gzip
import hashlib
import heapq
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .catalogue import Catalogue
from .codesets import CODE_SETS, sort_key
from .errors import SetupError
from .records import Record

CODES_FOLDER = "search/codes"  # under the site
PAGEFIND_FOLDER = "pagefind"  # under the site: Pagefind's bundle (pagefind.js, wasm, index)
SHARD_LIMIT = 100  # entries a shard may list in full; bigger prefixes get deeper shards
LISTED = 20  # entries a shard with `more` lists: the most general ones under its prefix
DESCRIPTOR_LIMIT = 72  # characters of a descriptor in a shard (the code page has it whole)
DOC_HEADINGS = 100  # codes per Pagefind document at most (a result costs its document's fragment)
PAGEFIND_TIMEOUT = 300  # seconds
# Pagefind splits its word index into chunks of this many (page, location) entries (default
# 20,000, about 24 KB); a search fetches the chunk of every word typed, so smaller is lighter.
INDEX_CHUNK_UNITS = 2000
NORMALISE = re.compile(r"[.\s]")
PAGEFIND_VERSION = "1.5.2"  # pagefind-bin, pinned in requirements.txt
UNUSED_BUNDLE_FILES = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
                       "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js")
DIGEST_FILE = "codepages-source.sha256"  # in the bundle: a digest of the (public) documents it indexes
SOURCE_FILE = "search/index-source.sha256"  # a digest of what the whole search index was made from


def normalise(code: str) -> str:
    """The form codes are looked up by: upper case, no dots or spaces (m54.50 → M5450)."""
    return NORMALISE.sub("", code).upper()


def is_generated_seventh(record: Record) -> bool:
    """A 7th-character ICD-10-CM code (S72.001A), which the release defines only by table."""
    return record.code_set == "icd-10-cm" and not record.is_range and len(normalise(record.code)) == 7


# --------------------------------------------------------------------------------------------
# The tree: depth, chapter and order of every record


@dataclass
class Tree:
    depth: dict[str, int]  # code → number of ancestors
    chapter: dict[str, str | None]  # ICD-10-CM: code → its chapter's key
    block: dict[str, str | None]  # code → its nearest range ancestor (ICD-10-CM block, CPT range)
    top: dict[str, str]  # code → its outermost ancestor (itself at the top)
    order: dict[str, int]  # code → position in code order


def tree_of(catalogue: Catalogue) -> Tree:
    records = catalogue.records
    tree = Tree({}, {}, {}, {}, {})
    for record in records.values():
        chain: list[Record] = []
        seen: set[str] = set()
        current: Record | None = record
        while current is not None and current.code not in tree.depth and current.code not in seen:
            chain.append(current)
            seen.add(current.code)
            current = records.get(current.parent) if current.parent else None
        if current is not None and current.code in tree.depth:
            depth, chapter = tree.depth[current.code], tree.chapter[current.code]
            top = tree.top[current.code]
            block = current.code if current.is_range and current.kind != "chapter" else tree.block[current.code]
        else:
            depth, chapter, block, top = -1, None, None, chain[-1].code
        for item in reversed(chain):
            depth += 1
            if item.kind == "chapter":
                chapter = item.code
            tree.depth[item.code], tree.chapter[item.code] = depth, chapter
            tree.block[item.code], tree.top[item.code] = block, top
            if item.is_range and item.kind != "chapter":
                block = item.code
    codes = sorted(records, key=lambda c: (sort_key(c), records[c].code_set))
    tree.order = {code: index for index, code in enumerate(codes)}
    return tree


# --------------------------------------------------------------------------------------------
# Code lookup shards


class CodeEntry(NamedTuple):
    norm: str  # normalised code
    depth: int  # ancestors: the fewer, the more general
    order: int  # position in code order
    row: tuple  # as written to the shard: [code, descriptor, code set, URL path, billable 1/0/null]


def code_entries(catalogue: Catalogue, tree: Tree) -> list[CodeEntry]:
    entries = []
    for record in catalogue.records.values():
        code = record.code
        billable = 0 if record.is_range else None if record.billable is None else int(record.billable)
        descriptor = record.descriptor if len(record.descriptor) <= DESCRIPTOR_LIMIT else _truncate(record.descriptor, DESCRIPTOR_LIMIT)
        row = (code, descriptor, record.code_set, record.url, billable)
        entries.append(CodeEntry(code.replace(".", "").upper(), tree.depth[code], tree.order[code], row))
    entries.sort(key=lambda e: e.order)
    return entries


def _generality(entry: CodeEntry) -> tuple[int, int, int]:
    return entry.depth, len(entry.norm), entry.order


def build_shards(entries: list[CodeEntry]) -> dict[str, dict]:
    """prefix → shard. Every prefix of 1..3 characters, and deeper ones where needed.

    `entries` are in code order; so are the codes of every shard.
    """
    shards: dict[str, dict] = {}

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


def write_shards(shards: dict[str, dict], folder: Path) -> int:
    """Write the shards that differ from what `folder` holds, remove those no longer made."""
    target = folder / CODES_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    existing = {path.stem for path in target.glob("*.json")}
    written = 0
    for prefix, shard in shards.items():
        data = json.dumps(shard, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        path = target / f"{prefix}.json"
        if prefix in existing:
            if path.read_bytes() == data:
                continue
            _replace(path, data)
        else:
            path.write_bytes(data)
        written += 1
    for stale in existing - shards.keys():
        (target / f"{stale}.json").unlink(missing_ok=True)
    return written


def _replace(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


# --------------------------------------------------------------------------------------------
# Word documents for Pagefind


@dataclass
class Document:
    path: str  # relative to the documents folder, e.g. icd-10-cm/M54.html
    code_set: str
    chapter: str | None
    records: list[Record]


def word_documents(catalogue: Catalogue, tree: Tree) -> list[Document]:
    """Group the records Pagefind indexes into documents of at most DOC_HEADINGS codes.

    Documents are few (Pagefind's metadata file grows with their number) and small (a result
    costs its document's fragment): the categories of one ICD-10-CM block, or the codes of one
    CPT/HCPCS range, are packed together, and a category too big for one document is split
    between its subcategories.
    """
    groups: dict[tuple[str, str], list[Record]] = {}
    for record in catalogue.records.values():
        if not is_generated_seventh(record):
            groups.setdefault(_group_of(record, tree), []).append(record)
    documents = []
    for (code_set, _), members in sorted(groups.items()):
        members.sort(key=lambda r: tree.order[r.code])
        inside = {r.code for r in members}
        kids: dict[str | None, list[Record]] = {}
        for record in members:
            kids.setdefault(record.parent if record.parent in inside else None, []).append(record)

        def subtree(record: Record) -> list[Record]:
            return [record] + [r for kid in kids.get(record.code, []) for r in subtree(kid)]

        def units(record: Record) -> list[list[Record]]:
            whole = subtree(record)
            if len(whole) <= DOC_HEADINGS:
                return [whole]
            return [[record]] + [unit for kid in kids.get(record.code, []) for unit in units(kid)]

        chunks: list[list[Record]] = [[]]
        for root in kids.get(None, []):
            for unit in units(root):
                if chunks[-1] and len(chunks[-1]) + len(unit) > DOC_HEADINGS:
                    chunks.append([])
                chunks[-1].extend(unit)
        for chunk in chunks:
            chapter = tree.chapter.get(chunk[0].code) if code_set == "icd-10-cm" else None
            documents.append(Document(f"{code_set}/{chunk[0].code}.html", code_set, chapter, chunk))
    return documents


def _group_of(record: Record, tree: Tree) -> tuple[str, str]:
    """ICD-10-CM: chapters and blocks by chapter, codes by block; others by their top range."""
    if record.code_set == "icd-10-cm":
        if record.is_range or record.kind in ("chapter", "block"):
            return record.code_set, f"chapter {tree.chapter.get(record.code)}"
        return record.code_set, tree.block.get(record.code) or record.code[:3]
    return record.code_set, tree.top[record.code]


def document_html(document: Document) -> str:
    esc = html.escape
    parts = ['<!doctype html><html lang="en"><head><meta charset="utf-8">',
             f"<title>{esc(document.records[0].code)}</title></head><body>",
             f'<div data-pagefind-filter="set:{esc(document.code_set)}"></div>']
    if document.chapter:
        parts.append(f'<div data-pagefind-filter="chapter:{esc(document.chapter)}"></div>')
    for record in document.records:
        # the heading's id is the code page's address: Pagefind's sub-result for it links there
        parts.append(f'<h2 id="{esc(record.url)}">{esc(record.descriptor)}</h2>')
        parts.extend(f"<p>{esc(text)}</p>" for text in public_texts(record))
    parts.append("</body></html>")
    return "".join(parts)


def public_texts(record: Record) -> list[str]:
    """The words search may know of a record: public text only, never a protected section."""
    texts = []
    if record.synonyms:
        texts.append("Also searched as: " + "; ".join(record.synonyms))
    terms = [n.text for n in record.notes if n.kind in ("inclusion_term", "includes") and n.inherited_from is None]
    if terms:
        texts.append("; ".join(terms))
    for section in record.sections:
        if not section.protected and section.text:
            texts.append(section.text)
    return texts


def render_documents(documents: list[Document]) -> tuple[dict[str, bytes], str]:
    """Each document's HTML, and one digest of them all (same documents, same index)."""
    digest = hashlib.sha256(f"pagefind {PAGEFIND_VERSION} {INDEX_CHUNK_UNITS}".encode())
    pages = {}
    for document in documents:
        data = document_html(document).encode("utf-8")
        pages[document.path] = data
        digest.update(document.path.encode() + b"\0" + data + b"\0")
    return pages, digest.hexdigest()


def write_documents(pages: dict[str, bytes], folder: Path) -> None:
    made: set[Path] = set()
    for relative, data in pages.items():
        path = folder / relative
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(data)


# --------------------------------------------------------------------------------------------
# Pagefind


class SearchIndexError(SetupError):
    """Pagefind is missing or failed; the message says what happened."""


def pagefind_executable() -> list[str]:
    """The `pagefind` binary of the pinned `pagefind-bin` package (or one on the PATH)."""
    try:
        from pagefind_bin import get_executable
        return [str(get_executable())]
    except (ImportError, FileNotFoundError):
        found = shutil.which("pagefind")
        if found:
            return [found]
    raise SearchIndexError(f"the search index needs Pagefind {PAGEFIND_VERSION}, from the Python package "
                           f"pagefind-bin: install it with `pip install -r requirements.txt`")


def start_pagefind(documents_folder: Path, output: Path) -> subprocess.Popen:
    command = pagefind_executable() + [
        "--site", str(documents_folder), "--output-path", str(output), "--force-language", "en", "--silent",
    ]
    env = {**os.environ, "PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE": str(INDEX_CHUNK_UNITS)}
    try:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    except OSError as exc:
        raise SearchIndexError(f"pagefind could not run: {exc}") from None


def finish_pagefind(process: subprocess.Popen) -> None:
    try:
        output, _ = process.communicate(timeout=PAGEFIND_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise SearchIndexError(f"pagefind did not finish within {PAGEFIND_TIMEOUT} s") from None
    if process.returncode != 0:
        text = output.decode("utf-8", errors="replace").strip()[-2000:]
        raise SearchIndexError(f"pagefind failed (exit status {process.returncode}): {text}")


# --------------------------------------------------------------------------------------------
# The page's script and context


@dataclass
class Asset:
    path: str
    content: bytes


def script_asset(templates_dir: Path) -> Asset:
    script = (templates_dir / "static" / "search.js").read_bytes()
    return Asset(f"/assets/search.{hashlib.sha256(script).hexdigest()[:10]}.js", script)


def page_context(renderer) -> dict:
    """What templates/search.html needs: the script's URL and the filters' choices."""
    catalogue: Catalogue = renderer.catalogue
    templates_dir = Path(renderer.env.loader.searchpath[0])
    chapters = sorted((r for r in catalogue.records.values() if r.code_set == "icd-10-cm" and r.kind == "chapter"),
                      key=lambda r: sort_key(r.code))
    names = {key: renderer.settings["code_sets"][key]["name"] for key in CODE_SETS}
    return {
        "script_url": script_asset(templates_dir).path,
        "code_sets": names,
        "chapters": [(r.code, r.descriptor) for r in chapters],
        "config": json.dumps({"codes": f"/{CODES_FOLDER}/", "pagefind": f"/{PAGEFIND_FOLDER}/pagefind.js",
                              "sets": names}, ensure_ascii=False).replace("</", "<\\/"),
    }


# --------------------------------------------------------------------------------------------
# The build step


@dataclass
class IndexStats:
    outcome: str  # "indexed", "reused" (from the site being replaced) or "unchanged"
    shards: int  # shard files written (unchanged ones are left alone)
    documents: int  # documents Pagefind indexes
    codes_in_words: int  # codes in those documents
    pagefind: str  # "indexed", "reused" or "unchanged"
    seconds: float


def write_index(renderer, catalogue: Catalogue, folder: Path, log, previous: Path | None = None) -> IndexStats:
    """Write the code shards, the word index and the search script into the site `folder`.

    `folder` is a fresh staging folder or the published site updated in place; `previous`, the
    site a staging folder replaces. Work is skipped where its input did not change: nothing at
    all when what search reads of the catalogue is the same as for the index in `folder` (or
    in `previous`, which is then reused); Pagefind only when its documents changed. Pagefind
    runs while the code shards are written.
    """
    started = time.perf_counter()
    script = script_asset(Path(renderer.env.loader.searchpath[0]))
    script_path = folder / script.path.lstrip("/")
    if not script_path.exists():
        script_path.parent.mkdir(parents=True, exist_ok=True)
        script_path.write_bytes(script.content)
    source = source_digest(catalogue)
    marker = folder / SOURCE_FILE
    if _read_digest(marker) == source:
        return _report(log, IndexStats("unchanged", 0, 0, 0, "unchanged", time.perf_counter() - started))
    if previous is not None and previous.resolve() != folder.resolve() and _read_digest(previous / SOURCE_FILE) == source:
        for part in (CODES_FOLDER, PAGEFIND_FOLDER):
            if (folder / part).exists():
                shutil.rmtree(folder / part)
            shutil.copytree(previous / part, folder / part, copy_function=_link_or_copy)
        marker.write_text(source + "\n", encoding="utf-8")
        return _report(log, IndexStats("reused", 0, 0, 0, "reused", time.perf_counter() - started))
    marker.unlink(missing_ok=True)  # until everything below is written
    with _no_garbage_collection():  # many small objects, no cycles: collecting only costs time
        tree = tree_of(catalogue)
        documents = word_documents(catalogue, tree)
        pages, digest = render_documents(documents)
        with PagefindRun(pages, digest, folder, previous) as pagefind:
            written = write_shards(build_shards(code_entries(catalogue, tree)), folder)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(source + "\n", encoding="utf-8")
    stats = IndexStats("indexed", written, len(documents), sum(len(d.records) for d in documents),
                       pagefind.outcome, time.perf_counter() - started)
    return _report(log, stats)


@contextmanager
def _no_garbage_collection():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _report(log, stats: IndexStats) -> IndexStats:
    if stats.outcome == "indexed":
        log.say(f"  search: {stats.shards} code shards written, {stats.documents} word documents "
                f"({stats.codes_in_words} codes), Pagefind index {stats.pagefind}")
    else:
        log.say(f"  search: index {stats.outcome}")
    return stats


def source_digest(catalogue: Catalogue) -> str:
    """A digest of everything the search index is made of (and of the code making it)."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for code, record in catalogue.records.items():
        digest.update(repr((
            code, record.code_set, record.descriptor, record.billable, record.parent, record.kind, record.synonyms,
            [(s.title, None if s.protected else s.text) for s in record.sections],  # never protected text
            [n.text for n in record.notes if n.kind in ("inclusion_term", "includes") and n.inherited_from is None],
        )).encode("utf-8"))
    digest.update(json.dumps(catalogue.settings["code_sets"], sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


class PagefindRun:
    """Pagefind's index for `pages`, made in the background while the `with` block runs.

    Nothing happens when `folder` (or `previous`) already holds the index of the same pages.
    The new bundle is made beside the site and swapped in whole.
    """

    def __init__(self, pages: dict[str, bytes], digest: str, folder: Path, previous: Path | None):
        self.pages, self.digest, self.folder, self.previous = pages, digest, folder, previous
        self.bundle = folder / PAGEFIND_FOLDER
        self.outcome = ""
        self.process: subprocess.Popen | None = None
        self.private: tempfile.TemporaryDirectory | None = None
        self.fresh: Path | None = None

    def __enter__(self) -> "PagefindRun":
        if _read_digest(self.bundle / DIGEST_FILE) == self.digest:
            self.outcome = "unchanged"
            return self
        if (self.previous is not None and self.previous.resolve() != self.folder.resolve()
                and _read_digest(self.previous / PAGEFIND_FOLDER / DIGEST_FILE) == self.digest):
            if self.bundle.exists():
                shutil.rmtree(self.bundle)
            shutil.copytree(self.previous / PAGEFIND_FOLDER, self.bundle, copy_function=_link_or_copy)
            self.outcome = "reused"
            return self
        parent = self.folder.parent
        # the documents go beside the site, never into it: they are not published
        self.private = tempfile.TemporaryDirectory(prefix=f".{self.folder.name}.search-documents-", dir=parent)
        self.fresh = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.pagefind-", dir=parent))
        write_documents(self.pages, Path(self.private.name))
        self.process = start_pagefind(Path(self.private.name), self.fresh)
        return self

    def __exit__(self, kind, error, trace) -> None:
        if self.process is None:
            return
        try:
            if kind is not None:
                self.process.kill()
                self.process.wait()
                return
            finish_pagefind(self.process)
            canonicalise_bundle(self.fresh)
            for unused in UNUSED_BUNDLE_FILES:  # Pagefind's ready-made UIs: this site uses the JS API only
                (self.fresh / unused).unlink(missing_ok=True)
            (self.fresh / DIGEST_FILE).write_text(self.digest + "\n", encoding="utf-8")
            os.chmod(self.fresh, 0o755)
            if self.bundle.exists():
                old = self.bundle.with_name(f".{self.bundle.name}.old-{os.getpid()}")
                os.rename(self.bundle, old)
                os.rename(self.fresh, self.bundle)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(self.fresh, self.bundle)
            self.outcome = "indexed"
        finally:
            self.private.cleanup()
            if self.fresh.exists():
                shutil.rmtree(self.fresh, ignore_errors=True)


def _read_digest(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


# Pagefind writes its filter files in a random order (a hash map), so their names and the
# metadata file naming them differ from one run to the next. These few files are rewritten in
# a canonical order, so that the same documents always give the same bundle, byte for byte.


def canonicalise_bundle(bundle: Path) -> None:
    entry_path = bundle / "pagefind-entry.json"
    entry = json.loads(entry_path.read_text(encoding="utf-8"))
    for language, info in entry["languages"].items():
        meta_path = bundle / f"pagefind.{info['hash']}.pf_meta"
        meta = _cbor_load(_unpack(meta_path.read_bytes()))
        filters = []
        for name, old in meta[3]:
            old_path = bundle / "filter" / f"{old}.pf_filter"
            index = _cbor_load(_unpack(old_path.read_bytes()))
            index[1].sort(key=lambda value: value[0])
            data = _cbor_dump(index)
            new = f"{language}_{hashlib.sha256(data).hexdigest()[:7]}"
            old_path.unlink()
            (bundle / "filter" / f"{new}.pf_filter").write_bytes(_pack(data))
            filters.append([name, new])
        meta[3] = sorted(filters)
        data = _cbor_dump(meta)
        info["hash"] = f"{language}_{hashlib.sha256(data).hexdigest()[:10]}"
        meta_path.unlink()
        (bundle / f"pagefind.{info['hash']}.pf_meta").write_bytes(_pack(data))
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


_PAGEFIND_MARK = b"pagefind_dcd"


def _unpack(data: bytes) -> bytes:
    data = gzip.decompress(data)
    if not data.startswith(_PAGEFIND_MARK):
        raise SearchIndexError("unexpected Pagefind file format")
    return data[len(_PAGEFIND_MARK):]


def _pack(data: bytes) -> bytes:
    return gzip.compress(_PAGEFIND_MARK + data, compresslevel=9, mtime=0)


def _cbor_load(data: bytes):
    """The CBOR subset Pagefind writes: unsigned and negative integers, text, arrays."""
    def item(at: int):
        head = data[at]
        major, info = head >> 5, head & 31
        at += 1
        if info < 24:
            value = info
        elif info <= 27:
            size = 1 << (info - 24)
            value = int.from_bytes(data[at:at + size], "big")
            at += size
        else:
            raise SearchIndexError(f"unexpected CBOR item {head:#x} in a Pagefind file")
        if major == 0:
            return value, at
        if major == 1:
            return -1 - value, at
        if major == 3:
            return data[at:at + value].decode("utf-8"), at + value
        if major == 4:
            items = []
            for _ in range(value):
                element, at = item(at)
                items.append(element)
            return items, at
        raise SearchIndexError(f"unexpected CBOR major type {major} in a Pagefind file")

    value, end = item(0)
    if end != len(data):
        raise SearchIndexError("trailing bytes in a Pagefind file")
    return value


def _cbor_dump(value) -> bytes:
    out = bytearray()

    def head(major: int, number: int) -> None:
        if number < 24:
            out.append(major << 5 | number)
            return
        for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if number < 1 << (8 * size):
                out.append(major << 5 | info)
                out.extend(number.to_bytes(size, "big"))
                return

    def item(value) -> None:
        if isinstance(value, int):
            head(0, value) if value >= 0 else head(1, -1 - value)
        elif isinstance(value, str):
            encoded = value.encode("utf-8")
            head(3, len(encoded))
            out.extend(encoded)
        else:
            head(4, len(value))
            for element in value:
                item(element)

    item(value)
    return bytes(out)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
