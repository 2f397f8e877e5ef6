"""Search over the full catalogue (the demo build) in what it transfers and what it holds: the
bytes a first search fetches in Chromium, the cost of every code lookup, and no protected text
in any search file (issue 15; split from test_search_browser so the two run side by side)."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

from test_search_index import CODE_BUDGET, Shards, page_codes, search_files

WORDS_BUDGET = 100 * 1024  # bytes a first keyword search may transfer, compressed (issue 15)


def bytes_fetched(chromium, demo_url: str, text: str, keystrokes: bool) -> int:
    """Bytes of every response while searching `text` on a freshly opened search page, gzip-compressed
    as the host serves them (the preview serves them uncompressed)."""
    context = chromium.new_context(base_url=demo_url)
    page = context.new_page()
    page.goto("/search/")
    page.wait_for_load_state("networkidle")
    responses = []
    page.on("response", lambda response: responses.append(response))
    for typed in [text[:i] for i in range(1, len(text) + 1)] if keystrokes else [text]:
        page.fill("#search-input", typed)
        page.evaluate("() => window.codepagesSearch.settled()")
    page.wait_for_load_state("networkidle")
    total = sum(len(gzip.compress(response.body(), 6)) for response in responses)
    context.close()
    return total


def test_a_first_keyword_search_and_a_code_lookup_stay_light(chromium, demo_url):
    assert 0 < bytes_fetched(chromium, demo_url, "low back pain", keystrokes=False) <= WORDS_BUDGET
    for code in ("s72001a", "62326", "M54.50"):  # typed one character at a time, each lookup settling
        assert 0 < bytes_fetched(chromium, demo_url, code, keystrokes=True) <= CODE_BUDGET, code


def test_every_code_lookup_of_the_full_catalogue_stays_within_budget(demo_site: Path):
    codes = page_codes(demo_site)
    assert len(codes) > 98_000
    shards = Shards(demo_site)
    worst = max((max(shards.cost(code)), code) for code in codes)
    assert worst[0] <= CODE_BUDGET, worst


def test_no_protected_text_of_the_demo_content_in_any_search_file(demo_site: Path, installed_build):
    from codepages.log import Log
    from codepages.pipeline import load
    from codepages.project import Project
    # the demo project the installed command built, with that build's caches (the checkout's own
    # .codepages/ has none in a fresh clone: loading it would read every release again)
    loaded = load(Project.at(installed_build.project), Log(quiet=True))
    records = loaded.catalogue.records.values()
    sentences = {s.strip() for record in records for section in record.protected_sections
                 for s in re.split(r"(?<=[.?!])\s+", section.text) if len(s.strip()) >= 60}
    public = " ".join(section.text for record in records for section in record.public_sections)
    sentences = {s for s in sentences if s not in public}
    assert len(sentences) > 50
    raw = "\n".join(data.decode("utf-8", errors="replace") for _, data in search_files(demo_site))
    text = raw + raw.replace('\\"', '"')  # as written, and with JSON's escaped quotes read back
    assert "The patient has pain in the lower back" in text  # the scan reads the compressed index
    # a sentence can only be in the text if its inner five-word runs are: check those first (fast)
    words = text.split()
    runs = {hash(tuple(words[i:i + 5])) for i in range(len(words) - 4)}

    def found(sentence: str) -> bool:
        inner = sentence.split()[1:-1]
        return any(hash(tuple(inner[i:i + 5])) in runs for i in range(len(inner) - 4)) and sentence in text

    assert found("It usually improves with activity, exercise and simple pain relief.")  # public: M54.50
    assert not [s for s in sentences if found(s)]
