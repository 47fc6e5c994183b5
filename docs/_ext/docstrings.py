"""Fail the build (a warning, and `make docs` makes warnings errors) on an undocumented API.

Every public class, method and function autodoc documents needs a docstring, and each of its
parameters a ``:param name:``. A class's parameters are those of every ``__init__`` in its MRO
that this package defines (operators pass ``**kwargs`` on to their bases), documented in its
own docstring or one of its package bases'; each that is also a template field says
"(templated)".

A public class also offers what it inherits from a package base no page shows (a private one,
such as the sensors' ``_LoopringDeploymentSensor``): each public method or property of it that
autodoc never passed here is checked in the same way once every page has been read.

Each gap is a warning of its own, so a single gap fails the build: none is allowed.

Sphinx 9's autodoc reads the docstring of every member of a module, imported ones included,
before it leaves the imported ones out of the page: so a ``_core`` function a public module
imports is checked too, under the public module's name, though no page shows it there.
"""

from __future__ import annotations

import inspect
import re
from functools import cached_property
from typing import Any

from sphinx.util import logging

log = logging.getLogger(__name__)
PACKAGE = "airflow_provider_loopring"
_KINDS = ("class", "method", "function", "property", "exception")
_SKIPPED = {"self", "cls"}
_found: dict[str, set[str]] = {}  # a set: the how-to pages show some classes again
_checked: set[Any] = set()  # the functions autodoc passed to check()
_classes: dict[str, type] = {}  # the public classes documented where they are defined


def check(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Warn about what the docstring of ``name`` leaves out.

    :param app: the Sphinx application.
    :param what: the kind of object (``class``, ``method``, ...).
    :param name: its dotted name.
    :param obj: the object.
    :param options: autodoc's options for it.
    :param lines: its docstring, as autodoc will show it.
    """
    if what not in _KINDS:
        return
    function = _function(obj)
    module = getattr(function, "__module__", None) or name
    if not module.startswith(PACKAGE):  # Airflow's own names, seen through an import
        return
    _checked.add(function)
    if inspect.isclass(obj) and name == f"{module}.{obj.__qualname__}":
        _classes[name] = obj
    _check(what, name, obj, "\n".join(lines), _found.setdefault(module, set()))


def report(app: Any, env: Any) -> None:
    """Check what public classes inherit unseen, then warn about each gap, module by module.

    :param app: the Sphinx application.
    :param env: the build environment.
    """
    for cls in _classes.values():
        for what, owner, name, member in _unseen_members(cls):
            gaps = _found.setdefault(owner.__module__, set())
            full_name = f"{owner.__module__}.{owner.__qualname__}.{name}"
            _check(what, full_name, member, inspect.getdoc(member) or "", gaps)
    for module in sorted(_found):
        for gap in sorted(_found[module]):
            log.warning("%s (%s)", gap, module)


def _check(what: str, name: str, obj: Any, docstring: str, gaps: set[str]) -> None:
    if not docstring.strip():
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


def _function(obj: Any) -> Any:
    """What ``obj`` runs: a property's getter, a classmethod's function, ``obj`` itself."""
    if isinstance(obj, property):
        return obj.fget
    if isinstance(obj, cached_property):  # its __module__ is functools' before Python 3.12
        return obj.func
    return getattr(obj, "__func__", obj)


def _unseen_members(cls: type) -> list[tuple[str, type, str, Any]]:
    """What ``cls`` has from this package that autodoc never checked: a private base's.

    :return: ``(kind, defining class, name, member)`` of each public method or property.
    """
    unseen = []
    for name in dir(cls):
        owner = next((base for base in cls.__mro__ if name in vars(base)), None)
        if name.startswith("_") or owner is None or not owner.__module__.startswith(PACKAGE):
            continue
        member = vars(owner)[name]
        if isinstance(member, (property, cached_property)):
            what = "property"
        elif isinstance(member, (classmethod, staticmethod)) or inspect.isfunction(member):
            what, member = "method", _function(member)
        else:
            continue  # data: an attribute, a slot
        if _function(member) not in _checked:  # else checked where its page shows it
            unseen.append((what, owner, name, member))
    return unseen


def _docstrings(cls: type) -> str:
    """The docstrings of the class and of its bases from this package."""
    return "\n".join(inspect.getdoc(base) or "" for base in _package_classes(cls))


def _package_classes(cls: type) -> list[type]:
    return [base for base in cls.__mro__ if base.__module__.startswith(PACKAGE)]


def _parameters(obj: Any) -> list[str]:
    """The named parameters a caller passes (for a class: its package ``__init__``s')."""
    if inspect.isclass(obj):
        inits = (vars(base).get("__init__") for base in _package_classes(obj))
        names = (name for init in inits if init is not None for name in _parameters(init))
        return list(dict.fromkeys(names))  # in MRO order, each once
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
