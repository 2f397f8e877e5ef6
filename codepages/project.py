"""A project: the folder holding `content/`, `templates/` and, after a build, `site/`.

Everything a build writes besides the output lives inside the project too, in
`.codepages/` (git-ignored): the incremental state and parsed-source cache, the local
development keys, and the source files fetched from the package registry. So a build run
from any folder on a project writes nothing outside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WORK_FOLDER = ".codepages"


@dataclass(frozen=True)
class Project:
    root: Path
    content_dir: Path
    templates_dir: Path
    out_dir: Path
    base_url: str | None = None  # overrides `base_url` of content/site.yaml

    @classmethod
    def at(cls, root: Path, content: Path | None = None, templates: Path | None = None,
           out: Path | None = None, base_url: str | None = None) -> Project:
        """The project in `root`; relative folders are taken from `root`."""
        root = root.resolve()

        def inside(path: Path | None, default: str) -> Path:
            return (root / (path if path is not None else default)).resolve()

        return cls(root, inside(content, "content"), inside(templates, "templates"), inside(out, "site"), base_url)

    @property
    def work_dir(self) -> Path:
        return self.root / WORK_FOLDER

    @property
    def cache_dir(self) -> Path:
        """What the last build saw (incremental rebuilds) and parsed sources, by digest."""
        return self.work_dir / "cache"

    @property
    def secrets_dir(self) -> Path:
        """Development keys for local builds and the preview (production keys come from the environment)."""
        return self.work_dir / "dev-secrets"

    @property
    def sources_dir(self) -> Path:
        """Pinned source files fetched from the package registry (`codepages fetch`)."""
        return self.work_dir / "sources"

    @property
    def tools_dir(self) -> Path:
        """Tools fetched from a package registry (`codepages fetch`): Pagefind's binary."""
        return self.work_dir / "tools"

    @property
    def settings_file(self) -> Path:
        return self.content_dir / "site.yaml"
