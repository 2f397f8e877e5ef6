"""Readers of official code-set releases: the files a publisher gets from CDC, CMS or the AMA."""
