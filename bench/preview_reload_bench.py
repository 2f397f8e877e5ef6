#!/usr/bin/env python3
"""Preview bench: from saving a record to the browser showing it, in `build.py serve`.

    .venv/bin/python bench/preview_reload_bench.py [-n 5] [--project DIR [--copy] [--out DIR]]
        [--record content/cpt/62326.md] [--json FILE]

Starts the preview (`build.py serve`) and opens the edited record's code page in Debian's
Chromium (headless), then N times edits the record's public 'Common language description'
(a marker put before its first paragraph) and measures, per edit:

- watch: save → "Change detected" printed by the preview (watchfiles: inotify, 30 ms step)
- rebuild: → the changed pages published (the "changed pages served after X s" of the preview's
  "Built" line; the word index is made after that)
- notify + reload: → the open page shows the new text (SSE event, page reload, render): the
  reloaded document's first contentful paint, from the browser's own paint timing (the time the
  bench's wait for the text returned is printed beside it as "noticed": Playwright retries that
  wait at growing intervals after a navigation, up to 100 ms after the page is painted)

After each edit the bench waits for the preview's "Built" line (the word index done) before the
next edit, as an editor who reads the page before saving again would.

and prints the medians against the budget of issue 15: <= 0.5 s from saving to showing. No
assertions.

Which project:

- default: a copy of the test fixture site (tests/sites/valid; a few pages), edited record
  content/cpt/62320-62327.md;
- `--project DIR`: DIR itself, in place (content/, templates/, its build cache and its output —
  `--out`, default DIR/site — so a project already built starts at once), edited record
  content/cpt/62326.md; the record is restored, and rebuilt, before the preview stops. This is
  how bench/build_bench.py runs it on its grown catalogue. With `--copy`, DIR's content/ and
  templates/ are copied into a temporary project first (built from scratch there).

The preview runs DIR's own build.py when DIR has one (else this checkout's). When the local
sign-in provider is not installed where the preview looks for it (dev/oidc/node_modules), the
bench sets a placeholder OIDC_ISSUER so the preview does not run `npm ci`: the bench is a guest
and never signs in.
"""
from __future__ import annotations

