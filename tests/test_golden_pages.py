"""Issue 10's fast layer for rendering: single pages of the small fixture site rendered in this
process (`codepages.pipeline.load`, then `codepages.rendering.Renderer`), compared byte for
byte with the golden files in tests/golden/.

When a change to the templates or the renderer is meant to change these pages, look at the
difference, then regenerate the files and commit them with the change:

    CODEPAGES_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_pages.py

(tests/golden/README.md says the same.)
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from conftest import make_project

from codepages import rendering
from codepages.log import Log
from codepages.pipeline import load
from codepages.project import Project

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("CODEPAGES_UPDATE_GOLDEN") == "1"
# golden file → the record whose page it is (None: the home page)
PAGES = {
    "cpt-62323.html": "62323",  # a CPT code with protected sections and a paraphrased descriptor
    "cpt-62320-62327.html": "62320-62327",  # a range page
    "hcpcs-J1040.html": "J1040",
    "icd-10-cm-M54.16.html": "M54.16",  # an editor's record merged on top of the release's entry
    "icd-10-cm-S72.001A.html": "S72.001A",  # a 7th-character code: inherited notes, its table
    "icd-10-cm-M54.html": "M54",  # a header (category) page
    "icd-10-cm-B10-B10.html": "B10-B10",  # a block of one category
    "home.html": None,
}


@pytest.fixture(scope="module")
def renderer(tmp_path_factory) -> rendering.Renderer:
    project = make_project(tmp_path_factory.mktemp("golden"))
    site = load(Project.at(project), Log(quiet=True))
    reference = site.sources.reference if site.sources is not None else None
    return rendering.Renderer(site.env, site.catalogue, site.css, project / "templates", reference)


def rendered(renderer: rendering.Renderer, code: str | None) -> rendering.Page:
    if code is None:
        return renderer.home()
    record = renderer.catalogue.get(code)
    assert record is not None, code
    return renderer.record_page(record)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_page_renders_as_its_golden_file(renderer, name):
    page = rendered(renderer, PAGES[name])
    golden = GOLDEN / name
    if UPDATE:
        golden.write_text(page.html, encoding="utf-8")
    assert golden.is_file(), f"no golden file {golden.name}: run with CODEPAGES_UPDATE_GOLDEN=1 to make it"
    expected = golden.read_text(encoding="utf-8")
    if page.html != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), page.html.splitlines(True),
                                            f"golden/{name}", "rendered", n=2))
        pytest.fail(f"{name} differs from its golden file (CODEPAGES_UPDATE_GOLDEN=1 regenerates it):\n{diff[:6000]}")


def test_protected_sections_are_rendered_apart_from_the_page(renderer):
    page = rendered(renderer, "62323")
    assert sorted(page.protected) == ["billing-faq", "coding-tips", "icd-10-cm-crosswalk", "related-hcpcs", "summary"]
    for section_id, html in page.protected.items():
        assert html.strip(), section_id
        assert html not in page.html
    assert "SECRET-" not in page.html


def test_every_golden_file_belongs_to_a_page():
    assert {p.name for p in GOLDEN.glob("*.html")} == set(PAGES)
