"""The build pipeline: `load()` reads and checks everything, `build()` makes the site.

    build:  plan → load → render → seal → write → index → check → publish → save state

Each step is named and timed in the log. `load` collects every content problem of the run and
raises them together before anything is written. A full build writes into a staging folder
that replaces the output folder whole when it is published; an incremental build is the same
steps over fewer pages, applied to the published folder at the publish step. Either way a
failed build leaves the output folder exactly as it was.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from . import hosting, incremental, rendering, sealing, search
from .catalogue import Catalogue, resolve
from .codesets import CODE_SETS, code_set_of, url_path
from .errors import ContentError, Problems, SetupError
from .log import Log
from .project import Project
from .records import Record, load_record, record_paths
from .settings import Settings, load_settings
from .sources import load_icd_release, merge_release
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
    sources: list[Path] = field(default_factory=list)  # official source files read


def load(project: Project, log: Log, only: list[Path] | None = None) -> Site:
    """Read settings, templates, records and sources; raise ContentError with every problem found.

    With `only`, just those records are read; the others are known by their file names.
    """
    problems = Problems()
    settings = load_settings(project.settings_file, problems, project.base_url)
    env = rendering.make_environment(project.templates_dir, problems)
    if settings is None or env is None:
        raise ContentError(problems)  # records cannot be checked without the section policy
    all_paths = record_paths(project.content_dir)
    paths = all_paths if only is None else [p for p in only if p.suffix == ".md"]
    loaded = {p: load_record(p, settings, problems) for p in log.progress("records", paths, len(paths))}
    records = [r for r in loaded.values() if r is not None]
    sources: list[Path] = []
    if settings.has_icd_release:
        release = load_icd_release(settings, problems)
        if release is not None:
            sources.append(release.path)
            records = merge_release(release, records, problems)
    # unreadable records and those not loaded still count as existing, by file name,
    # so one broken file does not make every reference to it a second problem
    unread = frozenset(p.stem for p in all_paths if (r := loaded.get(p)) is None or r.code != p.stem)
    catalogue = resolve(records, settings, problems, unread)
    if problems:
        raise ContentError(problems)
    return Site(project, settings, catalogue, env, rendering.stylesheet(project.templates_dir), len(paths), sources)


@dataclass
class BuildResult:
    pages: dict[str, int]
    files: int
    seconds: float
    mode: str = "full"  # "full", "incremental" (only changed pages) or "up to date"
    largest_folder: tuple[int, str] = (0, "")  # entries, folder


def build(project: Project, log: Log, full: bool = False) -> BuildResult:
    """Build the site: every page into a staging folder, or only the pages editors' changes touch."""
    keyring = _seal_keys(project)
    with log.step("plan"):
        plan = incremental.make_plan(project, keyring, full)
    if plan.mode == "up to date":
        log.say("  nothing changed since the last build")
        return BuildResult({}, 0, log.elapsed, "up to date")
    with log.step("load"):
        site = load(project, log)
        inputs = incremental.confirm(plan, project, site.sources)
    catalogue = site.catalogue
    renderer = rendering.Renderer(site.env, catalogue, site.css, project.templates_dir)
    writer: Writer = Staging(project.out_dir) if plan.full else InPlace(project.out_dir)
    try:
        removed: set[str] = set()
        if plan.full:
            records = list(catalogue.records.values())
        else:
            assert plan.previous is not None
            changed, removed = incremental.changed_pages(plan.previous, catalogue)
            records = [r for code in sorted(changed) if (r := catalogue.get(code)) is not None]
        for code in sorted(removed):
            code_set = code_set_of(code)
            if code_set is not None:
                writer.remove(url_path(code_set.key, code))
        page_paths = _page_paths(catalogue)
        jobs = [renderer.home, renderer.not_found, renderer.search_page, renderer.robots,
                *(lambda key=key: renderer.code_set_index(key) for key in CODE_SETS)]
        _render_seal_write(renderer, keyring, records, jobs, writer, log)
        for page in renderer.sitemaps(page_paths):
            writer.write(page.url, page.html)
        writer.write(site.css.path, site.css.content)
        with log.step("index"):
            search.write_index(catalogue, project.templates_dir, writer, log)
        with log.step("check"):
            stats = writer.stats()
            hosting.check(stats, site.settings.hosting)
        with log.step("publish"):
            writer.publish()
    except rendering.TemplateProblem as exc:
        writer.discard()
        problems = Problems()
        problems.add(exc.path, exc.line, exc.message)
        raise ContentError(problems) from None
    except BaseException:
        writer.discard()
        raise
    with log.step("save state"):
        incremental.finish(plan, project, catalogue, site.sources, inputs)
    pages = catalogue.counts()
    pages["other"] = len(page_paths) - sum(pages.values())
    count, folder = stats.largest_folder()
    return BuildResult(pages, writer.files, log.elapsed, plan.mode, (count, stats.name(folder)))


