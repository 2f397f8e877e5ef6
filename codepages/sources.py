"""Official sources, merged under editors' records.

Every code set's pages come from its official release, the way ICD-10-CM's come from the
CDC's tabular XML: the CMS HCPCS Level II quarterly file, an operator's licensed CPT data
files, and, beside ICD-10-CM, its reference data (earlier releases for the code history,
MS-DRG, ICD-9-CM GEMs). Each release entry becomes a record; an editor's record for the same
code adds its plain-language description, sections, related codes and crosswalks on top, while
the official fields (descriptor, parent, billable, status) always come from the release: a
record that gives a different value is a mistake, reported with its line.

A source that is missing, of the wrong version or malformed is a problem of the run (with the
file and what was expected), so nothing is built from half of the sources.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from . import cache
from .codesets import CODE_SETS, sort_key
from .errors import Problems
from .project import Project
from .records import Record
from .reference import IcdReference, ReferenceLoad, SourceError, config_from_site, start_reference
from .releases import ReleaseFileError, cpt, hcpcs, icd10cm
from .releases.hcpcs import HcpcsRelease, ReleaseDiff
from .releases.icd10cm import Release, ReleaseError, read_release
from .settings import Settings

OFFICIAL_FIELDS = ("descriptor", "parent", "billable", "status")
READERS = Path(__file__).resolve().parent / "releases"


@dataclass
class Sources:
    """Every official source the site reads, parsed."""

    icd: Release | None = None
    reference: IcdReference | None = None
    hcpcs: HcpcsRelease | None = None  # the quarterly file
    hcpcs_changes: ReleaseDiff | None = None  # what it changed since the previous quarter's
    cpt: cpt.CptRelease | None = None
    files: list[Path] = field(default_factory=list)  # every source file read (for incremental builds)


def load_sources(settings: Settings, project: Project, problems: Problems) -> Sources:
    """Read every configured source; each problem goes to `problems` at the setting that names it."""
    sources = Sources()
    cache_dir = project.cache_dir / "sources"
    reference = None
    # the reference data is read in worker processes while this one reads the release, then
    # the HCPCS and CPT files
    if settings.has_icd_release and settings.reference is not None:
        reference = _start_reference(settings, project, problems)
    try:
        if settings.has_icd_release:
            sources.icd = _icd_release(settings, problems, cache_dir)
            if sources.icd is not None:
                sources.files.append(sources.icd.path)
            elif isinstance(reference, ReferenceLoad):
                reference.cancel()  # no reference data without the release
        release = settings.code_sets["hcpcs"].release
        if release is not None:
            _hcpcs(settings, release, sources, problems, cache_dir)
        release = settings.code_sets["cpt"].release
        if release is not None:
            _cpt(settings, release, sources, problems, cache_dir)
    except BaseException:
        if isinstance(reference, ReferenceLoad):
            reference.cancel()
        raise
    if reference is not None and sources.icd is not None:
        sources.reference = _finish_reference(reference, settings, sources, problems)
    return sources


def _icd_release(settings: Settings, problems: Problems, cache_dir: Path) -> Release | None:
    try:
        path = settings.icd_release_path
        if path is None:
            return None
        if not path.is_file():
            return read_release(path)  # says why: missing, or a folder
        return cache.cached(cache_dir, "icd10cm", [path], [READERS / "icd10cm.py"], lambda: read_release(path), Release)
    except ReleaseError as exc:
        shown = str(settings.icd_release_path) if settings.icd10cm_release not in (None, True) else ""
        message = str(exc).replace(shown, problems.display(shown)) if shown else str(exc)
        problems.add(settings.path, settings.line_of("icd10cm_release"), message)
        return None


def _start_reference(settings: Settings, project: Project, problems: Problems) -> ReferenceLoad | SourceError:
    """The reference data's reading begun; a problem locating its files is reported once the
    release itself is read (a site whose release is missing hears of that alone)."""
    current = None if settings.icd10cm_release in (None, True) else settings.icd_release_path
    try:
        config = config_from_site(settings.reference, project.root, current, where=problems.display(settings.path))
        return start_reference(config, cache_dir=project.cache_dir / "reference", current_given=True)
    except SourceError as exc:
        return exc


def _finish_reference(reference: ReferenceLoad | SourceError, settings: Settings, sources: Sources,
                      problems: Problems) -> IcdReference | None:
    try:
        if isinstance(reference, SourceError):
            raise reference
        loaded = reference.finish(sources.icd)
    except SourceError as exc:
        for line in str(exc).splitlines():
            problems.add(settings.path, settings.line_of("reference"), line)
        return None
    config = reference.config
    sources.files += [p for p in (config.msdrg.path, config.gems_to_icd9.path) if p is not None]
    return loaded


def _release_problems(error: ReleaseFileError, settings: Settings, key: str, problems: Problems) -> None:
    for problem in error.problems:
        if problem.line == 0:  # the configuration itself
            problems.add(settings.path, settings.line_of("code_sets", key, "release"), problem.message)
        else:
            problems.add(settings.path.parent / problem.file, problem.line, problem.message, problem.column)


def _hcpcs(settings: Settings, release: dict[str, Any], sources: Sources, problems: Problems,
           cache_dir: Path) -> None:
    content = settings.path.parent
    paths = [content / release["path"]] + ([content / release["previous"]] if release.get("previous") else [])
    parsed: list[hcpcs.HcpcsRelease] = []
    for path in paths:
        if not path.is_file():
            problems.add(settings.path, settings.line_of("code_sets", "hcpcs", "release"),
                         f"HCPCS release file not found: {problems.display(path)}; download the quarterly "
                         "alpha-numeric HCPCS file from CMS and give its path relative to content/")
            return
        def read(path: Path = path) -> hcpcs.HcpcsRelease:
            return hcpcs.read_release(path, name=str(path.relative_to(content)))

        try:
            parsed.append(cache.cached(cache_dir, f"hcpcs-{path.name}", [path], [READERS / "hcpcs.py"], read,
                                       hcpcs.HcpcsRelease))
        except ReleaseFileError as exc:
            _release_problems(exc, settings, "hcpcs", problems)
            return
    sources.hcpcs = parsed[0]
    sources.files += paths
    if len(parsed) == 2:  # the quarter's changes: 0.04 s to compare the two files, 1 ms to unpickle
        previous, current = parsed[1], parsed[0]
        sources.hcpcs_changes = cache.cached(cache_dir, "hcpcs_diff", paths, [READERS / "hcpcs.py"],
                                             lambda: hcpcs.diff(previous, current), hcpcs.ReleaseDiff)


def _cpt(settings: Settings, release: dict[str, Any], sources: Sources, problems: Problems, cache_dir: Path) -> None:
    content = settings.path.parent
    try:
        config = cpt.config_from_mapping(release, base_dir=content, name=problems.display(settings.path))
        files = [Path(source.path) for source in config.files]
        missing = [f for f in files if not f.is_file()]
        if missing:
            for path in missing:
                problems.add(settings.path, settings.line_of("code_sets", "cpt", "release"),
                             f"CPT data file not found: {problems.display(path)}; give the path of the file your "
                             "AMA licence provides, relative to content/")
            return
        names = {f: str(f.relative_to(content)) if f.is_relative_to(content) else str(f) for f in files}
        sources.cpt = cache.cached(cache_dir, "cpt", files, [READERS / "cpt.py"],
                                   lambda: cpt.read_release(config, names=names), cpt.CptRelease)
        sources.files += files
    except ReleaseFileError as exc:
        _release_problems(exc, settings, "cpt", problems)


# --------------------------------------------------------------------------------------------
# Official records


def official_records(sources: Sources, settings: Settings) -> dict[str, Record]:
    """Every record the official sources define, before editors' records are merged on top."""
    records: dict[str, Record] = {}
    if sources.icd is not None:
        records.update(_made_once("icd-10-cm", (sources.icd, sources.reference), _icd_records))
    if sources.hcpcs is not None:
        records.update(_made_once("hcpcs", (sources.hcpcs, sources.hcpcs_changes), _hcpcs_records))
    if sources.cpt is not None and settings.code_sets["cpt"].descriptor_source == "licensed":
        records.update(_made_once("cpt", (sources.cpt,), _cpt_records))
    return records


