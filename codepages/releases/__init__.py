"""Readers of official code-set releases: the CDC's ICD-10-CM tabular XML (`icd10cm`), the CMS
HCPCS Level II quarterly file (`hcpcs`) and an operator's licensed CPT data files (`cpt`).

The HCPCS and CPT readers are pure: they read files and return frozen, picklable data; they
never import the rest of the pipeline. Every mistake of a file is collected and raised at once
as one `ReleaseFileError` (see `problems`).
"""

from .problems import Problem, ReleaseFileError

__all__ = ["Problem", "ReleaseFileError"]
