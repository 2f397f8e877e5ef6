#!/usr/bin/env python3
"""Preview bench: from saving a record to the browser showing it, in `build.py serve`.

    .venv/bin/python bench/preview_reload_bench.py [-n 5] [--project DIR]

Starts the preview on a copy of the test fixture project (or DIR), opens a code page in
Debian's Chromium, then N times edits the page's record and measures, per edit:

- watch: save → "Change detected" printed by the preview (watchfiles: inotify, 30 ms step)
- rebuild: → "Built N pages" printed (the build itself; the lead's part)
- notify + reload: → the open page shows the new text (SSE event, page reload, render)

and prints the medians against the budget of issue 15: <= 0.5 s from saving to showing. No
assertions.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5, help="edits (default 5)")
    parser.add_argument("--project", type=Path, help="project folder (content/, templates/); default: the test fixture")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        if args.project:
            shutil.copytree(args.project / "content", project / "content")
            shutil.copytree(args.project / "templates", project / "templates")
        else:
            shutil.copytree(ROOT / "tests" / "sites" / "valid" / "content", project / "content")
            shutil.copytree(ROOT / "templates", project / "templates")
        record = project / "content" / "cpt" / "62320-62327.md"
        port = free_port()
        process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", str(port),
                                    "--content", "content", "--templates", "templates", "--out", "site"],
                                   cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
        events: list[tuple[float, str]] = []
        threading.Thread(target=lambda: [events.append((time.perf_counter(), line)) for line in process.stdout],
                         daemon=True).start()
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while not any("Serving" in line for _, line in events):
                if time.monotonic() > deadline:
                    raise SystemExit("the preview did not start:\n" + "".join(text for _, text in events))
                time.sleep(0.1)
            rows = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                     args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page()
                page.goto(base + "/cpt/62320-62327/")
                original = record.read_text(encoding="utf-8")
                for i in range(args.n):
                    mark = f"BENCH-MARK-{i}-{time.time_ns()}"
                    seen = len(events)
                    t0 = time.perf_counter()
                    record.write_text(original.replace("A fixture range", f"{mark} A fixture range"), encoding="utf-8")
                    page.locator(f"text={mark}").first.wait_for(timeout=30000)
                    t3 = time.perf_counter()
                    later = events[seen:]
                    t1 = next((t for t, line in later if "Change detected" in line), float("nan"))
                    t2 = next((t for t, line in later if line.startswith("Built ")), float("nan"))
                    rows.append((t1 - t0, t2 - t1, t3 - t2, t3 - t0))
                    time.sleep(0.5)
                browser.close()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    print(f"Preview reload bench: {args.n} edits of content/cpt/62320-62327.md with its page open in Chromium")
    print(f"{'edit':>4} {'watch':>8} {'rebuild':>9} {'notify+reload':>14} {'save→shown':>11}")
    for i, (w, r, n, total) in enumerate(rows, 1):
        print(f"{i:>4} {w:>7.3f}s {r:>8.3f}s {n:>13.3f}s {total:>10.3f}s")
    med = [statistics.median(col) for col in zip(*rows, strict=True)]
    print(f"{'med':>4} {med[0]:>7.3f}s {med[1]:>8.3f}s {med[2]:>13.3f}s {med[3]:>10.3f}s")
    verdict = "met" if med[3] <= BUDGET_S else "MISSED"
    print(f"Budget (issue 15): save → shown <= {BUDGET_S} s: {verdict} (median {med[3]:.3f} s; of it the watch and "
          f"notify+reload path {med[0] + med[2]:.3f} s, the rebuild {med[1]:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
