"""The build pipeline: `load()` reads and checks everything, `build()` makes the site.

    build:  plan → search, early → load → pages to make → index → render → seal → write
            → sitemap → index (Pagefind) → check → publish → save state

Each step is named and timed in the log. `load` collects every content problem of the run and
raises them together before anything is written. A full build writes into a staging folder
that replaces the output folder whole when it is published; an incremental build is the same
steps over fewer pages, applied to the published folder at the publish step. Either way a
failed build leaves the output folder exactly as it was. A full build of a big catalogue
renders the record pages in worker processes, which start right after "index": "pages to
make" then runs in this process while they render.
"""
from __future__ import annotations

import functools
import gc
import hashlib
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from . import cache, collector, hosting, incremental, rendering, sealing, search
from .catalogue import Catalogue, resolve
from .codesets import CODE_SETS, code_set_of, record_paths, url_path
from .errors import ContentError, Problems
from .log import Log
from .project import Project
from .records import ParsedRecords, Record
from .settings import Settings, load_settings
from .sources import Sources, load_sources, merge, newest_releases
from .writing import InPlace, Part, Staging, Writer

# Rendering is CPU-bound and pages are independent: big catalogues are split across
# processes. Workers are forked, so they share the loaded catalogue without pickling it.
PARALLEL_FROM = int(os.environ.get("CODEPAGES_PARALLEL_FROM", "2000"))
CHUNK = 1_000


@dataclass
class Site:
    """Everything a build renders from, checked."""

    project: Project
    settings: Settings
    catalogue: Catalogue
    env: jinja2.Environment
    css: rendering.Asset
    records_read: int  # editors' record files read and checked
    source_files: list[Path] = field(default_factory=list)  # official source files read
    sources: Sources | None = None


def load(project: Project, log: Log, only: list[Path] | None = None) -> Site:
    """Read settings, templates, records and sources; raise ContentError with every problem found.

    With `only`, just those records are read; the others are known by their file names.
    """
    with collector.paused():
        return _load(project, log, only)


def _load(project: Project, log: Log, only: list[Path] | None) -> Site:
    problems = Problems()
    settings = load_settings(project.settings_file, problems, project.base_url)
    env = rendering.make_environment(project.templates_dir, problems, project.cache_dir / "templates")
    if settings is None or env is None:
        raise ContentError(problems)  # records cannot be checked without the section policy
    all_paths = record_paths(project.content_dir)
    paths = all_paths if only is None else [p for p in only if p.suffix == ".md"]
    parsed = ParsedRecords(project.cache_dir / "records.pickle", _reading(project))
    loaded = {p: parsed.load(p, settings, problems) for p in log.progress("records", paths, len(paths))}
    if only is None:
        parsed.save()
    records = [r for r in loaded.values() if r is not None]
    sources = load_sources(settings, project, problems)
    records = merge(sources, settings, records, problems)
    # unreadable records and those not loaded still count as existing, by file name,
    # so one broken file does not make every reference to it a second problem
    unread = frozenset(p.stem for p in all_paths if (r := loaded.get(p)) is None or r.code != p.stem)
    catalogue = resolve(records, settings, problems, unread)
    if problems:
        raise ContentError(problems)
    _date_records(catalogue, project, sources)
    return Site(project, settings, catalogue, env, rendering.stylesheet(project.templates_dir), len(paths),
                sources.files, sources)


def _reading(project: Project) -> str:
    """What parsing a record depends on besides its text: the settings, the base URL, the build's code."""
    digest = hashlib.sha256(f"{project.base_url}|{cache.digest_of(project.settings_file)}".encode())
    for path in sorted(incremental.CODE_DIR.rglob("*")):
        if path.suffix in (".py", ".json"):
            digest.update(f"|{path.relative_to(incremental.CODE_DIR)}|{cache.digest_of(path)}".encode())
    return digest.hexdigest()


def _date_records(catalogue: Catalogue, project: Project, sources: Sources) -> None:
    """When each page's content last changed, for the sitemap: an editor's record by its last commit
    (or, outside git, its file's time), an official entry by its release's effective date."""
    released: dict[str, str] = {}
    if sources.reference is not None:
        released["icd-10-cm"] = sources.reference.history.current.effective.isoformat()
    if sources.hcpcs is not None:
        released["hcpcs"] = _quarter_start(sources.hcpcs.version)
    committed = _commit_dates(project.content_dir)
    for record in catalogue.records.values():
        if record.digest is not None:
            record.updated = committed.get(str(record.path)) or time.strftime(
                "%Y-%m-%d", time.gmtime(record.path.stat().st_mtime))
        else:
            record.updated = released.get(record.code_set, "")
    for group, members in catalogue.group_members.items():  # a CPT folder page: as new as its newest code
        catalogue.records[group].updated = max((r.updated for r in members), default="")