import argparse
import json
import os
import re
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
SERVED = re.compile(r"changed pages served after ([\d.]+) s")  # in the preview's "Built …" line
SECTION = "## Common language description"
# When the browser painted the current document (epoch ms), as its own paint timing says:
# Playwright's wait for a text retries at growing intervals after a navigation (up to 100 ms
# late), so "shown" is the reloaded page's first contentful paint, not when the bench noticed it.
FIRST_PAINT = """() => {
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  return paint ? performance.timeOrigin + paint.startTime : null;
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mark_record(text: str, mark: str) -> str:
    """The record with `mark` put before the first paragraph of its public section."""
    start = text.find(SECTION)
    if start < 0:
        raise SystemExit(f"the record has no '{SECTION}' section")
    paragraph = re.compile(r"\n\n(?=\S)").search(text, start + len(SECTION))
    if paragraph is None:
        raise SystemExit(f"no paragraph under '{SECTION}'")
    return text[:paragraph.end()] + f"{mark} " + text[paragraph.end():]


def page_of(record: Path) -> str:
    sys.path.insert(0, str(ROOT))
    from codepages.codesets import url_path

    return url_path(record.parent.name, record.stem)


def wait_for_line(events: list[tuple[float, str]], since: int, starts: tuple[str, ...], seconds: float) -> str | None:
    """The first line printed after event `since` that starts with one of `starts` (waiting up to `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = next((line for _, line in events[since:] if line.startswith(starts)), None)
        if found is not None:
            return found
        time.sleep(0.05)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5, help="edits (default 5)")
    parser.add_argument("--project", type=Path, help="project folder, used in place (default: a copy of the test fixture)")
    parser.add_argument("--copy", action="store_true", help="with --project: copy its content/ and templates/ first")
    parser.add_argument("--out", type=Path, help="output folder of the preview (default: site/ of the project)")
    parser.add_argument("--record", type=Path, help="the record to edit, relative to the project "
                        "(default: content/cpt/62326.md with --project, else content/cpt/62320-62327.md)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        if args.project and not args.copy:
            project = args.project.resolve()
        else:
            project = Path(tmp) / "project"
            source = args.project.resolve() if args.project else ROOT / "tests" / "sites" / "valid"
            shutil.copytree(source / "content", project / "content")
            shutil.copytree(source / "templates" if args.project else ROOT / "templates", project / "templates")
        record = project / (args.record or Path("content/cpt/62326.md" if args.project else "content/cpt/62320-62327.md"))
        out = (args.out or project / "site").resolve()
        page_path = page_of(record)
        build_py = project / "build.py" if (project / "build.py").is_file() else ROOT / "build.py"
        edge_root = project if (project / "netlify.toml").is_file() and (project / "edge" / "functions").is_dir() else ROOT
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        accounts = "local provider"
        if not (edge_root / "dev" / "oidc" / "node_modules" / "oidc-provider").is_dir() and not environment.get("OIDC_ISSUER"):
            environment.update({"OIDC_ISSUER": "http://localhost:9/", "OIDC_CLIENT_ID": "bench",
                                "OIDC_CLIENT_SECRET": "bench"})
            accounts = "placeholder OIDC_ISSUER (no local provider installed; the bench is a guest)"
        port = free_port()
        command = [sys.executable, str(build_py), "serve", "--project", str(project), "--port", str(port),
                   "--out", str(out)]
        print(f"preview: {' '.join(command[1:])}; accounts: {accounts}", flush=True)
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env=environment)
        events: list[tuple[float, str]] = []

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                events.append((time.perf_counter(), line))

        threading.Thread(target=read, daemon=True).start()
        base = f"http://127.0.0.1:{port}"
        rows: list[tuple[float, float, float, float]] = []
        noticed: list[float] = []  # save → the bench's wait for the text returned
        original = record.read_text(encoding="utf-8")
        try:
            deadline = time.monotonic() + 600  # a first build of a big project takes minutes
            while not any("Serving" in line for _, line in events):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the preview did not start:\n" + "".join(text for _, text in events[-40:]))
                time.sleep(0.1)
            startup = time.perf_counter() - started
            print(f"preview serving after {startup:.1f} s; opening {page_path}", flush=True)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                     args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page()
                page.goto(base + page_path)
                for i in range(args.n):
                    mark = f"BENCH-MARK-{i}-{time.time_ns()}"
                    seen = len(events)
                    t0, saved_at = time.perf_counter(), time.time()
                    record.write_text(mark_record(original, mark), encoding="utf-8")
                    page.locator(f"text={mark}").first.wait_for(timeout=300_000)
                    seen_at = time.perf_counter()
                    painted_at = page.evaluate(FIRST_PAINT)  # of the document that shows the mark
                    t3 = t0 + (painted_at / 1000 - saved_at) if painted_at else seen_at
                    noticed.append(seen_at - t0)
                    built = wait_for_line(events, seen, ("Built ",), 300)
                    later = events[seen:]
                    t1 = next((t for t, line in later if "Change detected" in line), float("nan"))
                    served = SERVED.search(built or "")
                    t2 = t1 + float(served[1]) if served else float("nan")
                    rows.append((t1 - t0, t2 - t1, t3 - t2, t3 - t0))
                    print(f"edit {i + 1}: save → shown {t3 - t0:.3f} s (seen by the bench after {seen_at - t0:.3f} s)",
                          flush=True)
                    time.sleep(0.5)
                browser.close()
        finally:
            if record.read_text(encoding="utf-8") != original:
                seen = len(events)
                record.write_text(original, encoding="utf-8")
                deadline = time.monotonic() + 300
                while (process.poll() is None and time.monotonic() < deadline
                       and not any(line.startswith(("Built ", "Nothing changed")) or "problem(s)" in line
                                   for _, line in events[seen:])):
                    time.sleep(0.1)  # the restored record rebuilt, so the output matches the content again
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
    print(f"Preview reload bench: {args.n} edits of {record.relative_to(project)} with {page_path} open in Chromium")
    print(f"{'edit':>4} {'watch':>8} {'rebuild':>9} {'notify+reload':>14} {'save→shown':>11} {'(noticed)':>10}")
    for i, ((w, r, n, total), late) in enumerate(zip(rows, noticed, strict=True), 1):
        print(f"{i:>4} {w:>7.3f}s {r:>8.3f}s {n:>13.3f}s {total:>10.3f}s {late:>9.3f}s")
    med = [statistics.median(col) for col in zip(*rows, strict=True)]
    print(f"{'med':>4} {med[0]:>7.3f}s {med[1]:>8.3f}s {med[2]:>13.3f}s {med[3]:>10.3f}s "
          f"{statistics.median(noticed):>9.3f}s")
    print("shown = the reloaded page's first contentful paint (its paint timing); noticed = when the bench's "
          "wait for the text returned (Playwright retries at growing intervals after a navigation)")
    verdict = "met" if med[3] <= BUDGET_S else "MISSED"
    print(f"Budget (issue 15): save → shown <= {BUDGET_S} s: {verdict} (median {med[3]:.3f} s; of it the watch and "
          f"notify+reload path {med[0] + med[2]:.3f} s, the rebuild {med[1]:.3f} s)")
    if args.json:
        names = ("watch", "rebuild", "notify_reload", "total")
        args.json.write_text(json.dumps({
            "project": str(project), "record": str(record.relative_to(project)), "page": page_path,
            "startup_s": startup, "edits": [dict(zip(names, row, strict=True)) for row in rows],
            "median": dict(zip(names, med, strict=True)), "budget_s": BUDGET_S, "met": med[3] <= BUDGET_S,
            "noticed_s": noticed, "median_noticed_s": statistics.median(noticed),
        }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
