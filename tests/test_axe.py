"""Issue 13: axe-core finds no violation on any kind of page at a 320 px phone width, in Chromium.

axe-core comes from npm, pinned by tests/js/package-lock.json; the fixture installs it with
`npm ci` when tests/js/node_modules is missing (as dev/oidc's provider is installed). The
demo build is served as static files on loopback, so the pages are the ones every visitor
gets before the edge function adds anything (the gated version).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

JS = Path(__file__).resolve().parent / "js"
AXE = JS / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0-2.2 A and AA (2.2 AA has target-size: breadcrumb links on a phone) and axe's best practices
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
PAGES = ["/", "/search/", "/404.html", "/help/assistant/", "/cpt/", "/cpt/62320-62327/", "/cpt/623/", "/cpt/623/62326/",
         "/hcpcs/", "/hcpcs/J/", "/hcpcs/J/J1040/", "/hcpcs/modifiers/LT/", "/icd-10-cm/", "/icd-10-cm/M00-M99/",
         "/icd-10-cm/M50-M54/", "/icd-10-cm/M54/", "/icd-10-cm/M54/M54.50/", "/icd-10-cm/S72/S72.001/S72.001A/",
         "/icd-10-cm/S30/S30.1/S30.1XXA/", "/icd-10-cm/new/", "/icd-10-cm/cc-exclusions/1763/"]


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE.is_file():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=JS, check=True, timeout=300)
    return AXE


@pytest.fixture(scope="module")
def phone(chromium):
    context = chromium.new_context(viewport={"width": 320, "height": 640}, device_scale_factor=2, is_mobile=True,
                                   has_touch=True)
    yield context.new_page()
    context.close()


def violations(page, axe_script: Path) -> list[str]:
    page.add_script_tag(path=str(axe_script))
    # every rule runs; resultTypes spares axe a CSS selector for each node that passes (its API
    # doc's advice for big pages: /icd-10-cm/new/ checks in 1.6 s instead of 6 s), and the
    # violations are reported in full
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
                           "resultTypes: ['violations']})", TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] if isinstance(n["target"][0], str)
                                                                   else str(n["target"][0]) for n in v["nodes"][:3])
            for v in result["violations"]]


@pytest.mark.parametrize("url", PAGES)
def test_no_axe_violation_at_320_px(phone, demo_url, axe_script, url):
    response = phone.goto(demo_url + url)
    assert response is not None and response.status in (200, 404)
    assert violations(phone, axe_script) == []


@pytest.mark.parametrize("url", PAGES)
def test_no_page_scrolls_sideways_at_320_px(phone, demo_url, url):
    """WCAG 2.1 reflow (1.4.10), which axe does not test: content fits a 320 px wide screen."""
    phone.goto(demo_url + url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 320


@pytest.mark.parametrize("url", ["/", "/icd-10-cm/new/"])
def test_axe_reports_a_violation_when_there_is_one(phone, demo_url, axe_script, url):
    phone.goto(demo_url + url)
    phone.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=x.png>"
                   "<p style=\"color: #bbb; background: #fff\">pale text</p>')")
    found = violations(phone, axe_script)
    assert any(v.startswith("image-alt") for v in found) and any(v.startswith("color-contrast") for v in found)
