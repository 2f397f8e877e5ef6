"""Codepages: a static site generator for medical billing code pages (CPT, HCPCS Level II, ICD-10-CM)."""

__version__ = "0.2.0"
