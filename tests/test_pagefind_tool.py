"""Pagefind's binary: fetched from the npm registry and checked against its pinned integrity,
looked for in the project, and refused (with what to do) when missing or of another version.

The network is replaced by a fake `urlopen` here (a unit test of the download's checks); the
real download is what `make site` and `make test` run (`build.py fetch`), and every build of
the suite runs the binary it fetched."""
from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, build_in_process, make_project

from codepages.search import pagefind

PACKAGE = "@pagefind/linux-x64"


def tarball(binary: bytes, name: str = pagefind.BINARY) -> bytes:
    """An npm package tarball holding `binary` where the platform packages hold Pagefind's."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        info = tarfile.TarInfo(f"package/bin/{name}")
        info.size, info.mode = len(binary), 0o755
        archive.addfile(info, io.BytesIO(binary))
    return out.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class Registry:
    """A fake npm registry: answers every download with `body`; `asked` records the URLs."""

    def __init__(self) -> None:
        self.body, self.asked = b"", []

    def urlopen(self, url: str, timeout: float) -> io.BytesIO:
        self.asked.append(url)
        return io.BytesIO(self.body)  # a context manager, as urlopen's response is


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    fake = Registry()
    monkeypatch.setattr(urllib.request, "urlopen", fake.urlopen)  # fetch imports it when it runs
    monkeypatch.setattr(pagefind.platform, "system", lambda: "Linux")
    monkeypatch.setattr(pagefind.platform, "machine", lambda: "x86_64")
    return fake


def test_fetch_installs_the_pinned_binary_once(registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    body = tarball(b"#!/bin/sh\necho pagefind 1.6.0\n")
    registry.body = body
    monkeypatch.setitem(pagefind.PLATFORM_PACKAGES, ("Linux", "x86_64"), (PACKAGE, integrity(body)))
    binary = pagefind.fetch(tmp_path / "tools")
    assert binary == tmp_path / "tools" / f"pagefind-{pagefind.PAGEFIND_VERSION}" / "pagefind_extended"
    assert binary.read_bytes() == b"#!/bin/sh\necho pagefind 1.6.0\n" and binary.stat().st_mode & 0o111
    assert registry.asked == [f"https://registry.npmjs.org/{PACKAGE}/-/linux-x64-{pagefind.PAGEFIND_VERSION}.tgz"]
    assert pagefind.fetch(tmp_path / "tools") == binary
    assert len(registry.asked) == 1, "a second fetch downloads nothing"


def test_fetch_refuses_a_tarball_that_is_not_the_pinned_one(registry, tmp_path: Path):
    registry.body = tarball(b"#!/bin/sh\necho something else\n")
    with pytest.raises(pagefind.SearchIndexError, match=r"has integrity sha512-.*but codepages/search/pagefind\.py "
                                                        r"pins sha512-IbMSx.*nothing was installed"):
        pagefind.fetch(tmp_path / "tools")
    assert not (tmp_path / "tools").exists()


def test_fetch_says_when_the_package_holds_no_binary(registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    body = tarball(b"#!/bin/sh\n", name="pagefind")
    registry.body = body
    monkeypatch.setitem(pagefind.PLATFORM_PACKAGES, ("Linux", "x86_64"), (PACKAGE, integrity(body)))
    with pytest.raises(pagefind.SearchIndexError, match=r"holds no bin/pagefind_extended: Pagefind's packaging changed"):
        pagefind.fetch(tmp_path / "tools")
    assert not (tmp_path / "tools").exists()


def test_fetch_says_which_platforms_are_pinned(registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pagefind.platform, "system", lambda: "Plan9")
    with pytest.raises(pagefind.SearchIndexError, match=r"pinned for Linux x86_64 only, not Plan9 x86_64: put a "
                                                        r"Pagefind 1\.6\.0 binary named pagefind on PATH"):
        pagefind.fetch(tmp_path / "tools")
    assert registry.asked == []


@pytest.fixture
def nowhere_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pagefind neither in this checkout, nor from pagefind-bin, nor on PATH."""
    monkeypatch.setattr(pagefind, "CHECKOUT_TOOLS", tmp_path / "no-checkout-tools")
    monkeypatch.setattr(pagefind, "_pip_installed", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    pagefind.executable.cache_clear()
    yield
    pagefind.executable.cache_clear()


def test_a_build_without_pagefind_says_to_fetch_it_and_keeps_the_site(tmp_path: Path, nowhere_else):
    project = make_project(tmp_path)
    (project / "site").mkdir()
    (project / "site" / "index.html").write_text("the last good site")
    result = build_in_process(project)
    assert result.returncode == 1
    assert "the search index needs Pagefind 1.6.0, which is not in" in result.stderr
    assert "run `codepages fetch` (or `python build.py fetch`) in the project" in result.stderr
    assert "Traceback" not in result.stderr
    assert [p.name for p in (project / "site").iterdir()] == ["index.html"]
    assert (project / "site" / "index.html").read_text() == "the last good site"


def fake_pagefind(path: Path, version: str = pagefind.PAGEFIND_VERSION) -> Path:
    """A program at `path` that answers `--version` as Pagefind `version` does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho pagefind {version}\n")
    path.chmod(0o755)
    return path


def test_a_pagefind_of_another_version_is_refused(tmp_path: Path, nowhere_else):
    tools = tmp_path / "tools"
    fake_pagefind(pagefind.fetched_binary(tools), "1.5.2")
    with pytest.raises(pagefind.SearchIndexError, match=r"is Pagefind 1\.5\.2; this build reads the bundle layout "
                                                        r"of Pagefind 1\.6\.0: run `codepages fetch`"):
        pagefind.executable(tools)


def test_the_projects_own_pagefind_comes_first(tmp_path: Path, nowhere_else, monkeypatch: pytest.MonkeyPatch):
    tools = tmp_path / "tools"
    binary = fake_pagefind(pagefind.fetched_binary(tools))
    pip_installed = fake_pagefind(tmp_path / "site-packages" / "pagefind_bin" / "pagefind")
    monkeypatch.setattr(pagefind, "_pip_installed", lambda: str(pip_installed))
    assert pagefind.executable(tools) == str(binary)


def test_pagefind_bin_is_used_once_it_ships_the_pinned_version(tmp_path: Path, nowhere_else,
                                                                monkeypatch: pytest.MonkeyPatch):
    binary = fake_pagefind(tmp_path / "site-packages" / "pagefind_bin" / "pagefind")
    monkeypatch.setattr(pagefind, "_pip_installed", lambda: str(binary))
    assert pagefind.executable(tmp_path / "tools") == str(binary)


def test_an_interrupted_wait_stops_pagefind_and_removes_its_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Ctrl-C (or the preview's SIGTERM) while a build waits for Pagefind: Pagefind stops with
    it. Left running, it outlived the preview, wrote into a removed folder and hung there."""
    documents = tmp_path / "documents"
    documents.mkdir()
    for n in range(200):
        (documents / f"{n}.html").write_text(f"<html lang='en'><body><h1>Code {n}</h1><p>words {n}</p></body></html>")
    run = pagefind.PagefindRun(documents, pagefind.read_documents(documents), "digest", tmp_path, [],
                               ROOT / ".codepages" / "tools").start()
    process, bundle = run.process, run.bundle
    assert process is not None and bundle is not None and process.poll() is None

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # as the signal handler raises it in the waiting thread
    monkeypatch.setattr(process, "communicate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.finish()
    assert process.poll() is not None, "Pagefind still runs after the build was interrupted"
    assert not bundle.exists() and run.process is None
