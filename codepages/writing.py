"""Output: the one writer interface of the build, in two kinds.

- `Staging` (a full build): files go into a fresh folder beside the site, which replaces the
  site whole when `publish()` is called. A failed build never touches the published folder.
- `InPlace` (an incremental build): writes and removals are kept in memory and applied to the
  published folder by `publish()`, each file replaced atomically; files whose content did not
  change are not touched. Everything that can fail (content, templates, the search index) runs
  before `publish()`.

Both count what they put into each folder, so the host's limits can be checked before
publishing (see `hosting`).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .hosting import FolderStats


def relative_file(url_path: str) -> str:
    """The file a URL path is served from, relative to the site: `/cpt/623/62326/` → `cpt/623/62326/index.html`."""
    relative = url_path.lstrip("/")
    return relative + "index.html" if relative == "" or relative.endswith("/") else relative


def file_for(folder: Path, url_path: str) -> Path:
    return folder / relative_file(url_path)


def link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def remove_later(folder: Path) -> None:
    """Delete a replaced site in the background: 100,000 files take longer to delete than to
    write, and nothing needs to wait for it."""
    _remove_in_background([folder])


def sweep_leftovers(scratch: Path, name: str) -> None:
    """Delete what interrupted builds left beside the output folder `name`: staging folders,
    replaced sites not yet deleted, unfinished search bundles (each named with its build's
    process id, so a build that is still running keeps its own)."""
    patterns = (f".{name}.building-", f".{name}.old-", ".pagefind-", ".copy-")
    try:
        names = os.listdir(scratch)
    except OSError:
        return
    stale = [scratch / entry for entry in names for prefix in patterns
             if entry.startswith(prefix) and not _running(entry[len(prefix):].split("-", 1)[0])]
    if stale:
        removing = _being_removed()
        stale = [path for path in stale if str(path) not in removing]
    if stale:
        _remove_in_background(stale)


def scratch_folder(scratch: Path, prefix: str) -> Path:
    """A new folder in `scratch` named `<prefix><pid>-<random>` (see `sweep_leftovers`)."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=scratch))


def _remove_in_background(paths: list[Path]) -> None:
    try:
        subprocess.Popen(["rm", "-rf", "--", *map(str, paths)], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)


def _being_removed() -> set[str]:
    """What background removals (`_remove_in_background`) are deleting now. A replaced site of
    100,000 files takes longer to delete than an edit takes to build: each build started another
    removal of the same folder, and a dozen of them fought over its directory entries."""
    removing: set[str] = set()
    try:
        pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return removing
    for pid in pids:
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if arguments[:3] == [b"rm", b"-rf", b"--"]:
            removing.update(os.fsdecode(argument) for argument in arguments[3:] if argument)
    return removing


def _running(pid: str) -> bool:
    return pid.isdigit() and Path(f"/proc/{pid}").exists()


class Writer:
    """Where a build puts the site. `folder` holds the site being made (read it back there);
    `previous` is the published site a full build replaces (to reuse what did not change)."""

    folder: Path
    previous: Path | None
    scratch: Path  # temporary folders go here (same filesystem as the site)
    files: int  # files written (or, in place, changed)

    def write(self, url_path: str, content: str | bytes) -> None:
        raise NotImplementedError

    def remove(self, url_path: str) -> None:
        raise NotImplementedError

    def put_folder(self, url_path: str, made: Path) -> None:
        """Move the finished folder `made` (in `scratch`) to `url_path`, replacing what is there."""
        raise NotImplementedError

    def copy_folder(self, url_path: str, source: Path) -> None:
        """Make `url_path` a copy of `source` (hard links where possible)."""
        copy = scratch_folder(self.scratch, ".copy-")
        shutil.rmtree(copy)
        shutil.copytree(source, copy, copy_function=link_or_copy)
        self.put_folder(url_path, copy)

    def stats(self) -> FolderStats:
        """Entries per folder and sizes of what will be published."""
        raise NotImplementedError

    def publish(self) -> None:
        raise NotImplementedError

    def discard(self) -> None:
        raise NotImplementedError


@dataclass
class Part:
    """What one worker process wrote into a staging folder: counts for the parent's writer."""

    files: int
    stats: FolderStats


