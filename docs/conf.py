"""Sphinx configuration for jailcore's documentation."""

from __future__ import annotations

import doctest
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Every example runs on the kernel model, also when the docs are built on
# FreeBSD, and on a host private to this build: the user's own default host,
# or one that JAILCORE_MODEL_STATE names, would be reset by the doctests.
os.environ["JAILCORE_BACKEND"] = "model"
os.environ["JAILCORE_MODEL_STATE"] = ":private:"

sys.path.insert(0, str(HERE / "_ext"))

project = "jailcore"
author = "the jailcore authors"
copyright = "the jailcore authors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "jailcore_params",
    "jailcore_badinput",
]
# No sphinx.ext.intersphinx: the docs build without network access.

exclude_patterns = ["_build", "_generated", "_ext"]
nitpicky = False
html_theme = "alabaster"

autodoc_member_order = "bysource"
autodoc_typehints = "description"

# Exceptions are checked in full (Sphinx ignores their detail by default):
# the kernel's message and the errno are what the examples are about.
doctest_default_flags = doctest.ELLIPSIS | doctest.DONT_ACCEPT_TRUE_FOR_1

# Every doctest group (each page's examples, by default) starts from a fresh
# model host: no jails, FreeBSD 15 semantics, no module loaded.
doctest_global_setup = f"""
from jailcore import model
model.reset()
DOCS_DIR = {str(HERE)!r}
"""
doctest_global_cleanup = """
from jailcore import model
model.reset()
"""
