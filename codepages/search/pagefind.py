"""Running Pagefind over documents: the pinned binary, fetched from the npm registry.

Pagefind 1.6.0 is published on npm only (PyPI's pagefind-bin stops at 1.5.2), as one package
per platform holding the binary. `fetch` (the `codepages fetch` command) downloads the tarball
of this platform's package, checks it against the sha512 pinned here (npm's own integrity
value) and unpacks the binary into the project's `.codepages/tools/`; the build looks for it
there, then in the checkout this package runs from (fixture projects), then in an installed
pagefind-bin, then on PATH, and checks its version before every run.

The bundle is made in a private folder beside the site and handed over whole. Pagefind writes
its filter files in a random order (a hash map), so their names, and the metadata file naming
them, differ from one run to the next; `canonicalise_bundle` rewrites those few files in a
canonical order so that the same documents always give the same bundle, byte for byte, and puts
in the smaller copy of Pagefind's wasm this package ships (`_smaller_wasm`). That
rewrite reads Pagefind's private file layout (gzip of "pagefind_dcd" + CBOR), which belongs to
the version it was written for.
"""
from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import cbor2

from ..errors import SetupError
from ..writing import link_or_copy, remove_later, scratch_folder, sweep_leftovers

PAGEFIND_VERSION = "1.6.0"  # canonicalise_bundle reads this version's layout
# (system, machine) → the npm package holding Pagefind's binary for it, and that tarball's
# integrity as the npm registry lists it (`npm view @pagefind/linux-x64@1.6.0 dist.integrity`)
PLATFORM_PACKAGES = {
    ("Linux", "x86_64"): ("@pagefind/linux-x64", "sha512-IbMSx/+Vr/Xk0TTBlLkjgK+rvnbOXGmmb2/MKxQu99AR5DsqQoV3NKEA9PQz2tA"
                                                 "huCZjeD5xJBp4w5N5DHIC7Q=="),
}
BINARY = "pagefind_extended"  # the one binary the platform packages ship (extended: CJK word splitting too)
NPM_REGISTRY = "https://registry.npmjs.org"
TOOLS_FOLDER = f"pagefind-{PAGEFIND_VERSION}"  # under a project's .codepages/tools/
CHECKOUT_TOOLS = Path(__file__).resolve().parents[2] / ".codepages" / "tools"
PAGEFIND_FOLDER = "pagefind"  # under the site: Pagefind's bundle (pagefind.js, wasm, index)
TIMEOUT_SECONDS = 300
# Pagefind splits its word index into chunks of this many (page, location) entries (default
# 20,000, about 24 KB); a search fetches the chunk of every word typed, so smaller is lighter.
INDEX_CHUNK_UNITS = 2000
UNUSED_BUNDLE_FILES = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
                       "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js")
DIGEST_FILE = "codepages-source.sha256"  # in the bundle: a digest of the (public) documents it indexes
# Pagefind's wasm files, each compressed smaller (zopfli) into the same gzip format, named by
# the digest of what they decompress to: dev/smaller_wasm.py writes them for a new Pagefind.
WASM_FOLDER = Path(__file__).parent / "wasm"
_MARK = b"pagefind_dcd"
FETCH_HINT = "run `codepages fetch` (or `python build.py fetch`) in the project"


class SearchIndexError(SetupError):
    """Pagefind is missing, of another version, or failed; the message says what happened."""


def _platform_package() -> tuple[str, str]:
    key = (platform.system(), platform.machine())
    if key not in PLATFORM_PACKAGES:
        raise SearchIndexError(
            f"Pagefind {PAGEFIND_VERSION} is pinned for {', '.join(' '.join(k) for k in PLATFORM_PACKAGES)} only, not "
            f"{' '.join(key)}: put a Pagefind {PAGEFIND_VERSION} binary named pagefind on PATH")
    return PLATFORM_PACKAGES[key]


def fetched_binary(tools_dir: Path) -> Path:
    """Where `fetch` puts the pinned binary in a folder of fetched tools."""
    return tools_dir / TOOLS_FOLDER / BINARY


