"""The gate against a hostile page, in Debian's Chromium, through the real preview: a framed code
page is refused by the browser and spends nothing; a free account arriving from another site
is asked to continue before a view is spent; the security policy leaves search working; and
the open page reloads by itself after a rebuild (live reload)."""
from __future__ import annotations

import pytest
from test_edge_support import running_preview

# another site: localhost is not the same site as 127.0.0.1 (and both are loopback, so Chromium's
# private-network rules stay out of the way); the browser's request routing serves it
ATTACKER = "http://localhost:9/"


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    with running_preview(tmp_path_factory.mktemp("browser")) as running:
        yield running


def attacker_page(context, html: str) -> None:
    """Another site, served by the browser's request routing (no network)."""
    context.route(ATTACKER + "**", lambda route: route.fulfill(status=200, content_type="text/html", body=html))


def test_a_framed_code_page_is_refused_and_spends_nothing(preview, chromium):
    base, _, _ = preview
    context = chromium.new_context()
    try:
        attacker_page(context, f'<!doctype html><title>evil</title><iframe id="f" src="{base}/cpt/623/62323/"></iframe>')
        requested = []
        context.on("request", lambda r: requested.append(r) if "/cpt/623/62323/" in r.url else None)
        page = context.new_page()
        page.goto(ATTACKER)
        page.wait_for_load_state("load")
        assert requested and requested[0].resource_type == "document", "the frame asked for the page"
        framed = [f for f in page.frames if f != page.main_frame]
        assert framed and framed[0].url.startswith("chrome-error://"), "the browser refused to show it (frame-ancestors)"
        assert page.frame_locator("#f").locator("main").count() == 0
        assert "__Host-cp_meter" not in {c["name"] for c in context.cookies()}, "nothing charged"
        # the guest's free view is still there for a real visit
        page.goto(base + "/cpt/623/62323/")
        assert "SECRET-SUMMARY-62323" in page.locator("main").inner_text()
    finally:
        context.close()


def sign_up(page, base: str, email: str) -> None:
    page.goto(base + "/auth/register")
    page.wait_for_selector("#email")
    page.fill("#email", email)
    page.check("input[name=plan][value=free]")
    page.click("button:has-text('Register')")
    page.wait_for_url(base + "/")


def test_a_free_account_arriving_from_another_site_continues_before_a_view_is_spent(preview, chromium):
    base, _, _ = preview
    context = chromium.new_context()
    try:
        page = context.new_page()
        sign_up(page, base, "cross.site@example.com")
        attacker_page(context, f'<!doctype html><a id="go" href="{base}/hcpcs/J/J1040/">a code</a>')
        page.goto(ATTACKER)
        page.click("#go")
        page.wait_for_url(base + "/hcpcs/J/J1040/")
        banner = page.locator("#meter-banner")
        assert banner.inner_text().startswith("You came here from another site.")
        assert "SECRET" not in page.locator("main").inner_text(), "nothing spent yet"
        banner.locator("text=Continue reading").click()
        page.wait_for_load_state("load")
        assert "SECRET-" in page.locator("main").inner_text()
        assert page.locator("#meter-banner").inner_text() == \
            "This code page used one of your free account's views. 5 code page views remaining."
    finally:
        context.close()


def test_the_security_policy_leaves_word_search_working(preview, chromium):
    base, _, _ = preview
    context = chromium.new_context()
    try:
        page = context.new_page()
        violations = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(base + "/search/?q=lumbar+injection")
        page.wait_for_selector("#search-results li", timeout=30000)
        assert page.locator("#search-results li").count() >= 1
        assert violations == []
    finally:
        context.close()


def test_the_open_page_reloads_by_itself_after_a_rebuild(preview, chromium):
    base, project, _ = preview
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(base + "/cpt/62320-62327/")
        assert "LIVE-RELOAD-MARK" not in page.content()
        record = project / "content" / "cpt" / "62320-62327.md"
        text = record.read_text(encoding="utf-8")
        record.write_text(text.replace("## Common language description\n\n", "## Common language description\n\nLIVE-RELOAD-MARK ", 1)
                          if "## Common language description\n\n" in text else text + "\nLIVE-RELOAD-MARK\n", encoding="utf-8")
        # no page.reload() here: the preview tells the page to reload itself
        page.locator("text=LIVE-RELOAD-MARK").first.wait_for(timeout=30000)
    finally:
        context.close()
