"""Sphinx configuration: the site is built from the code (autodoc) and the example DAGs.

`make docs` builds it with warnings as errors; `_ext/docstrings.py` turns a missing docstring
or ``:param:`` into a warning, and `_ext/api_pages.py` writes one API page per public module,
so a new module appears in the reference without an edit here.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from airflow_provider_loopring import __version__  # noqa: E402

project = "airflow-provider-loopring"
author = "airflow-provider-loopring developers"
copyright = "the airflow-provider-loopring developers, Apache-2.0"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "myst_parser",
    "api_pages",
    "docstrings",
    "repo_links",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_ext"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = f"airflow-provider-loopring {__version__}"

# Each name once, where it is defined (packages re-export through __all__).
autodoc_default_options = {
    "members": True,
    "undoc-members": True,
    "show-inheritance": True,
    "ignore-module-all": True,
}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# Nothing is fetched while building (no network): names from Airflow stay plain text.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
nitpicky = False
