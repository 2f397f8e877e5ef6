#!/usr/bin/env python3
"""Bytes a visitor downloads per search, measured by running the real search page in Chromium.

    .venv/bin/python bench/search_bytes.py [--site site/] [--files] [--json FILE]

Builds nothing: it serves an existing build (default `site/`, from `python build.py`) on
127.0.0.1, opens /search/ in headless Chromium for every query, waits until the page has
loaded, then counts the body bytes of every response the search causes (Playwright's
`page.on("response")`), in a fresh browser context each time (nothing cached).

- "raw" is the bytes as stored and as the browser's fetch sees them: no HTTP compression.
  Pagefind's index files and wasm are gzip-compressed on disk already; its JS and our JSON
  shards are not.
- "served" estimates the transfer with HTTP compression (Netlify compresses text): gzip -6
  of every response that is not compressed already.
- The page's icon is counted with the page, not with a search: Chromium asks for it whenever it
  likes, often only after the page has loaded, and it is the page's, not the search's.
- Codes are measured pasted (one lookup) and typed one character at a time with every
  keystroke's lookup settling (the most a lookup can cost). Words are measured as a first
  search on a freshly opened page, typed at once (the search page waits for a pause in
  typing), and, for information, with a search after every keystroke.

Budgets (issue 15), judged on "served": a code lookup <= 10 KB (the code typed one character at
a time, every keystroke's lookup counted), a first keyword search <= 100 KB (typed at once on a
freshly opened page; the filtered searches are shown, not judged). Prints a table (and with
--json writes the figures); asserts nothing.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CODES = ["62326", "m545", "M54.50", "s72001a", "J1040"]
WORDS = ["low back pain", "epidural steroid", "femur fracture"]
FILTERED = [("low back pain", {"#search-set": "icd-10-cm"}), ("pain", {"#search-chapter": "M00-M99"})]
CODE_BUDGET = 10 * 1024  # issue 15: code lookup <= 10 KB transferred
WORDS_BUDGET = 100 * 1024  # issue 15: first keyword search <= 100 KB transferred, compressed as served
STOCK_PAGEFIND = "586 KB – 1.3 MB per first search (stock Pagefind 1.5.2 over the 75k full pages; ~494 KB of it pf_meta)"
PAGE_ICON = "/assets/favicon."  # /assets/favicon.<digest>.svg, the icon every page links (base.html)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@dataclass
class Fetched:
    files: list[tuple[str, int, int]] = field(default_factory=list)  # (path, raw bytes, served bytes)

    def add(self, url: str, body: bytes) -> None:
        served = len(body) if body[:2] == b"\x1f\x8b" or not body else len(gzip.compress(body, 6))
        self.files.append((url, len(body), served))

    @property
    def raw(self) -> int:
        return sum(f[1] for f in self.files)

    @property
    def served(self) -> int:
        return sum(f[2] for f in self.files)


def measure(browser, base: str, steps: list[str], filters: dict[str, str] | None = None) -> tuple[Fetched, Fetched, str]:
    """(bytes to open the search page, bytes of the search, the status line)."""
    context = browser.new_context(base_url=base)
    page = context.new_page()
    opening, searching = Fetched(), Fetched()
    current = [opening]

    def on_response(response):
        path = response.url.replace(base, "")
        if current[0] is searching and path.startswith(PAGE_ICON):
            return  # the page's icon, which Chromium may ask for after the page has loaded: not the search's
        try:
            body = response.body()
        except Exception:  # a redirect or an aborted request has no body
            body = b""
        current[0].add(path, body)

    page.on("response", on_response)
    page.goto("/search/")
    page.wait_for_load_state("networkidle")
    current[0] = searching
    for selector, value in (filters or {}).items():
        page.select_option(selector, value)
        page.evaluate("() => window.codepagesSearch.settled()")
    for text in steps:
        page.fill("#search-input", text)
        page.evaluate("() => window.codepagesSearch.settled()")
    page.wait_for_load_state("networkidle")
    status = page.inner_text("#search-status")
    context.close()
    return opening, searching, status


def kb(n: int) -> str:
    return f"{n / 1024:7.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site", help="a built site (default: site/)")
    parser.add_argument("--files", action="store_true", help="list every file fetched")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    if not (site / "search" / "index.html").exists() or not (site / "pagefind" / "pagefind.js").exists():
        print(f"{site} has no search: build it first (python build.py)", file=sys.stderr)
        return 1
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            opening = None
            for code in CODES:
                opening, pasted, status = measure(browser, base, [code])
                _, typed, _ = measure(browser, base, [code[:i] for i in range(1, len(code) + 1)])
                rows.append(("code", code, pasted, typed, CODE_BUDGET, typed.served, status))
            for words in WORDS:
                _, first, status = measure(browser, base, [words])
                _, typed, _ = measure(browser, base, [words[:i] for i in range(1, len(words) + 1)])
                rows.append(("words", words, first, typed, WORDS_BUDGET, first.served, status))
            for words, filters in FILTERED:
                _, first, status = measure(browser, base, [words], filters)
                label = f"{words} [{', '.join(f'{k[8:]}={v}' for k, v in filters.items())}]"
                rows.append(("words+filter", label, first, None, WORDS_BUDGET, first.served, status))
        finally:
            browser.close()
            server.shutdown()

    print(f"Search bytes per query on {site} (KB = 1024 bytes; fresh browser, nothing cached)\n")
    print(f"Opening /search/ itself: {kb(opening.raw).strip()} KB raw, {kb(opening.served).strip()} KB served "
          f"({', '.join(Path(f[0]).name or f[0] for f in opening.files)}) — not counted below.\n")
    header = (f"{'kind':<13} {'query':<38} {'files':>5} {'raw KB':>7} {'served':>7} {'typed':>7} {'served':>7} "
              f"{'budget':>7}  within")
    print(header)
    print("-" * len(header))
    for kind, query, first, typed, budget, measured, _status in rows:
        typed_kb = f"{kb(typed.raw)} {kb(typed.served)}" if typed else "      -       -"
        ok = "yes" if measured <= budget else "NO"
        if kind == "words+filter":
            ok = f"({ok}; not judged)"
        print(f"{kind:<13} {query:<38} {len(first.files):>5} {kb(first.raw)} {kb(first.served)} {typed_kb} "
              f"{kb(budget)}  {ok}")
    print()
    print("raw    = bytes as stored/fetched, no HTTP compression (Pagefind's index and wasm are gzip files already)")
    print("served = estimate with HTTP gzip for what is not compressed already (Netlify compresses text)")
    print("typed  = the same query typed one character at a time, each keystroke's search settling (raw, served)")
    print(f"within = issue 15: codes: 'typed' served ≤ {CODE_BUDGET // 1024} KB; words: first search served ≤ "
          f"{WORDS_BUDGET // 1024} KB")
    print(f"stock  = {STOCK_PAGEFIND}")
    first_words = next(r for r in rows if r[0] == "words")[2]
    print(f"\nWhat a first keyword search ({WORDS[0]!r}) fetched:")
    groups: dict[str, list[tuple[int, int]]] = {}
    for path, raw, served in first_words.files:
        name = path.split("?")[0]
        kind = ("pagefind.js" if name.endswith("pagefind.js") else "wasm" if name.endswith(".pagefind")
                else "pf_meta" if name.endswith(".pf_meta") else "index chunks" if name.endswith(".pf_index")
                else "fragments" if name.endswith(".pf_fragment") else "filters" if name.endswith(".pf_filter")
                else Path(name).name)
        groups.setdefault(kind, []).append((raw, served))
    for kind, sizes in groups.items():
        print(f"  {kind:<22} {len(sizes):>3} file(s) {kb(sum(r for r, _ in sizes))} KB raw "
              f"{kb(sum(s for _, s in sizes))} KB served")
    code_rows = [r for r in rows if r[0] == "code"]
    word_rows = [r for r in rows if r[0] == "words"]
    worst_code = max(code_rows, key=lambda r: r[5])
    worst_words = max(word_rows, key=lambda r: r[5])
    print(f"\nBudget (issue 15): code lookup ≤ {CODE_BUDGET // 1024} KB served: "
          f"{'met' if worst_code[5] <= CODE_BUDGET else 'MISSED'} (worst {worst_code[1]!r} typed, "
          f"{worst_code[5] / 1024:.1f} KB); first keyword search ≤ {WORDS_BUDGET // 1024} KB served: "
          f"{'met' if worst_words[5] <= WORDS_BUDGET else 'MISSED'} (worst {worst_words[1]!r}, "
          f"{worst_words[5] / 1024:.1f} KB)")
    if args.json:
        def files(fetched: Fetched | None) -> list[dict]:
            return [{"path": f[0], "raw": f[1], "served": f[2]} for f in (fetched.files if fetched else [])]

        args.json.write_text(json.dumps({
            "site": str(site),
            "budgets": {"code_served": CODE_BUDGET, "words_served": WORDS_BUDGET},
            "opening": {"raw": opening.raw, "served": opening.served, "files": files(opening)},
            "rows": [{"kind": kind, "query": query, "raw": first.raw, "served": first.served,
                      "typed_raw": typed.raw if typed else None, "typed_served": typed.served if typed else None,
                      "budget": budget, "judged": measured, "within": measured <= budget, "status": status,
                      "files": files(first)}
                     for kind, query, first, typed, budget, measured, status in rows],
            "code_met": worst_code[5] <= CODE_BUDGET,
            "words_met": worst_words[5] <= WORDS_BUDGET,
        }, indent=1))
    if args.files:
        for kind, query, first, _typed, *_ in rows:
            print(f"\n{kind} {query!r}:")
            for path, raw, served in first.files:
                print(f"  {raw:>8} {served:>8}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
