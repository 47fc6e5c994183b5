"""The example DAGs import cleanly, stay cheap to parse, and are built the way the docs say."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
SNAPSHOT, AWAIT = "loopring_nft_snapshot", "loopring_await_deployment"
ON_DEPLOYMENT = "loopring_on_deployment"
ON_HOLDINGS = "loopring_on_holdings_change"
AWAIT_NFTS = "loopring_await_nft_deployment"
HOLDERS = "loopring_collection_holders"
HISTORY = "loopring_nft_history"
# What a DAG file must not pull in at parse time: the HTTP stack and the modules built on it.
HEAVY = (
    "requests",
    "airflow_provider_loopring.hooks.loopring",
    "airflow_provider_loopring.triggers.loopring",
)

# Run in a fresh interpreter: import what the DAG files import from Airflow, then time the
# provider's modules they import, then run the DAG files with every warning an error.
PARSE = r"""
import ast, json, runpy, sys, time, warnings

paths = sys.argv[1:]
imports = [
    node
    for path in paths
    for node in ast.parse(open(path).read()).body  # module level: what parsing runs
    if isinstance(node, ast.ImportFrom) and node.module
]
import airflow.sdk

for node in imports:
    if node.module == "airflow.sdk":
        for alias in node.names:
            getattr(airflow.sdk, alias.name)
provider = sorted({n.module for n in imports if n.module.startswith("airflow_provider_loopring")})
started = time.perf_counter()
for name in provider:
    __import__(name)
seconds = time.perf_counter() - started
warnings.simplefilter("error")
for path in paths:
    runpy.run_path(path)