def fetch(tools_dir: Path, timeout: float = 600.0) -> Path:
    """This platform's pinned Pagefind binary in `tools_dir` (downloaded unless it is there already)."""
    binary = fetched_binary(tools_dir)
    if binary.is_file():
        return binary
    import tarfile  # here: every build imports this module, and only fetching downloads (ssl, http: ~15 ms)
    import urllib.request
    package, integrity = _platform_package()
    url = f"{NPM_REGISTRY}/{package}/-/{package.split('/')[1]}-{PAGEFIND_VERSION}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            tarball = response.read()
    except OSError as exc:  # URLError, HTTPError and timeouts included
        raise SearchIndexError(f"downloading Pagefind {PAGEFIND_VERSION} ({url}) failed: {exc}") from None
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != integrity:
        raise SearchIndexError(f"{url} has integrity {digest}, but codepages/search/pagefind.py pins {integrity}: "
                               "the download was damaged or the package was replaced; nothing was installed")
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        try:
            member = archive.extractfile(f"package/bin/{BINARY}")
        except KeyError:
            member = None
        if member is None:
            raise SearchIndexError(f"{url} holds no bin/{BINARY}: Pagefind's packaging changed; see PLATFORM_PACKAGES")
        data = member.read()
    binary.parent.mkdir(parents=True, exist_ok=True)
    unfinished = binary.with_name(binary.name + ".part")
    unfinished.write_bytes(data)
    unfinished.chmod(0o755)
    unfinished.replace(binary)
    return binary


def _pip_installed() -> str | None:
    """The binary of PyPI's pagefind-bin (the package the design card names), when it is
    installed: it is used once it publishes the pinned version (its version is checked)."""
    try:
        from pagefind_bin import get_executable
        return str(get_executable())
    except (ImportError, FileNotFoundError):
        return None


def _candidates(tools_dir: Path) -> Iterator[str]:
    """Pagefind binaries in the order they are preferred: the project's, the checkout's,
    pagefind-bin's, PATH's."""
    for folder in (tools_dir, CHECKOUT_TOOLS):
        if fetched_binary(folder).is_file():
            yield str(fetched_binary(folder))
    for found in (_pip_installed(), shutil.which("pagefind"), shutil.which(BINARY)):
        if found is not None:
            yield found


@functools.cache
def executable(tools_dir: Path) -> str:
    """The preferred Pagefind binary (`_candidates`), after checking its version."""
    binary = next(_candidates(tools_dir), None)
    if binary is None:
        raise SearchIndexError(f"the search index needs Pagefind {PAGEFIND_VERSION}, which is not in "
                               f"{fetched_binary(tools_dir).parent}: {FETCH_HINT}")
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout.split()
    except (OSError, subprocess.SubprocessError) as exc:
        raise SearchIndexError(f"pagefind could not run ({binary}): {exc}") from None
    if version[-1:] != [PAGEFIND_VERSION]:
        raise SearchIndexError(
            f"{binary} is Pagefind {' '.join(version[1:]) or 'of an unknown version'}; this build reads the bundle "
            f"layout of Pagefind {PAGEFIND_VERSION}: {FETCH_HINT}")
    return binary


