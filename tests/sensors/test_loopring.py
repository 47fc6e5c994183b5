"""The deployment sensors in poke, reschedule and deferrable mode, run by dag.test() against the
sandbox; statuses move on scripted schedules (per response, no clocks), never on sleeps."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_loopring import _core as api
from airflow_provider_loopring.exceptions import (
    LoopringAuthError,
    LoopringInvalidParameterError,
    LoopringTriggerError,
)
from airflow_provider_loopring.sensors.loopring import (
    LoopringCollectionDeploymentSensor,
    LoopringNftDeploymentSensor,
)
from airflow_provider_loopring.testing import Fault
from airflow_provider_loopring.version_compat import HAS_TASK_STATE_STORE
from tests.sensors.scripts import DEPLOYS, FAILS, UNKNOWN, unknown_status, use_connection

MODES = {
    "poke": "mode='poke'",
    "reschedule": "mode='reschedule'",
    "deferrable": "deferrable=True",
}
HEADER = """
from datetime import timedelta
from airflow_provider_loopring.sensors.loopring import (
    LoopringCollectionDeploymentSensor, LoopringNftDeploymentSensor,
)
"""


def own_collections(sandbox, account) -> list[dict[str, Any]]:
    """The account's own collections (it also holds a few NFTs of its neighbour's)."""
    listed = sandbox.collections(account["accountId"], non_zero=False)
    owner = account["owner"].lower()
    return [c["collection"] for c in listed if c["collection"]["owner"].lower() == owner]


def held_nfts(sandbox, account, collection_id) -> list[dict[str, Any]]:
    held = sandbox.balances(account["accountId"], non_zero=True, metadata=False)
    return [b for b in held if b["collectionInfo"]["id"] == collection_id]


@dataclass
class Scenario:
    """One NFT or collection per outcome, on separate collections and accounts, so that a
    response for one task never advances another task's schedule."""

    account: dict[str, Any]  # A: the NFT tasks and the collection that deploys
    nft_ok: dict[str, Any]
    nft_failing: dict[str, Any]
    nft_elsewhere: str  # held by B, not by A: nothing matches on A
    collection_ok: dict[str, Any]  # A's, by contract address
    failing_account: dict[str, Any]  # B
    collection_failing: dict[str, Any]  # B's, by id
    stuck_account: dict[str, Any]  # C
    collection_stuck: dict[str, Any]  # C's, by contract address, never deploys


@pytest.fixture
def scenario(sandbox) -> Scenario:
    a, b, c = sandbox.accounts
    deploying, nft_home, _ = own_collections(sandbox, a)
    held_by_a = {n["nftData"] for n in sandbox.balances(a["accountId"])}
    elsewhere = next(
        n["nftData"] for n in sandbox.balances(b["accountId"]) if n["nftData"] not in held_by_a
    )
    nft_ok, nft_failing = held_nfts(sandbox, a, nft_home["id"])[:2]
    failing = own_collections(sandbox, b)[0]
    stuck = own_collections(sandbox, c)[0]
    sandbox.schedule_nft_status(nft_ok["nftData"], DEPLOYS, every=1)
    sandbox.schedule_nft_status(nft_failing["nftData"], FAILS, every=1)
    sandbox.schedule_collection_status(deploying["id"], DEPLOYS, every=1)
    sandbox.schedule_collection_status(failing["id"], FAILS, every=1)
    sandbox.set_collection_status(stuck["id"], "NOT_DEPLOYED")
    return Scenario(a, nft_ok, nft_failing, elsewhere, deploying, b, failing, c, stuck)


