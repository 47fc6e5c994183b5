"""What a DAG file costs to parse: the package modules each example DAG imports.

The DAG processor has ``airflow.sdk`` loaded before it parses a file; what the file adds is
the operator, sensor and trigger modules and what building their tasks checks. The hook
(requests), storage's checkpoints and account cache, the models (for the operators), pyarrow
and the operators' OpenLineage facets come in when a task runs. A new module in this set is a
decision: add it here, in the commit that adds it, and say why.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).parents[1] / "example_dags"
P = "airflow_provider_loopring"

# Every DAG file: the package, the core's argument checks and settings (the core's other
# modules load on first use), the errors.
COMMON = {
    P,
    f"{P}._core",
    f"{P}._core.settings",
    f"{P}._core.validation",
    f"{P}.exceptions",
    f"{P}.version_compat",
}
# A task of the operators or sensors: the task retry policy, the explorer links, templates.
TASKS = {
    f"{P}.retry_policy",
    f"{P}.links",
    f"{P}.links.loopring",
    f"{P}._core.explorer",
    f"{P}.templates",
}
# The accounts operators: their modules, and storage's argument checks (the sink protocols,
# the output path, folder and format checks, the declared schemas a Parquet output names).
OPERATORS = {
    f"{P}.operators",
    f"{P}.operators._fanout",
    f"{P}.operators._progress",
    f"{P}.operators._resume",
    f"{P}.operators._run",
    f"{P}.operators.arguments",
    f"{P}.operators.base",
    f"{P}.operators.loopring",
    f"{P}._core.snapshot_day",
    f"{P}.storage",
    f"{P}.storage.confined",
    f"{P}.storage.files",
    f"{P}.storage.formats",
    f"{P}.storage.objects",
    f"{P}.storage.schemas",
    f"{P}.storage.sinks",
    f"{P}.storage.xcom",
}
MODELS = {
    f"{P}.models",
    f"{P}.models.account",
    f"{P}.models.block",
    f"{P}.models.collection",
    f"{P}.models.fields",
    f"{P}.models.history",
    f"{P}.models.nft",
    f"{P}.models.nft_info",
    f"{P}.models.status",
}
# What a wait selects names the endpoint that lists it: the declarations and their models.
SELECTIONS = {f"{P}._core.selections", f"{P}._core.endpoint", f"{P}._core.endpoints", *MODELS}
SENSORS = {f"{P}.sensors", f"{P}.sensors.loopring", *SELECTIONS}
TRIGGERS = {
    f"{P}.assets",
    f"{P}.assets.loopring",
    f"{P}.triggers",
    f"{P}.triggers._polls",
    f"{P}.triggers.events",
}
EXPECTED = {
    "loopring_await_deployment.py": COMMON | TASKS | OPERATORS | SENSORS,
    "loopring_await_nft_deployment.py": COMMON | TASKS | SENSORS,
    # The holders operator is on the accounts operators' machinery, without their module.
    "loopring_collection_holders.py": COMMON
    | TASKS
    | (OPERATORS - {f"{P}.operators.loopring"})
    | {f"{P}.operators.changes", f"{P}.operators.holders"},
    "loopring_nft_snapshot.py": COMMON | TASKS | OPERATORS | {f"{P}.operators.changes"},
    "loopring_on_deployment.py": COMMON | TRIGGERS | SELECTIONS,
    "loopring_on_holdings_change.py": COMMON | TRIGGERS,
    # The history operator is an accounts operator: the same modules, its own in place of
    # operators.loopring (it names no balances' endpoint at parse time, so no models).
    "loopring_nft_history.py": COMMON
    | TASKS
    | (OPERATORS - {f"{P}.operators.loopring"})
    | {f"{P}.operators.transactions"},
}
# Never at parse time, whatever the DAG: these are for a running task.
NEVER = (
    f"{P}.hooks",
    f"{P}.operators._lineage",
    f"{P}.operators._columns",
    f"{P}.storage.staging",
    f"{P}.storage.accounts",
    f"{P}.storage.parquet",
    "pyarrow",
)

PARSE = """
import importlib.util, json, sys
import airflow.sdk  # loaded before any DAG file is parsed
spec = importlib.util.spec_from_file_location("dag_file", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted(sys.modules)))
"""


def parsed(path: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PARSE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_every_example_dag_is_pinned():
    assert sorted(path.name for path in DAGS.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_dag_file_imports_the_package_modules_pinned_here(name):
    loaded = parsed(DAGS / name)
    # Airflow itself loads _provider_info (its ProvidersManager), on some minors at parse time:
    # not an import of ours.
    ours = {m for m in loaded if m == P or m.startswith(f"{P}.")} - {f"{P}._provider_info"}
    assert sorted(ours - EXPECTED[name]) == []  # loaded, not pinned
    assert sorted(EXPECTED[name] - ours) == []  # pinned, not loaded
    early = [m for m in loaded if any(m == n or m.startswith(f"{n}.") for n in NEVER)]
    assert early == []


def test_an_operator_dag_loads_no_http_client_of_ours():
    # The sensors' and triggers' DAGs are the lead's to pin on this point; the operators' is
    # pinned here: building the tasks of the snapshot DAG sends nothing and needs no session.
    loaded = parsed(DAGS / "loopring_nft_snapshot.py")
    assert "requests" not in loaded