def read_digest(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def read_documents(folder: Path) -> dict[str, bytes]:
    """The word documents of a folder by relative path, in the order their digest takes them."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*.html"))}


def input_folder(documents_dir: Path, files: dict[str, bytes], rewritten: Collection[str] = ()) -> Path:
    """A new folder beside `documents_dir` holding `files` for one Pagefind run: links to the
    documents folder's files, new files for the `rewritten` ones, made in the order of `files`.
    Pagefind numbers documents in the order their folder lists them, which on some file systems
    is the order the files were made (tmpfs: newest first), so a folder updated in place gave
    another index than a fresh one with the same documents. Every run gets a folder made the
    same way."""
    sweep_leftovers(documents_dir.parent, documents_dir.name)
    folder = scratch_folder(documents_dir.parent, ".pagefind-")
    for relative, data in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative in rewritten:
            path.write_bytes(data)
        else:
            link_or_copy(str(documents_dir / relative), str(path))
    return folder


def documents_digest(version: str, files: dict[str, bytes]) -> str:
    """What names a Pagefind index: the code's version and every document, path and bytes."""
    digest = hashlib.sha256(version.encode())
    for relative, data in files.items():
        digest.update(relative.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


class PagefindRun:
    """Pagefind's bundle for the documents `files` of the folder `documents_dir` (relative path →
    bytes, as `read_documents` gives them; the `rewritten` ones differ from the folder's), made
    in the background between `start()` and `finish()`; `bundle` is the finished folder (None
    when `reuse` already holds it). Pagefind reads them from an `input_folder` made for the run.

    `digest` names what the documents are (a bundle made from the same documents carries it);
    `reuse` are bundles that may already index them (the site being replaced or updated);
    `tools_dir` is the project's folder of fetched tools, where Pagefind is looked for first.
    """

    def __init__(self, documents_dir: Path, files: dict[str, bytes], digest: str, scratch: Path, reuse: list[Path],
                 tools_dir: Path, rewritten: Collection[str] = ()):
        self.documents_dir, self.files, self.rewritten = documents_dir, files, rewritten
        self.digest, self.scratch, self.tools_dir = digest, scratch, tools_dir
        self.reuse = next((b for b in reuse if read_digest(b / DIGEST_FILE) == digest), None)
        self.documents: Path | None = None  # the run's input folder, while it runs
        self.bundle: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, low_priority: bool = False) -> PagefindRun:
        """`low_priority`: Pagefind yields the CPU to everything else (the preview, while the
        browser reloads the changed page)."""
        if self.reuse is not None:
            return self
        self.documents = input_folder(self.documents_dir, self.files, self.rewritten)
        self.bundle = scratch_folder(self.scratch, ".pagefind-")
        command = [executable(self.tools_dir), "--site", str(self.documents), "--output-path", str(self.bundle),
                   "--force-language", "en", "--silent"]
        environment = {**os.environ, "PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE": str(INDEX_CHUNK_UNITS)}
        try:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            env=environment, preexec_fn=_nice if low_priority else None)
        except OSError as exc:
            self._cleanup(failed=True)
            self._release_documents()
            raise SearchIndexError(f"pagefind could not run: {exc}") from None
        return self

    def finish(self) -> None:
        """Wait for Pagefind; raise SearchIndexError if it failed (its bundle is then removed).
        Interrupted while waiting (Ctrl-C, or SIGTERM in the preview), it stops Pagefind too:
        left running, it outlives the build with its output folder gone."""
        if self.process is None:
            self._release_documents()
            return
        try:
            self._finish()
        except BaseException:
            self.stop()
            raise
        self.process = None
        self._release_documents()

    def stop(self) -> None:
        """Stop Pagefind and remove its unfinished bundle."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        self._cleanup(failed=True)
        self._release_documents()

    def _release_documents(self) -> None:
        if self.documents is not None:
            remove_later(self.documents)
            self.documents = None

    def _finish(self) -> None:
        assert self.process is not None and self.bundle is not None
        try:
            output, _ = self.process.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise SearchIndexError(f"pagefind did not finish within {TIMEOUT_SECONDS} s") from None
        if self.process.returncode != 0:
            text = output.decode("utf-8", errors="replace").strip()[-2000:]
            raise SearchIndexError(f"pagefind failed (exit status {self.process.returncode}): {text}")
        canonicalise_bundle(self.bundle)
        for unused in UNUSED_BUNDLE_FILES:  # Pagefind's ready-made UIs: this site uses the JS API only
            (self.bundle / unused).unlink(missing_ok=True)
        (self.bundle / DIGEST_FILE).write_text(self.digest + "\n", encoding="utf-8")
        os.chmod(self.bundle, 0o755)

    def _cleanup(self, failed: bool) -> None:
        if failed and self.bundle is not None:
            shutil.rmtree(self.bundle, ignore_errors=True)
            self.bundle = None


def _nice() -> None:
    os.nice(10)  # in the child before Pagefind starts, so all its threads inherit it


def canonicalise_bundle(bundle: Path) -> None:
    entry_path = bundle / "pagefind-entry.json"
    entry = json.loads(entry_path.read_text(encoding="utf-8"))
    for language, info in entry["languages"].items():
        meta_path = bundle / f"pagefind.{info['hash']}.pf_meta"
        meta = _load(meta_path.read_bytes())
        filters = []
        for name, old in meta[3]:
            old_path = bundle / "filter" / f"{old}.pf_filter"
            index = _load(old_path.read_bytes())
            index[1].sort(key=lambda value: value[0])
            data = cbor2.dumps(index)
            new = f"{language}_{hashlib.sha256(data).hexdigest()[:7]}"
            old_path.unlink()
            (bundle / "filter" / f"{new}.pf_filter").write_bytes(_pack(data))
            filters.append([name, new])
        meta[3] = sorted(filters)
        data = cbor2.dumps(meta)
        info["hash"] = f"{language}_{hashlib.sha256(data).hexdigest()[:10]}"
        meta_path.unlink()
        (bundle / f"pagefind.{info['hash']}.pf_meta").write_bytes(_pack(data))
        _smaller_wasm(bundle / f"wasm.{language}.pagefind")
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _smaller_wasm(path: Path) -> None:
    """Replace Pagefind's wasm file with WASM_FOLDER's copy of the same bytes, if it has one."""
    if not path.is_file():
        return
    wasm = gzip.decompress(path.read_bytes())
    smaller = WASM_FOLDER / f"{hashlib.sha256(wasm).hexdigest()[:16]}.gz"
    if smaller.is_file():
        data = smaller.read_bytes()
        if len(data) < path.stat().st_size and gzip.decompress(data) == wasm:
            path.write_bytes(data)


def _load(data: bytes) -> Any:
    data = gzip.decompress(data)
    if not data.startswith(_MARK):
        raise SearchIndexError(f"unexpected Pagefind file format (not Pagefind {PAGEFIND_VERSION}'s)")
    return cbor2.loads(data[len(_MARK):])


def _pack(data: bytes) -> bytes:
    return gzip.compress(_MARK + data, compresslevel=9, mtime=0)
