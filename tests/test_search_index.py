"""The search index over the fixture site: code shards, Pagefind's word index, no protected text."""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import time
from pathlib import Path

import pytest
from conftest import SITES, build_in_process, make_project

from codepages import search
from codepages.codesets import code_set_of, url_path
from codepages.log import Log
from codepages.pipeline import load
from codepages.project import Project
from codepages.search import shards as search_shards
from codepages.writing import InPlace, Staging

CODE_BUDGET = 10 * 1024  # bytes a code lookup may transfer, gzip-compressed as the host serves JSON (issue 15)


# helpers ------------------------------------------------------------------------------------


class Shards:
    """A site's code shards, read once, and the lookup of templates/static/search.js over them."""

    def __init__(self, site: Path):
        folder = site / "search" / "codes"
        self.data, self.size = {}, {}
        for path in folder.rglob("*.json"):
            raw = path.read_bytes()
            self.data[path.stem], self.size[path.stem] = json.loads(raw), len(gzip.compress(raw, 6))

    def fetched(self, q: str) -> list[str]:
        """The shards fetched for normalised `q`: min(len, 3) characters, then deeper while `more` says so."""
        fetched = [q[:3]]
        current = self.data.get(q[:3])
        while current and current.get("more") and len(q) > len(current["prefix"]):
            child = q[:len(current["prefix"]) + 1]
            if child not in current["more"]:
                break
            fetched.append(child)
            current = self.data.get(child)
        return fetched

    def lookup(self, typed: str) -> tuple[list[list], list[str]]:
        """(matching rows, exact first, then in code order; the shard prefixes fetched)."""
        q = search.normalise(typed)
        fetched = self.fetched(q)
        rows = [r for r in self.data.get(fetched[-1], {}).get("codes", []) if search.normalise(r[0]).startswith(q)]
        rows.sort(key=lambda r: search.normalise(r[0]) != q)  # stable: exact first, then code order
        return rows, fetched

    def cost(self, code: str) -> tuple[int, int]:
        """Bytes fetched for `code` pasted at once, and typed one character at a time."""
        q = search.normalise(code)
        pasted = sum(self.size.get(p, 0) for p in self.fetched(q))
        typed = {p for i in range(1, len(q) + 1) for p in self.fetched(q[:i])}
        return pasted, sum(self.size.get(p, 0) for p in typed)


def lookup(site: Path, typed: str) -> tuple[list[list], list[str]]:
    return Shards(site).lookup(typed)


def page_codes(site: Path) -> dict[str, str]:
    """Every code page of the site: code → code set."""
    return {path.parent.name: key
            for key in ("cpt", "hcpcs", "icd-10-cm") for path in (site / key).glob("**/index.html")
            if path.parent != site / key and code_set_of(path.parent.name) is not None}


