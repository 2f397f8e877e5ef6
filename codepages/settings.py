"""Site settings (content/site.yaml), typed.

The file is checked against `schema/site.schema.json` first (errors with their lines, in the
words of the schema); only a valid document becomes a `Settings` object. The dataclasses
below mirror the schema one to one (a test walks both and fails when they drift apart), so
the rest of the build reads `settings.meter.guest_views`, never a dict.
"""
from __future__ import annotations

import dataclasses
import datetime
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import schemas, yamlfile
from .errors import Problems
from .textfile import read_text

Access = Literal["public", "protected"]
DescriptorSource = Literal["official", "paraphrase", "licensed"]


@dataclass(frozen=True)
class Link:
    label: str
    url: str | None = None  # a link without an address is not shown


@dataclass(frozen=True)
class AccountLinks:
    login_url: str
    register_url: str
    logout_url: str


@dataclass(frozen=True)
class Assistant:
    question: str
    call_to_action: str
    url: str | None = None  # with {code} and {code_set}; unset: the box explains how to set it


@dataclass(frozen=True)
class CodeSetSettings:
    name: str
    long_name: str
    descriptor_source: DescriptorSource
    copyright: str
    # the release file(s) pages come from; read by codepages.releases (its own typed config)
    release: dict[str, Any] | None = field(default=None, metadata={"schema": "raw"})


@dataclass(frozen=True)
class Meter:
    """The view meter's quotas; the build writes them into every sealed page for the edge."""

    period_days: int
    guest_views: int
    free_account_extra_views: int
    network_daily_views: int = 20  # fresh guest views per network (IPv4 address, IPv6 /64) per day


SectionSource = Literal["history", "ms-drg", "gems", "hcpcs"]


@dataclass(frozen=True)
class SectionRule:
    title: str
    id: str
    access: Access
    crosswalk: str | None = None  # the code set whose crosswalk list fills this section
    source: SectionSource | None = None  # filled by the build from a source, not written by editors

    @property
    def protected(self) -> bool:
        return self.access == "protected"


@dataclass(frozen=True)
class Placeholder:
    title: str
    text: str
    link_label: str


@dataclass(frozen=True)
class Placeholders:
    guest: Placeholder
    free_account: Placeholder


@dataclass(frozen=True)
class Hosting:
    """What the host accepts (Netlify's documented limits, with room to grow); the build checks its output."""

    max_entries_per_folder: int = 10_000  # Netlify: a deploy fails above 54,000 files in one folder
    max_file_bytes: int = 10_000_000  # Netlify: files over 10 MB are not supported by its CDN
    max_files: int = 500_000  # Netlify sets no total; this keeps deploys to minutes


@dataclass(frozen=True)
class Settings:
    name: str
    base_url: str
    nav: list[Link]
    account: AccountLinks
    assistant: Assistant
    code_sets: dict[str, CodeSetSettings]
    meter: Meter
    sections: list[SectionRule]
    placeholders: Placeholders
    tagline: str = ""
    language: str = "en"
    hosting: Hosting = field(default_factory=Hosting)
    # the official ICD-10-CM tabular XML: a path under content/, False for none, None for the default
    icd10cm_release: str | bool | None = None
    # reference data beside ICD-10-CM codes (None: none); read by codepages.reference (its own typed config)
    reference: dict[str, Any] | None = field(default=None, metadata={"schema": "raw"})
    # where the settings came from (not part of the file's schema)
    path: Path = field(default=Path("content/site.yaml"), metadata={"schema": False})
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict, metadata={"schema": False}, repr=False)

    def line_of(self, *key: str | int) -> int:
        return self.lines.get(tuple(key), 1)

    @property
    def section_policy(self) -> dict[str, SectionRule]:
        """Section title → rule, in page order."""
        return {rule.title: rule for rule in self.sections}

    def generated_section(self, source: SectionSource) -> SectionRule | None:
        """The policy's section filled from `source`, if the site shows it."""
        return next((rule for rule in self.sections if rule.source == source), None)

    @property
    def site_url(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def icd_release_path(self) -> Path | None:
        """The ICD-10-CM release to read, or None when the site has none."""
        value = self.icd10cm_release
        if value is False:
            return None
        if value is None or value is True:
            from .releases.icd10cm import default_release_path
            return default_release_path()
        return (self.path.parent / value).resolve()

    @property
    def has_icd_release(self) -> bool:
        return self.icd10cm_release is not False

    def descriptors_from_release(self, code_set: str) -> bool:
        """Whether the code set's descriptors come from its official release (editors need not write one)."""
        if code_set == "icd-10-cm":
            return self.has_icd_release
        settings = self.code_sets[code_set]
        if code_set == "cpt":
            return settings.release is not None and settings.descriptor_source == "licensed"
        return settings.release is not None


def load_settings(path: Path, problems: Problems, base_url: str | None = None) -> Settings | None:
    """The settings of `path`, or None with every problem added to `problems`."""
    text = read_text(path, problems)
    if text is None:
        return None
    try:
        doc = yamlfile.load(text, typed=True)
    except yamlfile.YamlError as exc:
        problems.add(path, exc.line, exc.message, exc.col)
        return None
    if not isinstance(doc.data, dict):
        problems.add(path, 1, "site settings must be a mapping of keys (name:, base_url:, sections: …)")
        return None
    if base_url:
        doc.data["base_url"] = base_url
    if "reference" in doc.data:  # its dates may be written as YAML dates (effective: 2026-04-01), as its docs do
        doc.data["reference"] = _dates_as_text(doc.data["reference"])
    if not schemas.check(doc, "site.schema.json", path, problems, what="setting"):
        return None
    if not _sections_are_distinct(doc, path, problems):
        return None
    settings = from_data(Settings, doc.data)
    return dataclasses.replace(settings, path=path, lines=doc.lines)


def _dates_as_text(value: typing.Any) -> typing.Any:
    if isinstance(value, dict):
        return {key: _dates_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(item) for item in value]
    return value.isoformat() if isinstance(value, datetime.date) else value


def _sections_are_distinct(doc: yamlfile.Document, path: Path, problems: Problems) -> bool:
    seen: dict[str, dict[str, int]] = {"title": {}, "id": {}, "crosswalk": {}}
    ok = True
    assert isinstance(doc.data, dict)
    for index, rule in enumerate(doc.data["sections"]):
        for key, firsts in seen.items():
            value = rule.get(key)
            if value is None:
                continue
            line = doc.line_of(("sections", index, key))
            if value in firsts:
                problems.add(path, line, f"section {key} '{value}' is given twice (first on line {firsts[value]})")
                ok = False
            firsts[value] = line
    return ok


T = typing.TypeVar("T")


def from_data(cls: type[T], data: Any) -> T:
    """Build dataclass `cls` from schema-valid data (nested dataclasses, lists, dicts, literals)."""
    return typing.cast(T, _convert(cls, data))


def _convert(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _convert(hints[f.name], value[f.name])
                       for f in dataclasses.fields(kind) if f.name in value})
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_convert(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(kind)
        return {k: _convert(item, v) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(kind):
            if dataclasses.is_dataclass(option) and isinstance(value, dict):
                return _convert(option, value)
        return value
    return value
