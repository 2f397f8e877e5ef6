"""Accounts in Chromium against `python build.py serve`: the real edge function, the real local
OpenID Connect provider (dev/oidc, `oidc-provider`) and the real PostgreSQL (dev/localdb.py)."""
from __future__ import annotations

import os
import re
import sys

import pytest
from conftest import ROOT, log_end
from test_edge_support import running_preview

sys.path.insert(0, str(ROOT))
from dev import localdb  # noqa: E402

# `make test` installs both; in CI a missing one fails the journeys instead of skipping them.
pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and (localdb.available() is not None
                                  or not (ROOT / "dev" / "oidc" / "node_modules" / "oidc-provider").is_dir()),
    reason="needs PostgreSQL and the local provider (make test installs both)")

UPGRADE = ("0 code page views remaining. Free accounts are limited to 6 code page views every 30 days. "
           "Upgrade to a subscription to unlock every code page.")
# Ten code pages with protected sections: the fixture's four and six more written here.
EXTRA = ["62320", "62321", "62324", "62325", "62326", "62327"]
PAGES = ["/cpt/623/62323/", "/cpt/623/62322/", "/cpt/623/62320/", "/cpt/623/62321/", "/cpt/623/62324/", "/cpt/623/62325/",
         "/cpt/623/62326/", "/cpt/623/62327/", "/hcpcs/J/J1040/", "/icd-10-cm/M54/M54.16/"]


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    extra_records = {
        f"cpt/{code}.md": f'---\ncode: "{code}"\ncode_set: cpt\ndescriptor: Fixture spinal code {code}\n'
                          f"parent: 62320-62327\n---\n## Common language description\n\nPUBLIC-{code} fixture text.\n\n"
                          f"## Summary\n\nSECRET-SUMMARY-{code} protected summary.\n"
        for code in EXTRA}
    with running_preview(tmp_path_factory.mktemp("accounts"), extra_records=extra_records) as (base, _, log_path):
        yield base
    print(log_end(log_path))  # shown when a journey failed


def read(page, url: str) -> tuple[str, str, str]:
    """Open a code page: (protected sections' text, banner, the response's source)."""
    response = page.goto(url)
    assert response.status == 200, url
    source = response.text()
    protected = " ".join(page.locator("section.protected-section").all_inner_texts())
    banner = page.locator("#meter-banner").inner_text()
    return protected, banner, source


def account_nav(page) -> str:
    return " ".join(page.locator("nav.account").inner_text().split())


def provider_form(page, email: str, plan: str | None = None, button: str = "Register") -> None:
    page.wait_for_selector("#email")
    assert "Codepages local identity provider" in page.content()
    page.fill("#email", email)
    if plan:
        page.check(f"input[name=plan][value={plan}]")
    page.click(f"button:has-text('{button}')")
    page.wait_for_load_state()


def test_guest_registers_reads_five_more_then_upgrade_and_the_meter_survives_cleared_cookies(preview, chromium):
    base = preview
    context = chromium.new_context()
    page = context.new_page()
    try:
        # a guest's one free view
        text, banner, _ = read(page, base + PAGES[0])
        assert "SECRET-SUMMARY-62323" in text and banner.startswith("This is your free code page view.")
        text, _, source = read(page, base + PAGES[1])
        assert "Register to view content" in text and "SECRET" not in source
        assert account_nav(page) == "Log in Register free account"

        # register through the local provider, back on the page it came from
        page.click("nav.account >> text=Register free account")
        assert "Create your free account" in page.content()
        provider_form(page, "free.coder@example.com", plan="free")
        assert page.url == base + PAGES[1]
        assert "SECRET-MODIFIERS-62322" in page.locator("section.protected-section").all_inner_texts()[0]
        assert page.locator("#meter-banner").inner_text() == \
            "This code page used one of your free account's views. 4 code page views remaining."
        assert account_nav(page) == "free.coder@example.com Log out"

        # the guest's page carried over (free to re-open); four more distinct pages
        text, banner, _ = read(page, base + PAGES[0])
        assert "SECRET-SUMMARY-62323" in text
        assert banner == "You unlocked this code page earlier, so reading it again is free. 4 code page views remaining."
        for n, url in enumerate(PAGES[2:6]):
            text, banner, _ = read(page, base + url)
            assert "SECRET-SUMMARY-" in text, url
            assert banner == ("This code page used one of your free account's views. "
                              f"{3 - n} code page view{'s' if 3 - n != 1 else ''} remaining."), url

        # the 7th distinct page: the upgrade placeholder, no protected text in the source
        text, banner, source = read(page, base + PAGES[6])
        assert banner == UPGRADE
        assert "Upgrade to view content" in text and "SECRET" not in text
        assert "SECRET" not in source and "data-sealed" not in source
        # the header on a page outside the meter shows the account too
        page.goto(base + "/")
        assert account_nav(page) == "free.coder@example.com Log out"

        # log out (a POST from the header's button; the provider's session ends too), clear every
        # cookie, log in again
        page.click("nav.account >> text=Log out")
        page.wait_for_url(base + "/")
        assert account_nav(page) == "Log in Register free account"
        context.clear_cookies()
        text, banner, _ = read(page, base + PAGES[7])  # a fresh guest meter opens one page
        assert "SECRET-SUMMARY-62327" in text
        page.click("nav.account >> text=Log in")
        provider_form(page, "free.coder@example.com", button="Sign in")
        assert page.url == base + PAGES[7]
        assert account_nav(page) == "free.coder@example.com Log out"
        text, banner, source = read(page, base + PAGES[6])
        assert banner == UPGRADE, "still 0 views left: the meter is the account's, not the browser's"
        assert "SECRET" not in source
        text, banner, _ = read(page, base + PAGES[8])
        assert banner == UPGRADE and "SECRET" not in text

        cookies = {c["name"]: c for c in context.cookies()}
        session = cookies["__Host-cp_session"]
        assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Lax"
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_subscriber_reads_everything(preview, chromium, javascript):
    base = preview
    context = chromium.new_context(java_script_enabled=javascript)
    page = context.new_page()
    try:
        page.goto(base + "/auth/register")
        provider_form(page, f"subscriber-{'js' if javascript else 'nojs'}@example.com", plan="subscriber")
        assert page.url == base + "/"
        for url in PAGES:
            text, banner, source = read(page, base + url)
            assert "SECRET-" in text and "Register to view content" not in text, url
            assert banner == "", url
            assert "data-sealed" not in source
        assert re.fullmatch(r"subscriber-\w+@example\.com Subscriber Log out", account_nav(page))
    finally:
        context.close()


def test_the_static_pages_hold_no_protected_text_and_sign_in_needs_the_provider(preview, chromium):
    base = preview
    context = chromium.new_context()
    page = context.new_page()
    try:
        response = page.goto(base + "/auth/callback?code=forged&state=forged")
        assert response.status == 400 and "Sign-in could not be completed" in page.content()
        assert "__Host-cp_session" not in {c["name"] for c in context.cookies()}
        read(page, base + PAGES[0])  # the guest view
        for url in PAGES[1:]:
            _, _, source = read(page, base + url)
            assert "SECRET" not in source and "placeholder-free-account" in source, url
    finally:
        context.close()
