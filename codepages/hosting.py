"""The host's limits, checked on the output before it is published.

Netlify fails a deploy when one folder of the publish folder holds more than 54,000 files
and does not support files over 10 MB; it sets no limit on the number of files, but tens of
thousands of files already make deploys slow. The limits in force are `hosting:` in
content/site.yaml (defaults in settings.Hosting: 10,000 entries per folder, files and
folders together, to keep room for growth; 10 MB per file; 500,000 files).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SetupError
from .settings import Hosting


@dataclass
class FolderStats:
    """What a site holds: entries per folder, the largest file, the number of files."""

    root: Path
    entries: dict[str, int] = field(default_factory=dict)  # folder (path string) → files and folders in it
    files: int = 0
    largest_file: tuple[int, str | None] = (0, None)

    def add_entry(self, folder: str) -> None:
        self.entries[folder] = self.entries.get(folder, 0) + 1

    def add_size(self, path: str, size: int) -> None:
        if size > self.largest_file[0]:
            self.largest_file = (size, path)

    def add_written(self, folder: str, path: str, size: int) -> None:
        """A file written at `path` in `folder` (path strings: the writer's fast path)."""
        self.entries[folder] = self.entries.get(folder, 0) + 1
        if size > self.largest_file[0]:
            self.largest_file = (size, path)
        self.files += 1

    def merge(self, other: FolderStats) -> None:
        for folder, count in other.entries.items():
            self.entries[folder] = self.entries.get(folder, 0) + count
        self.files += other.files
        if other.largest_file[0] > self.largest_file[0]:
            self.largest_file = other.largest_file

    def add_tree(self, top: Path) -> None:
        """Count a folder moved in whole (and the entry it makes in its parent)."""
        self.add_entry(str(top.parent))
        self._walk(top)

    def _walk(self, top: Path) -> None:
        for folder, folders, files in os.walk(top):
            self.entries[folder] = self.entries.get(folder, 0) + len(folders) + len(files)
            for name in files:
                path = os.path.join(folder, name)
                self.add_size(path, os.stat(path).st_size)
            self.files += len(files)

    @classmethod
    def of_tree(cls, root: Path) -> FolderStats:
        stats = cls(root)
        stats._walk(root)
        return stats

    def largest_folder(self) -> tuple[int, str]:
        if not self.entries:
            return 0, str(self.root)
        folder, count = max(self.entries.items(), key=lambda item: (item[1], item[0]))
        return count, folder

    def name(self, path: str, folder: bool = True) -> str:
        """`path` as it will be published: `icd-10-cm/` (the site's own root is `/`)."""
        relative = os.path.relpath(path, self.root) if Path(path) != self.root else ""
        relative = "" if relative == "." else relative
        return (relative + "/" if folder else relative) if relative else "/"


class HostLimitError(SetupError):
    """The output breaks a limit of the host; the message names the folder or file and the limit."""


def check(stats: FolderStats, limits: Hosting) -> None:
    """Raise HostLimitError naming every limit the output breaks."""
    problems = []
    over = sorted(((count, folder) for folder, count in stats.entries.items()
                   if count > limits.max_entries_per_folder), key=lambda item: (-item[0], str(item[1])))
    for count, folder in over[:5]:
        problems.append(f"folder {stats.name(folder)} of the site would hold {count:,} entries, more than the "
                        f"{limits.max_entries_per_folder:,} allowed (hosting.max_entries_per_folder; Netlify fails "
                        "a deploy above 54,000 files in one folder): spread its pages over more folders")
    if len(over) > 5:
        problems.append(f"… and {len(over) - 5} more folders over the limit")
    size, path = stats.largest_file
    if path is not None and size > limits.max_file_bytes:
        problems.append(f"file {stats.name(path, folder=False)} would be {size:,} bytes, more than the {limits.max_file_bytes:,} "
                        "allowed (hosting.max_file_bytes; Netlify's CDN does not support files over 10 MB)")
    if stats.files > limits.max_files:
        problems.append(f"the site would hold {stats.files:,} files, more than the {limits.max_files:,} allowed "
                        "(hosting.max_files)")
    if problems:
        raise HostLimitError("the site breaks the host's limits:\n  " + "\n  ".join(problems))
