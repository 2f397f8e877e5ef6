"""Issue 9: a publish folder the host accepts, checked at build time.

The check itself on synthetic trees that break each limit; the same through the command line
on a fixture project whose site.yaml sets small limits (exit 1, a message naming the folder or
file and the limit, the old site/ byte for byte); and the full demo build measured against
Netlify's limits at today's size and at three times it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from conftest import build_in_process, build_project, make_project, tree_digest

from codepages.hosting import FolderStats, HostLimitError, check
from codepages.settings import Hosting

LIMIT = 10_000  # entries per folder the issue allows (Netlify fails a deploy above 54,000 files)


def make_tree(root: Path, spec: dict[str, int | dict]) -> Path:
    """Folders and files: {"name": size in bytes} for a file, {"name": {...}} for a folder."""
    root.mkdir(parents=True, exist_ok=True)
    for name, item in spec.items():
        if isinstance(item, dict):
            make_tree(root / name, item)
        else:
            (root / name).write_bytes(b"x" * item)
    return root


def entries_of(root: Path) -> dict[str, int]:
    """Entries (files and folders) of every folder, counted with os.listdir."""
    return {os.path.relpath(folder, root): len(os.listdir(folder)) for folder, _, _ in os.walk(root)}


# --- the check on synthetic trees ---------------------------------------------------------

def test_folder_stats_count_files_and_folders_together(tmp_path):
    root = make_tree(tmp_path / "site", {"index.html": 10, "404.html": 3, "a": {"x.html": 5, "y.html": 7, "b": {"z": 1}},
                                         "c": {}})
    stats = FolderStats.of_tree(root)
    assert {stats.name(f): n for f, n in stats.entries.items()} == {
        ("/" if k == "." else k + "/"): n for k, n in entries_of(root).items()}
    assert stats.files == 5
    assert stats.largest_file == (10, str(root / "index.html"))
    assert stats.largest_folder() == (4, str(root))  # index.html, 404.html, a/, c/


def test_a_tree_within_the_limits_passes(tmp_path):
    root = make_tree(tmp_path / "site", {"a": {f"{i}.html": 10 for i in range(5)}})
    check(FolderStats.of_tree(root), Hosting(max_entries_per_folder=5, max_file_bytes=10, max_files=5))


def test_a_folder_with_too_many_entries_is_named_with_the_limit(tmp_path):
    root = make_tree(tmp_path / "site", {"icd-10-cm": {**{f"M{i:02}": {"index.html": 1} for i in range(4)},
                                                       "index.html": 1, "M54.html": 1}})
    with pytest.raises(HostLimitError) as caught:
        check(FolderStats.of_tree(root), Hosting(max_entries_per_folder=5))
    message = str(caught.value)
    assert "folder icd-10-cm/ of the site would hold 6 entries, more than the 5 allowed" in message
    assert "hosting.max_entries_per_folder" in message


def test_subfolders_count_as_entries(tmp_path):
    root = make_tree(tmp_path / "site", {"cpt": {f"62{i}": {} for i in range(3)}})
    with pytest.raises(HostLimitError, match=r"folder cpt/ of the site would hold 3 entries, more than the 2 allowed"):
        check(FolderStats.of_tree(root), Hosting(max_entries_per_folder=2))


def test_a_file_too_big_is_named_with_the_limit(tmp_path):
    root = make_tree(tmp_path / "site", {"search": {"big.json": 101, "small.json": 100}})
    with pytest.raises(HostLimitError) as caught:
        check(FolderStats.of_tree(root), Hosting(max_file_bytes=100))
    message = str(caught.value)
    assert "file search/big.json would be 101 bytes, more than the 100 allowed" in message
    assert "hosting.max_file_bytes" in message and "small.json" not in message


def test_too_many_files_in_all_is_reported_with_the_limit(tmp_path):
    root = make_tree(tmp_path / "site", {"a": {"1": 1, "2": 1}, "b": {"3": 1, "4": 1}})
    with pytest.raises(HostLimitError) as caught:
        check(FolderStats.of_tree(root), Hosting(max_files=3))
    assert "the site would hold 4 files, more than the 3 allowed (hosting.max_files)" in str(caught.value)


def test_every_broken_limit_is_reported_at_once(tmp_path):
    root = make_tree(tmp_path / "site", {"a": {"1": 1, "2": 1, "3": 50}})
    with pytest.raises(HostLimitError) as caught:
        check(FolderStats.of_tree(root), Hosting(max_entries_per_folder=2, max_file_bytes=10, max_files=2))
    message = str(caught.value)
    assert "folder a/" in message and "file a/3" in message and "3 files" in message


# --- through the command line, on a fixture project with small limits ----------------------

def with_limits(project: Path, **limits: int) -> None:
    settings = project / "content" / "site.yaml"
    data = settings.read_text(encoding="utf-8")
    settings.write_text(data + "\nhosting:\n" + "".join(f"  {k}: {v}\n" for k, v in limits.items()), encoding="utf-8")
    assert yaml.safe_load(settings.read_text())["hosting"] == limits


@pytest.fixture(scope="module")
def good_project(tmp_path_factory) -> Path:
    project = make_project(tmp_path_factory.mktemp("hosting"))
    assert build_in_process(project).returncode == 0
    return project


def largest_folder(counts: dict[str, int]) -> tuple[str, int]:
    folder = max(counts, key=lambda k: (counts[k], k))
    return ("/" if folder == "." else folder + "/"), counts[folder]


@pytest.mark.parametrize("limit, words", [
    ("max_entries_per_folder", "entries"), ("max_file_bytes", "bytes"), ("max_files", "files")])
def test_a_build_over_a_limit_fails_and_keeps_the_site(good_project, tmp_path, limit, words):
    site = good_project / "site"
    before = tree_digest(site)
    project = make_project(tmp_path)
    os.system(f"cp -a '{site}' '{project / 'site'}'")
    folder, entries = largest_folder(entries_of(site))
    biggest = max((p for p in site.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    value = {"max_entries_per_folder": entries - 1, "max_file_bytes": biggest.stat().st_size - 1,
             "max_files": sum(1 for p in site.rglob("*") if p.is_file()) - 1}[limit]
    with_limits(project, **{limit: value})
    # a change of content too, so the build cannot stop at "nothing changed"
    record = project / "content" / "cpt" / "62323.md"
    record.write_text(record.read_text().replace("PUBLIC-62323", "EDITED-62323"))

    result = build_in_process(project)

    assert result.returncode == 1
    message = result.stderr
    assert f"hosting.{limit}" in message and f"{value:,} allowed" in message and words in message
    if limit == "max_entries_per_folder":
        assert f"folder {folder} of the site would hold {entries:,} entries" in message
    if limit == "max_file_bytes":
        assert f"file {biggest.relative_to(site).as_posix()} would be" in message
    assert message.splitlines()[-1] == "site/ was not changed."
    assert tree_digest(project / "site") == before
    assert not [p for p in project.iterdir() if p.name.startswith(".site")]


def test_a_build_over_a_limit_exits_1_without_a_traceback(good_project, tmp_path):
    project = make_project(tmp_path)
    with_limits(project, max_entries_per_folder=10)
    result = build_project(project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert re.search(r"folder \S+/ of the site would hold [\d,]+ entries, more than the 10 allowed", result.stderr)
    assert not (project / "site").exists()


def test_the_summary_names_the_largest_folder_and_its_entries(good_project):
    project = good_project
    record = project / "content" / "cpt" / "62323.md"
    record.write_text(record.read_text().replace("PUBLIC-62323", "AGAIN-62323"))
    result = build_in_process(project, "--full")
    assert result.returncode == 0, result.stderr
    folder, entries = largest_folder(entries_of(project / "site"))
    assert result.stdout.splitlines()[-1].endswith(f"(largest folder {folder} {entries:,} entries)")


# --- the full demo build -------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_entries(demo_site) -> dict[str, int]:
    """entries_of the demo build (100,000 folders: walked once for the tests below)."""
    return entries_of(demo_site)


def test_the_demo_builds_summary_names_its_largest_folder(demo_build, demo_entries):
    _, result = demo_build
    folder, entries = largest_folder(demo_entries)
    assert result.stdout.splitlines()[-1].endswith(f"(largest folder {folder} {entries:,} entries)")
    assert entries <= LIMIT


def test_no_folder_of_the_demo_build_holds_more_than_10000_entries(demo_entries):
    over = {f: n for f, n in demo_entries.items() if n > LIMIT}
    assert over == {}


def test_no_page_folder_would_break_the_limit_at_three_times_the_catalogue(demo_entries):
    """The page layout (codesets.folders) puts a code below its category, a 7th-character code
    below the code it extends, a CPT code below its first three digits, a HCPCS code below its
    letter: a folder holds the children of one node of the classification, so a catalogue three
    times as big (more releases, more code sets) makes each such folder at most three times as
    full. The folders with pages, counted on the build, times three:"""
    pages = {f: n for f, n in demo_entries.items() if not f.startswith(("search", "pagefind", "assets"))}
    assert max(pages.values()) > 1_000  # the top of icd-10-cm/: its chapters, blocks and categories
    over = {f: n for f, n in pages.items() if 3 * n > LIMIT}
    assert over == {}


def test_no_folder_at_all_would_break_the_limit_at_three_times_the_catalogue(demo_site, demo_entries):
    """Every folder of the publish folder, the search index's too: the code-lookup shards
    (search/codes/<first character>/) are a file per code prefix, and the shards deeper than
    three characters are made where a prefix holds more than 100 codes, so their number grows
    with the catalogue — spread over one folder per first character."""
    shards = [n for n in (demo_site / "search" / "codes").rglob("*.json") if len(n.name) > len("ABC.json")]
    assert len(shards) > 1_000  # prefixes of four characters or more: as many as the codes need
    over = {f: n for f, n in demo_entries.items() if 3 * n > LIMIT}
    assert over == {}, f"folders over {LIMIT:,} entries at three times today's catalogue: " + \
        ", ".join(f"{f}/ {n:,} × 3 = {3 * n:,}" for f, n in over.items())
