#!/usr/bin/env python3
"""Codepages command line (the same as the `codepages` command): build the site, check content, preview.

  python build.py                  build content/ into site/
  python build.py check [FILE…]    validate only (all records, the named ones, or --changed)
  python build.py serve [--port N] build, then preview on loopback with the real edge function
"""
from codepages.cli import run

if __name__ == "__main__":
    run()
