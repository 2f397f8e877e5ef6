"""Codepages: a static site generator for medical billing code pages."""