def every_outcome(s: Scenario, mode: str) -> str:
    """Six sensors: each kind succeeds, fails fast (retries=3 unused) and times out."""
    a, b, c = (x["accountId"] for x in (s.account, s.failing_account, s.stuck_account))
    common = f"{mode}, poke_interval=0.1, retries=3, retry_delay=timedelta(0)"
    return f"""
    LoopringNftDeploymentSensor(task_id="nft_ok", account_id={a},
        nft_datas=[{s.nft_ok["nftData"]!r}], timeout=60, {common})
    LoopringNftDeploymentSensor(task_id="nft_failed", account_id={a},
        nft_datas={s.nft_failing["nftData"]!r}, timeout=60, {common})
    LoopringNftDeploymentSensor(task_id="nft_timeout", account_id={a},
        nft_datas=[{s.nft_elsewhere!r}], timeout=0.5, {common})
    LoopringCollectionDeploymentSensor(task_id="collection_ok", address={s.account["owner"]!r},
        contract_address={s.collection_ok["contractAddress"]!r}, timeout=60, {common})
    LoopringCollectionDeploymentSensor(task_id="collection_failed", account_id={b},
        collection_id={s.collection_failing["id"]}, timeout=60, {common})
    LoopringCollectionDeploymentSensor(task_id="collection_soft", account_id={c},
        contract_address={s.collection_stuck["contractAddress"]!r}, timeout=0.5,
        soft_fail=True, {common})
    """


def try_numbers(result) -> dict[str, int]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=result.dag_id, run_id=result.run_id)
        return {ti.task_id: ti.try_number for ti in tis}


def reschedules(result, task_id: str) -> int:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = (
            session.query(TaskInstance)
            .filter_by(dag_id=result.dag_id, run_id=result.run_id, task_id=task_id)
            .one()
        )
        return session.query(TaskReschedule).filter_by(ti_id=ti.id).count()


@pytest.mark.loopring_sandbox(accounts=3, nfts_per_account=30, collections_per_account=3)
@pytest.mark.parametrize("mode", list(MODES))
def test_every_mode_succeeds_fails_fast_and_times_out_alike(
    mode, sandbox, scenario, run_dag, capfd
):
    s = scenario
    result = run_dag(every_outcome(s, MODES[mode]), header=HEADER)
    out = capfd.readouterr().out

    assert result.task_states == {
        "nft_ok": "success",
        "nft_failed": "failed",
        "nft_timeout": "failed",
        "collection_ok": "success",
        "collection_failed": "failed",
        "collection_soft": "skipped",
    }
    # A failure status and a timeout fail at once: retries=3 left unused.
    tries = try_numbers(result)
    assert tries["nft_failed"] == tries["collection_failed"] == tries["nft_timeout"] == 1

    assert result.xcom("nft_ok") == [
        {
            "nftData": s.nft_ok["nftData"],
            "tokenAddress": s.nft_ok["tokenAddress"],
            "deploymentStatus": "DEPLOYED",
        }
    ]
    deployed = {**s.collection_ok, "deployStatus": "DEPLOYED"}
    assert result.xcom("collection_ok") == deployed
    assert result.xcom("nft_failed") is None

    nft = f"NFT {s.nft_ok['nftData']}"
    failing = f"NFT {s.nft_failing['nftData']}"
    assert f"{failing} is DEPLOY_FAILED, a failure status" in out
    assert f"collection {s.collection_failing['id']} (" in out
    assert f"Nothing matches NFTs of account {s.account['accountId']}" in out
    assert "Sensor has timed out" in out
    # Each transition once, wherever it was seen (the trigger's are repeated by the task).
    # Reschedule mode remembers what it saw in the task state store; before Airflow 3.3 there
    # is none, and each check starts afresh: the same outcomes, but no transitions to log.
    remembers = mode != "reschedule" or HAS_TASK_STATE_STORE
    for change in ("NOT_DEPLOYED -> DEPLOYING", "DEPLOYING -> DEPLOYED"):
        seen = [line for line in out.splitlines() if f"{nft} {change}" in line]
        assert len([line for line in seen if "Seen by the trigger" not in line]) == remembers, seen

    if mode == "reschedule":
        # Three checks in three separate task runs.
        assert reschedules(result, "nft_ok") == 2
    if mode == "deferrable":
        # Only execute_complete says this: the trigger saw the NFT deploy.
        assert out.count(f"Seen by the trigger: {nft} DEPLOYING -> DEPLOYED") == 1


