"""Search in Chromium over the full catalogue (the demo build): codes, words, filters, keyboard, bytes."""
from __future__ import annotations

import functools
import gzip
import http.server
import re
import threading
from pathlib import Path

import pytest
from conftest import ROOT
from test_search_index import CODE_BUDGET, Shards, page_codes, search_files

WORDS_BUDGET = 100 * 1024  # bytes a first keyword search may transfer, compressed (issue 15)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url(demo_site: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(demo_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browsing(chromium, base_url):
    """One browser context for the module's tests, as one visitor's: its cache keeps Pagefind's
    files and compiled WebAssembly between them (the page keeps no state of its own: no storage)."""
    context = chromium.new_context(base_url=base_url)
    yield context
    context.close()


@pytest.fixture
def page(browsing):
    page = browsing.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.goto("/search/")
    yield page
    page.close()
    assert not errors


def search(page, text: str) -> tuple[list[tuple[str, str]], str]:
    """Type `text`; return the results (code, code set name) once the search settled, and the status."""
    page.fill("#search-input", text)
    page.evaluate("() => window.codepagesSearch.settled()")
    results = page.eval_on_selector_all(
        "#search-results a.result", "links => links.map(a => [a.dataset.code, a.querySelector('.set').textContent])")
    return [tuple(r) for r in results], page.inner_text("#search-status")


# codes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed, first, code_set", [
    ("62326", "62326", "CPT®"),
    ("m5450", "M54.50", "ICD-10-CM"),
    ("M54.50", "M54.50", "ICD-10-CM"),
    ("s72001a", "S72.001A", "ICD-10-CM"),
    ("J1040", "J1040", "HCPCS Level II"),
    ("m50-m54", "M50-M54", "ICD-10-CM"),
])
def test_a_typed_code_is_the_first_result(page, typed, first, code_set):
    results, status = search(page, typed)
    assert results[0] == (first, code_set)
    assert status.startswith(f"Exact match {first}.")


def test_a_code_prefix_lists_its_codes_exact_first_then_in_code_order(page):
    results, status = search(page, "m545")
    assert [code for code, _ in results] == ["M54.5", "M54.50", "M54.51", "M54.59"]
    assert status == "Exact match M54.5. 4 codes start with m545."
    results, status = search(page, "S72")  # 2,660 codes: the broadest are listed
    assert results[0][0] == "S72" and len(results) <= 21 and "Type more characters" in status


def test_enter_on_an_exact_code_opens_its_page(page, base_url):
    page.fill("#search-input", "m5450")
    page.press("#search-input", "Enter")
    page.wait_for_url(f"{base_url}/icd-10-cm/M54/M54.50/")
    assert page.inner_text("h1") == "ICD-10-CM Code M54.50"


# words --------------------------------------------------------------------------------------


def test_words_find_codes_by_descriptor_first(page):
    results, status = search(page, "low back pain")
    first = [code for code, _ in results[:5]]
    assert "M54.50" in first and sum(code.startswith("M54.5") for code in first) >= 3, first
    assert re.fullmatch(r"\d+ codes found for “low back pain”(; more results available)?\.", status)
    excerpt = page.locator("#search-results li", has=page.locator('a[data-code="M54.50"]')).locator(".excerpt")
    assert "lumbago" in excerpt.inner_text().lower() and excerpt.locator("mark").count() >= 1


def test_word_results_rank_as_a_coder_reads(page):
    results, _ = search(page, "low back pain")
    codes = [code for code, _ in results]
    assert codes[0] == "M54.5", "the code whose descriptor is exactly the words typed comes first"
    assert codes.index("M54.50") < codes.index("M54.59"), "'Low back pain, unspecified' before 'Other low back pain'"
    results, _ = search(page, "hip fracture")  # S72.0-: "Fracture of hip NOS" is an inclusion term of S72.00
    assert results[0][0].startswith("S72.0"), results[:5]


def test_header_codes_and_changed_codes_are_badged_in_word_results(page):
    search(page, "low back pain")
    header = page.locator('#search-results a.result[data-code="M54.5"]')
    assert header.locator(".header-code").inner_text() == "header"
    billable = page.locator('#search-results a.result[data-code="M54.50"]')
    assert billable.locator(".header-code").count() == 0
    results, _ = search(page, "T78.07XA")  # deleted in 2026: code lookup still finds it, marked
    assert results[0][0] == "T78.07XA"
    assert page.locator('#search-results a.result[data-code="T78.07XA"] .badge-deleted').inner_text() == "deleted"


def test_a_query_that_matches_nothing_says_so(page):
    results, status = search(page, "xylophonist quokka")
    assert results == [] and status == "No codes match “xylophonist quokka”."


def test_words_find_synonyms_and_public_descriptions(page):
    results, _ = search(page, "epidural steroid")  # editors' synonyms: the injections and the steroid they give
    assert {"62321", "62323", "J1040"} <= {code for code, _ in results[:6]}
    results, _ = search(page, "femur fracture")
    assert results and all(code.startswith("S72") for code, _ in results[:5])