def _quarter_start(version: str | None) -> str:
    months = {"JAN": "01", "APR": "04", "JUL": "07", "OCT": "10"}
    year, _, month = (version or "").partition(" ")
    return f"{year}-{months[month]}-01" if year.isdigit() and month in months else ""


def _commit_dates(content: Path) -> dict[str, str]:
    """Path → date of the last commit that touched it (empty outside a git checkout)."""
    try:
        result = subprocess.run(["git", "log", "--format=%x00%cs", "--name-only", "--", "."], cwd=content,
                                capture_output=True, text=True, timeout=30)
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=content, capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return {}
    if result.returncode != 0 or top.returncode != 0:
        return {}
    root = Path(top.stdout.strip())
    dates: dict[str, str] = {}
    for block in result.stdout.split("\0")[1:]:
        day, *names = block.strip().split("\n")
        for name in names:
            dates.setdefault(str((root / name.strip()).resolve()), day)
    return dates


@dataclass
class BuildResult:
    pages: dict[str, int]
    files: int
    seconds: float
    mode: str = "full"  # "full", "incremental" (only changed pages) or "up to date"
    largest_folder: tuple[int, str] = (0, "")  # entries, folder


def build(project: Project, log: Log, full: bool = False,
          pages_ready: Callable[[], None] | None = None, plan: incremental.Plan | None = None) -> BuildResult:
    """Build the site: every page into a staging folder, or only the pages editors' changes touch.

    `pages_ready` (the preview's reload): an incremental build then publishes its pages as soon
    as they are made, calls it, and publishes the updated word index when Pagefind is done.
    `plan`: the plan step already made (`incremental.plan_build`), as the command line does.
    """
    plan = plan or incremental.plan_build(project, log, full)
    if plan.mode == "up to date":
        return BuildResult({}, 0, log.elapsed, "up to date")
    with collector.paused():
        return _build(project, log, plan, pages_ready)


def _build(project: Project, log: Log, plan: incremental.Plan, pages_ready: Callable[[], None] | None) -> BuildResult:
    keyring = plan.keyring
    # the preview publishes the changed pages before it runs Pagefind: nothing to start early for
    early = None
    if pages_ready is None:
        with log.step("search, early"):
            early = search.start_early(project, plan, project.cache_dir / search.DOCUMENTS_FOLDER, search.version())
    try:
        with log.step("load"):
            site = load(project, log)
            inputs = incremental.confirm(plan, project, site.source_files)
    except BaseException:
        if early is not None:
            early.stop()
        raise
    if early is not None and plan.full:
        early.stop()
        early = None
    catalogue = site.catalogue
    reference = site.sources.reference if site.sources is not None else None
    releases = newest_releases(site.sources) if site.sources is not None else {}
    renderer = rendering.Renderer(site.env, catalogue, site.css, project.templates_dir, reference, releases)
    writer: Writer = Staging(project.out_dir) if plan.full else InPlace(project.out_dir)
    index: search.Indexing | None = None
    # the preview's update: the changed pages are published first, then the search data is made;
    # otherwise Pagefind works in the background while the pages are made
    pages_first = pages_ready is not None and not plan.full

    def start_index(work: Pages | None) -> search.Indexing:
        """The search data made, and Pagefind started on it: all of it in a full build (or before
        `work`, an update's pages, is known), else that of the update's codes. A moved code changes
        the search groups and depths of everything below it: all is made again."""
        with log.step("index"):
            return search.start_index(catalogue, project.templates_dir, writer, project.cache_dir,
                                      None if plan.full or work is None or work.moved else
                                      {r.code for r in work.records} | work.removed,
                                      low_priority=pages_first, tools_dir=project.tools_dir, early=early)

    def make_pages() -> Pages:
        with log.step("pages to make"):
            work = _pages_to_make(plan, catalogue, renderer)
        for url in work.removals:
            writer.remove(url)
        return work

    try:
        if _in_workers(plan, catalogue, writer):
            # The search data first (Pagefind then works while the pages are rendered), then the
            # workers start on the record pages and this process makes the other pages meanwhile,
            # instead of leaving a core idle. Made after the workers were forked, the search data
            # was a third copy of the catalogue's pages (its reads write reference counts): +0.07 GB.
            index = start_index(None)
            work = _render_in_workers(renderer, keyring, list(catalogue.records.values()), make_pages, writer, log)
        else:
            work = make_pages()
            if not pages_first:
                index = start_index(work)
            _render_here(renderer, keyring, work.records, work.jobs, writer, log)
        for static in (site.css, *renderer.assets.values()):
            writer.write(static.path, static.content)
        if pages_ready is not None and pages_first:
            _check_and_publish(writer, site, log, "publish pages")
            pages_ready()
        if index is None:  # the pages came first
            index = start_index(work)
        with log.step("sitemap"):
            page_paths = _page_paths(catalogue, work.lists)
            for page in renderer.sitemaps(page_paths):
                writer.write(page.url, page.html)
        with log.step("index (Pagefind)"):
            indexed = index.finish(log)
        stats = _check_and_publish(writer, site, log, "publish")
    except rendering.TemplateProblem as exc:
        _abandon(writer, index, early)
        problems = Problems()
        problems.add(exc.path, exc.line, exc.message)
        raise ContentError(problems) from None
    except BaseException:
        _abandon(writer, index, early)
        raise
    count, folder = stats.largest_folder()
    largest = (count, stats.name(folder))
    if not plan.full and plan.previous is not None:  # an update sees the folders it touched only
        largest = max(largest, plan.previous.largest_folder)
    with log.step("save state"):
        incremental.finish(plan, project, catalogue, site.source_files, inputs, work.lists, largest)
        search.save_state(indexed, project.cache_dir)
    pages = catalogue.counts()
    pages["other"] = len(page_paths) - sum(pages.values())
    return BuildResult(pages, writer.files, log.elapsed, plan.mode, largest)


