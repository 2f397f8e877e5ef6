"""Shared helpers: build fixture sites with the real command line and read them as a visitor."""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from bs4 import BeautifulSoup

from codepages.codesets import url_path

ROOT = Path(__file__).resolve().parent.parent
SITES = Path(__file__).resolve().parent / "sites"


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


def broken_links(site: Path, pages=None) -> list[tuple[str, str]]:
    """Site-relative links (and stylesheets) on `pages` (default: all) that lead to no file."""
    broken = []
    for path in pages if pages is not None else site.rglob("*.html"):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for link in soup.find_all(["a", "link"], href=True):
            target = urlparse(link["href"])
            if target.scheme or target.netloc or not target.path or target.path.startswith("/auth/"):
                continue  # /auth/ is answered by the edge function, not by a file
            file = site / unquote(target.path).lstrip("/")
            if target.path.endswith("/"):
                file = file / "index.html"
            if not file.is_file():
                broken.append((path.relative_to(site).as_posix(), link["href"]))
    return broken


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory) -> Path:
    """The valid fixture site, built once."""
    project = make_project(tmp_path_factory.mktemp("valid"))
    result = build_in_process(project)
    assert result.returncode == 0, result.stderr
    return project / "site"


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> tuple[Path, Run]:
    """The real content/ of the repository, built once (in a child process: the full catalogue
    forks render workers), and what the build printed."""
    out = tmp_path_factory.mktemp("demo") / "site"
    result = run_build("--out", str(out), "--base-url", "https://demo.example")
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.fixture(scope="session")
def demo_site(demo_build) -> Path:
    return demo_build[0]


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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")


def pytest_collection_modifyitems(config, items):
    """Every test that drives Chromium (uses the `chromium` fixture, directly or through another
    fixture) is a browser test: `pytest -m "not browser"` is the quick loop without them."""
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