@pytest.mark.loopring_sandbox(accounts=2, nfts_per_account=20)
def test_deferrable_sensor_already_done_does_not_defer(sandbox, run_dag, capfd):
    account = sandbox.accounts[0]
    nft = sandbox.balances(account["accountId"], non_zero=True)[0]
    sandbox.set_nft_status(nft["nftData"], "DEPLOYED")
    body = f"""
    LoopringNftDeploymentSensor(task_id="done", account_id={account["accountId"]},
        nft_datas={nft["nftData"]!r}, deferrable=True, poke_interval=0.1, timeout=5)
    """
    result = run_dag(body, header=HEADER)

    assert result.task_states == {"done": "success"}
    assert result.xcom("done")[0]["deploymentStatus"] == "DEPLOYED"
    assert "Seen by the trigger" not in capfd.readouterr().out
    assert len([r for r in sandbox.requests if r.path == api.NFT_BALANCES.path]) == 1


@pytest.mark.loopring_sandbox(accounts=2, nfts_per_account=20)
def test_templated_selector_is_checked_when_the_task_runs(sandbox, run_dag):
    account = sandbox.accounts[0]
    nft = sandbox.balances(account["accountId"], non_zero=True)[0]
    sandbox.set_nft_status(nft["nftData"], "DEPLOYED")
    body = """
    LoopringNftDeploymentSensor(task_id="templated", account_id="{{ params.no_account }}",
        poke_interval=0.1, timeout=5, params={"no_account": 0})
    LoopringNftDeploymentSensor(task_id="rendered", account_id="{{ dag_run.conf['account'] }}",
        nft_datas="{{ dag_run.conf['nfts'] }}", poke_interval=0.1, timeout=5)
    """
    conf = {"account": account["accountId"], "nfts": [nft["nftData"]]}
    result = run_dag(body, header=HEADER, run_conf=conf)

    # account 0 renders fine but is no account: the task fails on validation, nothing is sent.
    assert result.task_states == {"templated": "failed", "rendered": "success"}
    assert [r["nftData"] for r in result.xcom("rendered")] == [nft["nftData"]]
    assert all(r.query.get("accountId") != "0" for r in sandbox.requests)


# --- one poke, without a DAG -----------------------------------------------------------------


@pytest.fixture
def nft(sandbox) -> tuple[int, str]:
    account = sandbox.accounts[0]
    return account["accountId"], sandbox.balances(account["accountId"], non_zero=True)[0]["nftData"]


def test_unknown_status_keeps_waiting_and_warns_once(sandbox, nft, capfd):
    account_id, nft_data = nft
    sandbox.set_nft_status(nft_data, "DEPLOYED")
    sandbox.add_fault(Fault("transform", transform=unknown_status, times=3))
    sensor = LoopringNftDeploymentSensor(
        task_id="s", account_id=account_id, nft_datas=[nft_data], poke_interval=0
    )
    answers = [bool(sensor.poke({})) for _ in range(4)]

    assert answers == [False, False, False, True]
    logged = capfd.readouterr().out
    assert logged.count(f"does not know: {UNKNOWN}") == 1
    assert logged.count(f"NFT {nft_data} {UNKNOWN} -> DEPLOYED") == 1


def test_transient_error_after_the_hooks_retries_keeps_waiting(sandbox, nft, monkeypatch):
    account_id, nft_data = nft
    use_connection(monkeypatch, sandbox.url, sandbox.api_key, max_retries=0)
    sandbox.set_nft_status(nft_data, "DEPLOYED")
    sandbox.add_fault(Fault("status", status=503, path=api.NFT_BALANCES.path))
    sensor = LoopringNftDeploymentSensor(task_id="s", account_id=account_id, nft_datas=nft_data)

    assert [bool(sensor.poke({})), bool(sensor.poke({}))] == [False, True]
    assert [r.status for r in sandbox.requests] == [503, 200]


def test_permanent_error_fails_the_poke(sandbox, nft, monkeypatch):
    account_id, nft_data = nft
    use_connection(monkeypatch, sandbox.url, "NotTheKey" * 4)
    sensor = LoopringNftDeploymentSensor(task_id="s", account_id=account_id, nft_datas=nft_data)
    with pytest.raises(LoopringAuthError):
        sensor.poke({})


