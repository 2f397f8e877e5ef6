"""Where every record sits: depth, chapter, block, outermost ancestor and code order."""
from __future__ import annotations

from dataclasses import dataclass

from ..catalogue import Catalogue
from ..codesets import sort_key
from ..records import Record


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
        depth: int
        chapter: str | None
        block: str | None
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


def partial_tree(catalogue: Catalogue, records: list[Record]) -> Tree:
    """The same facts as `tree_of`, for some records only (an incremental build's); `order` is
    their order among themselves, which is the order `tree_of` gives them among all."""
    tree = Tree({}, {}, {}, {}, {})
    for record in records:
        chain = catalogue.ancestors(record)
        tree.depth[record.code] = len(chain)
        chapter = next((r.code for r in [*chain, record] if r.kind == "chapter"), None)
        tree.chapter[record.code] = chapter
        blocks = [r.code for r in chain if r.is_range and r.kind != "chapter"]
        tree.block[record.code] = blocks[-1] if blocks else None
        tree.top[record.code] = chain[0].code if chain else record.code
    ordered = sorted(records, key=lambda r: (sort_key(r.code), r.code_set))
    tree.order = {r.code: index for index, r in enumerate(ordered)}
    return tree
