"""Issue 10: `pip install .` into a new virtual environment gives a `codepages` command that,
run from another folder, builds the demo project it is pointed at and writes nothing outside it.

The slowest test of the suite (a virtual environment, `pip install` of the package and its
dependencies from the package index pip is configured with, then the full catalogue build).
Network: only the package index, for the dependencies pip has not cached; the earlier
ICD-10-CM releases are copied from this checkout's .codepages/sources/ (`make site` fetched
them from PyPI), as a project that has run `codepages fetch` would have them.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def listing(folder: Path, leave_out: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder` but `leave_out`, with its size and modification time."""
    found = {}
    for path in folder.rglob("*"):
        if path == leave_out or leave_out in path.parents:
            continue
        stat = path.lstat()
        found[path.relative_to(folder).as_posix()] = (stat.st_size if path.is_file() else 0, stat.st_mtime_ns)
    return found


def test_pip_install_then_codepages_build_from_another_folder_writes_only_into_the_project(tmp_path: Path):
    source = tmp_path / "source"  # a copy of the package as the worktree has it (pip builds in the source tree)
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "build.py"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "codepages", source / "codepages", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(source)],
                               capture_output=True, text=True, timeout=1800, env=env)
    assert installed.returncode == 0, installed.stderr[-3000:]
    command = venv / "bin" / "codepages"
    assert command.is_file()

    project = tmp_path / "demo"
    shutil.copytree(ROOT / "content", project / "content")
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.copytree(ROOT / ".codepages" / "sources", project / ".codepages" / "sources")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = listing(tmp_path, project)
    root_before = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=ROOT, capture_output=True,
                                 text=True).stdout

    built = subprocess.run([str(command), "--project", str(project), "-q"], cwd=elsewhere, capture_output=True,
                           text=True, timeout=1800, env=env)

    assert built.returncode == 0, built.stderr[-3000:]
    assert built.stdout.splitlines()[-1].startswith("Built ")
    assert (project / "site" / "cpt" / "623" / "62326" / "index.html").is_file()
    assert (project / "site" / "icd-10-cm" / "S72" / "S72.001" / "S72.001A" / "index.html").is_file()
    assert (project / ".codepages" / "dev-secrets" / "seal-keys").is_file(), "the development key lives in the project"
    assert listing(tmp_path, project) == before, "the build wrote outside the project"
    assert subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=ROOT, capture_output=True,
                          text=True).stdout == root_before, "the build wrote into this checkout"
    assert not list(elsewhere.iterdir())