_made: dict[str, tuple[tuple[Any, ...], Any]] = {}
T = TypeVar("T")


def _made_once(name: str, inputs: tuple[Any, ...], make: Callable[..., T]) -> T:
    """`make(*inputs)`, once per process while the inputs are the same objects: the preview
    rebuilds on every save, and the cache gives it the same parsed releases each time. What it
    makes (a code set's records, a diff of two quarters) is never changed afterwards: merging
    replaces a record an editor enriches instead of changing it."""
    kept = _made.get(name)
    if kept is None or any(old is not new for old, new in zip(kept[0], inputs, strict=True)):
        kept = _made[name] = (inputs, make(*inputs))
    result: T = kept[1]
    return result


def newest_releases(sources: Sources) -> dict[str, str]:
    """Code set → the release its change marks and lists are of ("ICD-10-CM FY2026 (…)")."""
    names = {}
    if sources.icd is not None:
        names["icd-10-cm"] = _icd_label(sources.icd, sources.reference)
    if sources.hcpcs is not None:
        names["hcpcs"] = _hcpcs_label(sources.hcpcs)
    return names


def _icd_label(release: Release, reference: IcdReference | None) -> str:
    return f"ICD-10-CM {reference.history.current.label if reference is not None else release.version}"


def _hcpcs_label(release: hcpcs.HcpcsRelease) -> str:
    return f"HCPCS Level II {_quarter(release.version)}" if release.version else "HCPCS Level II"