@dataclass
class Pages:
    """What a build makes: the record pages, the other pages, and what it removes."""

    records: list[Record]
    jobs: list[Callable[[], rendering.Page]]
    lists: list[str]  # URLs of the list pages the site has once built (for the sitemap)
    removed: set[str] = field(default_factory=set)  # codes whose pages go
    removals: list[str] = field(default_factory=list)  # URLs of the pages that go
    moved: set[str] = field(default_factory=set)  # codes now under another parent: the search data is made whole


def _pages_to_make(plan: incremental.Plan, catalogue: Catalogue, renderer: rendering.Renderer) -> Pages:
    if plan.full:
        made = renderer.change_lists(CODE_SETS) + renderer.exclusion_lists()
        jobs: list[Callable[[], rendering.Page]] = [
            renderer.home, renderer.not_found, renderer.search_page, renderer.robots, renderer.help_page,
            *(functools.partial(renderer.code_set_index, key) for key in CODE_SETS)]
        return Pages(list(catalogue.records.values()), jobs + [functools.partial(_made, page) for page in made],
                    sorted(page.url for page in made))
    # editors' records changed: their pages, and the lists and indexes of the codes shown differently there
    # (the CC exclusion lists show release codes only)
    assert plan.previous is not None
    changes = incremental.changed_pages(plan.previous, catalogue)
    records = [r for code in sorted(changes.pages) if (r := catalogue.get(code)) is not None]
    removals = [url_path(s.key, code) for code in sorted(changes.removed) if (s := code_set_of(code))]
    touched = sorted({s.key for code in changes.faces if (s := code_set_of(code))})
    made = renderer.change_lists(touched)
    lists = sorted([url for url in plan.previous.lists if url.split("/")[1] not in touched or
                    url.startswith("/icd-10-cm/cc-exclusions/")] + [page.url for page in made])
    removals += sorted(set(plan.previous.lists) - set(lists))  # list pages no longer made
    jobs = [renderer.home] if touched else []
    jobs += [functools.partial(renderer.code_set_index, key) for key in touched]
    return Pages(records, jobs + [functools.partial(_made, page) for page in made], lists, changes.removed, removals,
                 changes.moved)


def _check_and_publish(writer: Writer, site: Site, log: Log, step: str) -> hosting.FolderStats:
    with log.step("check"):
        stats = writer.stats()
        hosting.check(stats, site.settings.hosting)
    with log.step(step):
        writer.publish()
    return stats


def _abandon(writer: Writer, index: search.Indexing | None, early: search.PagefindRun | None) -> None:
    if index is not None:
        index.abandon()
    if early is not None:  # stopping a run twice, or one that finished, does nothing more
        early.stop()
    writer.discard()


def _made(page: rendering.Page) -> rendering.Page:
    return page


def _page_paths(catalogue: Catalogue, extra: list[str]) -> list[tuple[str, str]]:
    """Every page of the site, with the date its content last changed, for the sitemap."""
    newest = max((r.updated for r in catalogue.records.values()), default="")
    listed = [(path, newest) for path in ["/", "/search/", "/help/assistant/", *(f"/{k}/" for k in CODE_SETS), *extra]]
    return listed + [(r.url, r.updated) for r in catalogue.records.values()]


