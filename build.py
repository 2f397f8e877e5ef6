#!/usr/bin/env python3
"""Codepages command line: build the site, check content, preview.

  python build.py                  build content/ into site/
  python build.py check [FILE…]    validate only (all records, the named ones, or --changed)
  python build.py serve [--port N] build, then preview on loopback with the real edge function
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from codepages.errors import ContentError, SetupError
from codepages.pipeline import Log, Project, build, load
from codepages.serving import serve

ROOT = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description="Build and check the Codepages site.")
    parser.add_argument("command", nargs="?", default="build", choices=["build", "check", "serve"], help="default: build")
    parser.add_argument("files", nargs="*", type=Path, help="check: only these record files")
    parser.add_argument("--changed", action="store_true", help="check: only the records git reports changed")
    parser.add_argument("--out", type=Path, default=ROOT / "site", help="output folder (default: site/)")
    parser.add_argument("--base-url", help="absolute site URL for canonical links and the sitemap")
    parser.add_argument("--content", type=Path, default=ROOT / "content", help="content folder (default: content/)")
    parser.add_argument("--templates", type=Path, default=ROOT / "templates", help="templates folder")
    parser.add_argument("--full", action="store_true", help="rebuild every page, even if nothing changed")
    parser.add_argument("--port", type=int, default=8888, help="serve: port on 127.0.0.1 (default 8888)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only problems and the summary")
    args = parser.parse_args(argv)
    if args.files and args.command != "check":
        parser.error("file names are only taken by 'check'")

    project = Project(args.content.resolve(), args.templates.resolve(), args.out.resolve(), args.base_url,
                      secrets_dir=ROOT / ".dev-secrets", cache_dir=ROOT / ".build-cache")
    log = Log(quiet=args.quiet)
    try:
        if args.command == "check":
            return check(project, log, args.files, args.changed)
        if args.command == "serve":
            return serve(project, ROOT, args.port)
        result = build(project, log, incremental=not args.full)
    except ContentError as error:
        return report(error, project)
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        print(f"{display(project.out_dir)}/ was not changed.", file=sys.stderr)
        return 1
    if result.mode == "up to date":
        print(f"Nothing changed: {display(project.out_dir)}/ is up to date ({result.seconds:.2f} s).")
        return 0
    counts = ", ".join(f"{key} {count}" for key, count in result.pages.items())
    how = f", {result.files} files rewritten" if result.mode == "incremental" else ""
    print(f"Built {sum(result.pages.values())} pages ({counts}{how}) in {result.seconds:.2f} s → {display(project.out_dir)}/")
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
    loaded = load(project, log, only)
    print(f"Checked {loaded.records_read} records: no problems.")
    return 0


def changed_records(project: Project) -> list[Path] | None:
    """Records git reports changed or new; None when settings or templates changed too."""
    def git(*args: str) -> list[str]:
        result = subprocess.run(["git", *args], cwd=project.content_dir, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"check --changed needs a git checkout: {result.stderr.strip()}")
        return [line for line in result.stdout.splitlines() if line]

    top = Path(git("rev-parse", "--show-toplevel")[0])
    names = set(git("diff", "--name-only", "HEAD") if git("rev-parse", "--verify", "-q", "HEAD") else [])
    names.update(git("diff", "--name-only", "--cached"))
    names.update(top / name for name in git("ls-files", "--others", "--exclude-standard", "--full-name", str(top)))
    paths = {(top / name).resolve() for name in names}
    if any(p == project.content_dir / "site.yaml" or p.is_relative_to(project.templates_dir) for p in paths):
        return None
    return sorted(p for p in paths if p.suffix == ".md" and p.parent.parent == project.content_dir and p.exists())


def report(error: ContentError, project: Project) -> int:
    problems = error.problems.sorted()
    for problem in problems:
        print(problem, file=sys.stderr)
    files = len({p.path for p in problems})
    print(f"{len(problems)} problem(s) in {files} file(s); {display(project.out_dir)}/ was not changed.", file=sys.stderr)
    return 1


def display(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


if __name__ == "__main__":
    sys.exit(main())
