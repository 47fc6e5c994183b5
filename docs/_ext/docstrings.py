"""Fail the build (a warning, and `make docs` makes warnings errors) on an undocumented API.

Every public class, method and function autodoc documents needs a docstring, and each of its
parameters a ``:param name:`` (a class's own or one of its bases' in this package, as operators
pass ``**kwargs`` on); a parameter that is also a template field says "(templated)".

``KNOWN_GAPS`` is a ratchet for what was written before this check: the number of gaps a
module had when the check came (issue 15). A module with more fails the build with each gap
listed; one with fewer fails it until its number here is lowered. A module not listed may have
none, so new code is documented in full.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from sphinx.util import logging

log = logging.getLogger(__name__)
PACKAGE = "airflow_provider_loopring"
_SKIPPED = {"self", "cls"}
KNOWN_GAPS: dict[str, int] = {
    "airflow_provider_loopring._core.deployment_wait": 10,
    "airflow_provider_loopring._core.ratelimit": 2,
    "airflow_provider_loopring.hooks.budget": 4,
    "airflow_provider_loopring.hooks.listings": 4,
    "airflow_provider_loopring.hooks.loopring": 15,
    "airflow_provider_loopring.hooks.transport": 8,
    "airflow_provider_loopring.models.account": 18,
    "airflow_provider_loopring.models.collection": 40,
    "airflow_provider_loopring.models.fields": 36,
    "airflow_provider_loopring.models.nft": 56,
    "airflow_provider_loopring.models.status": 4,
    "airflow_provider_loopring.operators.base": 5,
    "airflow_provider_loopring.storage.accounts": 3,
    "airflow_provider_loopring.storage.formats": 13,
    "airflow_provider_loopring.storage.objects": 31,
    "airflow_provider_loopring.storage.snapshots": 18,
    "airflow_provider_loopring.storage.staging": 9,
    "airflow_provider_loopring.storage.xcom": 5,
    "airflow_provider_loopring.templates": 1,
    "airflow_provider_loopring.testing.client": 18,
    "airflow_provider_loopring.testing.demo": 7,
    "airflow_provider_loopring.testing.pytest_plugin": 2,
    "airflow_provider_loopring.testing.sandbox.admin": 2,
    "airflow_provider_loopring.testing.sandbox.app": 74,
    "airflow_provider_loopring.testing.sandbox.dataset": 36,
    "airflow_provider_loopring.testing.sandbox.endpoints": 19,
    "airflow_provider_loopring.testing.sandbox.faults": 68,
    "airflow_provider_loopring.testing.sandbox.generate": 33,
    "airflow_provider_loopring.testing.sandbox.ratelimit": 4,
    "airflow_provider_loopring.testing.sandbox.server": 7,
    "airflow_provider_loopring.testing.sandbox.wire": 69,
}
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
    """Warn about each module whose gaps differ from its ``KNOWN_GAPS`` allowance.

    :param app: the Sphinx application.
    :param env: the build environment.
    """
    for module in sorted(set(_found) | set(KNOWN_GAPS)):
        gaps, allowed = _found.get(module, set()), KNOWN_GAPS.get(module, 0)
        if len(gaps) > allowed:
            for gap in sorted(gaps):
                log.warning("%s (%s allows %d)", gap, module, allowed)
        elif len(gaps) < allowed:
            log.warning("%s has %d gaps now: lower KNOWN_GAPS to it", module, len(gaps))


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