def test_the_code_set_filter_narrows_results(page):
    everything, _ = search(page, "injection")
    page.select_option("#search-set", "cpt")
    page.evaluate("() => window.codepagesSearch.settled()")
    results, _ = search(page, "injection")
    assert results and {code_set for _, code_set in results} == {"CPT®"}
    page.select_option("#search-set", "hcpcs")
    page.evaluate("() => window.codepagesSearch.settled()")
    results, status = search(page, "injection")
    assert results and {code_set for _, code_set in results} == {"HCPCS Level II"}
    assert len(results) < len(everything) and "set=hcpcs" in page.url
    results, status = search(page, "6232")  # code lookup honours it too
    assert results == [] and status == "No code starts with 6232."
    assert page.is_disabled("#search-chapter")  # chapters are ICD-10-CM's


def test_the_chapter_filter_narrows_results(page):
    everything, _ = search(page, "pain")
    page.select_option("#search-chapter", "M00-M99")
    page.evaluate("() => window.codepagesSearch.settled()")
    results, _ = search(page, "pain")
    assert results and all(code.startswith("M") for code, _ in results)
    assert {code[0] for code, _ in everything} - {"M"}


# keyboard and screen readers ----------------------------------------------------------------


def test_keyboard_moves_through_results_and_enter_opens_one(page, base_url):
    search(page, "m545")
    page.focus("#search-input")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.code") == "M54.5"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.code") == "M54.51"
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.dataset.code") == "M54.50"
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.id") == "search-input"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")  # Tab goes through the results too
    assert page.evaluate("document.activeElement.dataset.code") == "M54.50"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base_url}/icd-10-cm/M54/M54.50/")


def test_the_result_count_is_announced_in_a_live_region(page):
    status = page.locator("#search-status")
    assert status.get_attribute("role") == "status" and status.get_attribute("aria-live") == "polite"
    results, text = search(page, "m54")
    assert text.endswith(f"{len(results)} codes start with m54.")
    results, text = search(page, "lumbago")
    assert text.startswith(f"{len(results)} codes found for “lumbago”")
    assert page.get_attribute("#search-input", "aria-describedby") == "search-help"
    assert page.locator("label[for=search-input]").inner_text() == "Code or words"


def test_the_header_box_of_any_page_leads_to_the_results(page, base_url):
    page.goto("/icd-10-cm/M54/M54.16/")
    page.fill("#site-search-q", "back pain")
    page.press("#site-search-q", "Enter")
    page.wait_for_url(f"{base_url}/search/?q=back+pain")
    page.evaluate("() => window.codepagesSearch.settled()")
    assert page.locator("#search-results a.result").count() > 0
    assert page.input_value("#search-input") == "back pain"


@pytest.mark.parametrize("typed, page_path", [("m5450", "/icd-10-cm/M54/M54.50/"), ("62326", "/cpt/623/62326/"),
                                              ("j1040", "/hcpcs/J/J1040/")])
def test_an_exact_code_in_the_header_box_opens_its_page(page, base_url, typed, page_path):
    page.goto("/icd-10-cm/M54/M54.16/")
    page.fill("#site-search-q", typed)
    page.press("#site-search-q", "Enter")
    page.wait_for_url(f"{base_url}{page_path}")
    assert page.locator("h1").inner_text().endswith(page_path.strip("/").split("/")[-1])


# bytes and leaks over the full catalogue ----------------------------------------------------


def bytes_fetched(chromium, base_url, text: str, keystrokes: bool) -> int:
    """Bytes of every response while searching `text` on a freshly opened search page, gzip-compressed
    as the host serves them (the preview serves them uncompressed)."""
    context = chromium.new_context(base_url=base_url)
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


def test_a_first_keyword_search_and_a_code_lookup_stay_light(chromium, base_url):
    assert 0 < bytes_fetched(chromium, base_url, "low back pain", keystrokes=False) <= WORDS_BUDGET
    for code in ("s72001a", "62326", "M54.50"):  # typed one character at a time, each lookup settling
        assert 0 < bytes_fetched(chromium, base_url, code, keystrokes=True) <= CODE_BUDGET, code


def test_every_code_lookup_of_the_full_catalogue_stays_within_budget(demo_site: Path):
    codes = page_codes(demo_site)
    assert len(codes) > 98_000
    shards = Shards(demo_site)
    worst = max((max(shards.cost(code)), code) for code in codes)
    assert worst[0] <= CODE_BUDGET, worst


def test_no_protected_text_of_the_demo_content_in_any_search_file(demo_site: Path):
    from codepages.log import Log
    from codepages.pipeline import load
    from codepages.project import Project
    loaded = load(Project.at(ROOT, out=demo_site), Log(quiet=True))
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
