"""Issue 10: `pip install .` into a new virtual environment gives a `codepages` command that,
run from another folder, builds the demo project it is pointed at and writes nothing outside it.

The install and the build are the session fixture `installed_build` (tests/conftest.py): the
slowest step of the suite (a virtual environment, `pip install` of the package and its
dependencies, then the full catalogue build from the releases), and the demo build every other
test reads.
"""
from __future__ import annotations

from conftest import InstalledBuild


def test_pip_install_then_codepages_build_from_another_folder_writes_only_into_the_project(
        installed_build: InstalledBuild):
    built, project = installed_build.result, installed_build.project
    assert installed_build.command.is_file()
    assert built.returncode == 0, built.stderr[-3000:]
    assert built.stdout.splitlines()[-1].startswith("Built ")
    assert (project / "site" / "cpt" / "623" / "62326" / "index.html").is_file()
    assert (project / "site" / "icd-10-cm" / "S72" / "S72.001" / "S72.001A" / "index.html").is_file()
    assert (project / ".codepages" / "dev-secrets" / "seal-keys").is_file(), "the development key lives in the project"
    assert installed_build.around_after == installed_build.around_before, "the build wrote outside the project"
    assert installed_build.checkout_after == installed_build.checkout_before, "the build wrote into this checkout"
    assert not list(installed_build.elsewhere.iterdir())
