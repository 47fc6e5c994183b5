"""`airflow backfill create` over two days of the history DAG, on a real Airflow.

The scheduler makes the backfill's runs (one per data interval) and LocalExecutor workers run
them through the execution API; each day's partition must hold exactly the sandbox ledger's
transactions of its interval, with its manifest, nothing missing or doubled at midnight.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_API_KEY, connection_json
from tests.example_dags.test_history import by_hash, partition
from tests.integration.airflow_processes import AirflowDeployment
from tests.operators.test_transactions import DAY, E, S, expected, ids, make_day

pytestmark = [
    pytest.mark.integration,
    pytest.mark.loopring_sandbox(accounts=4, nfts_per_account=8, api_key=TEST_API_KEY),
]
EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "loopring_nft_history.py"
HISTORY = "loopring_nft_history"


def test_a_backfill_of_two_days_writes_each_interval_once(
    loopring_sandbox: Any, tmp_path: Path, phase: Any
) -> None:
    sandbox = loopring_sandbox
    accounts = ids(sandbox)
    make_day(sandbox, S, E)
    make_day(sandbox, E, E + DAY)
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(EXAMPLE, dags / EXAMPLE.name)
    root = tmp_path / "history"
    airflow = AirflowDeployment(
        tmp_path / "airflow",
        dags,
        {
            "AIRFLOW_CONN_LOOPRING_DEFAULT": connection_json(sandbox.url, sandbox.api_key),
            "LOOPRING_HISTORY_RETRY_DELAY": "0",
        },
    )
    try:
        with phase("airflow db migrate"):
            airflow.migrate()
        with phase("start scheduler, DAG processor, API server; the DAG parsed"):
            airflow.start(("scheduler", "dag-processor", "api-server"))
            airflow.wait_until("the history DAG is parsed", lambda: parsed(airflow), 120)
        with phase("airflow backfill create, two days"):
            conf = {"accounts": accounts, "output_root": f"file://{root}"}
            airflow.run_cli([("dags", "unpause", HISTORY)])  # a paused DAG's runs wait
            airflow.run_cli(
                [
                    (
                        "backfill",
                        "create",
                        "--dag-id",
                        HISTORY,
                        "--from-date",
                        "2026-03-01",
                        "--to-date",
                        "2026-03-02",
                        "--dag-run-conf",
                        json.dumps(conf),
                    )
                ]
            )
        with phase("until both runs finish"):
            airflow.wait_until("both backfill runs finish", lambda: finished(airflow), 180)
    finally:
        with phase("stop every process"):
            airflow.stop()

    runs = airflow.query(
        "SELECT data_interval_start, state, run_type FROM dag_run ORDER BY data_interval_start"
    )
    assert [(str(start)[:10], state, kind) for start, state, kind in runs] == [
        ("2026-03-01", "success", "backfill"),
        ("2026-03-02", "success", "backfill"),
    ], airflow.report()
    first, second = partition(root, "2026-03-01"), partition(root, "2026-03-02")
    assert by_hash(first["records"]) == by_hash(expected(sandbox, accounts, S, E))
    assert by_hash(second["records"]) == by_hash(expected(sandbox, accounts, E, E + DAY))
    assert len(first["records"]) == len(second["records"]) == 6


def parsed(airflow: AirflowDeployment) -> bool:
    return bool(airflow.query("SELECT dag_id FROM serialized_dag WHERE dag_id = ?", HISTORY))


def finished(airflow: AirflowDeployment) -> bool:
    states = [state for (state,) in airflow.query("SELECT state FROM dag_run")]
    return len(states) == 2 and all(state in ("success", "failed") for state in states)
