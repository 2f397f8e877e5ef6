"""Addresses over HTTP through the real preview (`build.py serve` runs the functions netlify.toml
declares, in order): every variant kind reaches its page with ONE permanent redirect, for CPT,
HCPCS and ICD-10-CM; unknown codes get the 404 page with suggestions; the no-JavaScript code
jump; and the meter: a redirect never unlocks, never sets or charges a meter cookie, never
carries page text."""
from __future__ import annotations

import pytest
from test_edge_support import Client, full, running_preview

# (variant, canonical) per kind of variant and code set
VARIANTS = [
    # CPT
    ("/cpt/62323", "/cpt/623/62323/"),                 # old flat URL, no slash
    ("/cpt/62323/", "/cpt/623/62323/"),                # old flat URL
    ("/CPT/623/62323/", "/cpt/623/62323/"),            # code set case
    ("/cpt/623/62323", "/cpt/623/62323/"),             # trailing slash
    ("/cpt/623/62323/index.html", "/cpt/623/62323/"),  # index.html
    ("/cpt/623/62323/?utm_source=x", None),            # canonical with a query: no redirect
    # HCPCS
    ("/hcpcs/J1040/", "/hcpcs/J/J1040/"),
    ("/hcpcs/j1040", "/hcpcs/J/J1040/"),
    ("/HCPCS/j/j1040/", "/hcpcs/J/J1040/"),
    # ICD-10-CM
    ("/icd-10-cm/M54.16/", "/icd-10-cm/M54/M54.16/"),  # old flat URL
    ("/icd-10-cm/m5416", "/icd-10-cm/M54/M54.16/"),    # no dot, lower case
    ("/ICD-10-CM/m54/m54.16/", "/icd-10-cm/M54/M54.16/"),  # wrong-case nested path
    ("/icd10cm/M54.16", "/icd-10-cm/M54/M54.16/"),     # code-set alias
    ("/icd-10/m5416/", "/icd-10-cm/M54/M54.16/"),
    ("/icd-10-cm/m4846xa", "/icd-10-cm/M48/M48.46/M48.46XA/"),  # a 7th-character code
    ("/icd-10-cm/M48.46XA/index.html", "/icd-10-cm/M48/M48.46/M48.46XA/"),
    ("/icd-10-cm/m47", "/icd-10-cm/M47/"),             # a category
    ("/cpt/62320-62327", "/cpt/62320-62327/"),         # a range
]


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    with running_preview(tmp_path_factory.mktemp("addresses")) as running:
        yield running[0]


@pytest.mark.parametrize("variant, canonical", VARIANTS, ids=[v for v, _ in VARIANTS])
def test_every_variant_reaches_its_page_with_one_permanent_redirect(preview, variant, canonical):
    client = Client(preview)
    first = client.get(variant, method="HEAD", keep_cookies=False)
    if canonical is None:
        assert first.status == 200
        return
    assert first.status == 301, first.status
    assert first.header("location") == canonical
    page, redirects = client.follow(variant)
    assert redirects == [canonical], "exactly one redirect"
    assert page.status == 200


def test_a_redirect_never_unlocks_never_charges_and_carries_no_text(preview):
    client = Client(preview)
    redirect = client.get("/cpt/62322")
    assert redirect.status == 301 and redirect.cookies == [] and redirect.body == ""
    assert "SECRET" not in redirect.body
    page, _ = client.follow("/cpt/62322")
    assert full(page), "the target is metered like any page: the guest's one view"
    meter = client.jar["__Host-cp_meter"]
    for variant in ("/CPT/62322/", "/cpt/623/62322/index.html", "/cpt/62322/"):
        again, _ = client.follow(variant)
        assert full(again), variant
        assert client.jar["__Host-cp_meter"] == meter and again.cookies == [], f"{variant}: not charged twice"
    for variant in ("/cpt/62323", "/hcpcs/j1040", "/icd-10-cm/m5416"):
        other, _ = client.follow(variant)
        assert other.status == 200 and not full(other) and "SECRET" not in other.body, variant


def test_unknown_codes_get_the_404_page_with_the_nearest_codes(preview):
    client = Client(preview)
    for path in ("/icd-10-cm/m4899", "/icd-10-cm/M48/M48.99/", "/cpt/62329/", "/hcpcs/J1049"):
        answer = client.get(path)
        assert answer.status == 404, path
        assert "Page not found" in answer.body and 'id="code-suggestions"' in answer.body, path
    body = client.get("/icd-10-cm/m4899").body
    assert 'href="/icd-10-cm/M48/M48.9/"' in body, "M48.9 shares the longest prefix"
    assert client.get("/icd-10-cm/M48/M48.99/", method="HEAD").status == 404


@pytest.mark.parametrize("query, target", [("M54.16", "/icd-10-cm/M54/M54.16/"), ("m5416", "/icd-10-cm/M54/M54.16/"),
                                           ("62323", "/cpt/623/62323/"), ("j1040", "/hcpcs/J/J1040/")])
def test_search_for_an_exact_code_goes_to_it_without_javascript(preview, query, target):
    answer = Client(preview).get(f"/search/?q={query}")
    assert answer.status == 303 and answer.header("location") == target


def test_search_for_words_or_prefixes_stays_on_the_search_page(preview):
    for query in ("low+back", "M4", "6232"):
        answer = Client(preview).get(f"/search/?q={query}")
        assert answer.status == 200 and 'id="search-results"' in answer.body, query
