"""One rate budget for a whole deployment, on the CeleryExecutor.

A real redis-server is Celery's broker and result backend and holds the Loopring connection's
budget (``rate_limit_conn_id``). Two ``airflow celery worker`` processes each run one batch of
balances (4 threads each), while two deferrable sensors on the same connection poll from the
triggerer. The sandbox answers 429 above the same rate the connection allows, so without one
budget for all these processes it would (benchmark ``budget`` measures how often). Its
request log shows: no one-second window above rate + 1, no 429, and the rate used while the
batches run. The test follows the run in the metadata database, and checks at the end that no
process of the deployment is left.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REDIS_PASSWORD, TEST_API_KEY, connection_json
from tests.integration.airflow_processes import AirflowDeployment, celery_env, processes_of
from tests.integration.test_real_deployment import finished, healthy
from tests.redis_server import RedisServer

RATE = 10.0
ACCOUNTS_PER_BATCH, NFTS_PER_ACCOUNT = 4, 1000  # 20 pages of 50 an account: 160 requests
pytestmark = [
    pytest.mark.integration,
    pytest.mark.loopring_sandbox(
        accounts=2 * ACCOUNTS_PER_BATCH + 2,
        nfts_per_account=NFTS_PER_ACCOUNT,
        latency=0.02,
        rate_limit=RATE,
        api_key=TEST_API_KEY,
    ),
]

DAGS = Path(__file__).resolve().parent / "dags"
ROOT = Path(__file__).resolve().parents[2]
DAG_ID, RUN_ID = "loopring_shared_budget", "it-shared-budget"
BALANCES = "/api/v3/user/nft/balances"
COLLECTIONS = "/api/v3/user/collection/details"
WORKERS = ("worker-1", "worker-2")
REDIS_CONN_ID = "loopring_budget_redis"


def test_one_budget_for_two_celery_workers_and_a_triggerer(
    loopring_sandbox: Any, tmp_path: Path, phase: Any
) -> None:
    sandbox = loopring_sandbox
    plan = make_plan(sandbox, tmp_path / "out")
    with RedisServer(tmp_path / "redis", password=REDIS_PASSWORD) as redis:
        airflow = AirflowDeployment(tmp_path / "airflow", DAGS, environment(sandbox, redis, plan))
        try:
            run(airflow, sandbox, plan, phase)
        finally:
            with phase("stop every process"):
                airflow.stop()
        redis_pid = redis.process.pid if redis.process else None
    assert redis_pid is not None and not alive(redis_pid)
    left = wait_for_none(lambda: processes_of(airflow.home), 30)
    assert left == [], f"processes of the deployment still running: {left}"

    states = dict(airflow.query("SELECT task_id, state FROM task_instance"))
    assert set(states.values()) == {"success"}, airflow.report()
    hosts = dict(airflow.query("SELECT task_id, hostname FROM task_instance"))
    assert (hosts["balances_1"], hosts["balances_2"]) == WORKERS
    for number, accounts in enumerate(plan["batches"], 1):
        lines = (Path(plan["root"]) / f"balances_{number}.jsonl").read_text().splitlines()
        assert len(lines) == len(accounts) * NFTS_PER_ACCOUNT
    check_requests(sandbox.requests)
    for log in airflow.logs():
        text = log.read_text(errors="replace")
        assert TEST_API_KEY not in text, f"the API key is in {log}"
        assert REDIS_PASSWORD not in text, f"the Redis password is in {log}"


def run(airflow: AirflowDeployment, sandbox: Any, plan: dict[str, Any], phase: Any) -> None:
    with phase("airflow db migrate"):
        airflow.migrate()
    with phase("start 4 components and 2 Celery workers until healthy"):
        airflow.start()
        # 3 slots each: both sensors may land on one worker, and its batch must not wait for
        # them to defer (the other batch, alone, could end before it starts: no overlap).
        for name in WORKERS:
            airflow.start_celery_worker(name, ["default", name], 3, worker_env(name))
        airflow.wait_until("the DAG is parsed", lambda: parsed(airflow), 120)
        airflow.wait_until("every component reports healthy", lambda: healthy(airflow), 120)
    with phase("airflow dags unpause/trigger"):
        trigger = ("dags", "trigger", DAG_ID, "--run-id", RUN_ID)
        airflow.run_cli([("dags", "unpause", DAG_ID), trigger])
    with phase("until both batches run, one a worker, while both sensors are deferred"):
        airflow.wait_until(
            "batches on both workers, sensors deferred", lambda: overlap(airflow), 240
        )
    with phase("until both batches succeed"):
        airflow.wait_until("both batches succeed", lambda: batches_done(airflow), 240)
    for _, collection_id in plan["waits"]:
        sandbox.set_collection_status(collection_id, "DEPLOYED")
    with phase("until the sensors see the deployments"):
        airflow.wait_until("the run finishes", lambda: finished(airflow, RUN_ID), 120)


# --- the set-up ---------------------------------------------------------------------------


def make_plan(sandbox: Any, root: Path) -> dict[str, Any]:
    """Two batches of accounts, and a collection of each of the two others to wait for.

    The sandbox makes an account's data on first sight: made now, so that no request waits
    for it (the server would read the requests queued meanwhile all at once)."""
    ids = [account["accountId"] for account in sandbox.accounts]
    for account_id in ids:
        sandbox.balances(account_id)
    batches = [ids[:ACCOUNTS_PER_BATCH], ids[ACCOUNTS_PER_BATCH : 2 * ACCOUNTS_PER_BATCH]]
    waits = []
    for account_id in ids[2 * ACCOUNTS_PER_BATCH :]:
        collection_id = sandbox.collections(account_id)[0]["collection"]["id"]
        sandbox.set_collection_status(collection_id, "NOT_DEPLOYED")
        waits.append((account_id, collection_id))
    root.mkdir(parents=True)
    return {"batches": batches, "waits": waits, "root": str(root)}


def environment(sandbox: Any, redis: RedisServer, plan: dict[str, Any]) -> dict[str, str]:
    broker = f"redis://:{redis.password}@127.0.0.1:{redis.port}"
    loopring = connection_json(
        sandbox.url,
        sandbox.api_key,
        requests_per_second=RATE,
        rate_limit_conn_id=REDIS_CONN_ID,
    )
    return {
        **celery_env(f"{broker}/0", f"{broker}/1"),
        "AIRFLOW_CONN_LOOPRING_DEFAULT": loopring,
        f"AIRFLOW_CONN_{REDIS_CONN_ID.upper()}": redis.connection_json(),
        "LOOPRING_IT_PLAN": json.dumps(plan),
    }


def worker_env(name: str) -> dict[str, str]:
    """Each worker records its own name as the task instances' hostname."""
    return {
        "LOOPRING_IT_WORKER": name,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.integration.worker_name.hostname",
        "PYTHONPATH": str(ROOT),
    }


