"""Links from a page to a file of the repository (``../tests/...``) go to that file's source.

The Markdown pages (the README's sections, ``reliability.md``, the benchmark results) link to
the tests and modules that hold each promise; on the site those links open the file in the
source repository, named once in pyproject's ``[project.urls] Source``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import tomllib
from docutils import nodes

REPO = Path(__file__).resolve().parents[2]


def source_url() -> str:
    """The repository's browsable tree at ``main``.

    :return: a URL ending in ``/blob/main/``.
    """
    urls = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]
    return urls["Source"].rstrip("/") + "/blob/main/"


def resolve(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Turn an unresolved MyST link to a repository file into a link to its source.

    :param app: the Sphinx application.
    :param env: the build environment.
    :param node: the pending reference.
    :param contnode: the link's text.
    :return: the new reference, or None to leave the link to others.
    """
    target = node.get("reftarget", "")
    if node.get("refdomain") not in (None, "", "myst") or "://" in target:
        return None
    path, _, anchor = target.partition("#")
    # Relative to the page, or to the top of the repository for the README's included sections.
    pages = (Path(env.doc2path(node["refdoc"])).parent, REPO)
    found = [(page / path).resolve() for page in pages if (page / path).exists()]
    if not path or not found or not found[0].is_relative_to(REPO):
        return None
    relative = found[0].relative_to(REPO)
    url = source_url() + str(PurePosixPath(relative)) + (f"#{anchor}" if anchor else "")
    # anchorname: Sphinx reads it off every reference in a page's table of contents, and
    # reliability.md has links in its headings.
    reference = nodes.reference("", "", internal=False, refuri=url, anchorname="")
    reference.append(contnode)
    return reference


_LINK = re.compile(r"\]\((?!#|[a-z]+://)([^)\s#]+)(#[^)\s]*)?\)")


def absolute_links(app: Any, relative_path: Path, parent_docname: str, content: list[str]) -> None:
    """In an included file (the README's sections), point its repository links at the source.

    :param app: the Sphinx application.
    :param relative_path: the included file, relative to the docs.
    :param parent_docname: the page including it.
    :param content: the file's text, changed in place.
    """
    folder = (Path(app.srcdir) / relative_path).resolve().parent

    def absolute(match: re.Match[str]) -> str:
        target = (folder / match[1]).resolve()
        if not target.exists() or not target.is_relative_to(REPO):
            return match[0]
        path = PurePosixPath(target.relative_to(REPO))
        return f"]({source_url()}{path}{match[2] or ''})"

    content[0] = _LINK.sub(absolute, content[0])


def setup(app: Any) -> dict[str, Any]:
    """Register the resolver.

    :param app: the Sphinx application.
    :return: the extension's metadata.
    """
    app.connect("missing-reference", resolve)
    app.connect("include-read", absolute_links)
    return {"parallel_read_safe": True}
