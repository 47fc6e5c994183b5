"""Both example DAGs on a real Airflow: scheduler, DAG processor, triggerer, API server.

The proof that the provider runs unchanged outside ``dag.test()``: tasks run in LocalExecutor
workers through the execution API, and the deployment sensor's wait runs in the triggerer
process. The sandbox holds the collection at NOT_DEPLOYED until the test has seen, in the
metadata database, the sensor deferred and its trigger taken by the triggerer job; only then
does it let the deployment move on. So the sensor cannot succeed without that deferral, and
the trigger's own log lines, in the file the triggerer job writes, show it saw the moves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_API_KEY, connection_json
from tests.example_dags.snapshot_day import check_day
from tests.integration.airflow_processes import AirflowDeployment

pytestmark = [
    pytest.mark.integration,
    pytest.mark.loopring_sandbox(accounts=3, nfts_per_account=60, api_key=TEST_API_KEY),
]

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
SNAPSHOT, AWAIT = "loopring_nft_snapshot", "loopring_await_deployment"
SNAPSHOT_RUN, AWAIT_RUN = "it-snapshot", "it-await-deployment"
SENSOR = "wait_for_deployment"
TRIGGER = "airflow_provider_loopring.triggers.loopring.LoopringDeploymentTrigger"


def test_example_dags_run_on_a_real_deployment(
    loopring_sandbox: Any, tmp_path: Path, phase: Any
) -> None:
    sandbox = loopring_sandbox
    snapshot_ids, wait_account, collection = choose_data(sandbox)
    accounts = [snapshot_ids[0], owner_of(sandbox, snapshot_ids[1])]  # an id and an address
    root = tmp_path / "snapshots"
    sandbox.set_collection_status(collection["id"], "NOT_DEPLOYED")
    airflow = AirflowDeployment(
        tmp_path / "airflow",
        EXAMPLE_DAGS,
        {
            "AIRFLOW_CONN_LOOPRING_DEFAULT": connection_json(sandbox.url, sandbox.api_key),
            "LOOPRING_DEPLOYMENT_POKE_INTERVAL": "1",
        },
    )
    try:
        with phase("airflow db migrate"):
            airflow.migrate()
        with phase("start the 4 components until healthy, both DAGs parsed"):
            airflow.start()
            airflow.wait_until("both example DAGs are parsed", lambda: dags_parsed(airflow), 120)
            airflow.wait_until("every component reports healthy", lambda: healthy(airflow), 120)
        with phase("airflow dags unpause/trigger, 4 CLI calls side by side"):
            airflow.run_cli(
                [
                    ("dags", "unpause", SNAPSHOT),
                    ("dags", "unpause", AWAIT),
                    trigger(
                        SNAPSHOT, SNAPSHOT_RUN, accounts=accounts, output_root=f"file://{root}"
                    ),
                    trigger(
                        AWAIT, AWAIT_RUN, account_id=wait_account, collection_id=collection["id"]
                    ),
                ]
            )
        with phase("until the sensor is deferred and its trigger is in the triggerer"):
            deferral = airflow.wait_until(
                "the sensor defers and the triggerer takes its trigger",
                lambda: deferred(airflow),
                120,
            )
        # Airflow 3.3.2 fails a resumed task whose worker's exit from defer() the scheduler has
        # not processed yet (apache/airflow#66374, #72716): only move the deployment once it has.
        with phase("until the scheduler has processed the sensor's exit into deferral"):
            airflow.wait_until(
                "the scheduler records the deferring run as finished",
                lambda: defer_exit_processed(airflow),
                120,
            )
        # The sandbox moves a scripted status on per response that shows the collection; the
        # snapshot's responses may show it too, so the deployment moves once they are done.
        with phase("until the snapshot run finishes"):
            airflow.wait_until(
                "the snapshot run finishes", lambda: finished(airflow, SNAPSHOT_RUN), 180
            )
        sandbox.schedule_collection_status(collection["id"], ["DEPLOYING", "DEPLOYED"], every=1)
        with phase("until the deployment wait finishes"):
            airflow.wait_until(
                "the deployment wait finishes", lambda: finished(airflow, AWAIT_RUN), 180
            )
    finally:
        with phase("stop every process"):
            airflow.stop()

    states = dict(airflow.query("SELECT dag_id, state FROM dag_run"))
    assert states == {SNAPSHOT: "success", AWAIT: "success"}, airflow.report()
    check_snapshot(airflow, sandbox, root, snapshot_ids)
    check_deployment_wait(airflow, sandbox, deferral, wait_account, collection)
    leaked = [str(log) for log in airflow.logs() if sandbox.api_key in log.read_text()]
    assert not leaked, "the API key is in these logs"


# --- the data ------------------------------------------------------------------------------


def choose_data(sandbox: Any) -> tuple[list[int], int, dict[str, Any]]:
    """Two accounts to snapshot, and a collection of the third account to wait for."""
    ids = [account["accountId"] for account in sandbox.accounts]
    return ids[:2], ids[2], sandbox.collections(ids[2])[0]["collection"]


def trigger(dag_id: str, run_id: str, **conf: Any) -> tuple[str, ...]:
    return ("dags", "trigger", dag_id, "--run-id", run_id, "--conf", json.dumps(conf))


def owner_of(sandbox: Any, account_id: int) -> str:
    return next(a["owner"] for a in sandbox.accounts if a["accountId"] == account_id)


# --- watching the deployment --------------------------------------------------------------


def dags_parsed(airflow: AirflowDeployment) -> bool:
    rows = airflow.query(
        "SELECT dag_id FROM serialized_dag WHERE dag_id IN (?, ?)", SNAPSHOT, AWAIT
    )
    return {dag_id for (dag_id,) in rows} == {SNAPSHOT, AWAIT}


def healthy(airflow: AirflowDeployment) -> bool:
    health = airflow.health() or {}
    parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all(health.get(part, {}).get("status") == "healthy" for part in parts)


def deferred(airflow: AirflowDeployment) -> dict[str, Any] | None:
    """The sensor's task instance while deferred, once a triggerer job has its trigger."""
    rows = airflow.query(
        """
        SELECT ti.state, ti.next_method, ti.try_number, t.id, t.classpath, t.triggerer_id,
               j.job_type, j.state
        FROM task_instance ti
        JOIN "trigger" t ON t.id = ti.trigger_id
        LEFT JOIN job j ON j.id = t.triggerer_id
        WHERE ti.dag_id = ? AND ti.run_id = ? AND ti.task_id = ?
        """,
        AWAIT,
        AWAIT_RUN,
        SENSOR,
    )
    if not rows or rows[0][0] != "deferred" or rows[0][5] is None:
        return None
    keys = ("state", "next_method", "try_number", "trigger_id", "classpath", "triggerer_id")
    return dict(zip((*keys, "job_type", "job_state"), rows[0], strict=True))


