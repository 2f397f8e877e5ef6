"""Rebuilding only what changed: the build's plan, and the state it is made from.

After every build a small state file (in the project's `.codepages/cache/`, never published)
records what that build *read*:

- `stats`: size and modification time of every input file (content, templates, the build's
  own code, the official sources it read) plus the options. When nothing differs, the site
  is up to date and nothing is read at all.
- `inputs`: the content of everything that shapes every page (templates, stylesheet, site
  settings, the build code, the sources, base URL, sealing key). When it differs, everything
  is rebuilt; when only editors' records differ, only the pages that show them are.
- `records`: each editor's record file as it was read (a digest of the text the build used,
  taken when reading), its code and parent, and a digest of what other pages show of it (its
  descriptor, status, billability, place). A file saved while a build runs is therefore
  recorded with what that build saw, and rebuilt by the next one. An edit that leaves what
  other pages show alone (a section's text) rebuilds its own page only.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import cache, sealing
from .codesets import record_paths
from .errors import SetupError
from .log import Log
from .project import Project

if TYPE_CHECKING:  # the plan runs before the pipeline's modules are imported (a build with nothing to do ends there)
    from .catalogue import Catalogue
    from .records import Record

STATE_VERSION = 5
CODE_DIR = Path(__file__).resolve().parent


RecordFacts = tuple[str, str, str | None, str]  # digest of the file, code, parent, digest of its face


@dataclass
class BuildState:
    stats: str
    inputs: str
    records: dict[str, RecordFacts] = field(default_factory=dict)  # path → its facts
    sources: list[str] = field(default_factory=list)  # source files read besides content/ and templates/
    lists: list[str] = field(default_factory=list)  # pages of lists made from the catalogue (/cpt/revised/)
    largest_folder: tuple[int, str] = (0, "")  # the site's folder with the most entries, as last checked
    version: int = STATE_VERSION


@dataclass
class Plan:
    """What a build does: nothing ("up to date"), only the changed pages ("incremental"), or everything ("full")."""

    mode: str
    state_path: Path
    stats: str
    options: str
    previous: BuildState | None
    keyring: sealing.Keyring

    @property
    def full(self) -> bool:
        return self.mode == "full"


def plan_build(project: Project, log: Log, full: bool) -> Plan:
    """The build's first step: the sealing keys, then the plan."""
    try:
        keyring = sealing.load_keys(os.environ, project.secrets_dir / "seal-keys")
    except sealing.SealKeyError as exc:
        raise SetupError(str(exc)) from None
    with log.step("plan"):
        plan = make_plan(project, keyring, full)
    if plan.mode == "up to date":
        log.say("  nothing changed since the last build")
    return plan


def make_plan(project: Project, keyring: sealing.Keyring, full: bool) -> Plan:
    """Decide from the last build's state; reads no content (only file sizes and times)."""
    options = f"{project.out_dir}|{project.base_url}|{os.environ.get('CONTEXT', '')}|{_keyring_digest(keyring)}"
    state_path = project.cache_dir / f"state-{hashlib.sha1(str(project.out_dir).encode()).hexdigest()[:12]}.pickle"
    state = None if full else read_state(state_path)
    published = (project.out_dir / "index.html").exists()
    if state is None or not published:
        return Plan("full", state_path, "", options, None, keyring)
    stats = stats_fingerprint(project, state.sources, options)
    if state.stats == stats:
        return Plan("up to date", state_path, stats, options, state, keyring)
    return Plan("incremental", state_path, stats, options, state, keyring)


def confirm(plan: Plan, project: Project, sources: list[Path]) -> str:
    """After loading: the inputs fingerprint; an incremental plan becomes full when it differs."""
    inputs = inputs_fingerprint(project, sources, plan.options)
    if plan.mode == "incremental" and (plan.previous is None or plan.previous.inputs != inputs):
        plan.mode = "full"
    return inputs


def finish(plan: Plan, project: Project, catalogue: Catalogue, sources: list[Path], inputs: str,
           lists: list[str], largest_folder: tuple[int, str]) -> None:
    """Record what this build read (and which list pages it made, and the site's largest folder)."""
    names = [str(p) for p in sources]
    stats = plan.stats if plan.stats and plan.previous is not None and plan.previous.sources == names \
        else stats_fingerprint(project, names, plan.options)
    write_state(plan.state_path, BuildState(stats, inputs, record_digests(catalogue), names, sorted(lists),
                                            largest_folder))