def search_files(site: Path):
    """Every file the search emits, decompressed: (path, bytes)."""
    for folder in ("search", "pagefind"):
        for path in sorted((site / folder).rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                if data[:2] == b"\x1f\x8b":  # Pagefind's files are gzip of "pagefind_dcd" + data
                    data = gzip.decompress(data)
                    data = data.removeprefix(b"pagefind_dcd")
                yield path, data


def fragments(site: Path) -> list[dict]:
    return [json.loads(data) for path, data in search_files(site) if path.suffix == ".pf_fragment"]


# code lookup --------------------------------------------------------------------------------


@pytest.mark.parametrize("typed, first, code_set, url", [
    ("62323", "62323", "cpt", "/cpt/623/62323/"),
    ("62320-62327", "62320-62327", "cpt", "/cpt/62320-62327/"),
    ("j1040", "J1040", "hcpcs", "/hcpcs/J/J1040/"),
    ("M54.16", "M54.16", "icd-10-cm", "/icd-10-cm/M54/M54.16/"),
    ("m5416", "M54.16", "icd-10-cm", "/icd-10-cm/M54/M54.16/"),
    ("M54", "M54", "icd-10-cm", "/icd-10-cm/M54/"),
    ("m50-m54", "M50-M54", "icd-10-cm", "/icd-10-cm/M50-M54/"),
    ("s72001a", "S72.001A", "icd-10-cm", "/icd-10-cm/S72/S72.001/S72.001A/"),
    (" S72.001A ", "S72.001A", "icd-10-cm", "/icd-10-cm/S72/S72.001/S72.001A/"),
])
def test_a_typed_code_finds_that_code_first(fixture_site: Path, typed, first, code_set, url):
    rows, _ = lookup(fixture_site, typed)
    code, descriptor, key, path, billable = rows[0]
    assert (code, key, path) == (first, code_set, url)
    assert descriptor and (fixture_site / path.strip("/") / "index.html").exists()


def test_a_prefix_lists_the_codes_under_it_in_code_order(fixture_site: Path):
    rows, fetched = lookup(fixture_site, "623")
    assert [r[0] for r in rows] == ["62320-62327", "62322", "62323"] and fetched == ["623"]
    rows, _ = lookup(fixture_site, "m471")
    codes = [r[0] for r in rows]
    assert codes[0] == "M47.1" and codes == sorted(codes) and all(c.startswith("M47.1") for c in codes)
    assert "M47.10" in codes and "M47.2" not in codes


def test_every_code_page_is_found_by_its_code_with_its_facts(fixture_site: Path):
    pages = page_codes(fixture_site)
    assert len(pages) == 416
    shards = Shards(fixture_site)
    for code, code_set in pages.items():
        rows, _ = shards.lookup(code)
        exact = [r for r in rows if r[0] == code]
        assert exact and exact[0][2:4] == [code_set, url_path(code_set, code)], code
    rows, _ = lookup(fixture_site, "M54.16")
    assert rows[0][4] == 1  # billable
    rows, _ = lookup(fixture_site, "M54.1")
    assert rows[0][4] == 0  # a header


def test_every_prefix_up_to_three_characters_has_a_shard_and_shards_keep_their_limits(fixture_site: Path):
    folder = fixture_site / "search" / "codes"
    shards = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.rglob("*.json")}
    for code in page_codes(fixture_site):
        q = search.normalise(code)
        for length in range(1, min(len(q), 3) + 1):
            assert q[:length] in shards, (code, q[:length])
    for prefix, data in shards.items():
        assert data["prefix"] == prefix
        assert all(search.normalise(r[0]).startswith(prefix) for r in data["codes"])
        if "more" in data:
            assert len(data["codes"]) <= search_shards.LISTED + 1 and data["total"] > search_shards.SHARD_LIMIT
            assert all(child[:-1] == prefix and child in shards for child in data["more"])
        else:
            assert len(data["codes"]) == data["total"] <= search_shards.SHARD_LIMIT
        for row in data["codes"]:
            assert len(row[1]) <= search_shards.DESCRIPTOR_LIMIT


def test_a_code_lookup_stays_within_its_byte_budget(fixture_site: Path):
    shards = Shards(fixture_site)
    for code in page_codes(fixture_site):
        pasted, typed = shards.cost(code)
        assert pasted <= CODE_BUDGET and typed <= CODE_BUDGET, code


def test_big_prefixes_are_split_into_deeper_shards(monkeypatch):
    """With small limits, a shard lists the broadest codes and names the deeper shards."""
    monkeypatch.setattr(search_shards, "SHARD_LIMIT", 4)
    monkeypatch.setattr(search_shards, "LISTED", 2)
    codes = ["S72", "S72.0", "S72.00", "S72.001", "S72.001A", "S72.001B", "S72.002", "S72.002A", "S72.1", "S72.10"]
    entries = [search_shards.CodeEntry(search.normalise(c), len(search.normalise(c)), i, (c, c, "icd-10-cm", f"/icd-10-cm/{c}/", 0))
               for i, c in enumerate(codes)]
    shards = search_shards.build_shards(entries)
    assert [r[0] for r in shards["S72"]["codes"]] == ["S72", "S72.0"]
    assert shards["S72"]["more"] == ["S720", "S721"] and shards["S72"]["total"] == 10
    assert shards["S720"]["more"] == ["S7200"] and [r[0] for r in shards["S7200"]["codes"]][:1] == ["S72.00"]
    assert "more" in shards["S7200"] and "S72001" in shards and "more" not in shards["S72001"]
    assert [r[0] for r in shards["S721"]["codes"]] == ["S72.1", "S72.10"]  # small: a leaf
    # every code can still be reached by walking down from its three-character shard
    for code in codes:
        q = search.normalise(code)
        current = shards[q[:3]]
        while "more" in current and len(q) > len(current["prefix"]) and q[:len(current["prefix"]) + 1] in current["more"]:
            current = shards[q[:len(current["prefix"]) + 1]]
        assert code in [r[0] for r in current["codes"]], code


