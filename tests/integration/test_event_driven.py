"""Event-driven DAGs on real Airflow processes: the watchers run in the triggerer, the scheduler
turns their asset events into runs, and a triggerer restart neither repeats nor loses one.

Two DAGs: the example `loopring_on_deployment` (every collection of one account) and a holdings
DAG (another account's NFTs). The sandbox walks collection 1 through NOT_DEPLOYED -> DEPLOYING
-> DEPLOYED and changes one holding; the triggerer is stopped; collection 2 deploys and a
second holding changes while it is down; it starts again. Every "no more" is checked after the
sandbox has served several more polls, counted in its request log, not after a sleep.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_loopring import _core as api
from tests.conftest import TEST_API_KEY, connection_json
from tests.integration.airflow_processes import AirflowDeployment
from tests.integration.test_real_deployment import xcom

pytestmark = [
    pytest.mark.integration,
    pytest.mark.loopring_sandbox(accounts=2, nfts_per_account=20, api_key=TEST_API_KEY),
]

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "loopring_on_deployment.py"
DEPLOYMENT, HOLDINGS = "loopring_on_deployment", "loopring_on_holdings"
HOLDINGS_DAG = """
import os
import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task
from airflow_provider_loopring.triggers.events import LoopringHoldingsEventTrigger

ACCOUNT = int(os.environ["LOOPRING_HOLDINGS_ACCOUNT_ID"])
watcher = LoopringHoldingsEventTrigger(account_id=ACCOUNT, poke_interval=1)
holdings = Asset(f"loopring://api3.loopring.io/account/{ACCOUNT}",
                 watchers=[AssetWatcher(name="holdings_changed", trigger=watcher)])

with DAG("loopring_on_holdings", schedule=[holdings], catchup=False,
         start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):

    @task
    def changes(triggering_asset_events=None):
        return [c for e in triggering_asset_events[holdings] for c in e.extra["payload"]["changes"]]

    changes()
"""


def test_watchers_start_one_run_per_event_across_a_triggerer_restart(
    loopring_sandbox: Any, tmp_path: Path, phase: Any
) -> None:
    sandbox = loopring_sandbox
    watched, holder = (a["accountId"] for a in sandbox.accounts)
    first, second = (c["collection"] for c in sandbox.collections(watched, non_zero=False)[:2])
    for collection in (first, second):
        sandbox.set_collection_status(collection["id"], "NOT_DEPLOYED")
    held = [b for b in sandbox.balances(holder) if b["total"] != "0"][:2]
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(EXAMPLE, dags)
    (dags / "holdings.py").write_text(HOLDINGS_DAG)
    airflow = AirflowDeployment(
        tmp_path / "airflow",
        dags,
        {
            "AIRFLOW_CONN_LOOPRING_DEFAULT": connection_json(sandbox.url, sandbox.api_key),
            "LOOPRING_WATCH_ACCOUNT_ID": str(watched),
            "LOOPRING_HOLDINGS_ACCOUNT_ID": str(holder),
            "LOOPRING_DEPLOYMENT_POKE_INTERVAL": "1",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True",  # asset-triggered runs need it
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        },
    )
    try:
        with phase("migrate, start the 4 components, both watchers take their first look"):
            airflow.migrate()
            airflow.start()
            airflow.wait_until("both watchers saved a first look", lambda: looked(airflow), 180)
        with phase("collection 1 deploys, one holding changes: one run each"):
            sandbox.schedule_collection_status(first["id"], ["DEPLOYING", "DEPLOYED"], every=2)
            sandbox.set_balance(holder, held[0]["nftData"], "0")
            airflow.wait_until("a run per DAG", lambda: runs_done(airflow, 1, 1), 180)
            wait_for_polls(airflow, sandbox, watched, holder)
            assert len(runs(airflow, DEPLOYMENT)) == 1, airflow.report()
        with phase("triggerer stopped; collection 2 deploys, a holding changes; restarted"):
            airflow.stop_component("triggerer")
            sandbox.set_collection_status(second["id"], "DEPLOYED")
            sandbox.set_balance(holder, held[1]["nftData"], "7")
            airflow.start(["triggerer"])
            airflow.wait_until("one more run per DAG", lambda: runs_done(airflow, 2, 2), 180)
            wait_for_polls(airflow, sandbox, watched, holder)
    finally:
        with phase("stop every process"):
            airflow.stop()

    deployed = [
        xcom(airflow, DEPLOYMENT, run_id, "deployed_nfts") for run_id in runs(airflow, DEPLOYMENT)
    ]
    assert [[d["collection_id"] for d in seen] for seen in deployed] == [
        [first["id"]],
        [second["id"]],
    ]
    # DEPLOYING lasts two responses that show the collection; the holdings watcher's listings
    # show it too (its NFTs carry their collection), so the watcher may not have seen it.
    assert deployed[0][0]["transition"]["from"] in ("DEPLOYING", "NOT_DEPLOYED")
    assert deployed[0][0]["transition"]["to"] == "DEPLOYED"
    assert deployed[1][0]["transition"] == {"from": "NOT_DEPLOYED", "to": "DEPLOYED"}
    expected_nfts = {
        b["nftData"]
        for b in sandbox.balances(watched, non_zero=True)
        if b["collectionInfo"]["id"] == first["id"]
    }
    assert set(deployed[0][0]["nft_datas"]) == expected_nfts
    changes = [
        c for run_id in runs(airflow, HOLDINGS) for c in xcom(airflow, HOLDINGS, run_id, "changes")
    ]
    # The holder also holds NFTs of the watched account's collections: their deployments show
    # as status changes, each once.
    moved = [(c["nftData"], c["change"]) for c in changes if c["change"] != "status"]
    assert sorted(moved) == sorted(
        [(held[0]["nftData"].lower(), "removed"), (held[1]["nftData"].lower(), "amount")]
    )
    statuses = [
        (c["nftData"], c["deploymentStatusAfter"]) for c in changes if c["change"] == "status"
    ]
    assert len(statuses) == len(set(statuses))
    fired = events(airflow)
    assert len(fired[DEPLOYMENT]) == 2, airflow.report()
    # Every change a holdings event carried reached a run, and only once.
    assert sorted(map(str, changes)) == sorted(
        str(c) for payload in fired[HOLDINGS] for c in payload["changes"]
    )
    leaked = [str(log) for log in airflow.logs() if sandbox.api_key in log.read_text()]
    assert not leaked, "the API key is in these logs"


# --- reading the deployment ----------------------------------------------------------------


def looked(airflow: AirflowDeployment) -> bool:
    """Both watchers' first looks are in the asset state store."""
    if not airflow.db_path.exists():
        return False
    try:
        rows = airflow.query("SELECT key FROM asset_state_store")
    except Exception:  # the table appears with the migration
        return False
    prefixes = {key.split(":")[0] for (key,) in rows}
    return prefixes == {"loopring.deployment", "loopring.holdings"}


