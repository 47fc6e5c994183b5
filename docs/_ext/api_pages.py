"""Write one API reference page per public module before Sphinx reads the sources.

A module is public when no part of its dotted name starts with ``_`` (``_core`` and
``_provider_info`` are internal). The pages go to ``docs/api/`` (not kept in git).
"""

from __future__ import annotations

import pkgutil
from pathlib import Path
from typing import Any

import airflow_provider_loopring as package


def public_modules() -> list[str]:
    """Every public module of the package, sorted.

    :return: dotted module names.
    """
    names = [info.name for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    return sorted(name for name in names if not any(p.startswith("_") for p in name.split(".")))


def write_pages(app: Any) -> None:
    """Write ``api/<module>.rst`` for each public module and ``api/index.rst`` listing them.

    :param app: the Sphinx application.
    """
    folder = Path(app.srcdir) / "api"
    folder.mkdir(exist_ok=True)
    modules = public_modules()
    for name in modules:
        page = f"{name}\n{'=' * len(name)}\n\n.. automodule:: {name}\n"
        _write(folder / f"{name}.rst", page)
    toc = "\n".join(f"   {name}" for name in modules)
    _write(folder / "index.rst", f"API reference\n=============\n\n.. toctree::\n\n{toc}\n")


def _write(path: Path, text: str) -> None:
    # Unchanged pages keep their time stamp, so Sphinx does not rebuild them.
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def skip_imported(
    app: Any, what: str, name: str, obj: Any, skip: bool, options: Any
) -> bool | None:
    """Leave out what a module imports from Airflow (``BaseOperator``...): it is Airflow's API.

    :param app: the Sphinx application.
    :param what: the kind of the parent object.
    :param name: the member's name.
    :param obj: the member.
    :param skip: whether autodoc would skip it.
    :param options: autodoc's options.
    :return: True to skip, None to let autodoc decide.
    """
    module = getattr(obj, "__module__", None)
    if isinstance(obj, type) and module and not module.startswith(package.__name__):
        return True
    return None


def setup(app: Any) -> dict[str, Any]:
    """Register the page writer and the filter.

    :param app: the Sphinx application.
    :return: the extension's metadata.
    """
    app.connect("builder-inited", write_pages)
    app.connect("autodoc-skip-member", skip_imported)
    return {"parallel_read_safe": True}