# --- construction ----------------------------------------------------------------------------

ACCOUNT = {"account_id": 10001}
NFT_DATA = "0x" + "ab" * 32
CONTRACT = "0x" + "cd" * 20


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"target_statuses": ["DEPLOYD"]}, "target_statuses"),
        ({"target_statuses": []}, "target_statuses"),
        ({"failure_statuses": "DEPLOY_FAILED,OOPS"}, "failure_statuses"),
        ({"failure_statuses": 7}, "failure_statuses"),
        ({"target_statuses": ["DEPLOYED", "DEPLOY_FAILED"]}, "target_statuses/failure_statuses"),
        ({"account_id": None}, "account_id/address"),
        ({"address": CONTRACT}, "account_id/address"),
        ({"account_id": -3}, "account_id"),
        ({"nft_datas": ["0x12"]}, "nft_datas"),
        ({"token_addrs": "0xnope"}, "token_addrs"),
    ],
)
def test_nft_sensor_rejects_at_construction(kwargs, parameter):
    with pytest.raises(LoopringInvalidParameterError) as caught:
        LoopringNftDeploymentSensor(task_id="s", **{**ACCOUNT, **kwargs})
    assert caught.value.parameter == parameter
    assert parameter in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({}, "collection_id/contract_address"),
        ({"collection_id": 5, "contract_address": CONTRACT}, "collection_id/contract_address"),
        ({"collection_id": "five"}, "collection_id"),
        ({"contract_address": "0x1234"}, "contract_address"),
        ({"collection_id": 5, "target_statuses": "DEPLOYED,LIVE"}, "target_statuses"),
    ],
)
def test_collection_sensor_rejects_at_construction(kwargs, parameter):
    with pytest.raises(LoopringInvalidParameterError) as caught:
        LoopringCollectionDeploymentSensor(task_id="s", **{**ACCOUNT, **kwargs})
    assert caught.value.parameter == parameter


def test_statuses_are_read_like_loopring_writes_them():
    sensor = LoopringNftDeploymentSensor(
        task_id="s",
        **ACCOUNT,
        target_statuses="deployed, DEPLOYING",
        failure_statuses=[],
    )
    assert sensor.target_statuses == ("DEPLOYED", "DEPLOYING")
    assert sensor.failure_statuses == ()


def test_templated_and_xcom_selectors_wait_for_the_run():
    sensor = LoopringNftDeploymentSensor(
        task_id="s", account_id="{{ params.account }}", nft_datas="{{ ti.xcom_pull('mint') }}"
    )
    assert sensor.account_id == "{{ params.account }}"


# --- execute_complete ------------------------------------------------------------------------


@pytest.fixture
def deferred() -> LoopringNftDeploymentSensor:
    return LoopringNftDeploymentSensor(task_id="s", **ACCOUNT, nft_datas=[NFT_DATA])


def payload(status: str) -> dict[str, Any]:
    return {"status": status, "message": f"it is {status}", "records": [], "transitions": []}


@pytest.mark.parametrize(
    ("event", "complaint"),
    [
        (None, "sent no event"),
        ("success", "not an event"),
        ({"message": "x"}, "with status None"),
        ({**payload("success"), "status": "deployed"}, "with status 'deployed'"),
        ({"status": "success", "records": [], "transitions": []}, "valid 'message'"),
        ({**payload("success"), "records": None}, "valid 'records'"),
        ({**payload("timeout"), "transitions": "A -> B"}, "valid 'transitions'"),
    ],
)
def test_execute_complete_rejects_a_bad_event(deferred, event, complaint):
    with pytest.raises(ValueError, match="Loopring deployment trigger") as caught:
        deferred.execute_complete({}, event)
    assert complaint in str(caught.value)