# the render → seal → write steps, page by page -------------------------------------------------

Work = tuple[rendering.Renderer, sealing.Keyring, list[Record], Writer]
_WORK: Work | None = None
STAGES = ("render", "seal", "write")


def _in_workers(plan: incremental.Plan, catalogue: Catalogue, writer: Writer) -> bool:
    """Whether the record pages are rendered by forked worker processes: a full build of a big catalogue."""
    import multiprocessing  # here: an edit's build renders in one process and need not import it

    return (plan.full and len(catalogue.records) >= PARALLEL_FROM and _worker_count() >= 2
            and isinstance(writer, Staging) and "fork" in multiprocessing.get_all_start_methods())


def _worker_count() -> int:
    return min(os.cpu_count() or 1, 8)


def _render_in_workers(renderer: rendering.Renderer, keyring: sealing.Keyring, records: list[Record],
                       meanwhile: Callable[[], Pages], writer: Writer, log: Log) -> Pages:
    """Render, seal and write the record pages in forked worker processes (each writes its own
    files, so only counts and timings come back), while this process runs `meanwhile()` and
    renders the other pages it returns; log the CPU time of each step summed over processes."""
    import multiprocessing

    global _WORK
    assert isinstance(writer, Staging)
    totals = dict.fromkeys(STAGES, 0.0)
    started = time.perf_counter()
    workers = _worker_count()
    _WORK = (renderer, keyring, records, writer)
    chunks = [(start, min(start + CHUNK, len(records))) for start in range(0, len(records), CHUNK)]
    gc.freeze()  # the loaded catalogue is shared copy-on-write: keep the collector off its pages
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.imap_unordered(_render_chunk, chunks)
            others = meanwhile()
            _add_times(totals, _render_pages(renderer, keyring, others.jobs, writer)[1])
            for times, part in log.progress("pages", results, len(chunks)):
                writer.merge(part)
                _add_times(totals, times)
    finally:
        _WORK = None
        gc.unfreeze()
    _log_times(log, totals, len(records) + len(others.jobs), started, f"CPU, {workers} workers")
    return others


def _render_here(renderer: rendering.Renderer, keyring: sealing.Keyring, records: list[Record],
                 jobs: list[Callable[[], rendering.Page]], writer: Writer, log: Log) -> None:
    """Render, seal and write the pages in this process; log the time of each of the three steps."""
    totals = dict.fromkeys(STAGES, 0.0)
    started = time.perf_counter()
    for _, times in (_render_pages(renderer, keyring, [record], writer) for record in
                     log.progress("pages", records, len(records))):
        _add_times(totals, times)
    _add_times(totals, _render_pages(renderer, keyring, jobs, writer)[1])
    _log_times(log, totals, len(records) + len(jobs), started, "one process")


def _add_times(totals: dict[str, float], times: dict[str, float]) -> None:
    for stage, seconds in times.items():
        totals[stage] += seconds


def _log_times(log: Log, totals: dict[str, float], pages: int, started: float, how: str) -> None:
    log.say(f"  {pages} pages in {time.perf_counter() - started:.2f} s ({how}):")
    for stage in STAGES:
        log.record(stage, totals[stage])


def _render_chunk(bounds: tuple[int, int]) -> tuple[dict[str, float], Part]:
    """In a worker: one chunk of pages; what it wrote goes back to the parent's writer."""
    assert _WORK is not None
    gc.disable()  # rendering makes short-lived objects only; a worker lives for one build
    renderer, keyring, records, writer = _WORK
    assert isinstance(writer, Staging)
    writer.start_part()
    _, times = _render_pages(renderer, keyring, records[bounds[0]:bounds[1]], writer)
    renderer.forget_neighbours()
    return times, writer.end_part()


def _render_pages(renderer: rendering.Renderer, keyring: sealing.Keyring,
                  items: list[Record] | list[Callable[[], rendering.Page]], writer: Writer) -> tuple[int, dict[str, float]]:
    times = dict.fromkeys(STAGES, 0.0)
    clock = time.process_time if _WORK is not None else time.perf_counter
    for item in items:
        start = clock()
        page = renderer.record_page(item) if isinstance(item, Record) else item()
        rendered = clock()
        html = sealing.seal_page(keyring, page.url, page.html, page.protected) if page.protected else page.html
        sealed = clock()
        writer.write(page.url, html)
        times["render"] += rendered - start
        times["seal"] += sealed - rendered
        times["write"] += clock() - sealed
    return len(items), times