class Staging(Writer):
    """A temporary output folder on the same filesystem as `target`, swapped in by `publish()`."""

    def __init__(self, target: Path):
        self.target = target.resolve()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.scratch = self.target.parent
        sweep_leftovers(self.scratch, self.target.name)
        self.folder = scratch_folder(self.scratch, f".{self.target.name}.building-")
        self.previous = self.target if (self.target / "index.html").exists() else None
        self._root = str(self.folder)
        self._made_dirs: set[str] = {self._root}
        self._stats = FolderStats(self.folder)
        self.files = 0

    def _make_folders(self, folder: str) -> None:
        """Make `folder` (a path string under the staging folder) and any parent it lacks."""
        missing = []
        while folder not in self._made_dirs:
            missing.append(folder)
            folder = os.path.dirname(folder)
        for made in reversed(missing):
            try:
                os.mkdir(made)
                self._stats.add_entry(os.path.dirname(made))
            except FileExistsError:  # made by another worker process, which counted it
                pass
            self._made_dirs.add(made)

    def write(self, url_path: str, content: str | bytes) -> None:
        """Write a page or file; `/cpt/623/62326/` means `cpt/623/62326/index.html`.

        Plain strings and os calls: this runs once per page of the catalogue."""
        path = f"{self._root}/{relative_file(url_path)}"
        folder = os.path.dirname(path)
        if folder not in self._made_dirs:
            self._make_folders(folder)
        data = content.encode("utf-8") if isinstance(content, str) else content
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(handle, data)
        finally:
            os.close(handle)
        self._stats.add_written(folder, path, len(data))
        self.files += 1

    def remove(self, url_path: str) -> None:
        raise RuntimeError("a staging folder starts empty: there is nothing to remove")

    def put_folder(self, url_path: str, made: Path) -> None:
        destination = self.folder / url_path.strip("/")
        if str(destination.parent) not in self._made_dirs:
            self._make_folders(str(destination.parent))
        if destination.exists():
            shutil.rmtree(destination)
        os.rename(made, destination)
        self._stats.add_tree(destination)

    def stats(self) -> FolderStats:
        return self._stats

    def start_part(self) -> None:
        """In a worker process: count from here on separately."""
        self._stats, self.files = FolderStats(self.folder), 0

    def end_part(self) -> Part:
        return Part(self.files, self._stats)

    def merge(self, part: Part) -> None:
        self.files += part.files
        self._stats.merge(part.stats)

    def publish(self) -> None:
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            os.rename(self.target, old)
        os.rename(self.folder, self.target)
        os.chmod(self.target, 0o755)
        if old is not None:
            remove_later(old)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class InPlace(Writer):
    """Changes to a published folder, applied together by `publish()`."""

    def __init__(self, target: Path):
        self.folder = target.resolve()
        self.previous = None
        self.scratch = self.folder.parent
        sweep_leftovers(self.scratch, self.folder.name)
        self.files = 0
        self._writes: dict[Path, bytes] = {}
        self._removals: set[Path] = set()
        self._folders: dict[Path, Path] = {}  # destination → finished folder in scratch

    def write(self, url_path: str, content: str | bytes) -> None:
        path = file_for(self.folder, url_path)
        self._removals.discard(path)
        self._writes[path] = content.encode("utf-8") if isinstance(content, str) else content

    def remove(self, url_path: str) -> None:
        path = file_for(self.folder, url_path)
        self._writes.pop(path, None)
        self._removals.add(path)

    def put_folder(self, url_path: str, made: Path) -> None:
        self._folders[self.folder / url_path.strip("/")] = made

    def stats(self) -> FolderStats:
        """The published site's counts, with what this build adds."""
        stats = FolderStats(self.folder)
        new: dict[Path, set[str]] = {}
        for path in [*self._writes, *self._folders]:
            new.setdefault(path.parent, set()).add(path.name)
        for folder, names in new.items():
            existing = set(os.listdir(folder)) if folder.is_dir() else set()
            stats.entries[str(folder)] = len(existing | names)
        for path, data in self._writes.items():
            stats.add_size(str(path), len(data))
        return stats

    def publish(self) -> None:
        for path, data in self._writes.items():
            try:
                if path.stat().st_size == len(data) and path.read_bytes() == data:
                    continue
            except OSError:
                pass
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(temporary, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
            self.files += 1
        for path in self._removals:
            path.unlink(missing_ok=True)
            try:
                path.parent.rmdir()  # the page's own folder, when nothing else is in it
            except OSError:
                pass
            self.files += 1
        for destination, made in self._folders.items():
            if destination.exists():
                # out of the site at once, deleted in the background: the thousand files of a
                # search bundle took up to 1.6 s to delete, in every edit's build
                old = scratch_folder(self.scratch, f".{self.folder.name}.old-")
                os.rename(destination, old)  # onto the new empty folder
                remove_later(old)
            os.rename(made, destination)
        self._writes.clear()
        self._removals.clear()
        self._folders.clear()

    def discard(self) -> None:
        for made in self._folders.values():
            shutil.rmtree(made, ignore_errors=True)
        self._writes.clear()
        self._removals.clear()
        self._folders.clear()
