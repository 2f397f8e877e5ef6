"""Write full-size synthetic release files in the real layouts, for benchmarks and tests.

    .venv/bin/python bench/make_releases.py OUT_DIR [--seed N] [--hcpcs-codes N]
        [--hcpcs-modifiers N] [--cpt-codes N]

writes into OUT_DIR:

- ``hcpcs/HCPC2026_JAN_ANWEB.txt`` — ~8,700 Level II codes and ~400 modifiers in CMS's
  fixed-width layout (written by ``codepages.releases.hcpcs.format_text``), spread over the
  letter sections like the real file (shares taken from CMS's October 2020 file), with
  long descriptions of realistic length, about a third of them over several lines, and the
  coded fields filled with values CMS uses;
- ``cpt/LONGULT.txt``, ``cpt/MEDU.txt``, ``cpt/SHORTU.txt`` (tab / "code blank text"),
  ``cpt/ConsumerDescriptor.txt`` (tab, header row) — ~11,000 CPT-form codes over the
  sections' number ranges plus Category II (F), III (T) and PLA (U) codes, and
  ``cpt/release.yaml``, their mapping for ``code_sets.cpt.release``.

Everything is generated from the word lists below with a seeded random generator, so the same
seed gives byte-identical files. No descriptor is CMS or AMA text: the CPT descriptors are
made-up phrases (our own words), never AMA CPT text.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, for codepages

from codepages.releases.hcpcs import Coded, HcpcsEntry, HcpcsStatus, format_text
from codepages.releases.hcpcs_tables import (
    ACTION_CODES,
    BETOS,
    COVERAGE_CODES,
    MULTIPLE_PRICING,
    PRICING_INDICATORS,
    TYPE_OF_SERVICE,
)

# Shares of the letter sections in CMS's October 2020 file (6,825 codes).
SECTION_SHARES = {
    "G": 1742, "L": 904, "J": 836, "A": 678, "E": 608, "S": 526, "C": 378, "Q": 367,
    "V": 210, "K": 150, "M": 117, "T": 110, "H": 88, "P": 56, "B": 50, "U": 4, "R": 3,
}  # fmt: skip

NOUNS = (
    "catheter", "dressing", "sensor", "pump", "brace", "orthosis", "prosthesis", "lens",
    "wheelchair", "cushion", "electrode", "tubing", "mask", "battery", "socket", "splint",
    "syringe", "needle", "filter", "collar", "insert", "valve", "strap", "liner", "frame",
    "monitor", "reservoir", "cannula", "stent", "graft", "implant", "bandage", "pad",
)  # fmt: skip
ADJECTIVES = (
    "adjustable", "custom fabricated", "prefabricated", "disposable", "reusable", "sterile",
    "non-sterile", "powered", "manual", "pediatric", "adult", "heavy duty", "lightweight",
    "silicone", "foam", "elastic", "rigid", "semi-rigid", "hydrocolloid", "alginate",
)  # fmt: skip
PLACES = (
    "lumbar", "cervical", "thoracic", "sacral", "knee", "ankle", "hip", "shoulder", "elbow",
    "wrist", "hand", "foot", "upper extremity", "lower extremity", "trunk", "head",
)  # fmt: skip
QUALIFIERS = (
    "each", "per month", "per unit", "per pair", "per 10 square centimeters", "per week",
    "includes fitting and adjustment", "any type", "any size", "not otherwise specified",
    "with or without attachments", "for use with implanted device", "replacement only",
)  # fmt: skip
DRUGS = (
    "acetamidex", "benzorin", "clavitrex", "dorasol", "efluvant", "fenorazine", "glyvexa",
    "hydrelin", "ibrutane", "jovastat", "kelfarin", "lumitrex", "morvadine", "nexolan",
)  # fmt: skip
UNITS = ("1 mg", "5 mg", "10 mg", "25 mg", "0.1 mg", "1 mcg", "10 units", "100 units", "1 ml")
SERVICES = (
    "assessment", "counseling", "screening", "management", "monitoring", "education",
    "evaluation", "follow-up", "coordination", "training",
)  # fmt: skip

START = date(1984, 1, 1)


def _phrase(rng: random.Random, letter: str) -> str:
    if letter in "JQ" and rng.random() < 0.8:
        text = f"Injection, {rng.choice(DRUGS)}-{rng.choice('abcdefgh')}{rng.randint(1, 99)}, {rng.choice(UNITS)}"
    elif letter in "GHSTMP" and rng.random() < 0.7:
        text = (
            f"{rng.choice(SERVICES).capitalize()} of {rng.choice(PLACES)} condition by a"
            f" {rng.choice(('physician', 'qualified health professional', 'clinical staff'))},"
            f" {rng.choice(('15 minutes', '30 minutes', 'per session', 'per encounter'))}"
        )
    else:
        text = f"{rng.choice(NOUNS).capitalize()}, {rng.choice(ADJECTIVES)}, {rng.choice(PLACES)}"
    # about a third of real long descriptions run over 80 characters
    while rng.random() < 0.42 and len(text) < 700:
        text += f", {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}, {rng.choice(QUALIFIERS)}"
    return text


def _day(rng: random.Random, first: date = START, last: date = date(2026, 1, 1)) -> date:
    """The first day of a quarter (CMS's update dates) between `first` and `last`."""
    day = date(rng.randint(first.year, last.year), rng.choice((1, 4, 7, 10)), 1)
    return min(max(day, first), last)


def hcpcs_entries(rng: random.Random, n_codes: int, n_modifiers: int) -> list[HcpcsEntry]:
    total = sum(SECTION_SHARES.values())
    counts = {k: max(1, round(v * n_codes / total)) for k, v in SECTION_SHARES.items()}
    counts["G"] += n_codes - sum(counts.values())
    action_codes = list(ACTION_CODES)
    weights = [3 if a in "AC" else 1 if a in "DFPSTBR" else 80 for a in action_codes]
    betos = list(BETOS)
    pricing = list(PRICING_INDICATORS)
    tos = list(TYPE_OF_SERVICE)
    cov = list(COVERAGE_CODES)
    mult = list(MULTIPLE_PRICING)
    out: list[HcpcsEntry] = []

    def status(rng: random.Random) -> HcpcsStatus:
        action = rng.choices(action_codes, weights)[0]
        meaning, kind, changed = ACTION_CODES[action]
        added = _day(rng)
        effective = max(added, _day(rng))
        terminated = effective - timedelta(days=1) if action == "D" else None
        if action == "N" and rng.random() < 0.06:
            terminated = _day(rng, added)
        if terminated is not None:
            kind = "terminated"
        return HcpcsStatus(kind, Coded(action, meaning), changed, added, effective, terminated)  # type: ignore[arg-type]

    def entry(code: str, kind: str, long: str, short: str, with_detail: bool) -> HcpcsEntry:
        p = rng.choice(pricing) if with_detail else None
        return HcpcsEntry(
            code=code,
            kind=kind,  # type: ignore[arg-type]
            long_description=long,
            short_description=short[:28],
            status=status(rng),
            pricing=(Coded(p, PRICING_INDICATORS[p]),) if p else (),
            multiple_pricing=Coded(m, MULTIPLE_PRICING[m]) if with_detail and (m := rng.choice(mult)) else None,
            coverage=Coded(c, COVERAGE_CODES[c]) if (c := rng.choice(cov)) else None,
            betos=Coded(b, BETOS[b]) if with_detail and (b := rng.choice(betos)) else None,
            type_of_service=tuple(Coded(t, TYPE_OF_SERVICE[t]) for t in rng.sample(tos, rng.randint(1, 2)))
            if with_detail
            else (),
            lab_certification=(),
            cross_references=(f"{code[0]}{rng.randint(0, 9999):04d}",) if rng.random() < 0.03 else (),
            coverage_issues_manual=(),
            carriers_manual=(f"{rng.randint(2000, 4999)}",) if rng.random() < 0.1 else (),
            statute=None,
            asc_group="YY" if with_detail and rng.random() < 0.07 else None,
            asc_effective=None,
            payment_group=None,
            payment_policy=None,
            payment_group_effective=None,
            processing_note=f"{rng.randint(1, 300):04d}" if rng.random() < 0.06 else None,
            anesthesia_base_units=0 if with_detail else None,
            sequence=100,
            line=0,
        )

    used: set[str] = set()
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    while len(used) < n_modifiers:
        m = rng.choice(letters[:26]) + rng.choice(letters)
        if m.isdigit():
            continue
        used.add(m)
    for m in sorted(used):
        long = _phrase(rng, "M")
        out.append(entry(m, "modifier", long, long, False))
    for letter in sorted(counts):
        numbers = sorted(rng.sample(range(10000), counts[letter]))
        for n in numbers:
            long = _phrase(rng, letter)
            out.append(entry(f"{letter}{n:04d}", "code", long, long, True))
    return out


CPT_RANGES = (  # (first, last, count): number ranges of the CPT sections
    (100, 1999, 290),
    (10004, 69990, 5600),
    (70010, 79999, 1050),
    (80047, 89398, 1250),
    (90281, 99607, 1310),
)
CPT_LETTER_CODES = (("F", 500), ("T", 600), ("U", 400))
VERBS = ("Removal", "Repair", "Injection", "Imaging", "Measurement", "Placement", "Biopsy",
         "Drainage", "Reconstruction", "Analysis", "Evaluation", "Destruction", "Insertion")  # fmt: skip
TARGETS = ("of a joint", "of a nerve", "of the spine", "of skin tissue", "of a blood vessel",
           "of the bowel", "of an organ", "of a bone", "of a gland", "of the airway")  # fmt: skip
MANNERS = ("through a scope", "by open approach", "through the skin", "with image guidance",
           "without image guidance", "with anesthesia", "in the office", "each additional level")  # fmt: skip


def cpt_rows(rng: random.Random, n_codes: int) -> list[tuple[str, str, str, str, str]]:
    """(code, long, medium, short, consumer): made-up phrases, never AMA text."""
    scale = n_codes / (sum(c for _, _, c in CPT_RANGES) + sum(c for _, c in CPT_LETTER_CODES))
    codes: list[str] = []
    for first, last, count in CPT_RANGES:
        codes += [f"{n:05d}" for n in sorted(rng.sample(range(first, last + 1), round(count * scale)))]
    for letter, count in CPT_LETTER_CODES:
        codes += [f"{n:04d}{letter}" for n in sorted(rng.sample(range(1, 10000), round(count * scale)))]
    rows = []
    for code in codes:
        verb, target, manner = rng.choice(VERBS), rng.choice(TARGETS), rng.choice(MANNERS)
        long = f"{verb} {target}, {manner}"
        while rng.random() < 0.35:
            long += f"; {rng.choice(VERBS).lower()} {rng.choice(TARGETS)} {rng.choice(MANNERS)}"
        medium = f"{verb} {target.removeprefix('of ')} {manner}"[:48]
        short = f"{verb[:5]} {target.split()[-1][:8]} {manner.split()[-1][:6]}".upper()[:28]
        consumer = f"A {verb.lower()} {target.removeprefix('of ')} done {manner}"
        rows.append((code, long, medium, short, consumer))
    return rows


CPT_CONFIG = """\
# Mapping of the generated files for code_sets.cpt.release (made-up text, not AMA CPT).
name: Synthetic CPT data files (benchmark; made-up text)
version: bench
encoding: utf-8
search_index_licensed_text: false
files:
  - {path: LONGULT.txt, format: tsv, header: false, columns: {code: 1, long: 2}}
  - {path: MEDU.txt, format: space, columns: {code: 1, medium: 2}}
  - {path: SHORTU.txt, format: space, columns: {code: 1, short: 2}}
  - path: ConsumerDescriptor.txt
    format: tsv
    header: true
    columns: {code: CPT Code, consumer: Consumer Friendly Descriptor}
"""


def write(out: Path, seed: int = 12, hcpcs_codes: int = 8700, hcpcs_modifiers: int = 400, cpt_codes: int = 11000) -> dict[str, Path]:
    rng = random.Random(seed)
    (out / "hcpcs").mkdir(parents=True, exist_ok=True)
    (out / "cpt").mkdir(parents=True, exist_ok=True)
    hcpcs_path = out / "hcpcs" / "HCPC2026_JAN_ANWEB.txt"
    hcpcs_path.write_text(format_text(hcpcs_entries(rng, hcpcs_codes, hcpcs_modifiers)), encoding="cp1252", newline="")
    rows = cpt_rows(rng, cpt_codes)
    cpt = out / "cpt"
    (cpt / "LONGULT.txt").write_text("".join(f"{c}\t{lg}\n" for c, lg, _, _, _ in rows), encoding="utf-8")
    (cpt / "MEDU.txt").write_text("".join(f"{c} {m}\n" for c, _, m, _, _ in rows), encoding="utf-8")
    (cpt / "SHORTU.txt").write_text("".join(f"{c} {s}\n" for c, _, _, s, _ in rows), encoding="utf-8")
    (cpt / "ConsumerDescriptor.txt").write_text(
        "Concept Id\tCPT Code\tConsumer Friendly Descriptor\n"
        + "".join(f"{1000000 + i}\t{c}\t{cf}\n" for i, (c, _, _, _, cf) in enumerate(rows)),
        encoding="utf-8",
    )
    (cpt / "release.yaml").write_text(CPT_CONFIG, encoding="utf-8")
    return {"hcpcs": hcpcs_path, "cpt": cpt / "release.yaml"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--hcpcs-codes", type=int, default=8700)
    ap.add_argument("--hcpcs-modifiers", type=int, default=400)
    ap.add_argument("--cpt-codes", type=int, default=11000)
    a = ap.parse_args()
    paths = write(a.out, a.seed, a.hcpcs_codes, a.hcpcs_modifiers, a.cpt_codes)
    for kind, p in paths.items():
        print(f"{kind}: {p}")


if __name__ == "__main__":
    main()
