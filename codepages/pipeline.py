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

from . import incremental as incremental_state
from . import rendering, search, sealing
from .catalogue import Catalogue, resolve
from .codesets import CODE_SETS, code_set_of, url_path
from .errors import ContentError, Problems, SetupError
from .records import load_record, record_paths
from .settings import load_settings
from .sources import load_icd_release, merge_release
from .writing import InPlace, Staging


@dataclass
class Project:
    content_dir: Path
    templates_dir: Path
    out_dir: Path
    base_url: str | None = None
    secrets_dir: Path = Path(".dev-secrets")  # development keys for local builds (git-ignored)
    cache_dir: Path = Path(".build-cache")  # what the last build saw, for incremental rebuilds (git-ignored)


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
    mode: str = "full"  # "full", "incremental" (only changed pages) or "up to date"


def build(project: Project, log: Log, incremental: bool = True) -> BuildResult:
    """Build the site: in full into a staging folder, or only the pages editors' changes touch."""
    try:
        keyring = sealing.load_keys(os.environ, project.secrets_dir / "seal-keys")
    except sealing.SealKeyError as exc:
        raise SetupError(str(exc)) from None
    probe = load_settings(project.content_dir / "site.yaml", Problems(), project.base_url)
    release = probe.icd_release_path if probe else None
    options = f"{project.out_dir}|{project.base_url}|{os.environ.get('CONTEXT', '')}"
    state_path = incremental_state.state_file(project.cache_dir, project.out_dir)
    state = incremental_state.read_state(state_path) if incremental else None
    published = (project.out_dir / "index.html").exists()
    stats = incremental_state.stats_fingerprint(project.content_dir, project.templates_dir, release, options, keyring)
    if state and published and state.stats == stats:
        log.say("  nothing changed since the last build")
        return BuildResult({}, 0, time.perf_counter() - log.started, "up to date")

    loaded = load(project, log)
    catalogue = loaded.catalogue
    renderer = rendering.Renderer(loaded.env, catalogue, loaded.css, keyring)
    inputs = incremental_state.inputs_fingerprint(project.content_dir, project.templates_dir, release, options, keyring)
    records = incremental_state.record_digests(project.content_dir, catalogue.records)
    try:
        if state and published and state.inputs == inputs:
            affected, removed = incremental_state.affected_codes(state.records, records, catalogue)
            writer = InPlace(project.out_dir)
            with log.step("changed pages"):
                for code in sorted(removed):
                    code_set = code_set_of(code)
                    if code_set is not None:
                        writer.remove(url_path(code_set.key, code))
                for code in sorted(affected):
                    if catalogue.get(code) is not None:
                        writer.write(catalogue.get(code).url, renderer.record_page(catalogue.get(code)))
            page_paths = write_common_pages(renderer, catalogue, writer, loaded.css, log)
            files, mode = writer.files, "incremental"
        else:
            staging = Staging(project.out_dir)
            try:
                with log.step("pages"):
                    staging.files += render_records(renderer, list(catalogue.records.values()), staging, log)
                page_paths = write_common_pages(renderer, catalogue, staging, loaded.css, log)
                with log.step("publish"):
                    staging.publish()
            except BaseException:
                staging.discard()
                raise
            files, mode = staging.files, "full"
    except rendering.TemplateProblem as exc:
        problems = Problems()
        problems.add(exc.path, exc.line, exc.message)
        raise ContentError(problems) from None
    incremental_state.write_state(state_path, incremental_state.BuildState(stats, inputs, records))
    pages = catalogue.counts()
    pages["other"] = len(page_paths) - sum(pages.values())
    return BuildResult(pages, files, time.perf_counter() - log.started, mode)


def write_common_pages(renderer: rendering.Renderer, catalogue: Catalogue, writer, css: rendering.Asset,
                       log: Log) -> list[str]:
    """Home, code-set indexes, 404, sitemap, robots.txt and the stylesheet; returns every page path."""
    with log.step("indexes, sitemap"):
        writer.write("/", renderer.home())
        for key in CODE_SETS:
            writer.write(f"/{key}/", renderer.code_set_index(key))
        writer.write("/404.html", renderer.not_found())
        with log.step("search index"):
            search.write_index(renderer, catalogue, writer.folder, log, getattr(writer, "target", None))
        writer.write("/search/", renderer.search_page())
        page_paths = ["/", "/search/"] + [f"/{key}/" for key in CODE_SETS] + [r.url for r in catalogue.records.values()]
        for path, text in renderer.sitemaps(page_paths).items():
            writer.write(path, text)
        writer.write("/robots.txt", renderer.robots())
        writer.write(css.path, css.content)
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
