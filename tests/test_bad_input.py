"""Every kind of editor mistake: reported as path:line, all at once, exit 1, site/ untouched."""
from __future__ import annotations

import subprocess

import pytest
from conftest import SITES, build_project, make_project, run_build, tree_digest

CASES = sorted(p.name for p in (SITES / "invalid").iterdir() if p.is_dir())


def expected_problems(case: str) -> list[str]:
    return (SITES / "invalid" / case / "expected.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_reported_and_site_is_kept(tmp_path, case):
    project = make_project(tmp_path)
    first = build_project(project)
    assert first.returncode == 0, first.stderr
    before = tree_digest(project / "site")

    project_with_mistake = make_project(tmp_path / "again", SITES / "invalid" / case)
    (project / "site").rename(project_with_mistake / "site")
    result = build_project(project_with_mistake)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    *reported, summary = result.stderr.splitlines()
    assert reported == expected_problems(case)
    assert summary.endswith("site/ was not changed.")
    assert tree_digest(project_with_mistake / "site") == before
    leftovers = [p.name for p in project_with_mistake.iterdir() if p.name.startswith(".site")]
    assert leftovers == []


@pytest.mark.parametrize("case", [c for c in CASES if "template" not in c])
def test_check_reports_the_same_problems_without_building(tmp_path, case):
    project = make_project(tmp_path, SITES / "invalid" / case)
    result = run_build("check", "--content", "content", "--templates", "templates", "--out", "site", cwd=project)
    assert result.returncode == 1
    assert result.stderr.splitlines()[:-1] == expected_problems(case)
    assert not (project / "site").exists()


def test_check_of_named_files_reads_only_those(tmp_path):
    project = make_project(tmp_path, SITES / "invalid" / "many-files")
    result = run_build("check", "content/hcpcs/J1040.md", "--content", "content", "--templates", "templates",
                       cwd=project)
    assert result.returncode == 1
    assert result.stderr.splitlines()[:-1] == ["content/hcpcs/J1040.md:5: 'related' names unknown code J1041"]

    fixed = run_build("check", "content/cpt/62323.md", "--content", "content", "--templates", "templates",
                      cwd=project)
    assert fixed.returncode == 0, fixed.stderr
    assert "Checked 1 records: no problems." in fixed.stdout


def test_a_failed_first_build_creates_no_site(tmp_path):
    project = make_project(tmp_path, SITES / "invalid" / "unknown-reference")
    result = build_project(project)
    assert result.returncode == 1
    assert not (project / "site").exists()
    assert [p.name for p in project.iterdir()] and not any(p.name.startswith(".site") for p in project.iterdir())


def test_check_changed_reads_only_what_git_reports(tmp_path):
    project = make_project(tmp_path)
    git = ["git", "-c", "user.name=Editor", "-c", "user.email=editor@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "content"], cwd=project, check=True)
    args = ("check", "--changed", "--content", "content", "--templates", "templates")

    nothing = run_build(*args, cwd=project)
    assert nothing.returncode == 0 and "No changed records to check." in nothing.stdout

    record = project / "content" / "hcpcs" / "J1040.md"
    record.write_text(record.read_text().replace('  cpt: ["62323"]', '  cpt: ["62399"]'))
    (project / "content" / "cpt" / "62399.md").write_text("---\ncode: \"62399\"\n")
    result = run_build(*args, cwd=project)
    assert result.returncode == 1
    assert result.stderr.splitlines()[:-1] == [
        "content/cpt/62399.md:1: front matter is not closed: add a line '---' after the last field",
    ]
