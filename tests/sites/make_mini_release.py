"""Cut the official ICD-10-CM tabular release down to a small fixture release for fast tests.

Keeps chapter 1's single-category block B10, chapter 13's dorsopathies (M47, M48, M50, M51,
M54) and chapter 19's S72.00 fracture codes with their 7th-character table.
Run: PYTHONPATH=. .venv/bin/python tests/sites/make_mini_release.py > tests/sites/valid/content/icd10cm-mini.xml
"""
import sys
import xml.etree.ElementTree as ET

from codepages.releases.icd10cm import default_release_path

KEEP = {
    "1": {"B10": ("B10",)},
    "13": {"M40-M54": (), "M45-M49": ("M47", "M48"), "M50-M54": ("M50", "M51", "M54")},
    "19": {"S70-S79": ("S72",)},
}
KEEP_SUBTREE = {"S72": ("S72.0", "S72.00")}  # inside S72 keep only this branch


def prune(diag: ET.Element, allowed: tuple[str, ...]) -> None:
    for child in list(diag.findall("diag")):
        name = child.findtext("name")
        if allowed and not (any(a.startswith(name) for a in allowed) or name.startswith(allowed[-1])):
            diag.remove(child)
        else:
            prune(child, allowed)


def main() -> None:
    tree = ET.parse(default_release_path())
    root = tree.getroot()
    root.remove(root.find("introduction"))
    for chapter in list(root.findall("chapter")):
        sections = KEEP.get(chapter.findtext("name"))
        if sections is None:
            root.remove(chapter)
            continue
        index = chapter.find("sectionIndex")
        for ref in list(index):
            if ref.get("id") not in sections:
                index.remove(ref)
        for section in list(chapter.findall("section")):
            categories = sections.get(section.get("id"))
            if categories is None:
                chapter.remove(section)
                continue
            for diag in list(section.findall("diag")):
                name = diag.findtext("name")
                if name not in categories:
                    section.remove(diag)
                elif name in KEEP_SUBTREE:
                    prune(diag, KEEP_SUBTREE[name])
    ET.indent(tree, space="  ")
    sys.stdout.write('<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


if __name__ == "__main__":
    main()
