"""What Pagefind indexes: generated documents holding the public text of many codes each.

Pagefind runs over these documents, never over the 98,000 pages: the categories of one
ICD-10-CM block packed into documents of at most DOC_HEADINGS codes (a big category split
between its subcategories), the blocks of each chapter, and the codes of each CPT/HCPCS range.
Each code is a heading whose id is the code page's address, followed by that code's public
text only: descriptor, synonyms, inclusion terms and the public sections' text. Protected
sections are never read here. Generated 7th-character codes (S72.001A …) are left out: code
lookup finds them, and their parent's page lists them.
"""
from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

from ..catalogue import Catalogue
from ..records import Record
from .shards import facts_digest, normalise
from .tree import Tree

DOC_HEADINGS = 100  # codes per Pagefind document at most (a result costs its document's fragment)


@dataclass
class Document:
    path: str  # relative to the documents folder, e.g. icd-10-cm/M54.html
    code_set: str
    chapter: str | None
    records: list[Record]


def is_generated_seventh(record: Record) -> bool:
    """A 7th-character ICD-10-CM code (S72.001A), which the release defines only by table."""
    return record.code_set == "icd-10-cm" and not record.is_range and len(normalise(record.code)) == 7


def word_documents(catalogue: Catalogue, tree: Tree) -> list[Document]:
    """Group the records Pagefind indexes into documents of at most DOC_HEADINGS codes.

    Documents are few (Pagefind's metadata file grows with their number) and small (a result
    costs its document's fragment): the categories of one ICD-10-CM block, or the codes of one
    CPT/HCPCS range, are packed together, and a category too big for one document is split
    between its subcategories.
    """
    groups: dict[Group, list[Record]] = {}
    for record in catalogue.records.values():
        if indexed(record):
            groups.setdefault(group_of(record, tree), []).append(record)
    return [d for group, members in sorted(groups.items()) for d in group_documents(group, members, tree)]


Group = tuple[str, str]  # (code set, what its codes share): the codes of one word-document group


def indexed(record: Record) -> bool:
    """Whether the word index holds the record: not 7th-character codes, CPT folders, or codes
    with no public words at all (a licensed CPT code kept out of search that no editor wrote
    about is found by its number only)."""
    if is_generated_seventh(record) or record.kind == "group":
        return False
    return record.searchable or bool(record.synonyms or any(not s.protected and s.text for s in record.sections))


def group_documents(group: Group, members: list[Record], tree: Tree) -> list[Document]:
    """The documents of one group, in code order, a big subtree split between its children."""
    code_set = group[0]
    members = sorted(members, key=lambda r: tree.order[r.code])
    inside = {r.code for r in members}
    kids: dict[str | None, list[Record]] = {}
    for record in members:
        kids.setdefault(record.parent if record.parent in inside else None, []).append(record)
    chunks: list[list[Record]] = [[]]
    for root in kids.get(None, []):
        for unit in _units(root, kids):
            if chunks[-1] and len(chunks[-1]) + len(unit) > DOC_HEADINGS:
                chunks.append([])
            chunks[-1].extend(unit)
    return [Document(f"{code_set}/{chunk[0].code}.html", code_set,
                     tree.chapter.get(chunk[0].code) if code_set == "icd-10-cm" else None, chunk)
            for chunk in chunks if chunk]


def _subtree(record: Record, kids: dict[str | None, list[Record]]) -> list[Record]:
    return [record] + [r for kid in kids.get(record.code, []) for r in _subtree(kid, kids)]


def _units(record: Record, kids: dict[str | None, list[Record]]) -> list[list[Record]]:
    """A record with everything below it, or, when that is too big for one document, smaller units."""
    whole = _subtree(record, kids)
    if len(whole) <= DOC_HEADINGS:
        return [whole]
    return [[record]] + [unit for kid in kids.get(record.code, []) for unit in _units(kid, kids)]


def group_of(record: Record, tree: Tree) -> Group:
    """ICD-10-CM: chapters and blocks by chapter, codes by block; others by their top range (CPT
    codes in no range by their folder)."""
    if record.code_set == "icd-10-cm":
        if record.is_range or record.kind in ("chapter", "block"):
            return record.code_set, f"chapter {tree.chapter.get(record.code)}"
        return record.code_set, tree.block.get(record.code) or record.code[:3]
    top = tree.top[record.code]
    if record.code_set == "cpt" and top == record.code and not record.is_range:
        return record.code_set, record.code[:3]  # a CPT code in no range: with the others of its folder
    return record.code_set, top


def document_html(document: Document) -> str:
    esc = html.escape
    parts = ['<!doctype html><html lang="en"><head><meta charset="utf-8">',
             f"<title>{esc(document.records[0].code)}</title></head><body>",
             f'<div data-pagefind-filter="set:{esc(document.code_set)}"></div>']
    if document.chapter:
        parts.append(f'<div data-pagefind-filter="chapter:{esc(document.chapter)}"></div>')
    for record in document.records:
        # the heading's id is the code page's address, after the marks results show (see flags()):
        # Pagefind's sub-result for it links there
        parts.append(f'<h2 id="{flags(record)}{esc(record.url)}">{esc(searchable_descriptor(record))}</h2>')
        parts.extend(f"<p>{esc(text)}</p>" for text in public_texts(record))
    parts.append("</body></html>")
    return "".join(parts)


FLAGS = {"deleted": "d", "new": "n", "revised": "r", "terminated": "t"}


def flags(record: Record) -> str:
    """What a word result marks about a code, as letters before its address: h (a header, not
    billable), and d / n / r / t (deleted / new / revised / terminated in the newest release)."""
    marks = "h" if record.billable is False and record.status != "deleted" else ""
    return marks + FLAGS.get(record.status, "")


def searchable_descriptor(record: Record) -> str:
    """The descriptor, unless it is licensed text kept out of the search index (a licensed CPT
    descriptor without code_sets.cpt.release.search_index_licensed_text: the code is found by its
    number and by editors' words only)."""
    return record.descriptor if record.searchable else ""


SYNONYMS = "Also searched as: "  # how a document's paragraph of an editor's synonyms starts
INCLUSION_TERMS = "Applicable to: "  # and that of the release's inclusion terms


def public_texts(record: Record) -> list[str]:
    """The words search may know of a record: public text only, never a protected section.

    Other names come first, each ending in ';' so that the search page can tell them apart:
    "Also searched as:" the editors' synonyms, "Applicable to:" the release's inclusion terms.
    """
    texts = []
    if record.synonyms:
        texts.append(SYNONYMS + "; ".join(record.synonyms) + ";")
    terms = [n.text for n in record.notes if n.kind in ("inclusion_term", "includes") and n.inherited_from is None]
    if terms:
        texts.append(INCLUSION_TERMS + "; ".join(terms) + ";")
    for section in record.sections:
        if not section.protected and section.text:
            texts.append(section.text)
    return texts


def render_documents(documents: Iterable[Document]) -> dict[str, bytes]:
    """Each document's HTML."""
    return {document.path: document_html(document).encode("utf-8") for document in documents}


def searchable(record: Record) -> str:
    """A digest of everything the search index shows of a record (never its protected text)."""
    facts = (record.code_set, searchable_descriptor(record), record.billable, record.parent, record.kind,
             record.status, record.synonyms, [s.text for s in record.sections if not s.protected],
             [n.text for n in record.notes if n.kind in ("inclusion_term", "includes") and n.inherited_from is None])
    return facts_digest(facts)
