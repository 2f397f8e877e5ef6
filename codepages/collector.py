"""Pausing Python's cyclic garbage collector while a build runs.

A build holds some 300,000 long-lived objects (the catalogue) that hold no cycles, and makes
millions of short-lived ones; every full collection walks all of them for nothing. Reference
counting still frees memory as usual; the collector runs again once the build is over.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
