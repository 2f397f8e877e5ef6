"""One pass over every HTML file of a built site (~100,000 for the demo), collecting what the
whole-catalogue tests check: links, titles, descriptions, breadcrumbs and JSON-LD, and the
instructional notes as a reader sees them.

Pages are read as bytes and searched with regular expressions (BeautifulSoup over 100,000
pages would take many minutes); the patterns match the markup the templates write, and each
check that uses them is also tested on a sample page with BeautifulSoup (test_catalogue_scan).
The demo's pages hold 1.3 GB of HTML, so every pattern run over a whole page begins with a
literal (Python's re then skips to it at memory speed; a pattern that begins with a class such
as \\s is tried at every byte, ~5× slower), and sections are cut out with bytes.find.
"""
from __future__ import annotations

import hashlib
import html
import json
import multiprocessing
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

# href="…" and src="…" after white space: the literal first, the white space checked after
LINKS = [re.compile(rb'href="(?<=\shref=")([^"]*)"'), re.compile(rb'src="(?<=\ssrc=")([^"]*)"')]
TITLE = re.compile(rb"<title>(.*?)</title>", re.S)
DESCRIPTION = re.compile(rb'<meta name="description" content="([^"]*)"')
CODE_PAGE = re.compile(rb'<main[^>]*class="code-page" data-code="([^"]+)" data-code-set="([^"]+)"')
BREADCRUMBS = re.compile(rb'<nav class="breadcrumbs"')
JSON_LD = b'<script type="application/ld+json">'
NOTES = b'<section class="notes" id="notes"'
COMMA_BULLET = re.compile(rb"<li[^>]*>(?:\s|<[^>]+>)*,")
SEVENTH = re.compile(rb'<div class="seventh-characters">.*?</table>', re.S)
ROW = re.compile(rb"<tr[^>]*>(.*?)</tr>", re.S)
GOOD_ROW = re.compile(rb'<th scope="row">[0-9A-Z]</th><td>(?!\s*</td>).+</td>', re.S)
ANCHOR = re.compile(rb'<a href="([^"]*)">(.*?)</a>', re.S)
TAG = re.compile(rb"<[^>]+>")
ICD = rb"[A-Z](?:[0-9][0-9A-Z]|A[0-9])(?:\.[0-9A-Z]{1,4})?"  # the ICD-10-CM code form (QA0 too)
RANGE = re.compile(rb"(?<![0-9A-Za-z./])(" + ICD + rb")-(" + ICD + rb")(?![0-9A-Za-z])")
RANGE_DASH = re.compile(rb"-[A-Z]")  # where a range may be: its dash (a literal, see above)
CODE_RUN = re.compile(rb"[0-9A-Z.]*\Z")  # the code characters just before a dash
# A site-absolute path with no query, fragment, escape, entity or dot segment (/., /..)
PLAIN_PATH = re.compile(rb"/(?:[A-Za-z0-9_~-][A-Za-z0-9_.~-]*/?)*")
RANGE_URL = re.compile(r"/icd-10-cm/([A-Z][0-9A-Z][0-9A-Z])-([A-Z][0-9A-Z][0-9A-Z])/$")


@dataclass
class Scan:
    site: Path
    files: set[str] = field(default_factory=set)  # every file, relative, posix
    folders: set[str] = field(default_factory=set)  # every folder, relative, posix ("" is the root)
    pages: int = 0
    code_pages: int = 0
    links_checked: int = 0
    bad_links: list[tuple[str, str, str]] = field(default_factory=list)  # page, href, why
    long_titles: list[tuple[str, str]] = field(default_factory=list)
    descriptions: dict[str, list[str]] = field(default_factory=dict)  # description → code pages
    descriptions_without_code: list[tuple[str, str]] = field(default_factory=list)
    missing_breadcrumb_json_ld: list[str] = field(default_factory=list)
    pages_with_breadcrumbs: int = 0
    pages_with_notes: int = 0
    comma_bullets: list[str] = field(default_factory=list)
    seventh_tables: int = 0
    seventh_rows: int = 0
    orphan_rows: list[tuple[str, str]] = field(default_factory=list)
    ranges_in_notes: int = 0
    unlinked_ranges: Counter[str] = field(default_factory=Counter)  # "O70-O71" → pages
    misdirected_ranges: list[tuple[str, str, str]] = field(default_factory=list)  # page, range, target


def links(data: bytes) -> list[bytes]:
    """The href and src values of a page (hrefs first), as written (entities not decoded)."""
    return LINKS[0].findall(data) + LINKS[1].findall(data)


def between(data: bytes, start: bytes, end: bytes) -> list[bytes]:
    """Each part of `data` from `start` to the first `end` after it, both included."""
    parts, at = [], data.find(start)
    while at >= 0:
        stop = data.find(end, at + len(start))
        if stop < 0:
            break
        parts.append(data[at:stop + len(end)])
        at = data.find(start, stop + len(end))
    return parts


