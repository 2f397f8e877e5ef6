"""Every kind of editor mistake: reported as path:line, all at once, exit 1, site/ untouched.

The cases run the command line in this process (`cli`), which is what makes this file fast;
what only a real process can show (the exit status, no traceback on stderr) is checked in a
child process for one case of each kind of failure: a content problem, a YAML problem, a
template failing while pages are rendered.
"""
from __future__ import annotations

import subprocess

import pytest
from conftest import SITES, Run, build_in_process, build_project, check_in_process, make_project, tree_digest

CASES = sorted(p.name for p in (SITES / "invalid").iterdir() if p.is_dir())
PROCESS_CASES = ["unknown-reference", "yaml-alias-bomb", "template-runtime-error"]


def expected_problems(case: str) -> list[str]:
    return (SITES / "invalid" / case / "expected.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> tuple[object, dict[str, str]]:
    """A good build of the fixture project, and the digest of its site/, to move into each case."""
    project = make_project(tmp_path_factory.mktemp("good"))
    first = build_in_process(project)
    assert first.returncode == 0, first.stderr
    return project / "site", tree_digest(project / "site")


def project_with_mistake(tmp_path, case: str, site) -> object:
    """The case's project with a copy of a good site/ in it (hard-linked files keep their times)."""
    project = make_project(tmp_path, SITES / "invalid" / case)
    subprocess.run(["cp", "-a", str(site), str(project / "site")], check=True)
    return project


def assert_reported_and_kept(result: Run, case: str, project, before: dict[str, str]) -> None:
    assert result.returncode == 1
    *reported, summary = result.stderr.splitlines()
    assert reported == expected_problems(case)
    assert summary.endswith("site/ was not changed.")
    assert tree_digest(project / "site") == before
    leftovers = [p.name for p in project.iterdir() if p.name.startswith(".site")]
    assert leftovers == []


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_reported_and_site_is_kept(tmp_path, case, built_site):
    site, before = built_site
    project = project_with_mistake(tmp_path, case, site)
    result = build_in_process(project)
    assert_reported_and_kept(result, case, project, before)


@pytest.mark.parametrize("case", PROCESS_CASES)
def test_a_failed_build_exits_1_without_a_traceback(tmp_path, case, built_site):
    site, before = built_site
    project = project_with_mistake(tmp_path, case, site)
    result = build_project(project)
    assert "Traceback" not in result.stderr
    assert_reported_and_kept(result, case, project, before)


def test_a_template_failing_in_another_project_of_the_same_process_names_that_projects_file(tmp_path, built_site):
    """The preview and the tests build in one process, which keeps the templates it compiled
    (rendering.CompiledTemplates): the same template in a second project is that project's file."""
    site, before = built_site
    for name in ("first", "second"):
        project = project_with_mistake(tmp_path / name, "template-runtime-error", site)
        assert_reported_and_kept(build_in_process(project), "template-runtime-error", project, before)


@pytest.mark.parametrize("case", [c for c in CASES if "template" not in c])
def test_check_reports_the_same_problems_without_building(tmp_path, case):
    project = make_project(tmp_path, SITES / "invalid" / case)
    result = check_in_process(project)
    assert result.returncode == 1
    assert result.stderr.splitlines()[:-1] == expected_problems(case)
    assert not (project / "site").exists()


def test_check_of_named_files_reads_only_those(tmp_path):
    project = make_project(tmp_path, SITES / "invalid" / "many-files")
    result = check_in_process(project, "content/hcpcs/J1040.md")
    assert result.returncode == 1
    assert result.stderr.splitlines()[:-1] == ["content/hcpcs/J1040.md:5: 'related' names unknown code J1041"]

    fixed = check_in_process(project, "content/cpt/62323.md")
    assert fixed.returncode == 0, fixed.stderr
    assert "Checked 1 records: no problems." in fixed.stdout


def test_a_failed_first_build_creates_no_site(tmp_path):
    project = make_project(tmp_path, SITES / "invalid" / "unknown-reference")
    result = build_in_process(project)
    assert result.returncode == 1
    assert not (project / "site").exists()
    assert [p.name for p in project.iterdir()] and not any(p.name.startswith(".site") for p in project.iterdir())


def test_check_changed_reads_only_what_git_reports(tmp_path):
    project = make_project(tmp_path)
    git = ["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "content"], cwd=project, check=True)

    nothing = check_in_process(project, "--changed")
    assert nothing.returncode == 0 and "No changed records to check." in nothing.stdout

    record = project / "content" / "hcpcs" / "J1040.md"
    record.write_text(record.read_text().replace('  cpt: ["62323"]', '  cpt: ["62399"]'))
    (project / "content" / "cpt" / "62399.md").write_text("---\ncode: \"62399\"\n")
    result = check_in_process(project, "--changed")
    assert result.returncode == 1
    assert result.stderr.splitlines()[:-1] == [
        "content/cpt/62399.md:1: front matter is not closed: add a line '---' after the last field",
    ]
