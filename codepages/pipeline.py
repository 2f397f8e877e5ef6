"""The build pipeline: `load()` reads and checks everything, `build()` writes the site.

load:  settings → records → resolve references
build: render pages → write to a staging folder → swap it in for the output folder
Each step is timed and logged; every content problem of the run is collected, and any
problem stops the run before the output folder is touched.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import rendering, sealing
from .catalogue import Catalogue, resolve
from .codesets import CODE_SETS
from .errors import ContentError, Problems, SetupError
from .records import load_record, record_paths
from .settings import load_settings
from .sources import load_icd_release, merge_release
from .writing import Staging


@dataclass
class Project:
    content_dir: Path
    templates_dir: Path
    out_dir: Path
    base_url: str | None = None
    secrets_dir: Path = Path(".dev-secrets")  # development keys for local builds (git-ignored)


@dataclass
class Log:
    """Timed steps and progress on stdout (problems go to stderr); quiet keeps only the summary."""

    quiet: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, flush=True)

    @contextmanager
    def step(self, name: str):
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.timings[name] = elapsed
        self.say(f"  {name:<18} {elapsed * 1000:8.0f} ms")

    def progress(self, name: str, items, total: int, every_seconds: float = 2.0):
        """Yield items, reporting 'name: done/total' when a step runs long."""
        last = time.perf_counter()
        for done, item in enumerate(items, 1):
            yield item
            now = time.perf_counter()
            if now - last >= every_seconds:
                self.say(f"  {name}: {done}/{total} ({done * 100 // max(total, 1)} %)")
                last = now


@dataclass
class Loaded:
    catalogue: Catalogue
    env: object
    css: rendering.Asset
    records_read: int  # editors' record files read and checked


def load(project: Project, log: Log, only: list[Path] | None = None) -> Loaded:
    """Read settings, templates and records; raise ContentError with every problem found.

    With `only`, just those records are read; the others are known by their file names.
    """
    problems = Problems()
    with log.step("settings"):
        settings = load_settings(project.content_dir / "site.yaml", problems, project.base_url)
    with log.step("templates"):
        env = rendering.make_environment(project.templates_dir, problems)
        css = rendering.stylesheet(project.templates_dir)
    if settings is None:
        raise ContentError(problems)  # records cannot be checked without the section policy
    with log.step("records"):
        all_paths = record_paths(project.content_dir)
        paths = all_paths if only is None else [p for p in only if p.suffix == ".md"]
        loaded = {p: load_record(p, settings, problems) for p in log.progress("records", paths, len(paths))}
        records = [r for r in loaded.values() if r is not None]
    if settings.has_icd_release:
        with log.step("icd-10-cm release"):
            release = load_icd_release(settings, problems)
            if release is not None:
                records = merge_release(release, records, problems)
    with log.step("references"):
        # unreadable records and those not loaded still count as existing, by file name,
        # so one broken file does not make every reference to it a second problem
        unread = [p for p in all_paths if loaded.get(p) is None or loaded[p].code != p.stem]
        catalogue = resolve(records, settings, problems, frozenset(p.stem for p in unread))
    if problems:
        raise ContentError(problems)
    return Loaded(catalogue, env, css, len(paths))


@dataclass
class BuildResult:
    pages: dict[str, int]
    files: int
    seconds: float


def build(project: Project, log: Log) -> BuildResult:
    try:
        keyring = sealing.load_keys(os.environ, project.secrets_dir / "seal-keys")
    except sealing.SealKeyError as exc:
        raise SetupError(str(exc)) from None
    loaded = load(project, log)
    catalogue = loaded.catalogue
    renderer = rendering.Renderer(loaded.env, catalogue, loaded.css, keyring)
    staging = Staging(project.out_dir)
    try:
        page_paths = write_pages(renderer, catalogue, staging, log)
        with log.step("sitemap"):
            for path, text in renderer.sitemaps(page_paths).items():
                staging.write(path, text)
            staging.write("/robots.txt", renderer.robots())
            staging.write(loaded.css.path, loaded.css.content)
        with log.step("publish"):
            staging.publish()
    except rendering.TemplateProblem as exc:
        staging.discard()
        problems = Problems()
        problems.add(exc.path, exc.line, exc.message)
        raise ContentError(problems) from None
    except BaseException:
        staging.discard()
        raise
    pages = catalogue.counts()
    pages["other"] = len(page_paths) - sum(pages.values())
    return BuildResult(pages, staging.files, time.perf_counter() - log.started)


def write_pages(renderer: rendering.Renderer, catalogue: Catalogue, staging: Staging, log: Log) -> list[str]:
    page_paths = ["/"] + [f"/{key}/" for key in CODE_SETS]
    with log.step("pages"):
        staging.write("/", renderer.home())
        for key in CODE_SETS:
            staging.write(f"/{key}/", renderer.code_set_index(key))
        records = list(catalogue.records.values())
        staging.files += render_records(renderer, records, staging, log)
        page_paths += [record.url for record in records]
        staging.write("/404.html", renderer.not_found())
    return page_paths


# Rendering is CPU-bound and pages are independent: big catalogues are split across
# processes. Workers are forked, so they share the loaded catalogue without pickling it.
PARALLEL_FROM = int(os.environ.get("CODEPAGES_PARALLEL_FROM", "2000"))
CHUNK = 1_000
_WORK: tuple[rendering.Renderer, list, Staging] | None = None


def render_records(renderer: rendering.Renderer, records: list, staging: Staging, log: Log) -> int:
    global _WORK
    workers = min(os.cpu_count() or 1, 8)
    if len(records) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for record in log.progress("pages", records, len(records)):
            staging.write(record.url, renderer.record_page(record))
        return 0  # counted by staging.write already
    _WORK = (renderer, records, staging)
    chunks = [(start, min(start + CHUNK, len(records))) for start in range(0, len(records), CHUNK)]
    written = 0
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for count in log.progress("pages", pool.imap_unordered(_render_chunk, chunks), len(chunks)):
                written += count
    finally:
        _WORK = None
    return written


def _render_chunk(bounds: tuple[int, int]) -> int:
    renderer, records, staging = _WORK
    for record in records[bounds[0]:bounds[1]]:
        staging.write(record.url, renderer.record_page(record))
    return bounds[1] - bounds[0]