@pytest.mark.parametrize("typed, expected", [("m54.50", "M5450"), ("S72.001A", "S72001A"), (" 62326 ", "62326"),
                                             ("m50-m54", "M50-M54")])
def test_codes_are_normalised_to_upper_case_without_dots(typed, expected):
    assert search.normalise(typed) == expected


# words (Pagefind) ---------------------------------------------------------------------------


def test_pagefind_indexes_grouped_documents_one_heading_per_code(fixture_site: Path):
    found = fragments(fixture_site)
    assert 3 <= len(found) <= 30  # grouped: far fewer documents than the 421 pages
    # each code's heading id is its page's address after its marks (h: header, d/n/r/t: changed)
    assert all(re.fullmatch(r"h?[dnrt]?", a["id"].split("/")[0]) for f in found for a in f["anchors"])
    assert all(a["id"][a["id"].index("/"):] == url_path(code_set_of(a["id"].split("/")[-2]).key, a["id"].split("/")[-2])
               for f in found for a in f["anchors"])
    marks = {a["id"].split("/")[-2]: a["id"].split("/")[0] for f in found for a in f["anchors"]}
    assert marks["M54.16"] == "" and marks["M54.1"] == "h"
    anchors = {a["id"].split("/")[-2]: f["url"] for f in found for a in f["anchors"]}
    assert {"62323", "62320-62327", "J1040", "M54.16", "M54.50", "M47.10", "S72.001", "M00-M99", "M50-M54"} <= set(anchors)
    assert anchors["62323"].startswith("/cpt/") and anchors["J1040"].startswith("/hcpcs/")
    assert anchors["M54.50"].startswith("/icd-10-cm/")
    assert not any(re.search(r"\.\w{4}$", a) and len(search.normalise(a)) == 7 for a in anchors), \
        "generated 7th-character codes are found by code lookup, not by words"
    filters = {f["url"]: f["filters"] for f in found}
    assert all(f["set"] for f in filters.values())
    assert filters[anchors["M54.16"]] == {"set": ["icd-10-cm"], "chapter": ["M00-M99"]}
    assert filters[anchors["62323"]] == {"set": ["cpt"]}


def test_words_index_public_text_synonyms_and_inclusion_terms(fixture_site: Path):
    content = " ".join(f["content"] for f in fragments(fixture_site))
    assert "PUBLIC-62323 A needle places medicine near the lumbar nerves" in content  # public section
    assert "lumbar ESI" in content  # synonyms
    assert "Radiculopathy, lumbar region" in content  # descriptors


def test_no_protected_text_in_any_search_file(fixture_site: Path):
    scanned = 0
    for path, data in search_files(fixture_site):
        assert b"SECRET-" not in data, path
        scanned += 1
    assert scanned > 20
    # the scan does see inside Pagefind's compressed files
    assert any(b"PUBLIC-62323" in data for path, data in search_files(fixture_site))


