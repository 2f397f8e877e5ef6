"""Progress and timing on stdout (problems go to stderr); quiet keeps only the summary line."""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Log:
    quiet: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time one named step of the build and print its line when it ends."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.record(name, time.perf_counter() - start)

    def record(self, name: str, seconds: float, note: str = "") -> None:
        self.timings[name] = self.timings.get(name, 0.0) + seconds
        self.say(f"  {name:<14} {seconds * 1000:8.0f} ms{('  ' + note) if note else ''}")

    def progress(self, name: str, items: Iterable[T], total: int, every_seconds: float = 2.0) -> Iterator[T]:
        """Yield items, reporting 'name: done/total' when a step runs long."""
        last = time.perf_counter()
        for done, item in enumerate(items, 1):
            yield item
            now = time.perf_counter()
            if now - last >= every_seconds:
                self.say(f"  {name}: {done}/{total} ({done * 100 // max(total, 1)} %)")
                last = now

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started
