"""Fail the build (a warning, and `make docs` makes warnings errors) on an undocumented API.

Every public class, method and function autodoc documents needs a docstring, and each of its
parameters a ``:param name:`` (a class's own or one of its bases' in this package, as operators
pass ``**kwargs`` on); a parameter that is also a template field says "(templated)".

Each gap is a warning of its own, so a single gap fails the build: none is allowed.

Sphinx 9's autodoc reads the docstring of every member of a module, imported ones included,
before it leaves the imported ones out of the page: so a ``_core`` function a public module
imports is checked too, under the public module's name, though no page shows it there.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from sphinx.util import logging

log = logging.getLogger(__name__)
PACKAGE = "airflow_provider_loopring"
_SKIPPED = {"self", "cls"}
_found: dict[str, set[str]] = {}  # a set: the how-to pages show some classes again


def check(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Warn about what the docstring of ``name`` leaves out.

    :param app: the Sphinx application.
    :param what: the kind of object (``class``, ``method``, ...).
    :param name: its dotted name.
    :param obj: the object.
    :param options: autodoc's options for it.
    :param lines: its docstring, as autodoc will show it.
    """
    if what not in ("class", "method", "function", "property", "exception"):
        return
    module = getattr(getattr(obj, "fget", obj), "__module__", None) or name
    if not module.startswith(PACKAGE):  # Airflow's own names, seen through an import
        return
    gaps = _found.setdefault(module, set())
    if not "".join(lines).strip():
        gaps.add(f"{name} has no docstring")
        return
    if what == "property":
        return
    documented = _docstrings(obj) if inspect.isclass(obj) else inspect.getdoc(obj) or ""
    for param in _parameters(obj):
        text = _param_text(documented, param)
        if text is None:
            gaps.add(f"{name}: no ':param {param}:'")
        elif param in getattr(obj, "template_fields", ()) and "(templated)" not in text:
            gaps.add(f"{name}: ':param {param}:' lacks '(templated)'")


def report(app: Any, env: Any) -> None:
    """Warn about each gap found, module by module.

    :param app: the Sphinx application.
    :param env: the build environment.
    """
    for module in sorted(_found):
        for gap in sorted(_found[module]):
            log.warning("%s (%s)", gap, module)


def _docstrings(cls: type) -> str:
    """The docstrings of the class and of its bases from this package."""
    mine = [base for base in cls.__mro__ if base.__module__.startswith(PACKAGE)]
    return "\n".join(inspect.getdoc(base) or "" for base in mine)


def _parameters(obj: Any) -> list[str]:
    """The named parameters a caller passes (for a class: its own ``__init__``'s)."""
    if inspect.isclass(obj):
        if "__init__" not in vars(obj):
            return []
        obj = obj.__init__
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [
        p.name
        for p in signature.parameters.values()
        if p.name not in _SKIPPED and p.kind not in variadic and not p.name.startswith("_")
    ]


def _param_text(docstring: str, param: str) -> str | None:
    pattern = rf":param (?:[\w\[\], |.]+ )?{re.escape(param)}:(.*?)(?=\n\s*:|\Z)"
    match = re.search(pattern, docstring, re.S)
    return None if match is None else match.group(1)


def setup(app: Any) -> dict[str, Any]:
    """Register the check.

    :param app: the Sphinx application.
    :return: the extension's metadata.
    """
    app.connect("autodoc-process-docstring", check)
    app.connect("env-check-consistency", report)
    # The gaps are counted in this process over one fresh read of every page (`make docs`: -E).
    return {"parallel_read_safe": False}
