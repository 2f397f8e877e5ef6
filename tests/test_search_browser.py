"""Search in Chromium over the full catalogue (the demo build): codes, words, filters, keyboard."""
from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def browsing(chromium, demo_url):
    """One browser context for the module's tests, as one visitor's: its cache keeps Pagefind's
    files and compiled WebAssembly between them (the page keeps no state of its own: no storage)."""
    context = chromium.new_context(base_url=demo_url)
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


def test_enter_on_an_exact_code_opens_its_page(page, demo_url):
    page.fill("#search-input", "m5450")
    page.press("#search-input", "Enter")
    page.wait_for_url(f"{demo_url}/icd-10-cm/M54/M54.50/")
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


def test_keyboard_moves_through_results_and_enter_opens_one(page, demo_url):
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
    page.wait_for_url(f"{demo_url}/icd-10-cm/M54/M54.50/")


def test_the_result_count_is_announced_in_a_live_region(page):
    status = page.locator("#search-status")
    assert status.get_attribute("role") == "status" and status.get_attribute("aria-live") == "polite"
    results, text = search(page, "m54")
    assert text.endswith(f"{len(results)} codes start with m54.")
    results, text = search(page, "lumbago")
    assert text.startswith(f"{len(results)} codes found for “lumbago”")
    assert page.get_attribute("#search-input", "aria-describedby") == "search-help"
    assert page.locator("label[for=search-input]").inner_text() == "Code or words"


def test_the_header_box_of_any_page_leads_to_the_results(page, demo_url):
    page.goto("/icd-10-cm/M54/M54.16/")
    page.fill("#site-search-q", "back pain")
    page.press("#site-search-q", "Enter")
    page.wait_for_url(f"{demo_url}/search/?q=back+pain")
    page.evaluate("() => window.codepagesSearch.settled()")
    assert page.locator("#search-results a.result").count() > 0
    assert page.input_value("#search-input") == "back pain"


@pytest.mark.parametrize("typed, page_path", [("m5450", "/icd-10-cm/M54/M54.50/"), ("62326", "/cpt/623/62326/"),
                                              ("j1040", "/hcpcs/J/J1040/")])
def test_an_exact_code_in_the_header_box_opens_its_page(page, demo_url, typed, page_path):
    page.goto("/icd-10-cm/M54/M54.16/")
    page.fill("#site-search-q", typed)
    page.press("#site-search-q", "Enter")
    page.wait_for_url(f"{demo_url}{page_path}")
    assert page.locator("h1").inner_text().endswith(page_path.strip("/").split("/")[-1])
