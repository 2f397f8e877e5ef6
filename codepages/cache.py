"""Parsed sources kept between builds, keyed by what they were made from.

A release file that did not change is not parsed again: its parsed form is pickled in the
project's `.codepages/cache/`, under a key made of the files' contents (SHA-256) and of the
code that reads them. A damaged or stale entry is rebuilt, never trusted.

Within one process (the preview rebuilds on every save) the last few values are also kept in
memory under the same keys, so a rebuild does not unpickle them again. Parsed sources are
never changed once made: everyone who asks for a key gets the same object.
"""
from __future__ import annotations

import dataclasses
import hashlib
import operator
import os
import pickle
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import TypeVar

from . import collector

T = TypeVar("T")
Class = TypeVar("Class", bound=type)
CACHE_VERSION = "1"
MEMORY_ENTRIES = 8  # values kept in memory (an ICD-10-CM release and its reference are the big ones)
_memory: OrderedDict[str, object] = OrderedDict()


def pickled_by_fields(cls: Class) -> Class:
    """Make a dataclass unpickle by calling it with its fields in order (each must be an argument
    of its __init__): by default a slotted object's state is set one field at a time in Python,
    and the 98,000 entries of an ICD-10-CM release took 0.52 s to unpickle instead of 0.22 s."""
    fields = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))

    def reduce(self: object) -> tuple[type, tuple[object, ...]]:
        return cls, fields(self)

    cls.__reduce__ = reduce  # type: ignore[assignment]
    return cls


def remembered(key: str, kind: type[T]) -> T | None:
    """The value kept in memory under `key` (a cache file's path), if any."""
    value = _memory.get(key)
    if not isinstance(value, kind):
        return None
    _memory.move_to_end(key)
    return value


def remember(key: str, value: T) -> T:
    _memory[key] = value
    _memory.move_to_end(key)
    while len(_memory) > MEMORY_ENTRIES:
        _memory.popitem(last=False)
    return value


@cache
def file_digest(path: Path, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file (remembered per size and time within one process)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digest_of(path: Path) -> str:
    stat = path.stat()
    return file_digest(path.resolve(), stat.st_size, stat.st_mtime_ns)


def cached(cache_dir: Path | None, name: str, inputs: Iterable[Path], code: Iterable[Path],
           make: Callable[[], T], kind: type[T]) -> T:
    """`make()`, or what an earlier `make()` returned for the same input files and reading code."""
    if cache_dir is None:
        return make()
    key = hashlib.sha256(f"{CACHE_VERSION}|{name}".encode())
    for path in [*inputs, *code]:
        key.update(f"|{path.name}|{digest_of(path)}".encode())
    target = cache_dir / f"{name}-{key.hexdigest()[:32]}.pickle"
    kept = remembered(str(target), kind) or load(target, kind)
    if kept is not None:
        return remember(str(target), kept)
    value = make()
    for stale in cache_dir.glob(f"{name}-*.pickle"):
        stale.unlink(missing_ok=True)
    store(target, value)
    return remember(str(target), value)


def load(path: Path, kind: type[T]) -> T | None:
    """What `store` pickled at `path` if it is a `kind`; None when it is missing, damaged or of
    other code (a cache is rebuilt, never trusted)."""
    try:
        with collector.paused(), open(path, "rb") as handle:  # objects without cycles: collecting only costs time
            value = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError,
            ValueError):
        return None
    return value if isinstance(value, kind) else None


def store(target: Path, value: object) -> None:
    """Pickle `value` to `target` through a temporary file of its own, so that a reader (or another
    build writing the same file) never sees half of it."""
    temporary = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(descriptor, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, target)
    except OSError:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)  # a cache that cannot be written only costs time
