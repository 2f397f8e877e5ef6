"""Where the test suite's CPU goes: a pytest plugin for one serial run (`-n 0`).

    PYTHONPATH=bench TMPDIR="$(dev/test-scratch)" .venv/bin/python -m pytest -p suite_cpu -n 0 -q

Before the first test it waits for the installed demo build (tests/conftest.py starts it at
collection) and reports that build on its own line; then it charges each test the whole
machine's CPU time (/proc/stat, read as build_bench.py reads it for its noise figure) between
its start and its end, setup and teardown included, so the servers, browsers and builds a test
starts count too. At the end it prints CPU and wall seconds per test module, costliest first,
and the 15 costliest tests (SUITE_CPU_TESTS=N: the N costliest). The run must be serial and the
machine otherwise idle, or other work is charged to the tests. Linux only.
"""
from __future__ import annotations

import os
import sys
import time
from collections import Counter

import pytest
from build_bench import machine_busy_seconds

_started: dict[str, tuple[float, float]] = {}
_tests: list[tuple[float, float, str]] = []  # CPU s, wall s, node id


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("numprocesses", None):
        raise pytest.UsageError("suite_cpu needs a serial run: add -n 0")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    build = getattr(sys.modules.get("conftest"), "_installed", None)
    if build is not None:
        wall, cpu = time.monotonic(), machine_busy_seconds()
        build.result()
        _tests.append((machine_busy_seconds() - cpu, time.monotonic() - wall, "(installed demo build)"))


def pytest_runtest_logstart(nodeid: str) -> None:
    _started[nodeid] = (time.monotonic(), machine_busy_seconds())


def pytest_runtest_logfinish(nodeid: str) -> None:
    wall, cpu = _started.pop(nodeid)
    _tests.append((machine_busy_seconds() - cpu, time.monotonic() - wall, nodeid))


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest's TerminalReporter
    cpu: Counter[str] = Counter()
    wall: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for seconds, elapsed, nodeid in _tests:
        module = nodeid.split("::")[0]
        cpu[module] += seconds
        wall[module] += elapsed
        count[module] += 1
    write = terminalreporter.write_line
    write(f"\nCPU by module (whole machine, {sum(cpu.values()):.1f} s in all; wall {sum(wall.values()):.1f} s)")
    for module, seconds in cpu.most_common():
        write(f"{seconds:8.1f} s CPU {wall[module]:8.1f} s wall {count[module]:5d} tests  {module}")
    write("\nCostliest tests")
    for seconds, elapsed, nodeid in sorted(_tests, reverse=True)[:int(os.environ.get("SUITE_CPU_TESTS", "15"))]:
        write(f"{seconds:8.1f} s CPU {elapsed:8.1f} s wall  {nodeid}")