# --- watching the run ---------------------------------------------------------------------


def parsed(airflow: AirflowDeployment) -> bool:
    return bool(airflow.query("SELECT 1 FROM serialized_dag WHERE dag_id = ?", DAG_ID))


def overlap(airflow: AirflowDeployment) -> bool:
    """Each batch running on its worker while every sensor's trigger is in the triggerer."""
    rows = airflow.query(
        "SELECT ti.task_id, ti.state, ti.hostname, t.triggerer_id FROM task_instance ti "
        'LEFT JOIN "trigger" t ON t.id = ti.trigger_id WHERE ti.run_id = ?',
        RUN_ID,
    )
    tis = {task_id: (state, host, triggerer) for task_id, state, host, triggerer in rows}
    batches = [tis.get(f"balances_{n}", (None,) * 3)[:2] for n in (1, 2)]
    sensors = [value for task_id, value in tis.items() if task_id.startswith("wait_")]
    return batches == [("running", name) for name in WORKERS] and all(
        state == "deferred" and triggerer is not None for state, _, triggerer in sensors
    )


def batches_done(airflow: AirflowDeployment) -> bool:
    rows = airflow.query(
        "SELECT state FROM task_instance WHERE run_id = ? AND task_id LIKE 'balances_%'", RUN_ID
    )
    if any(state in ("failed", "upstream_failed") for (state,) in rows):
        raise AssertionError("a batch failed" + airflow.report())
    return len(rows) == 2 and all(state == "success" for (state,) in rows)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for_none(find: Any, timeout: float) -> list[int]:
    """Poll `find` until it finds nothing (processes take a moment to exit after SIGKILL)."""
    deadline = time.monotonic() + timeout
    while (found := find()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return list(found)


# --- what the sandbox saw -----------------------------------------------------------------


def check_requests(records: list[Any]) -> None:
    assert [r.status for r in records if r.status != 200] == []  # no 429, nothing else either
    times = sorted(r.time for r in records)
    busiest = max(sum(t <= u < t + 1.0 for u in times) for t in times)
    # One budget keeps any second to RATE + 1 as booked; the sandbox stamps arrivals, and on
    # 2 cores shared by ten processes a request held back past its neighbour's slot arrives
    # with it: 2 more allowed. Two budgets (one per worker) would read 2 x RATE.
    assert busiest <= RATE + 3, f"{busiest} requests in one second"

    batch = sorted(r.time for r in records if r.path == BALANCES)
    start, end = batch[0], batch[-1]
    during = [t for t in times if start <= t <= end]
    used = (len(during) - 1) / ((end - start) * RATE)
    assert used >= 0.9, f"{len(during)} requests in {end - start:.1f} s: {used:.2f} of the rate"
    polls = [r for r in records if r.path == COLLECTIONS and start <= r.time <= end]
    assert len(polls) >= 2, "the sensors did not poll while the batches ran"