def notes_section(data: bytes) -> bytes | None:
    """The page's section of instructional notes, if it has one."""
    at = data.find(NOTES)
    stop = data.find(b"</section>", at + len(NOTES)) if at >= 0 else -1
    return data[at:stop + len(b"</section>")] if stop >= 0 else None


def ranges(text: bytes) -> list[re.Match[bytes]]:
    """Every RANGE in `text`, as RANGE.finditer finds them: from each dash back over the code
    characters before it (a range starts where they do: its lookbehind refuses any of them)."""
    found: list[re.Match[bytes]] = []
    end = 0
    for dash in RANGE_DASH.finditer(text):
        at = dash.start()
        if at < end:
            continue
        start = CODE_RUN.search(text, max(end, at - 16), at).start()
        match = RANGE.match(text, start)
        if match and match.end(1) == at:
            found.append(match)
            end = match.end()
    return found


def url_of(relative: str) -> str:
    """The address a file is served at: cpt/623/62326/index.html → /cpt/623/62326/."""
    if relative.endswith("index.html"):
        return "/" + relative[: -len("index.html")]
    return "/" + relative


def inventory(site: Path) -> tuple[set[str], set[str]]:
    files: set[str] = set()
    folders: set[str] = {""}
    for folder, subfolders, names in os.walk(site):
        here = os.path.relpath(folder, site)
        here = "" if here == "." else here.replace(os.sep, "/") + "/"
        folders.update(here + s for s in subfolders)
        files.update(here + n for n in names)
    return files, folders


def link_problem(href: str, page_url: str, files: set[str], folders: set[str]) -> str | None:
    """Why following `href` from `page_url` would not give a file at once (404 or redirect), else None."""
    target = urlparse(href)
    if target.scheme or target.netloc or href.startswith(("#", "mailto:", "tel:", "data:")):
        return None
    path = urljoin(page_url, unquote(target.path)) if target.path else page_url
    return path_problem(path, files, folders)


def path_problem(path: str, files: set[str], folders: set[str]) -> str | None:
    """Why the site-absolute, normalised `path` would not give a file at once, else None."""
    if path.startswith("/auth/"):
        return None  # answered by the edge function, not by a file
    relative = path.lstrip("/")
    if path.endswith("/"):
        return None if relative + "index.html" in files else "no index.html in that folder (404)"
    if relative in files:
        return None
    if relative in folders:
        return "a folder without its trailing slash (redirects)"
    return "no such file (404)"


def covers(url: str, first: str, last: str) -> bool:
    """Whether the page at `url` holds the range first-last: a block or chapter page
    (/icd-10-cm/A00-B99/) whose range contains it, or the code set's index, which lists every
    chapter (for a range wider than one chapter, such as H00-H95)."""
    if url == "/icd-10-cm/":
        return True
    found = RANGE_URL.search(url)
    return bool(found) and found[1] <= first[:3] and last[:3] <= found[2]