def _icd_records(release: Release, reference: IcdReference | None) -> dict[str, Record]:
    history = reference.history if reference is not None else None
    newest = _icd_label(release, reference)
    source = f"{newest}, CDC/NCHS"
    changes: dict[str, str] = {}
    if history is not None and len(history.releases) > 1:
        step = history.changes_in(-1)
        for kind, codes in (("new", step.new), ("revised", step.revised), ("header", step.now_header)):
            changes.update(dict.fromkeys(codes, kind))
    wording = {"new": f"New in {newest}", "revised": f"Revised in {newest}",
               "header": f"Subdivided in {newest}: no longer billable, use a code below it"}
    records = {}
    for key, entry in release.entries.items():
        status = changes.get(key, "active")
        records[key] = Record(
            path=release.path, code_set="icd-10-cm", code=key, descriptor=entry.descriptor, parent=entry.parent,
            billable=entry.billable, kind=entry.kind, notes=entry.notes, official=True, field_lines={},
            status="revised" if status == "header" else status, source=source,
            change=wording.get(status, ""), changed_in=newest if status in wording else "")
    if history is not None:
        for code, past in history.codes.items():
            gone = past.deleted_in
            if gone is None or code in records:
                continue
            records[code] = Record(
                path=release.path, code_set="icd-10-cm", code=code, descriptor=past.descriptor,
                parent=_nearest_ancestor(code, records), billable=False, kind=past.kind, official=True,
                field_lines={}, status="deleted", source=f"ICD-10-CM {history.releases[gone - 1].label}, CDC/NCHS",
                change=f"Deleted in ICD-10-CM {history.releases[gone].label}",
                changed_in=f"ICD-10-CM {history.releases[gone].label}")
    return records


def _nearest_ancestor(code: str, records: dict[str, Record]) -> str | None:
    """The closest entry of the current release above a deleted key (by its code, or its range)."""
    if "-" in code:  # a deleted block or chapter: the chapter that holds its first category
        first = code.split("-")[0]
        chapters = [r for r in records.values() if r.kind == "chapter" and r.code != code and
                    r.code.split("-")[0] <= first <= r.code.split("-")[1]]
        return chapters[0].code if chapters else None
    candidate = code[:7].rstrip("X").rstrip(".") if len(code.replace(".", "")) == 7 else code[:-1].rstrip(".")
    while len(candidate) >= 3:
        if candidate in records:
            return candidate
        candidate = candidate[:-1].rstrip(".")
    return None