def runs(airflow: AirflowDeployment, dag_id: str) -> list[str]:
    rows = airflow.query("SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id", dag_id)
    return [run_id for (run_id,) in rows]


def runs_done(airflow: AirflowDeployment, deployment: int, holdings: int) -> bool:
    """At least this many runs of each DAG, every run finished (and none failed)."""
    rows = airflow.query("SELECT dag_id, state FROM dag_run")
    assert all(state != "failed" for _, state in rows), airflow.report()
    done = [dag_id for dag_id, state in rows if state == "success"]
    return (
        done.count(DEPLOYMENT) >= deployment
        and done.count(HOLDINGS) >= holdings
        and len(done) == len(rows)
    )


def wait_for_polls(
    airflow: AirflowDeployment, sandbox: Any, *accounts: int, polls: int = 4
) -> None:
    """Until the sandbox has answered `polls` more listings of each account: time for any
    extra event to become a run (the scheduler needs well under a poll to start one)."""

    def count() -> list[int]:
        return [
            sum(
                1
                for r in sandbox.requests
                if r.status == 200
                and r.query.get("accountId") == str(a)
                and r.path in (api.COLLECTION_BALANCES.path, api.NFT_BALANCES.path)
            )
            for a in accounts
        ]

    start = count()
    airflow.wait_until(
        f"{polls} more polls of each account",
        lambda: all(now >= then + polls for now, then in zip(count(), start, strict=True)),
        60,
    )
    airflow.wait_until("every run finished", lambda: runs_done(airflow, 0, 0), 120)


def events(airflow: AirflowDeployment) -> dict[str, list[dict[str, Any]]]:
    """The payloads of the asset events of each DAG's asset, in order."""
    rows = airflow.query(
        """
        SELECT r.dag_id, e.extra FROM asset_event e
        JOIN dag_schedule_asset_reference r ON r.asset_id = e.asset_id
        ORDER BY e.id
        """
    )
    found: dict[str, list[dict[str, Any]]] = {DEPLOYMENT: [], HOLDINGS: []}
    for dag_id, extra in rows:
        found[dag_id].append(json.loads(extra)["payload"])
    return found