def scan(site: Path, workers: int = 2) -> Scan:
    """Read every HTML file of `site`; with `workers` > 1, in that many processes (started fresh,
    not forked, so a test process with browser threads can use it)."""
    files, folders = inventory(site)
    pages = sorted(f for f in files if f.endswith(".html"))
    if workers <= 1 or len(pages) < 1_000:
        return _scan_part(site, files, folders, pages)
    chunks = [pages[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        parts = pool.starmap(_scan_part, [(site, files, folders, chunk) for chunk in chunks])
    result = Scan(site, files, folders)
    for part in parts:
        for name in ("pages", "code_pages", "links_checked", "pages_with_breadcrumbs", "pages_with_notes",
                     "seventh_tables", "seventh_rows", "ranges_in_notes"):
            setattr(result, name, getattr(result, name) + getattr(part, name))
        for name in ("bad_links", "long_titles", "descriptions_without_code", "missing_breadcrumb_json_ld",
                     "comma_bullets", "orphan_rows", "misdirected_ranges"):
            getattr(result, name).extend(getattr(part, name))
            getattr(result, name).sort()
        for description, where in part.descriptions.items():
            result.descriptions.setdefault(description, []).extend(where)
        result.unlinked_ranges.update(part.unlinked_ranges)
    return result


def bad_links(site: Path, pages: list[Path] | None = None) -> list[tuple[str, str, str]]:
    """(page, href, why) for each link on `pages` (default: every HTML file of `site`) that gives
    no file at once: the crawl's link check alone, for a few pages or a small site."""
    files, folders = inventory(site)
    relatives = (sorted(f for f in files if f.endswith(".html")) if pages is None
                 else [page.relative_to(site).as_posix() for page in pages])
    _SAME_ON_EVERY_PAGE.clear()
    result = Scan(site, files, folders)
    for relative in relatives:
        _links(result, relative, url_of(relative), (site / relative).read_bytes())
    return result.bad_links


def _scan_part(site: Path, files: set[str], folders: set[str], pages: list[str]) -> Scan:
    _SAME_ON_EVERY_PAGE.clear()
    _NOTES_SEEN.clear()
    result = Scan(site, files, folders)
    for relative in pages:
        data = (site / relative).read_bytes()
        page_url = url_of(relative)
        result.pages += 1
        _links(result, relative, page_url, data)
        _head(result, relative, data)
        _notes(result, relative, data)
    result.files, result.folders = set(), set()  # the caller has them: do not send them back
    return result


_SAME_ON_EVERY_PAGE: dict[bytes, str | None] = {}  # an absolute link's verdict does not depend on the page


def _links(result: Scan, relative: str, page_url: str, data: bytes) -> None:
    found = links(data)
    result.links_checked += len(found)
    for raw in dict.fromkeys(found):  # each link of the page once, in order
        absolute = raw.startswith((b"/", b"http:", b"https:"))
        if absolute and raw in _SAME_ON_EVERY_PAGE:
            why = _SAME_ON_EVERY_PAGE[raw]
        else:
            if PLAIN_PATH.fullmatch(raw):  # most links: what urljoin and unquote would give unchanged
                why = path_problem(raw.decode("ascii"), result.files, result.folders)
            else:
                href = raw.decode("utf-8")
                why = link_problem(html.unescape(href) if "&" in href else href, page_url, result.files,
                                   result.folders)
            if absolute:
                _SAME_ON_EVERY_PAGE[raw] = why
        if why:
            result.bad_links.append((relative, html.unescape(raw.decode("utf-8")), why))


def _head(result: Scan, relative: str, data: bytes) -> None:
    title = TITLE.search(data)
    text = html.unescape(title[1].decode("utf-8")) if title else ""
    if len(text) > 70 or not text:
        result.long_titles.append((relative, text))
    if BREADCRUMBS.search(data):
        result.pages_with_breadcrumbs += 1
        types = set()
        for block in between(data, JSON_LD, b"</script>"):
            value = json.loads(block[len(JSON_LD):-len(b"</script>")].decode("utf-8"))
            for item in value if isinstance(value, list) else [value]:
                types.add(item.get("@type"))
        if "BreadcrumbList" not in types:
            result.missing_breadcrumb_json_ld.append(relative)
    code = CODE_PAGE.search(data)
    if code:
        result.code_pages += 1
        found = DESCRIPTION.search(data)
        description = html.unescape(found[1].decode("utf-8")) if found else ""
        result.descriptions.setdefault(description, []).append(relative)
        if code[1].decode() not in description:
            result.descriptions_without_code.append((relative, description))


@dataclass(frozen=True)
class NotesVerdict:
    """What the notes checks find in one notes section (the same on every page that holds it)."""

    comma_bullet: bool
    seventh_tables: int
    seventh_rows: int
    orphan_rows: list[str]
    ranges: int
    misdirected_ranges: list[tuple[str, str]]  # range, target
    unlinked_ranges: list[str]


# Sibling codes inherit the same notes: more than half the sections are repeats. Keyed by digest,
# not by the section itself (hundreds of megabytes).
_NOTES_SEEN: dict[bytes, NotesVerdict] = {}


def _notes(result: Scan, relative: str, data: bytes) -> None:
    section = notes_section(data)
    if section is None:
        return
    key = hashlib.blake2b(section, digest_size=16).digest()
    verdict = _NOTES_SEEN.get(key)
    if verdict is None:
        verdict = _NOTES_SEEN[key] = read_notes(section)
    result.pages_with_notes += 1
    if verdict.comma_bullet:
        result.comma_bullets.append(relative)
    result.seventh_tables += verdict.seventh_tables
    result.seventh_rows += verdict.seventh_rows
    result.orphan_rows.extend((relative, row) for row in verdict.orphan_rows)
    result.ranges_in_notes += verdict.ranges
    result.misdirected_ranges.extend((relative, range_, target) for range_, target in verdict.misdirected_ranges)
    result.unlinked_ranges.update(verdict.unlinked_ranges)


def read_notes(section: bytes) -> NotesVerdict:
    tables = rows = ranges_found = 0
    orphan_rows, misdirected = [], []
    for table in SEVENTH.findall(section):
        tables += 1
        body = table.split(b"<tbody>", 1)[-1]
        for row in ROW.findall(body):
            rows += 1
            if not GOOD_ROW.fullmatch(row.strip()):
                orphan_rows.append(row.decode("utf-8", "replace")[:120])
    for anchor in ANCHOR.finditer(section):
        label = TAG.sub(b"", anchor[2]) if b"<" in anchor[2] else anchor[2]
        for found in ranges(label) if b"-" in label else ():
            ranges_found += 1
            first, last = found[1].decode(), found[2].decode()
            target = anchor[1].decode()
            own = f"/icd-10-cm/{first}-{last}/"
            if target != own and not covers(target, first, last) and "." not in first + last:
                misdirected.append((f"{first}-{last}", target))
    unlinked = [found[0].decode() for found in ranges(TAG.sub(b" ", ANCHOR.sub(b" @ ", section)))]
    return NotesVerdict(bool(COMMA_BULLET.search(section)), tables, rows, orphan_rows, ranges_found + len(unlinked),
                        misdirected, unlinked)