def test_the_wasm_is_pagefinds_compressed_smaller(fixture_site: Path):
    """The site's wasm is the copy codepages/search/wasm/ ships for the pinned Pagefind: the same
    bytes in the same gzip format (pagefind.js unpacks it itself), smaller. Fails after moving
    Pagefind until dev/smaller_wasm.py is run (the build then keeps Pagefind's own file)."""
    from codepages.search.pagefind import WASM_FOLDER
    served = (fixture_site / "pagefind" / "wasm.en.pagefind").read_bytes()
    wasm = gzip.decompress(served)
    assert wasm.startswith(b"pagefind_dcd\0asm")
    shipped = WASM_FOLDER / f"{hashlib.sha256(wasm).hexdigest()[:16]}.gz"
    assert shipped.is_file(), "no smaller copy of this Pagefind's wasm: run dev/smaller_wasm.py"
    assert served == shipped.read_bytes() and served[:3] == b"\x1f\x8b\x08"


def test_search_documents_are_not_published(fixture_site: Path):
    assert not list((fixture_site / "pagefind").rglob("*.html"))
    assert not list(fixture_site.parent.glob(".site.search-documents-*"))
    assert not list(fixture_site.parent.glob(".site.pagefind-*"))
    assert not (fixture_site / "pagefind" / "pagefind-ui.js").exists()  # the JS API is used, not the UI
    assert (fixture_site / "pagefind" / "pagefind.js").exists()


# the page and the header box ----------------------------------------------------------------


def test_search_page_explains_itself_without_javascript(fixture_site: Path):
    html = (fixture_site / "search" / "index.html").read_text(encoding="utf-8")
    assert '<label for="search-input">' in html and 'id="search-input" name="q"' in html
    assert 'role="status" aria-live="polite"' in html
    noscript = re.search(r"<noscript>(.*?)</noscript>", html, re.S).group(1)
    assert "needs JavaScript" in noscript
    for key in ("cpt", "hcpcs", "icd-10-cm"):
        assert f'href="/{key}/"' in html
    script = re.search(r'<script type="module" src="(/assets/search\.[0-9a-f]{10}\.js)">', html).group(1)
    assert (fixture_site / script.lstrip("/")).exists()
    config = json.loads(re.search(r'<script type="application/json" id="search-config">(.*?)</script>', html, re.S).group(1))
    assert config["codes"] == "/search/codes/" and config["pagefind"] == "/pagefind/pagefind.js"
    assert '<option value="M00-M99">' in html  # chapter filter
    assert "site-search-q" not in html  # no second search box in the header of the search page


@pytest.mark.parametrize("url", ["/", "/cpt/623/62323/", "/icd-10-cm/M54/M54.16/", "/icd-10-cm/", "/404.html"])
def test_every_page_has_a_labelled_search_box_in_its_header(fixture_site: Path, url):
    relative = url.strip("/")
    path = fixture_site / relative if relative.endswith(".html") else fixture_site / relative / "index.html"
    html = path.read_text(encoding="utf-8")
    header = re.search(r'<header class="site-header".*?</header>', html, re.S).group(0)
    assert '<form class="site-search" role="search" aria-label="Site search" action="/search/" method="get">' in header
    assert '<label class="visually-hidden" for="site-search-q">' in header and 'id="site-search-q" name="q"' in header
    assert "/search/" in (fixture_site / "sitemap.xml").read_text(encoding="utf-8")


# rebuilding ---------------------------------------------------------------------------------


