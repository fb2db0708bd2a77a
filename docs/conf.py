"""Sphinx configuration for jailcore's documentation."""

from __future__ import annotations

project = "jailcore"
author = "the jailcore authors"
copyright = "the jailcore authors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
]
# No sphinx.ext.intersphinx: the docs build without network access.

exclude_patterns = ["_build"]
nitpicky = False
html_theme = "alabaster"

autodoc_member_order = "bysource"
autodoc_typehints = "description"

# Every doctest starts from a fresh model host with FreeBSD 15 semantics.
doctest_global_setup = """
from jailcore import model
model.reset()
"""
