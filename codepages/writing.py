"""Output: write into a fresh folder beside the target, then swap it in.

A failed build never touches the published folder; a finished one replaces it whole.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def file_for(folder: Path, url_path: str) -> Path:
    """The file a URL path is served from: `/cpt/623/62326/` → `cpt/623/62326/index.html`."""
    relative = url_path.lstrip("/")
    if relative == "" or relative.endswith("/"):
        relative += "index.html"
    return folder / relative


class Staging:
    """A temporary output folder on the same filesystem as `target`, swapped in by `publish()`."""

    def __init__(self, target: Path):
        self.target = target.resolve()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.building-", dir=self.target.parent))
        self._made_dirs: set[str] = set()
        self.files = 0

    def write(self, url_path: str, content: str | bytes) -> None:
        """Write a page or file; `/cpt/623/62326/` means `cpt/623/62326/index.html`."""
        path = file_for(self.folder, url_path)
        parent = str(path.parent)
        if parent not in self._made_dirs:
            os.makedirs(parent, exist_ok=True)
            self._made_dirs.add(parent)
        data = content.encode("utf-8") if isinstance(content, str) else content
        with open(path, "wb") as handle:
            handle.write(data)
        self.files += 1

    def publish(self) -> None:
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            os.rename(self.target, old)
        os.rename(self.folder, self.target)
        os.chmod(self.target, 0o755)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class InPlace:
    """Updates an existing output folder file by file (each file replaced atomically)."""

    def __init__(self, target: Path):
        self.folder = target.resolve()
        self.files = 0

    def write(self, url_path: str, content: str | bytes) -> None:
        path = file_for(self.folder, url_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
        self.files += 1

    def remove(self, url_path: str) -> None:
        """Remove a page written at `url_path` (its folder, when nothing else is in it)."""
        folder = self.folder / url_path.strip("/")
        (folder / "index.html").unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:
            pass
