"""Rebuilding only what changed.

After every build a small state file (in `.build-cache/`, never published) records two
fingerprints and the editors' records:

- `stats`: size and modification time of every input file plus the options. When nothing
  differs, the site is up to date and nothing is read at all.
- `inputs`: the content of everything that shapes every page (templates, stylesheet, site
  settings, the build code, the ICD-10-CM release, base URL, sealing key). When it differs,
  everything is rebuilt; when only editors' records differ, only the pages that show them
  are rendered again.
"""
from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from .catalogue import Catalogue
from .records import Record, record_paths
from .sealing import Keyring

STATE_VERSION = 1
CODE_DIR = Path(__file__).resolve().parent


@dataclass
class BuildState:
    stats: str
    inputs: str
    records: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)  # path → (digest, code, parent)
    version: int = STATE_VERSION


def state_file(cache_dir: Path, out_dir: Path) -> Path:
    return cache_dir / f"state-{hashlib.sha1(str(out_dir).encode()).hexdigest()[:12]}.pickle"


def read_state(path: Path) -> BuildState | None:
    try:
        state = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
        return None
    return state if isinstance(state, BuildState) and state.version == STATE_VERSION else None


def write_state(path: Path, state: BuildState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(pickle.dumps(state))
    temporary.replace(path)


def _input_files(content_dir: Path, templates_dir: Path, release: Path | None) -> list[Path]:
    files = [p for folder in (content_dir, templates_dir, CODE_DIR) for p in folder.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    return sorted(files + ([release] if release else []))


def _keyring_digest(keyring: Keyring) -> str:
    return hashlib.sha256(repr([(kid, key) for kid, key in keyring.keys]).encode()).hexdigest()


def stats_fingerprint(content_dir: Path, templates_dir: Path, release: Path | None, options: str,
                      keyring: Keyring) -> str:
    digest = hashlib.sha1(options.encode() + _keyring_digest(keyring).encode())
    for path in _input_files(content_dir, templates_dir, release):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def inputs_fingerprint(content_dir: Path, templates_dir: Path, release: Path | None, options: str,
                       keyring: Keyring) -> str:
    """Everything but the records' own files, by content (the release by size and time)."""
    records = set(record_paths(content_dir))
    digest = hashlib.sha1(options.encode() + _keyring_digest(keyring).encode())
    for path in _input_files(content_dir, templates_dir, None):
        if path not in records:
            digest.update(str(path).encode() + b"\0" + path.read_bytes())
    if release is not None and release.exists():
        stat = release.stat()
        digest.update(f"{release}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def record_digests(content_dir: Path, records: dict[str, Record]) -> dict[str, tuple[str, str, str | None]]:
    """Each editor's record file: content digest, the code it defines and its parent."""
    found = {}
    by_path = {str(r.path): r for r in records.values()}
    for path in record_paths(content_dir):
        record = by_path.get(str(path))
        code = record.code if record else path.stem
        found[str(path)] = (hashlib.sha1(path.read_bytes()).hexdigest(), code, record.parent if record else None)
    return found


def affected_codes(old: dict, new: dict, catalogue: Catalogue) -> tuple[set[str], set[str]]:
    """(codes whose pages must be rendered again, codes whose pages must be removed)."""
    changed: set[str] = set()
    for path in old.keys() | new.keys():
        if old.get(path) != new.get(path):
            for entry in (old.get(path), new.get(path)):
                if entry:
                    changed.add(entry[1])
                    if entry[2]:
                        changed.add(entry[2])  # the parent lists the code among its children
    referrers: dict[str, set[str]] = {}
    for record in catalogue.records.values():
        shown = record.related + [c for codes in record.crosswalk.values() for c in codes]
        for code in shown:
            referrers.setdefault(code, set()).add(record.code)
    affected = set(changed)
    for code in changed:
        affected |= referrers.get(code, set())
        record = catalogue.get(code)
        if record is not None and record.parent:
            affected.add(record.parent)
    removed = {code for code in changed if catalogue.get(code) is None}
    return affected - removed, removed