def test_execute_complete_outcomes(deferred, capfd):
    from airflow_provider_loopring.version_compat import (
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )

    record = {"nftData": NFT_DATA, "tokenAddress": CONTRACT, "deploymentStatus": "DEPLOYED"}
    done = {**payload("success"), "records": [record], "transitions": ["NFT x A -> B"]}
    assert deferred.execute_complete({}, done) == [record]
    assert "Seen by the trigger: NFT x A -> B" in capfd.readouterr().out
    with pytest.raises(AirflowFailException, match="it is failure"):
        deferred.execute_complete({}, payload("failure"))
    with pytest.raises(AirflowSensorTimeout, match="it is timeout"):
        deferred.execute_complete({}, payload("timeout"))
    with pytest.raises(LoopringTriggerError, match="it is error") as raised:
        deferred.execute_complete({}, payload("error"))
    assert raised.value.retryable  # an event from before "final" keeps the retries
    final = {**payload("error"), "final": True}
    with pytest.raises((LoopringTriggerError, AirflowFailException)) as raised:
        deferred.execute_complete({}, final)
    # Airflow 3.3+: the retry policy reads `retryable`; before, fail_fast raised it as final.
    assert getattr(raised.value, "retryable", False) is False

    deferred.soft_fail = True
    for status in ("failure", "timeout"):
        with pytest.raises(AirflowSkipException, match=f"soft_fail: it is {status}"):
            deferred.execute_complete({}, payload(status))
    # soft_fail is for a wait that did not work out, not for a broken setup (as in poke mode).
    with pytest.raises(LoopringTriggerError):
        deferred.execute_complete({}, payload("error"))


def test_collection_sensor_returns_the_collection_record():
    sensor = LoopringCollectionDeploymentSensor(task_id="s", **ACCOUNT, collection_id=7)
    record = {"id": 7, "deployStatus": "DEPLOYED"}
    assert sensor.execute_complete({}, {**payload("success"), "records": [record]}) == record


# --- DAG-parse cost --------------------------------------------------------------------------


def test_importing_and_building_a_sensor_loads_no_http_client():
    code = textwrap.dedent(
        """
        import json, sys
        import airflow.sdk
        # What Airflow itself loads (3.1's airflow.sdk imports airflow.triggers.base) is not ours.
        airflow_own = set(sys.modules)
        from airflow_provider_loopring.sensors.loopring import (
            LoopringCollectionDeploymentSensor, LoopringNftDeploymentSensor,
        )
        LoopringNftDeploymentSensor(task_id="a", account_id=1, nft_datas=["0x" + "ab" * 32])
        LoopringCollectionDeploymentSensor(task_id="b", address="0x" + "cd" * 20, collection_id=3)
        heavy = ["requests", "airflow_provider_loopring.hooks.loopring",
                 "airflow_provider_loopring.triggers.loopring", "airflow.triggers.base"]
        print(json.dumps([name for name in heavy if name in set(sys.modules) - airflow_own]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_deferring_hands_the_trigger_plain_arguments(sandbox, nft):
    from airflow_provider_loopring.version_compat import TaskDeferred

    account_id, nft_data = nft
    sandbox.set_nft_status(nft_data, "DEPLOYING")
    sensor = LoopringNftDeploymentSensor(
        task_id="s",
        account_id=account_id,
        nft_datas=nft_data.upper().replace("0X", "0x"),
        deferrable=True,
        poke_interval=5,
        timeout=600,
        exponential_backoff=True,
        max_wait=30,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.poke({})

    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath == "airflow_provider_loopring.triggers.loopring.LoopringDeploymentTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    deadline = kwargs.pop("deadline")
    assert kwargs == {
        "selection": {
            "kind": "nft",
            "account_id": account_id,
            "address": None,
            "nft_datas": [nft_data.lower()],
            "token_addrs": None,
        },
        "target_statuses": ["DEPLOYED"],
        "failure_statuses": ["DEPLOY_FAILED"],
        "poke_interval": 5.0,
        "loopring_conn_id": "loopring_default",
        "last_seen": {nft_data.lower(): "DEPLOYING"},
        "silent_fail": False,
        "exponential_backoff": True,
        "max_wait": 30.0,
    }
    # The scheduler's backstop outlasts the trigger's own deadline.
    assert deferred.value.timeout.total_seconds() > 600
    assert deferred.value.method_name == "execute_complete"
    assert deadline > 0
