"""Issue 14, build side: builds that cannot be fooled.

- An edit saved while a rebuild runs is rebuilt by the next build: the state a build saves
  records what it read, not what is on disk when it finishes. The edit is made from inside a
  real build (in this process): `incremental.finish`, the save-state step, is wrapped so the
  file changes after the pages were rendered from the old text and before the state is saved.
- A YAML alias bomb is refused before it is expanded (`check` and the build), shown here
  without a clock: the command runs with an address-space limit that expanding it would break.
  (tests/sites/invalid/yaml-alias-bomb runs through both commands in test_bad_input too.)
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, build_in_process, clean_build_of, make_project, page, public_files, tree_digest

import codepages.incremental
import codepages.writing


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def save_during_the_build(monkeypatch: pytest.MonkeyPatch, path: Path, old: str, new: str) -> list[str]:
    """Wrap the save-state step so that `path` is edited just before the state is written."""
    original = codepages.incremental.finish
    happened: list[str] = []

    def finish_after_an_edit(*args, **kwargs):
        edit(path, old, new)
        happened.append(path.name)
        return original(*args, **kwargs)

    monkeypatch.setattr(codepages.incremental, "finish", finish_after_an_edit)
    return happened


def test_an_edit_saved_while_a_rebuild_runs_is_built_next_time(tmp_path, monkeypatch):
    project = make_project(tmp_path)
    assert build_in_process(project).returncode == 0
    record = project / "content" / "hcpcs" / "J1040.md"
    edit(record, "PUBLIC-J1040", "FIRST-EDIT-J1040")
    happened = save_during_the_build(monkeypatch, record, "FIRST-EDIT-J1040", "SECOND-EDIT-J1040")

    during = build_in_process(project)
    assert during.returncode == 0, during.stderr
    assert happened == ["J1040.md"]
    assert "FIRST-EDIT-J1040" in page(project / "site", "/hcpcs/J/J1040/").get_text()  # what it read
    monkeypatch.undo()

    after = build_in_process(project)
    assert after.returncode == 0, after.stderr
    assert not after.stdout.splitlines()[-1].startswith("Nothing changed")
    text = page(project / "site", "/hcpcs/J/J1040/").get_text()
    assert "SECOND-EDIT-J1040" in text and "FIRST-EDIT-J1040" not in text
    assert tree_digest(project / "site", times=False) == tree_digest(clean_build_of(project, tmp_path / "clean"), times=False)


def test_text_moved_into_a_protected_section_during_a_rebuild_is_not_left_public(tmp_path, monkeypatch):
    project = make_project(tmp_path)
    assert build_in_process(project).returncode == 0
    record = project / "content" / "cpt" / "62323.md"
    edit(record, "PUBLIC-62323", "PUBLIC-62323 (edited)")
    # the editor then moves the public paragraph under a protected heading and saves, mid-build
    public = "PUBLIC-62323 (edited) A needle places medicine near the lumbar nerves, guided by imaging."
    text = record.read_text(encoding="utf-8")
    assert public in text
    moved = text.replace("## Common language description\n\n" + public,
                         "## Common language description\n\nA short public line.\n\n## Medicare coverage\n\n" + public)
    assert moved != text
    original = codepages.incremental.finish

    def finish_after_the_move(*args, **kwargs):
        record.write_text(moved, encoding="utf-8")
        return original(*args, **kwargs)

    monkeypatch.setattr(codepages.incremental, "finish", finish_after_the_move)
    assert build_in_process(project).returncode == 0
    monkeypatch.undo()
    assert build_in_process(project).returncode == 0
    leaks = [path.name for path, body in public_files(project / "site") if "guided by imaging" in body]
    assert leaks == []


# --- YAML alias bombs -------------------------------------------------------------------------

def bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def limited_memory() -> None:  # in the child, before it runs: 2 GiB of address space
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.mark.parametrize("command", [["check"], []])
def test_a_yaml_alias_bomb_is_refused_without_being_expanded(tmp_path, command):
    """Ten levels of nine aliases would be 3.5 billion strings: expanding it cannot fit in 2 GiB."""
    project = make_project(tmp_path)
    record = project / "content" / "hcpcs" / "J1040.md"
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace("descriptor: Injection", bomb(10) + "descriptor: Injection", 1), encoding="utf-8")
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), *command, "--content", "content",
                             "--templates", "templates", "--out", "site"], cwd=project, capture_output=True,
                            text=True, timeout=600, preexec_fn=limited_memory)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert result.stderr.splitlines()[0] == \
        "content/hcpcs/J1040.md:5: YAML aliases (*name) are not allowed here; write the value out in full"



def rm_processes(path: Path) -> list[int]:
    """The `rm -rf -- … path …` processes running now."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            arguments = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if arguments[:3] == [b"rm", b"-rf", b"--"] and str(path).encode() in arguments:
            found.append(int(entry))
    return found


def stopped_removal(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> subprocess.Popen[bytes] | None:
    """A replaced site in `scratch`, and the removal a build's sweep starts, stopped at once (as if
    still at work when the next build starts); None when it had finished before it was stopped."""
    replaced = scratch / ".site.old-999999999"  # of a build that has ended
    for folder in range(20):
        (replaced / str(folder)).mkdir(parents=True)
        for name in range(100):
            (replaced / str(folder) / f"{name}.html").write_bytes(b"x")
    removals: list[subprocess.Popen[bytes]] = []
    popen = subprocess.Popen

    def stopped_at_once(*args, **kwargs):
        removals.append(popen(*args, **kwargs))
        os.kill(removals[-1].pid, signal.SIGSTOP)
        return removals[-1]

    with monkeypatch.context() as patch:
        patch.setattr(codepages.writing.subprocess, "Popen", stopped_at_once)
        codepages.writing.sweep_leftovers(scratch, "site")
    assert len(removals) == 1
    if rm_processes(replaced) == [removals[0].pid]:
        return removals[0]
    os.kill(removals[0].pid, signal.SIGCONT)
    assert removals[0].wait(timeout=60) == 0 and not replaced.exists()
    return None


def test_a_replaced_site_still_being_deleted_is_not_deleted_again_by_the_next_build(tmp_path, monkeypatch):
    """Deleting a replaced site of 100,000 files outlasts an edit's rebuild: each rebuild started
    another removal of the same folder, and a dozen of them slowed every build down."""
    for attempt in range(20):  # on a busy machine the removal may finish before it is stopped
        removal = stopped_removal(tmp_path / str(attempt), monkeypatch)
        if removal is not None:
            break
    assert removal is not None, "no removal was caught at work in 20 attempts"
    scratch = tmp_path / str(attempt)
    try:
        started: list[list[Path]] = []
        monkeypatch.setattr(codepages.writing, "_remove_in_background", started.append)
        codepages.writing.sweep_leftovers(scratch, "site")
        assert started == [] and (scratch / ".site.old-999999999").is_dir()
    finally:
        os.kill(removal.pid, signal.SIGCONT)
    assert removal.wait(timeout=60) == 0 and not (scratch / ".site.old-999999999").exists(), \
        "the first removal finishes the job"
