"""The three code sets: what a valid code looks like, how codes sort, where pages live."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CodeSet:
    key: str  # folder and URL segment
    label: str  # how the code set is named before a code: "CPT®", "HCPCS", "ICD-10-CM"
    code_pattern: re.Pattern[str]
    example: str
    rule: str  # a sentence an editor can act on

    def is_code(self, code: str) -> bool:
        return bool(self.code_pattern.fullmatch(code))

    def is_range(self, code: str) -> bool:
        first, sep, last = code.partition("-")
        return bool(sep) and self.is_code(first) and self.is_code(last)

    def is_valid(self, code: str) -> bool:
        return self.is_code(code) or self.is_range(code)


CODE_SETS: dict[str, CodeSet] = {
    cs.key: cs
    for cs in (
        CodeSet(
            "cpt", "CPT®", re.compile(r"\d{4}[0-9FTUM]"), "62326",
            "a CPT code is five characters: five digits, or four digits and F, T, U or M",
        ),
        CodeSet(
            "hcpcs", "HCPCS", re.compile(r"[ABCEGHJKLMPQRSTUV]\d{4}|(?=[0-9A-Z]?[A-Z])[0-9A-Z]{2}"), "J1040",
            "a HCPCS Level II code is a letter (A-C, E, G, H, J-M, P-V) and four digits, a modifier two "
            "letters or a letter and a digit; D codes are the ADA's CDT and cannot be published",
        ),
        CodeSet(
            "icd-10-cm", "ICD-10-CM", re.compile(r"[A-Z](?:\d[0-9A-Z]|A\d)(\.[0-9A-Z]{1,4})?"), "M54.50",
            "an ICD-10-CM code is a letter, a digit and a letter or digit, then optionally a dot "
            "and one to four letters or digits (M54, M54.50, S72.001A)",
        ),
    )
}


def code_set_of(code: str) -> CodeSet | None:
    """The code set a reference belongs to, told by its form (the forms do not overlap)."""
    for code_set in CODE_SETS.values():
        if code_set.is_valid(code):
            return code_set
    return None


def sort_key(code: str) -> tuple[str, int, str]:
    """Order codes as a coder expects: ranges before the codes they start, then by code."""
    first, _, last = code.partition("-")
    return (first, 0 if last else 1, last)


def folders(code_set: str, code: str) -> tuple[str, ...]:
    """The folders a code's page sits in below its code set, so that no folder of the site
    grows past the host's limit (see `hosting`). The rule is a function of the code alone,
    so any spelling of a code can be sent to its page (the edge's addresses function follows
    the same rule; a test checks both agree on every code):

    - ranges, ICD-10-CM chapters, blocks and categories, HCPCS sections: at the top
      (`/icd-10-cm/M50-M54/`, `/icd-10-cm/M54/`);
    - ICD-10-CM codes below a category: in the category's folder (`/icd-10-cm/M54/M54.50/`);
      7th-character codes one level deeper, under the code they extend
      (`/icd-10-cm/S72/S72.001/S72.001A/`; a placeholder X is not a level:
      `/icd-10-cm/S12/S12.8/S12.8XXA/`, `/icd-10-cm/W08/W08.XXXA/`);
    - HCPCS codes in their letter section (`/hcpcs/J/J1040/`), HCPCS Level II modifiers
      (two characters) together (`/hcpcs/modifiers/LT/`);
    - CPT codes in the folder of their first three characters (`/cpt/623/62326/`).
    """
    if "-" in code:
        return ()
    if code_set == "icd-10-cm":
        if len(code) <= 3:
            return ()
        category = code[:3]
        if len(code.replace(".", "")) == 7:
            extends = code[:7].rstrip("X").rstrip(".")
            if extends != category:
                return category, extends
        return (category,)
    if code_set == "hcpcs":
        if len(code) == 2:
            return ("modifiers",)
        return (code[0],) if len(code) == 5 else ()
    if code_set == "cpt":
        return (code[:3],) if len(code) == 5 else ()
    return ()


def url_path(code_set: str, code: str) -> str:
    """The canonical address of a code's page: `/icd-10-cm/M54/M54.50/`, `/cpt/623/62326/`."""
    return "/" + "/".join((code_set, *folders(code_set, code), code)) + "/"


def record_paths(content_dir: Path) -> list[Path]:
    """The editors' record files: content/<code set>/*.md."""
    return sorted(p for key in CODE_SETS for p in (content_dir / key).glob("*.md"))