def _hcpcs_records(release: hcpcs.HcpcsRelease, changes: ReleaseDiff | None) -> dict[str, Record]:
    label = _hcpcs_label(release)
    source = f"{label}, CMS"
    path = Path(release.file)
    records: dict[str, Record] = {}
    new = {e.code for e in changes.new} if changes else set()
    changed = {c.code: c.fields for c in changes.changed} if changes else {}
    terminated = {e.code for e in changes.terminated} if changes else None
    letters = sorted({code[0] for code in release.codes})
    for section in hcpcs.SECTIONS:
        if section.letter not in letters:
            continue
        records[section.letter] = Record(path=path, code_set="hcpcs", code=section.letter, descriptor=section.name,
                                         kind="section", official=True, field_lines={}, source=source)
        if len(section.ranges) > 1:
            for span in section.ranges:
                records[span.label] = Record(path=path, code_set="hcpcs", code=span.label, descriptor=span.name,
                                             parent=section.letter, kind="range", official=True, field_lines={},
                                             source=source)
    if release.modifiers:
        records["modifiers"] = Record(path=path, code_set="hcpcs", code="modifiers", kind="section", official=True,
                                      descriptor="HCPCS Level II modifiers", field_lines={}, source=source)
    for entry in [*release.codes.values(), *release.modifiers.values()]:
        if entry.kind == "modifier":
            parent: str | None = "modifiers"
        else:
            named = hcpcs.range_of(entry.code)
            parent = named.label if named is not None and named.label in records else entry.code[0]
        status, change = _hcpcs_status(entry, entry.code in new, changed.get(entry.code), label)
        # a code terminated in an earlier quarter keeps its page and badge, but this quarter did not change it
        now = status != "terminated" or (entry.code in terminated if terminated is not None
                                         else entry.status.action.code == "D")
        records[entry.code] = Record(
            path=path, code_set="hcpcs", code=entry.code, descriptor=entry.long_description, parent=parent,
            kind=entry.kind, official=True, field_lines={}, status=status, source=source, entry=entry, change=change,
            changed_in=label if change and now else "",
            other_descriptors={"Short descriptor": entry.short_description} if entry.short_description else {})
    return records


def _quarter(version: str | None) -> str:
    """"2020 OCT" → "October 2020 quarterly file"."""
    months = {"JAN": "January", "APR": "April", "JUL": "July", "OCT": "October"}
    year, _, month = (version or "").partition(" ")
    return f"{months.get(month, month.title())} {year} quarterly file".strip()


def _hcpcs_status(entry: hcpcs.HcpcsEntry, new: bool, changed: tuple[str, ...] | None,
                  label: str) -> tuple[str, str]:
    kind = entry.status.kind
    if kind == "terminated":
        when = entry.status.terminated
        return "terminated", f"Terminated{f' after {when:%B %-d, %Y}' if when else ''} ({label})"
    if new or kind == "added":
        return "new", f"Added in {label}"
    if changed or kind in ("changed", "reactivated"):
        what = ", ".join(changed or entry.status.changed) or ("reactivated" if kind == "reactivated" else "record")
        return "revised", f"Changed in {label}: {what}"
    return "active", ""


_RANGE_IN_LABEL = re.compile(r"(\d{4}[0-9FTUM])\s*[-–]\s*(\d{4}[0-9FTUM])")


def _cpt_records(release: cpt.CptRelease) -> dict[str, Record]:
    source = f"{release.name}{f' {release.version}' if release.version else ''}, American Medical Association"
    path = Path(release.files[0]) if release.files else Path("cpt")
    records: dict[str, Record] = {}
    sections: dict[str, list[str]] = {}
    for entry in release.codes.values():
        if entry.section:
            sections.setdefault(entry.section, []).append(entry.code)
    range_of: dict[str, str] = {}
    for label, codes in sections.items():
        found = _RANGE_IN_LABEL.search(label)
        key = f"{found[1]}-{found[2]}" if found else f"{min(codes)}-{max(codes)}"
        name = _RANGE_IN_LABEL.sub("", label).strip(" ,;:()") or label
        if key not in records:
            records[key] = Record(path=path, code_set="cpt", code=key, descriptor=name, kind="range", official=True,
                                  field_lines={}, source=source, searchable=release.search_index_licensed_text)
        range_of.update(dict.fromkeys(codes, key))
    for entry in release.codes.values():
        others = {"Medium descriptor": entry.medium, "Short descriptor": entry.short,
                  "Consumer friendly descriptor": entry.consumer, "Clinician descriptor": entry.clinician}
        records[entry.code] = Record(
            path=path, code_set="cpt", code=entry.code, descriptor=entry.long, parent=range_of.get(entry.code),
            kind="code", official=True, field_lines={}, source=source, entry=entry,
            other_descriptors={k: v for k, v in others.items() if v}, searchable=release.search_index_licensed_text)
    return records


