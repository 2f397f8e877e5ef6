#!/usr/bin/env python3
"""Grow a copy of the project to the full catalogue issue 15's budgets are held on.

    .venv/bin/python bench/grown_catalogue.py PROJECT_COPY [--seed N]

Rewrites PROJECT_COPY (a copy: never the working tree) in place so that its build has every
code set at full size, not only ICD-10-CM:

- HCPCS Level II: `content/releases/bench/hcpcs/HCPC2026_JAN_ANWEB.txt`, the ~8,700 codes and
  400 modifiers of `make_releases.write()` in CMS's fixed-width layout, with every row of the
  demo's CMS file (content/releases/hcpcs/HCPC2020_OCT_ANWEB.txt) merged in, so the editors'
  records (content/hcpcs/*.md) are in the release; a generated code that collides with a
  demo row is dropped, the demo row kept.
- A "previous quarter" file, `HCPC2025_OCT_ANWEB.txt`, made from the same entries so that the
  new / changed / terminated lists exist at a realistic size: PREVIOUS_CHANGES generated codes
  left out of it (new in January), as many with another long description in it (changed), as
  many that are terminated in January still in use in it (terminated). The demo rows are the
  same in both files, so the editors' records keep the status they give.
- CPT: `content/releases/bench/cpt/` with the ~11,000 CPT-form codes of `make_releases.write()`
  (LONGULT, MEDU, SHORTU, ConsumerDescriptor; made-up text, never AMA text), the demo
  fixture's rows (content/releases/cpt/*.txt) merged in the same way, and the demo's
  `sections.csv` (the only codes with a section: the range of the editors' records), read
  with `descriptor_source: licensed`, so every code of the files gets a page.
- `content/site.yaml` of the copy: HCPCS `release.path` / `release.previous` and CPT
  `descriptor_source` / `release` pointed at those files (paths relative to content/),
  rewritten with yaml.safe_load / safe_dump (comments are lost; it is a copy).

ICD-10-CM stays the official release the default build reads (about 98,500 pages).
"""
from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, for codepages
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for make_releases

import make_releases

from codepages.releases import hcpcs

ROOT = Path(__file__).resolve().parent.parent
BENCH_RELEASES = Path("releases/bench")  # below content/
HCPCS_CURRENT = "HCPC2026_JAN_ANWEB.txt"
HCPCS_PREVIOUS = "HCPC2025_OCT_ANWEB.txt"
DEMO_HCPCS = Path("releases/hcpcs/HCPC2020_OCT_ANWEB.txt")
DEMO_CPT = Path("releases/cpt")
PREVIOUS_CHANGES = 40  # codes of each kind (new, changed, terminated) between the two quarters
CPT_FILES = {  # file → (format, header line or None); the layouts of make_releases and the fixture
    "LONGULT.txt": "tsv",
    "MEDU.txt": "space",
    "SHORTU.txt": "space",
    "ConsumerDescriptor.txt": "tsv-header",
}


@dataclass
class Grown:
    hcpcs_codes: int = 0
    hcpcs_modifiers: int = 0
    hcpcs_dropped: list[str] = field(default_factory=list)  # generated codes replaced by demo rows
    previous: dict[str, int] = field(default_factory=dict)  # new / changed / terminated
    cpt_codes: int = 0
    cpt_dropped: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        return (f"HCPCS {self.hcpcs_codes:,} codes + {self.hcpcs_modifiers:,} modifiers "
                f"({len(self.hcpcs_dropped)} generated codes dropped for demo rows; previous quarter differs by "
                + ", ".join(f"{n} {kind}" for kind, n in self.previous.items())
                + f"); CPT {self.cpt_codes:,} codes ({len(self.cpt_dropped)} generated codes dropped for demo rows)")


def grow(project: Path, seed: int = 12) -> Grown:
    """Write the grown releases into the copy's content/ and point its site.yaml at them."""
    content = project / "content"
    out = content / BENCH_RELEASES
    grown = Grown()
    generated = make_releases.write(out, seed=seed)  # hcpcs/HCPC2026_JAN_ANWEB.txt, cpt/*.txt
    _grow_hcpcs(content, out / "hcpcs", generated["hcpcs"], grown)
    _grow_cpt(content, out / "cpt", grown)
    (out / "cpt" / "release.yaml").unlink(missing_ok=True)  # its mapping is relative to cpt/; site.yaml's is below
    _point_settings(content)
    return grown


