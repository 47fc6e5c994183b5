"""The structure's standing bounds: short modules, no import cycle, a core below the roles.

Read from the source (every import counts: at the top, under ``TYPE_CHECKING`` and inside
functions), so a cycle or a layering breach fails here before anyone trips over it at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import airflow_provider_loopring as package

ROOT = Path(package.__file__).parent
NAME = package.__name__
MAX_LINES = 400
# The roles above the core: it may not import them, nor Airflow (its errors are the package's
# exceptions, which derive from Airflow's: that is the one way Airflow reaches it).
ABOVE_THE_CORE = (
    "airflow",
    *(f"{NAME}.{role}" for role in ("hooks", "operators", "sensors", "triggers")),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports: dotted names, a submodule where ``from`` names one."""
    found = set()
    package_of = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package_of.rsplit(".", node.level - 1)[0] if node.level > 1 else package_of
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in MODULES or not module.startswith(NAME)}


GRAPH = {name: _imports(name, path) - {name} for name, path in MODULES.items()}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_400_lines(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines: split it by concern"


def test_no_import_cycle_between_package_modules() -> None:
    """Depth-first search over the package's own imports; a back edge is a cycle."""
    own = {name: {m for m in targets if m in MODULES} for name, targets in GRAPH.items()}
    # A package's __init__ importing its own submodules re-exports them: not a cycle.
    for name in own:
        own[name] = {m for m in own[name] if not m.startswith(f"{name}.")}
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(own[name]):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(own):
        if name not in state:
            visit(name, [name])
    assert cycles == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith(f"{NAME}._core")))
def test_the_core_imports_no_role_above_it_and_not_airflow(name: str) -> None:
    breaches = sorted(
        module
        for module in GRAPH[name]
        if any(module == role or module.startswith(f"{role}.") for role in ABOVE_THE_CORE)
    )
    assert breaches == []
