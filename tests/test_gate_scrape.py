"""The cookie-less scrape bound, measured over HTTP through the preview: a reader who discards
cookies gets at most the configured number of protected pages per network per day (here 2, so
the fixture's four sealed pages are enough to see the bound)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from test_edge_support import SEALED_PAGES, Client, full, running_preview

ALLOWANCE = 2


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    with running_preview(tmp_path_factory.mktemp("scrape"), {"CODEPAGES_NETWORK_DAILY_VIEWS": str(ALLOWANCE)}) as running:
        yield running[0]


def test_a_cookie_less_scrape_of_every_sealed_page_gets_at_most_the_allowance(preview):
    answers = []
    for _ in range(3):  # every page, three times over, never keeping a cookie
        for path in SEALED_PAGES:
            answers.append(Client(preview).get(path, keep_cookies=False))
    complete = [a for a in answers if full(a)]
    print(f"cookie-less scrape: {len(complete)} of {len(answers)} requests got the protected sections "
          f"(allowance {ALLOWANCE} per network per day)")
    assert len(complete) == ALLOWANCE
    gated = [a for a in answers if not full(a)]
    assert all("SECRET" not in a.body for a in gated)
    assert all("free guest views of your network are used up" in a.body for a in gated)


def test_parallel_cookie_less_requests_do_not_get_more(preview):
    for _ in range(ALLOWANCE + 1):  # spend what is left of the allowance (nothing, after the test above)
        if not full(Client(preview).get(SEALED_PAGES[0], keep_cookies=False)):
            break
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda path: Client(preview).get(path, keep_cookies=False), SEALED_PAGES * 4))
    assert not any(full(a) for a in answers)
    assert all(a.status == 200 for a in answers)
