"""What a keyboard, screen-reader or small-screen visitor relies on, on every demo page."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT

SAMPLE = ["/", "/cpt/", "/hcpcs/", "/icd-10-cm/", "/404.html", "/cpt/62320-62327/", "/cpt/623/62326/",
          "/hcpcs/J/J1040/", "/icd-10-cm/M00-M99/", "/icd-10-cm/M50-M54/", "/icd-10-cm/M54/", "/icd-10-cm/M54/M54.50/",
          "/icd-10-cm/S72/S72.001/S72.001A/", "/icd-10-cm/B10-B10/", "/icd-10-cm/T36/T36.0X1/T36.0X1A/"]


def pages(site: Path):
    """Every kind of page: home, indexes, ranges, chapters, blocks, categories, codes, 404."""
    for url in SAMPLE:
        path = site / url.strip("/") if url.endswith(".html") else site / url.strip("/") / "index.html"
        yield url, BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_landmarks_skip_link_language_and_viewport(demo_site: Path):
    for name, soup in pages(demo_site):
        assert soup.html.get("lang") == "en", name
        assert soup.find("meta", attrs={"name": "viewport"}), name
        skip = soup.find("a", class_="skip-link")
        assert skip and skip["href"] == "#main" and soup.find(id="main").name == "main", name
        assert len(soup.find_all("main")) == 1 and soup.find("header") and soup.find("footer"), name
        for nav in soup.find_all("nav"):
            assert nav.get("aria-label"), f"{name}: every navigation landmark is named"


def test_one_h1_and_headings_never_skip_a_level(demo_site: Path):
    for name, soup in pages(demo_site):
        levels = [int(h.name[1]) for h in soup.find_all(re.compile(r"^h[1-6]$"))]
        assert levels.count(1) == 1 and levels[0] == 1, name
        for before, after in zip(levels, levels[1:], strict=False):
            assert after <= before + 1, f"{name}: h{before} followed by h{after}"


def test_links_have_text_and_sections_have_names(demo_site: Path):
    for name, soup in pages(demo_site):
        for link in soup.find_all("a"):
            assert link.get_text(strip=True) or link.get("aria-label"), f"{name}: empty link {link}"
        for section in soup.find_all("section", attrs={"aria-labelledby": True}):
            assert soup.find(id=section["aria-labelledby"]), name


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


CSS = (ROOT / "templates" / "static" / "site.css").read_text(encoding="utf-8")
COLOURS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", CSS))


@pytest.mark.parametrize("text, background", [
    ("ink", "paper"), ("muted", "paper"), ("accent", "paper"), ("accent-ink", "accent"),
    ("ink", "locked"), ("muted", "band"), ("accent", "band"), ("accent", "locked"),
])
def test_text_colours_meet_wcag_aa(text, background):
    assert contrast(COLOURS[text], COLOURS[background]) >= 4.5


def test_header_text_on_dark_band_meets_wcag_aa():
    assert contrast("#ffffff", COLOURS["ink"]) >= 4.5