def _seal_keys(project: Project) -> sealing.Keyring:
    try:
        return sealing.load_keys(os.environ, project.secrets_dir / "seal-keys")
    except sealing.SealKeyError as exc:
        raise SetupError(str(exc)) from None


def _page_paths(catalogue: Catalogue) -> list[str]:
    """Every page of the site, for the sitemap."""
    return ["/", "/search/"] + [f"/{key}/" for key in CODE_SETS] + [r.url for r in catalogue.records.values()]


# the render → seal → write steps, page by page -------------------------------------------------

Work = tuple[rendering.Renderer, sealing.Keyring, list[Record], Writer]
_WORK: Work | None = None
STAGES = ("render", "seal", "write")


def _render_seal_write(renderer: rendering.Renderer, keyring: sealing.Keyring, records: list[Record],
                       jobs: list[Callable[[], rendering.Page]], writer: Writer, log: Log) -> None:
    """Render, seal and write every page; log the time of each of the three steps.

    Big catalogues are split across forked worker processes (each writes its own files, so
    only counts and timings come back); the times are then CPU time summed over workers.
    """
    global _WORK
    totals = dict.fromkeys(STAGES, 0.0)
    started = time.perf_counter()
    workers = min(os.cpu_count() or 1, 8)
    parallel = (len(records) >= PARALLEL_FROM and workers >= 2 and isinstance(writer, Staging)
                and "fork" in multiprocessing.get_all_start_methods())
    if parallel:
        _WORK = (renderer, keyring, records, writer)
        chunks = [(start, min(start + CHUNK, len(records))) for start in range(0, len(records), CHUNK)]
        gc.freeze()  # the loaded catalogue is shared copy-on-write: keep the collector off its pages
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for times, part in log.progress("pages", pool.imap_unordered(_render_chunk, chunks), len(chunks)):
                    assert isinstance(writer, Staging)
                    writer.merge(part)
                    for stage, seconds in times.items():
                        totals[stage] += seconds
        finally:
            _WORK = None
            gc.unfreeze()
    else:
        for _, times in (_render_pages(renderer, keyring, [record], writer) for record in
                         log.progress("pages", records, len(records))):
            for stage, seconds in times.items():
                totals[stage] += seconds
    for _, times in (_render_pages(renderer, keyring, [job], writer) for job in jobs):
        for stage, seconds in times.items():
            totals[stage] += seconds
    how = f"CPU, {workers} workers" if parallel else "one process"
    log.say(f"  {len(records) + len(jobs)} pages in {time.perf_counter() - started:.2f} s ({how}):")
    for stage in STAGES:
        log.record(stage, totals[stage])


def _render_chunk(bounds: tuple[int, int]) -> tuple[dict[str, float], Part]:
    """In a worker: one chunk of pages; what it wrote goes back to the parent's writer."""
    assert _WORK is not None
    renderer, keyring, records, writer = _WORK
    assert isinstance(writer, Staging)
    writer.start_part()
    _, times = _render_pages(renderer, keyring, records[bounds[0]:bounds[1]], writer)
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

