#!/usr/bin/env python3
"""Screenshots of the built site as a first-time guest sees it, for the README (docs/screenshots/).

    .venv/bin/python dev/screenshots.py [--port 8790]

Runs the preview (`build.py serve`: the real edge functions in Deno over site/, after an
incremental build), opens each page in Debian's Chromium in a fresh browser context (a new
guest, whose first code page opens in full) at 1280 and 390 px wide, and saves full-page PNGs.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PAGES = {
    "cpt-62326": "/cpt/623/62326/",
    "icd-10-cm-S72.001A": "/icd-10-cm/S72/S72.001/S72.001A/",
    "home": "/",
}
WIDTHS = {"desktop": 1280, "phone": 390}


def wait_for(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise SystemExit(f"the preview did not answer at {url}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    OUT.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen([sys.executable, "build.py", "serve", "--port", str(args.port)], cwd=ROOT,
                              start_new_session=True)
    try:
        wait_for(base + "/")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                 args=["--no-sandbox"])
            for name, path in PAGES.items():
                for kind, width in WIDTHS.items():
                    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
                    tab = context.new_page()
                    tab.goto(base + path, wait_until="networkidle")
                    target = OUT / f"{name}-{kind}.png"
                    tab.screenshot(path=str(target), full_page=True)
                    print(f"{target.relative_to(ROOT)}  ({width} px wide)")
                    context.close()
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