def defer_exit_processed(airflow: AirflowDeployment) -> bool:
    """Whether the scheduler has taken the executor's event for the run that deferred."""
    wanted = f"TaskInstance Finished: dag_id={AWAIT}, task_id={SENSOR}, run_id={AWAIT_RUN}"
    return any(
        wanted in line and "state=deferred" in line
        for line in airflow.log_file("scheduler").read_text(errors="replace").splitlines()
    )


def finished(airflow: AirflowDeployment, run_id: str) -> str | None:
    rows = airflow.query("SELECT state FROM dag_run WHERE run_id = ?", run_id)
    return rows[0][0] if rows and rows[0][0] in ("success", "failed") else None


def xcom(airflow: AirflowDeployment, dag_id: str, run_id: str, task_id: str) -> Any:
    rows = airflow.query(
        "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? "
        "AND map_index = -1 AND key = 'return_value'",
        dag_id,
        run_id,
        task_id,
    )
    assert len(rows) == 1, f"no XCom of {dag_id}.{task_id}" + airflow.report()
    return json.loads(rows[0][0])


# --- what must be true afterwards ---------------------------------------------------------


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def check_snapshot(
    airflow: AirflowDeployment, sandbox: Any, root: Path, account_ids: list[int]
) -> None:
    """The day's partitions hold exactly the sandbox's records, declared by their manifests."""
    (run_after,) = airflow.query("SELECT run_after FROM dag_run WHERE run_id = ?", SNAPSHOT_RUN)[0]
    day = str(run_after)[:10]  # the DAG's day: run_after, UTC
    summary = check_day(root, day, sandbox, account_ids, skipped=[])
    assert xcom(airflow, SNAPSHOT, SNAPSHOT_RUN, "summarize") == summary
    events = airflow.query(
        "SELECT a.name, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id"
    )
    assert [(name, json.loads(extra)) for name, extra in events] == [
        ("loopring_nft_snapshots", {"root": f"file://{root}", "day": day})
    ]


def check_deployment_wait(
    airflow: AirflowDeployment,
    sandbox: Any,
    deferral: dict[str, Any],
    account_id: int,
    collection: dict[str, Any],
) -> None:
    """The sensor deferred to our trigger, which a triggerer job ran and saw the moves."""
    assert deferral["next_method"] == "execute_complete"
    assert deferral["classpath"] == TRIGGER
    assert (deferral["job_type"], deferral["job_state"]) == ("TriggererJob", "running")

    ((state, try_number),) = airflow.query(
        "SELECT state, try_number FROM task_instance WHERE run_id = ? AND task_id = ?",
        AWAIT_RUN,
        SENSOR,
    )
    assert (state, try_number) == ("success", deferral["try_number"])

    # The triggerer writes a deferred task's trigger log next to the task's, named by its job.
    task_logs = (
        airflow.home / "logs" / f"dag_id={AWAIT}" / f"run_id={AWAIT_RUN}" / f"task_id={SENSOR}"
    )
    trigger_log = task_logs / f"attempt={try_number}.log.trigger.{deferral['triggerer_id']}.log"
    assert trigger_log.is_file(), sorted(p.name for p in task_logs.iterdir())
    said = [line["event"] for line in jsonl(trigger_log) if line.get("logger") == TRIGGER]
    assert [line.rsplit(" ", 3)[1:] for line in said if " -> " in line] == [
        ["NOT_DEPLOYED", "->", "DEPLOYING"],
        ["DEPLOYING", "->", "DEPLOYED"],
    ], said

    awaited = xcom(airflow, AWAIT, AWAIT_RUN, SENSOR)
    assert (awaited["id"], awaited["deployStatus"]) == (collection["id"], "DEPLOYED")
    contract = collection["contractAddress"].lower()
    expected = [
        b["nftData"]
        for b in sandbox.balances(account_id, non_zero=True)
        if b["tokenAddress"].lower() == contract
    ]
    fetched = xcom(airflow, AWAIT, AWAIT_RUN, "deployed_nfts")
    assert [nft["nftData"] for nft in fetched] == expected
    assert expected
