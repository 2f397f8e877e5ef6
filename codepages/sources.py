"""Official releases as content sources: the ICD-10-CM tabular XML, merged under editors' records.

Every entry of the release becomes a record; an editor's record for the same code adds its
plain-language description, sections, related codes and crosswalks on top, while the
official fields (descriptor, parent, billable) always come from the release.
"""
from __future__ import annotations

from .codesets import CODE_SETS
from .errors import Problems
from .records import Record
from .releases.icd10cm import Release, ReleaseError, read_release
from .settings import Settings

OFFICIAL_FIELDS = ("descriptor", "parent", "billable")


def load_icd_release(settings: Settings, problems: Problems) -> Release | None:
    path = settings.icd_release_path
    if path is None:
        return None
    try:
        return read_release(path)
    except ReleaseError as exc:
        line = settings.line_of("icd10cm_release")
        problems.add(settings.path, line, str(exc).replace(str(path), problems.display(path)))
        return None


def official_records(release: Release) -> dict[str, Record]:
    return {
        key: Record(
            path=release.path, code_set="icd-10-cm", code=key, descriptor=entry.descriptor,
            parent=entry.parent, billable=entry.billable, kind=entry.kind, notes=entry.notes, official=True,
            field_lines={},
        )
        for key, entry in release.entries.items()
    }


def merge_release(release: Release, records: list[Record], problems: Problems) -> list[Record]:
    """The release's records with editors' ICD-10-CM records merged on top, plus all others."""
    merged = official_records(release)
    others: list[Record] = []
    for record in records:
        if record.code_set != "icd-10-cm" or not CODE_SETS["icd-10-cm"].is_valid(record.code):
            others.append(record)
            continue
        official = merged.get(record.code)
        if official is None or not official.official:
            if official is None and not record.not_in_release:
                problems.add(record.path, record.code_line,
                             f"{record.code} is not in the ICD-10-CM release ({release.path.name}){_nearby(record.code, merged)}; "
                             f"check the code, or add 'not_in_release: true' if the record is deliberate")
            others.append(record)  # deliberate extra codes, and duplicates reported by resolve()
            continue
        if record.not_in_release:
            problems.add(record.path, record.field_lines["not_in_release"],
                         f"'not_in_release' is set, but {record.code} is in the ICD-10-CM release; remove it")
        for name in OFFICIAL_FIELDS:
            if name in record.field_lines and getattr(record, name) != getattr(official, name):
                problems.add(record.path, record.field_lines[name],
                             f"'{name}' of {record.code} comes from the ICD-10-CM release "
                             f"({getattr(official, name)!r}); remove it from the record")
        record.descriptor, record.parent, record.billable = official.descriptor, official.parent, official.billable
        record.kind, record.notes, record.official = official.kind, official.notes, True
        merged[record.code] = record
    return list(merged.values()) + others


def _nearby(code: str, known: dict[str, Record]) -> str:
    """A hint naming codes that differ only in the last character, so a typo is easy to spot."""
    close = [c for c in known if c.startswith(code[:-1]) and c != code][:3] if len(code) > 3 else []
    return f" (did you mean {' or '.join(close)}?)" if close else ""