def _grow_hcpcs(content: Path, folder: Path, generated_file: Path, grown: Grown) -> None:
    generated = hcpcs.read_text(generated_file)
    demo = hcpcs.read_text(content / DEMO_HCPCS)
    demo_entries = {**demo.codes, **demo.modifiers}
    merged = {**generated.codes, **generated.modifiers}
    grown.hcpcs_dropped = sorted(code for code in demo_entries if code in merged)
    merged.update(demo_entries)
    entries = sorted(merged.values(), key=lambda e: (e.kind != "code", e.code))
    generated_file.unlink()
    current = folder / HCPCS_CURRENT
    current.write_text(hcpcs.format_text(entries), encoding="cp1252", newline="")

    # the previous quarter: the same entries, a few dozen generated ones changed back
    candidates = [e for e in entries if e.code not in demo_entries and e.kind == "code"]
    terminated = [e for e in candidates if e.status.kind == "terminated"][:PREVIOUS_CHANGES]
    rest = [e for e in candidates if e.status.kind != "terminated"]
    step = max(1, len(rest) // (2 * PREVIOUS_CHANGES))
    spread = rest[::step]
    new = {e.code for e in spread[0::2][:PREVIOUS_CHANGES]}
    changed = {e.code for e in spread[1::2][:PREVIOUS_CHANGES]}
    in_use = {e.code for e in terminated}
    previous = []
    for entry in entries:
        if entry.code in new:
            continue
        if entry.code in changed:
            entry = entry._replace(long_description=entry.long_description + ", previous wording")
        elif entry.code in in_use:
            status = entry.status._replace(kind="active", action=hcpcs.Coded("N", entry.status.action.meaning),
                                           terminated=None)
            entry = entry._replace(status=status)
        previous.append(entry)
    (folder / HCPCS_PREVIOUS).write_text(hcpcs.format_text(previous), encoding="cp1252", newline="")
    check = hcpcs.diff(hcpcs.read_text(folder / HCPCS_PREVIOUS), hcpcs.read_text(current))
    grown.previous = {"new": len(check.new), "changed": len(check.changed), "terminated": len(check.terminated)}
    final = hcpcs.read_text(current)
    grown.hcpcs_codes, grown.hcpcs_modifiers = len(final.codes), len(final.modifiers)
    grown.files += [current, folder / HCPCS_PREVIOUS]


def _read_cpt(path: Path, kind: str) -> tuple[str | None, dict[str, str]]:
    """(header line, code → the rest of its line) of one CPT data file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines.pop(0) if kind == "tsv-header" else None
    rows: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            continue
        if kind == "tsv":
            code, _, text = line.partition("\t")
        elif kind == "space":
            code, _, text = line.partition(" ")
        else:  # Concept Id, CPT Code, descriptor
            concept, code, text = line.split("\t", 2)
            text = f"{concept}\t{text}"
        rows[code] = text
    return header, rows


def _write_cpt(path: Path, kind: str, header: str | None, rows: dict[str, str]) -> None:
    lines = [header] if header is not None else []
    for code, text in rows.items():
        if kind == "tsv":
            lines.append(f"{code}\t{text}")
        elif kind == "space":
            lines.append(f"{code} {text}")
        else:
            concept, rest = text.split("\t", 1)
            lines.append(f"{concept}\t{code}\t{rest}")
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _grow_cpt(content: Path, folder: Path, grown: Grown) -> None:
    dropped: set[str] = set()
    codes: set[str] = set()
    for name, kind in CPT_FILES.items():
        header, generated = _read_cpt(folder / name, kind)
        _, demo = _read_cpt(content / DEMO_CPT / name, kind)
        dropped |= set(generated) & set(demo)
        merged = {**{c: t for c, t in generated.items() if c not in demo}, **demo}
        _write_cpt(folder / name, kind, header, dict(sorted(merged.items())))
        codes |= set(merged)
        grown.files.append(folder / name)
    # sections: the demo's (only the codes of the editors' range have one), labelled with the
    # descriptor the editors' range record gives (with licensed descriptors the range's name comes
    # from the release, and a record that says otherwise is a problem of the build)
    with open(content / DEMO_CPT / "sections.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    names = _range_descriptors(content / "cpt")
    for row in rows[1:]:
        span = next((s for s in names if s[0] <= row[0] <= s[1]), None)
        if span is not None:
            row[1] = f"{names[span]}, {span[0]}-{span[1]}"
    with open(folder / "sections.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    grown.files.append(folder / "sections.csv")
    grown.cpt_codes = len(codes)
    grown.cpt_dropped = sorted(dropped)


def _range_descriptors(folder: Path) -> dict[tuple[str, str], str]:
    """(first, last) → descriptor of each editors' range record (`62320-62327.md`)."""
    found = {}
    for path in sorted(folder.glob("*-*.md")):
        text = path.read_text(encoding="utf-8")
        front = yaml.safe_load(text.split("---", 2)[1]) if text.startswith("---") else None
        if isinstance(front, dict) and front.get("descriptor"):
            first, _, last = path.stem.partition("-")
            found[(first, last)] = str(front["descriptor"])
    return found


def _point_settings(content: Path) -> None:
    path = content / "site.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    here = BENCH_RELEASES.as_posix()
    settings["code_sets"]["hcpcs"]["release"] = {"path": f"{here}/hcpcs/{HCPCS_CURRENT}",
                                                 "previous": f"{here}/hcpcs/{HCPCS_PREVIOUS}"}
    cpt = settings["code_sets"]["cpt"]
    cpt["descriptor_source"] = "licensed"
    cpt["release"] = {
        "name": "Synthetic CPT data files (benchmark; made-up text, not AMA text)",
        "version": "bench",
        "encoding": "utf-8",
        "search_index_licensed_text": False,
        "files": [
            {"path": f"{here}/cpt/LONGULT.txt", "format": "tsv", "header": False, "columns": {"code": 1, "long": 2}},
            {"path": f"{here}/cpt/MEDU.txt", "format": "space", "columns": {"code": 1, "medium": 2}},
            {"path": f"{here}/cpt/SHORTU.txt", "format": "space", "columns": {"code": 1, "short": 2}},
            {"path": f"{here}/cpt/ConsumerDescriptor.txt", "format": "tsv", "header": True,
             "columns": {"code": "CPT Code", "consumer": "Consumer Friendly Descriptor"}},
            {"path": f"{here}/cpt/sections.csv", "format": "csv", "header": True,
             "columns": {"code": "code", "section": "section"}},
        ],
    }
    text = yaml.safe_dump(settings, sort_keys=False, allow_unicode=True, width=120)
    path.write_text("# yaml-language-server: $schema=../codepages/schema/site.schema.json\n"
                    "# Rewritten by bench/grown_catalogue.py for the grown catalogue (a copy of the project).\n"
                    + text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path, help="a copy of the project (its content/ is rewritten)")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    project = args.project.resolve()
    if project == ROOT:
        raise SystemExit("refusing to rewrite the working tree: give a copy of the project")
    print(grow(project, args.seed).summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