loaded = sorted(m for m in sys.modules if m == "requests" or m.startswith("airflow_provider"))
print(json.dumps({"provider": provider, "seconds": seconds, "loaded": loaded}))
"""

ALONE = r"""
import json, sys
import airflow.sdk
import airflow_provider_loopring.assets.loopring, airflow_provider_loopring.triggers.events
import airflow_provider_loopring.operators.loopring, airflow_provider_loopring.sensors.loopring
heavy = ("requests", "airflow_provider_loopring.hooks.loopring", "boto3")
print(json.dumps([m for m in heavy if m in sys.modules]))
"""


@pytest.fixture(scope="module")
def dags(airflow_db: Path) -> dict[str, Any]:
    from airflow_provider_loopring.version_compat import dag_bag_class

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bag = dag_bag_class()(dag_folder=str(EXAMPLE_DAGS))
    assert bag.import_errors == {}
    assert bag.captured_warnings == {}
    return {dag_id: bag.get_dag(dag_id) for dag_id in bag.dag_ids}


def test_the_example_dags_import_without_errors_or_warnings(dags: dict[str, Any]) -> None:
    assert sorted(dags) == sorted(
        [AWAIT, AWAIT_NFTS, SNAPSHOT, ON_DEPLOYMENT, ON_HOLDINGS, HOLDERS, HISTORY]
    )
    for dag in dags.values():
        assert dag.doc_md and dag.doc_md.strip().startswith("###")


def test_parsing_them_imports_no_http_client_and_little_of_the_provider() -> None:
    paths = sorted(str(path) for path in EXAMPLE_DAGS.glob("*.py"))
    result = subprocess.run(
        [sys.executable, "-c", PARSE, *paths], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout.splitlines()[-1])
    assert parsed["provider"] == [
        "airflow_provider_loopring.assets.loopring",
        "airflow_provider_loopring.operators.changes",
        "airflow_provider_loopring.operators.holders",
        "airflow_provider_loopring.operators.loopring",
        "airflow_provider_loopring.operators.transactions",
        "airflow_provider_loopring.sensors.loopring",
        "airflow_provider_loopring.triggers.events",
    ]
    # `requests` itself comes with the loopring:// asset: Airflow then loads every installed
    # provider's asset-URI handlers, and the Amazon provider's (the [s3] extra) imports boto3
    # and requests (~0.3 s, once per process). Our modules alone import no HTTP client:
    assert not set(HEAVY[1:]) & set(parsed["loaded"]), parsed["loaded"]
    alone = subprocess.run(
        [sys.executable, "-c", ALONE], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(alone.stdout) == [], alone.stdout
    # Measured: ~0.01 s after airflow.sdk (which takes ~2 s); the bound is for slow machines.
    assert parsed["seconds"] < 1.0, parsed


def test_the_snapshot_runs_a_bounded_number_of_tasks_one_loopring_task_at_a_time(
    dags: dict[str, Any],
) -> None:
    from airflow.sdk import Asset
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    dag = dags[SNAPSHOT]
    assert (dag.schedule, dag.catchup, dag.max_active_runs) == ("@daily", False, 1)
    assert set(dag.params) == {
        *("accounts", "accounts_path", "output_format", "output_root"),
        *("mode", "full_every", "verify_sample"),
    }
    assert dag.params["output_root"].startswith("file://")
    balances, collections = dag.get_task("nft_balances"), dag.get_task("collections")
    root = "{{ params.output_root.rstrip('/') }}"
    for task, kind in ((balances, "balances"), (collections, "collections")):
        assert isinstance(task, MappedOperator)
        assert set(task.expand_input.value) == {"accounts"}  # batches, not one per account
        assert task.max_active_tis_per_dag == 1  # the batches of a task one after the other
        assert task.partial_kwargs["output_path"].startswith(
            f"{root}/{kind}/dt={{{{ dag_run.run_after | ds }}}}/part-"
        )
        assert task.partial_kwargs["on_missing_account"] == "skip"
        assert task.partial_kwargs["account_cache_path"] == root + "/_accounts"
    assert collections.upstream_task_ids == {"batches", "nft_balances"}  # never side by side
    summarize = dag.get_task("summarize")
    assert summarize.upstream_task_ids == {"nft_balances", "collections_complete", "changes"}
    assert dag.get_task("changes").upstream_task_ids == {"balances_complete"}
    assert [asset.name for asset in summarize.outlets if isinstance(asset, Asset)] == [
        "loopring_nft_snapshots"
    ]


def test_the_deployment_wait_defers_then_fetches_that_collections_nfts(
    dags: dict[str, Any],
) -> None:
    from airflow_provider_loopring.operators.loopring import LoopringNftBalancesOperator
    from airflow_provider_loopring.sensors.loopring import LoopringCollectionDeploymentSensor

    dag = dags[AWAIT]
    assert dag.schedule is None
    sensor, fetch = dag.get_task("wait_for_deployment"), dag.get_task("deployed_nfts")
    assert isinstance(sensor, LoopringCollectionDeploymentSensor)
    assert (sensor.deferrable, sensor.timeout) == (True, timedelta(hours=12).total_seconds())
    assert isinstance(fetch, LoopringNftBalancesOperator)
    assert fetch.upstream_task_ids == {"wait_for_deployment"}
    assert "xcom_pull(task_ids='wait_for_deployment')['contractAddress']" in fetch.token_addrs
    assert set(dag.params) == {"account_id", "collection_id"}


@pytest.mark.loopring_sandbox(accounts=1, nfts_per_account=4)
def test_the_nft_wait_reschedules_until_every_nft_is_deployed(
    loopring_sandbox: Any, airflow_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from airflow_provider_loopring.version_compat import dag_bag_class
    from tests.conftest import DAGS_FOLDER, connection_json

    account_id = loopring_sandbox.accounts[0]["accountId"]
    nfts = [b["nftData"] for b in loopring_sandbox.balances(account_id, non_zero=True)[:2]]
    for nft in nfts:
        loopring_sandbox.schedule_nft_status(nft, ["NOT_DEPLOYED", "DEPLOYING", "DEPLOYED"])
    url, key = loopring_sandbox.url, loopring_sandbox.api_key
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", connection_json(url, key))
    monkeypatch.setenv("LOOPRING_DEPLOYMENT_POKE_INTERVAL", "0.01")
    path = DAGS_FOLDER / f"{AWAIT_NFTS}.py"
    shutil.copy(EXAMPLE_DAGS / path.name, path)
    try:
        dag = dag_bag_class()(dag_folder=str(path)).get_dag(AWAIT_NFTS)
        sensor = dag.get_task("wait_for_nfts")
        assert (sensor.mode, sensor.timeout) == ("reschedule", timedelta(hours=6).total_seconds())
        run = dag.test(run_conf={"account_id": account_id, "nft_datas": ",".join(nfts)})
    finally:
        path.unlink()
    assert run.state == "success"
    (ti,) = run.get_task_instances()
    records = ti.xcom_pull(task_ids="wait_for_nfts")
    assert sorted(r["nftData"] for r in records) == sorted(nfts)
    assert {r["deploymentStatus"] for r in records} == {"DEPLOYED"}


def watched_asset(dag: Any, trigger_class: type) -> tuple[Any, Any]:
    """The one asset a DAG is scheduled on, account 11329's, and its watcher's trigger."""
    from airflow.sdk import Asset

    (asset,) = dag.schedule.objects if hasattr(dag.schedule, "objects") else dag.schedule
    assert isinstance(asset, Asset)
    assert asset.uri == asset.name == "loopring://api3.loopring.io/account/11329"
    (watcher,) = asset.watchers
    assert isinstance(watcher.trigger, trigger_class)
    assert watcher.trigger.serialize()[1]["account_id"] == 11329
    return asset, watcher.trigger


def test_the_deployment_dag_is_scheduled_on_the_accounts_asset_and_its_watcher(
    dags: dict[str, Any],
) -> None:
    from airflow_provider_loopring.triggers.events import LoopringDeploymentEventTrigger

    dag = dags[ON_DEPLOYMENT]
    _, trigger = watched_asset(dag, LoopringDeploymentEventTrigger)
    assert trigger.target_statuses == ["DEPLOYED"]
    assert set(dag.task_ids) == {"deployed_nfts"}


def test_the_holdings_dag_is_scheduled_on_its_watcher_and_sums_the_counts_it_is_sent(
    dags: dict[str, Any],
) -> None:
    from types import SimpleNamespace

    from airflow_provider_loopring.triggers.events import LoopringHoldingsEventTrigger

    dag = dags[ON_HOLDINGS]
    asset, trigger = watched_asset(dag, LoopringHoldingsEventTrigger)
    assert trigger.max_changes == 1000
    counts = [{"added": 2, "removed": 0, "amount": 1, "status": 0}, {"added": 0, "removed": 3}]
    events = [SimpleNamespace(extra={"payload": {"counts": c}}) for c in counts]

    class Events:  # what Airflow passes: events by asset (Assets are not hashable on 3.1)
        def __getitem__(self, key: Any) -> list[Any]:
            assert key == asset
            return events

    (task,) = dag.tasks
    total = task.python_callable(triggering_asset_events=Events())
    assert total == {"added": 2, "removed": 3, "amount": 1, "status": 0}
