"""Site settings (content/site.yaml): names, links, quotas and the section policy."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import schemas, yamlfile
from .errors import Problems
from .textfile import read_text


@dataclass(frozen=True)
class SectionRule:
    title: str
    id: str
    access: str  # "public" | "protected"
    crosswalk: str | None  # the code set whose crosswalk fills this section
    order: int

    @property
    def protected(self) -> bool:
        return self.access == "protected"


@dataclass
class Settings:
    raw: dict
    path: Path
    lines: dict = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.lines.get((key,), 1)

    @property
    def sections(self) -> dict[str, SectionRule]:
        return {
            rule["title"]: SectionRule(rule["title"], rule["id"], rule["access"], rule.get("crosswalk"), order)
            for order, rule in enumerate(self.raw["sections"])
        }

    @property
    def icd_release_path(self) -> Path | None:
        """The ICD-10-CM release to read, or None when the site has none."""
        value = self.raw.get("icd10cm_release")
        if value is False:
            return None
        if value is None or value is True:
            from .icd10cm import default_release_path
            return default_release_path()
        return (self.path.parent / value).resolve()

    @property
    def has_icd_release(self) -> bool:
        return self.raw.get("icd10cm_release") is not False

    @property
    def base_url(self) -> str:
        return self.raw["base_url"].rstrip("/")

    def __getitem__(self, key):
        return self.raw[key]


def load_settings(path: Path, problems: Problems, base_url: str | None = None) -> Settings | None:
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
    if not schemas.check(doc, "site.schema.json", path, problems, what="setting"):
        return None
    seen: dict[str, dict[str, int]] = {"title": {}, "id": {}, "crosswalk": {}}
    ok = True
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
    return Settings(doc.data, path, doc.lines) if ok else None