def read_state(path: Path) -> BuildState | None:
    state = cache.load(path, BuildState)
    return state if state is not None and state.version == STATE_VERSION else None


def write_state(path: Path, state: BuildState) -> None:
    cache.store(path, state)  # a state that cannot be written makes the next build a full one


def _tree_files(project: Project) -> list[Path]:
    return sorted(p for folder in (project.content_dir, project.templates_dir, CODE_DIR) for p in folder.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def _keyring_digest(keyring: sealing.Keyring) -> str:
    return hashlib.sha256(repr([(kid, key) for kid, key in keyring.keys]).encode()).hexdigest()[:16]


def stats_fingerprint(project: Project, sources: list[str], options: str) -> str:
    digest = hashlib.sha1(options.encode())
    for path in [*_tree_files(project), *map(Path, sources)]:
        try:
            stat = path.stat()
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
            continue
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def inputs_fingerprint(project: Project, sources: list[Path], options: str) -> str:
    """Everything but the records' own files, by content (big source files by size and time)."""
    records = set(record_paths(project.content_dir))
    digest = hashlib.sha1(options.encode())
    for path in _tree_files(project):
        if path not in records:
            digest.update(str(path).encode() + b"\0" + path.read_bytes())
    for source in sources:
        stat = source.stat()
        digest.update(f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def record_digests(catalogue: Catalogue) -> dict[str, RecordFacts]:
    """Each editor's record as this build read it: digest, the code it defines, its parent, and
    a digest of its face (what the pages that list or link to it show)."""
    return {str(r.path): (r.digest, r.code, r.parent, _face(r)) for r in catalogue.records.values()
            if r.digest is not None}


def _face(record: Record) -> str:
    shown = (record.code_set, record.descriptor, record.status, record.billable, record.parent, record.kind,
             record.change)
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:16]


@dataclass
class Changes:
    pages: set[str]  # codes whose pages must be rendered again
    removed: set[str]  # codes whose pages must be removed
    faces: set[str]  # codes added, removed or shown differently elsewhere (lists and indexes change)
    moved: set[str] = field(default_factory=set)  # codes now under another parent (their subtrees moved)


def changed_pages(previous: BuildState, catalogue: Catalogue) -> Changes:
    new = record_digests(catalogue)
    changed: set[str] = set()
    faces: set[str] = set()
    moved: set[str] = set()
    for path in previous.records.keys() | new.keys():
        before, after = previous.records.get(path), new.get(path)
        if before == after:
            continue
        if before is not None and after is not None and before[1:] == after[1:]:
            changed.add(after[1])  # only its own page shows what changed
            continue
        if before is not None and after is not None and before[1] == after[1] and before[2] != after[2]:
            moved.add(after[1])
        for entry in (before, after):
            if entry:
                changed.add(entry[1])
                faces.add(entry[1])
                if entry[2]:  # the parent lists the code among its children, they list it among their siblings
                    changed.add(entry[2])
                    changed |= {r.code for r in catalogue.children.get(entry[2], [])}
    for code in moved:  # every page below a moved code shows a new chain of breadcrumbs
        changed |= catalogue.descendants(code)
    pages, removed = affected_by(faces, catalogue)
    return Changes(pages | (changed - removed), removed, faces, moved)


def affected_by(changed: set[str], catalogue: Catalogue) -> tuple[set[str], set[str]]:
    """The pages that show any of the `changed` codes, and the changed codes that are gone."""
    if not changed:
        return set(), set()
    referrers: dict[str, set[str]] = {}
    for record in catalogue.records.values():
        shown = record.related + [c for codes in record.crosswalk.values() for c in codes] + \
            [ref.code for ref in record.references if ref.field == "text"]
        for code in shown:
            referrers.setdefault(code, set()).add(record.code)
    affected = set(changed)
    for code in changed:
        affected |= referrers.get(code, set())
        listed = catalogue.get(code)
        if listed is None:
            continue
        if listed.parent:  # the parent lists it; its siblings show it in their list of siblings
            affected.add(listed.parent)
            affected |= {r.code for r in catalogue.children.get(listed.parent, [])}
        affected |= {r.code for r in catalogue.neighbours(listed) if r is not None}  # previous / next code
        if listed.code_set == "cpt" and not listed.is_range:
            affected.add(listed.code[:3])  # the folder page listing it
    removed = {code for code in changed if catalogue.get(code) is None}
    return affected - removed, removed