# --------------------------------------------------------------------------------------------
# Merging editors' records


def merge(sources: Sources, settings: Settings, records: list[Record], problems: Problems) -> list[Record]:
    """The official records with editors' records merged on top, plus editors' records of their own."""
    merged = official_records(sources, settings)
    known = _release_codes(sources, settings)
    others: list[Record] = []
    for record in records:
        official = merged.get(record.code)
        if official is None or not official.official or official.code_set != record.code_set:
            release = known.get(record.code_set)
            if release is not None and record.code not in release.codes and not record.not_in_release \
                    and CODE_SETS[record.code_set].is_code(record.code):
                problems.add(record.path, record.code_line,
                             f"{record.code} is not in the {release.name}{_nearby(record.code, release.codes)}; "
                             f"check the code, or add 'not_in_release: true' if the record is deliberate")
            elif release is not None and record.not_in_release and record.code in release.codes:
                problems.add(record.path, record.field_lines["not_in_release"],
                             f"'not_in_release' is set, but {record.code} is in the {release.name}; remove it")
            others.append(record)  # deliberate extra codes, and duplicates reported by resolve()
            continue
        if record.not_in_release:
            problems.add(record.path, record.field_lines["not_in_release"],
                         f"'not_in_release' is set, but {record.code} is in the {_release_name(official)}; "
                         "remove it")
        for name in OFFICIAL_FIELDS:
            if name in record.field_lines and getattr(record, name) != getattr(official, name):
                problems.add(record.path, record.field_lines[name],
                             f"'{name}' of {record.code} comes from the {_release_name(official)} "
                             f"({getattr(official, name)!r}); remove it from the record")
        for name in ("descriptor", "parent", "billable", "status", "kind", "notes", "official", "source", "entry",
                     "change", "changed_in", "other_descriptors", "searchable"):
            setattr(record, name, getattr(official, name))
        merged[record.code] = record
    everything = list(merged.values()) + others
    return everything + _cpt_groups(everything)


def _cpt_groups(records: list[Record]) -> list[Record]:
    """The folders CPT codes are published in (their first three characters), as pages listing them."""
    groups: dict[str, list[str]] = {}
    for record in records:
        if record.code_set == "cpt" and not record.is_range:
            groups.setdefault(record.code[:3], []).append(record.code)
    pages = []
    for key, codes in groups.items():
        span = f"{key}00–{key}99" if all(c.isdigit() for c in codes) else f"{min(codes)}–{max(codes)}"
        pages.append(Record(path=Path("cpt"), code_set="cpt", code=key, descriptor=f"CPT® codes {span}", kind="group",
                            official=True, field_lines={}))
    return pages


@dataclass
class _Known:
    name: str
    codes: Iterable[str]


def _release_codes(sources: Sources, settings: Settings) -> dict[str, _Known]:
    """Per code set, the codes its release lists (editors' records of other codes are likely typos)."""
    known: dict[str, _Known] = {}
    if sources.icd is not None:
        known["icd-10-cm"] = _Known(f"ICD-10-CM release ({sources.icd.path.name})", sources.icd.entries.keys())
    if sources.hcpcs is not None:
        known["hcpcs"] = _Known(f"HCPCS release ({Path(sources.hcpcs.file).name})",
                                {**sources.hcpcs.codes, **sources.hcpcs.modifiers}.keys())
    if sources.cpt is not None:
        known["cpt"] = _Known(f"CPT release ({sources.cpt.name})", sources.cpt.codes.keys())
    return known


def _release_name(record: Record) -> str:
    return {"icd-10-cm": "ICD-10-CM release", "hcpcs": "HCPCS release", "cpt": "CPT release"}[record.code_set]


def _nearby(code: str, known: Iterable[str]) -> str:
    """A hint naming codes that differ only in the last character, so a typo is easy to spot."""
    close = sorted((c for c in known if c.startswith(code[:-1]) and c != code), key=sort_key)[:3] if len(code) > 3 else []
    return f" (did you mean {' or '.join(close)}?)" if close else ""


__all__ = ["Sources", "load_sources", "merge", "newest_releases", "official_records", "icd10cm"]