def test_rewriting_the_index_in_place_only_touches_what_changed(tmp_path):
    project = make_project(tmp_path)
    loaded = load(Project.at(project), Log(quiet=True))
    catalogue, templates, cache = loaded.catalogue, project / "templates", tmp_path / "cache"
    tools = Project.at(project).tools_dir
    site = tmp_path / "site"
    site.mkdir()

    def index(writer, changed=None):
        stats = search.start_index(catalogue, templates, writer, cache, changed, tools_dir=tools).finish(Log(quiet=True))
        writer.publish()
        search.save_state(stats, cache)
        return stats

    def shard_bytes():
        return {p.name: p.read_bytes() for p in (site / "search" / "codes").rglob("*.json")}

    first = index(InPlace(site))
    assert first.pagefind == "indexed" and first.shards > 30
    # an edit that changes nothing search shows changes nothing
    assert index(InPlace(site), {"J1040"}).outcome == "unchanged"
    protected = next(s for s in catalogue.get("62323").sections if s.protected)
    protected.text = "SECRET-CHANGED protected text"
    assert index(InPlace(site), {"62323"}).outcome == "unchanged"
    # a new site reuses the Pagefind bundle of the site it replaces when the documents are the same
    (site / "index.html").write_text("published")
    fresh = Staging(site)
    reused = search.start_index(catalogue, templates, fresh, cache, tools_dir=tools).finish(Log(quiet=True))
    assert reused.pagefind == "reused" and (fresh.folder / "pagefind" / "pagefind.js").exists()
    fresh.discard()
    search.save_state(reused, cache)
    # a public change re-indexes; the changed code's shards are rewritten, the others kept
    before = shard_bytes()
    record = catalogue.get("J1040")
    record.synonyms = ["NEWWORD-J1040"]
    record.descriptor = "Injection, methylprednisolone acetate, 80 mg (changed)"
    changed = index(InPlace(site), {"J1040"})
    after = shard_bytes()
    assert (changed.outcome, changed.pagefind, changed.documents) == ("updated", "indexed", 1)
    assert sorted(name for name in after if after[name] != before.get(name)) == ["J.json", "J1.json", "J10.json"]
    assert any(b"NEWWORD-J1040" in data for _, data in search_files(site))
    # nothing left beside the site, once the replaced bundle's background removal is done
    for _ in range(200):
        if not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]:
            break
        time.sleep(0.05)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_code_set_without_records_still_builds_its_search(tmp_path):
    """No HCPCS records at all: the search page and index are still made."""
    project = make_project(tmp_path)
    for path in (project / "content" / "hcpcs").glob("*.md"):
        path.unlink()
    (project / "content" / "cpt" / "62323.md").write_text(
        (SITES / "valid" / "content" / "cpt" / "62323.md").read_text(encoding="utf-8").replace("  hcpcs: [J1040]\n", "")
        .replace("SECRET-FAQ-62323 yes, with [[J1040]].", "SECRET-FAQ-62323 yes."), encoding="utf-8")
    result = build_in_process(project)
    assert result.returncode == 0, result.stderr
    assert (project / "site" / "search" / "index.html").exists()
    assert lookup(project / "site", "J1040")[0] == []


def test_the_search_states_table_of_codes_keeps_every_change_through_pickling():
    """An edit changes, adds and removes a few of 120,000 codes; the table the next edit reads
    back holds exactly the facts a dictionary would."""
    import pickle
    import random

    from codepages.search import CodeTable

    chooser = random.Random(7)
    groups = [("icd-10-cm", f"M{n:02d}-M{n + 4:02d}") for n in range(0, 60, 5)] + [None]

    def facts() -> tuple:
        return (f"{chooser.getrandbits(64):016x}", f"{chooser.getrandbits(64):016x}", chooser.choice(groups))

    expected = {f"M{n:05d}": facts() for n in range(3000)}
    table = CodeTable(expected)
    for round_ in range(5):
        table = pickle.loads(pickle.dumps(table))
        for code in chooser.sample(sorted(expected), 20):
            if chooser.random() < 0.3:
                del table[code], expected[code]
            else:
                table[code] = expected[code] = facts()
        for n in range(5):
            code = f"N{round_}{n}"
            table[code] = expected[code] = (*facts()[:2], ("hcpcs", f"new {round_}"))
        wanted = set(chooser.sample(groups[:-1], 3)) | {("hcpcs", f"new {round_}")}
        assert sorted(table.members(wanted)) == sorted((c, f[2]) for c, f in expected.items() if f[2] in wanted)
    table = pickle.loads(pickle.dumps(table))
    assert all(table.get(code) == value for code, value in expected.items())
    assert "M99999" not in table and table.get("M99999") == ("", "", None)
    assert sorted(table.members(set(groups[:-1]) | {("hcpcs", f"new {r}") for r in range(5)})) == \
        sorted((c, f[2]) for c, f in expected.items() if f[2] is not None)
