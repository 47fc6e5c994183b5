"""LoopringDeploymentTrigger against the sandbox, run the way the triggerer runs it: rebuilt from
serialize(), first event taken, generator closed. Schedules move statuses; no sleeps."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from airflow_provider_loopring import _core as api
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.testing import Fault
from airflow_provider_loopring.triggers.loopring import LoopringDeploymentTrigger
from tests.conftest import connection_json
from tests.sensors.scripts import DEPLOYS, FAILS, UNKNOWN, unknown_status, use_connection

CLASSPATH = "airflow_provider_loopring.triggers.loopring.LoopringDeploymentTrigger"


@pytest.fixture
def held(sandbox) -> tuple[int, dict[str, Any]]:
    """An account and one NFT it holds."""
    account = sandbox.accounts[0]
    return account["accountId"], sandbox.balances(account["accountId"], non_zero=True)[0]


@pytest.fixture
def no_hook_retries(sandbox, monkeypatch) -> None:
    """The hook gives up at once: what the trigger does with a transient error shows."""
    use_connection(monkeypatch, sandbox.url, sandbox.api_key, max_retries=0)


def nft_trigger(account_id: int, nft_data: str, **overrides: Any) -> LoopringDeploymentTrigger:
    kwargs: dict[str, Any] = {
        "selection": {"kind": "nft", "account_id": account_id, "nft_datas": [nft_data]},
        "target_statuses": ["DEPLOYED"],
        "failure_statuses": ["DEPLOY_FAILED"],
        "deadline": time.time() + 60,
        "poke_interval": 0.01,
        **overrides,
    }
    return LoopringDeploymentTrigger(**kwargs)


async def first_event(trigger: LoopringDeploymentTrigger) -> dict[str, Any]:
    """What the triggerer does with a single-event trigger: take one event, close the rest."""
    events = trigger.run()
    try:
        event = await anext(events)
    finally:
        await events.aclose()
    return event.payload


def run(trigger: LoopringDeploymentTrigger) -> dict[str, Any]:
    return asyncio.run(first_event(trigger))


def statuses(sandbox, path: str = api.NFT_BALANCES.path) -> list[int]:
    return [r.status for r in sandbox.requests if r.path == path]


def changes(nft_data: str, *steps: str) -> list[str]:
    return [f"NFT {nft_data} {a} -> {b}" for a, b in itertools.pairwise(steps)]


def test_serialize_round_trip_runs_in_a_fresh_interpreter(sandbox, held):
    account_id, nft = held
    sandbox.schedule_nft_status(nft["nftData"], DEPLOYS, every=1)
    trigger = nft_trigger(account_id, nft["nftData"], last_seen={nft["nftData"]: "NOT_DEPLOYED"})
    classpath, kwargs = trigger.serialize()
    assert classpath == CLASSPATH
    assert json.loads(json.dumps(kwargs)) == kwargs  # JSON primitives only

    from airflow_provider_loopring.version_compat import serde

    # What the task runner sends the triggerer.
    assert serde().deserialize(serde().serialize(kwargs)) == kwargs

    code = textwrap.dedent(
        """
        import asyncio, importlib, json, os
        classpath, kwargs = json.loads(os.environ["LOOPRING_TRIGGER"])
        module, name = classpath.rsplit(".", 1)
        trigger = getattr(importlib.import_module(module), name)(**kwargs)

        async def first():
            events = trigger.run()
            event = await anext(events)
            await events.aclose()
            return event.payload

        print(json.dumps(asyncio.run(first())))
        """
    )
    env = {
        **os.environ,
        "LOOPRING_TRIGGER": json.dumps([classpath, kwargs]),
        "AIRFLOW_CONN_LOOPRING_DEFAULT": connection_json(sandbox.url, sandbox.api_key),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    event = json.loads(done.stdout.strip().splitlines()[-1])

    assert event["status"] == "success"
    assert event["records"] == [
        {
            "nftData": nft["nftData"],
            "tokenAddress": nft["tokenAddress"],
            "deploymentStatus": "DEPLOYED",
        }
    ]
    assert event["transitions"] == changes(nft["nftData"], *DEPLOYS)
    assert statuses(sandbox) == [200, 200, 200]


def test_transient_errors_during_the_wait_do_not_fail_it(sandbox, held, no_hook_retries):
    account_id, nft = held
    sandbox.schedule_nft_status(nft["nftData"], DEPLOYS, every=1)
    sandbox.add_fault(Fault("status", status=503, times=2, path=api.NFT_BALANCES.path))
    sandbox.add_fault(Fault("status", status=429, retry_after=0, path=api.NFT_BALANCES.path))
    sandbox.add_fault(Fault("status", status=502, path=api.NFT_BALANCES.path))

    event = run(nft_trigger(account_id, nft["nftData"]))

    assert event["status"] == "success"
    assert event["records"][0]["deploymentStatus"] == "DEPLOYED"
    assert statuses(sandbox) == [503, 503, 429, 502, 200, 200, 200]
    assert event["transitions"] == changes(nft["nftData"], *DEPLOYS)


def test_permanent_error_ends_the_wait_with_an_error_event(sandbox, held, monkeypatch):
    account_id, nft = held
    use_connection(monkeypatch, sandbox.url, "Nope" * 8)

    event = run(nft_trigger(account_id, nft["nftData"]))

    assert (event["status"], event["final"]) == ("error", True)  # no retry of the task either
    assert "code 104002" in event["message"] and "API key" in event["message"]
    assert statuses(sandbox) == [400]  # no polling on after an answer that will not change


def test_failure_status_ends_the_wait_naming_the_collection(sandbox):
    account = sandbox.accounts[1]
    collection = sandbox.collections(account["accountId"])[0]["collection"]
    sandbox.schedule_collection_status(collection["id"], FAILS, every=1)
    trigger = LoopringDeploymentTrigger(
        selection={
            "kind": "collection",
            "address": account["owner"],
            "collection_id": collection["id"],
        },
        target_statuses=["DEPLOYED"],
        failure_statuses=["DEPLOY_FAILED"],
        deadline=time.time() + 60,
        poke_interval=0.01,
    )

    event = run(trigger)

    assert event["status"] == "failure"
    label = f"collection {collection['id']} ({collection['contractAddress']})"
    assert f"{label} is DEPLOY_FAILED" in event["message"]
    assert event["records"] == [{**collection, "deployStatus": "DEPLOY_FAILED"}]
    assert event["transitions"] == [
        f"{label} NOT_DEPLOYED -> DEPLOYING",
        f"{label} DEPLOYING -> DEPLOY_FAILED",
    ]
    assert len(statuses(sandbox, api.ACCOUNT.path)) == 1  # the address resolved once, not per poll


def test_timeout_event_at_the_deadline(sandbox, held):
    account_id, nft = held
    sandbox.set_nft_status(nft["nftData"], "DEPLOYING")

    event = run(nft_trigger(account_id, nft["nftData"], deadline=time.time() + 0.2))

    assert event["status"] == "timeout"
    assert event["message"].startswith(
        f"Sensor has timed out waiting for NFTs of account {account_id}"
    )
    assert event["message"].endswith("to be DEPLOYED; it is DEPLOYING.")
    assert event["records"] == [] and event["transitions"] == []


def test_a_passed_deadline_still_gets_one_last_check(sandbox, held):
    account_id, nft = held
    sandbox.set_nft_status(nft["nftData"], "DEPLOYING")
    late = nft_trigger(account_id, nft["nftData"], deadline=time.time() - 10)
    assert run(late)["status"] == "timeout"
    assert statuses(sandbox) == [200]

    sandbox.set_nft_status(nft["nftData"], "DEPLOYED")
    assert run(late)["status"] == "success"  # as the poke loop: a last check before timing out


def test_running_again_after_a_restart_is_harmless(sandbox, held):
    account_id, nft = held
    sandbox.schedule_nft_status(nft["nftData"], DEPLOYS, every=1)
    trigger = nft_trigger(account_id, nft["nftData"], last_seen={nft["nftData"]: "NOT_DEPLOYED"})
    before = trigger.serialize()

    first, again = run(trigger), run(trigger)

    assert first["status"] == again["status"] == "success"
    assert first["records"] == again["records"]
    assert again["transitions"] == changes(nft["nftData"], "NOT_DEPLOYED", "DEPLOYED")
    assert trigger.serialize() == before  # the kwargs a restart rebuilds from are untouched


def test_unknown_status_keeps_it_waiting(sandbox, held, capfd):
    account_id, nft = held
    sandbox.set_nft_status(nft["nftData"], "DEPLOYED")
    sandbox.add_fault(Fault("transform", transform=unknown_status, times=3))

    event = run(nft_trigger(account_id, nft["nftData"]))

    assert event["status"] == "success"
    assert event["transitions"] == [f"NFT {nft['nftData']} {UNKNOWN} -> DEPLOYED"]
    assert capfd.readouterr().out.count(f"does not know: {UNKNOWN}") == 1
    assert statuses(sandbox) == [200] * 4


def test_only_async_io_and_the_client_is_closed(sandbox, held, monkeypatch):
    account_id, nft = held
    sandbox.set_nft_status(nft["nftData"], "DEPLOYED")

    def blocking(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a blocking call inside the triggerer's event loop")

    closed: list[bool] = []
    real_aclose = LoopringHook.aclose

    async def aclose(self: LoopringHook) -> None:
        closed.append(self._async.open)
        await real_aclose(self)

    monkeypatch.setattr(LoopringHook, "get_connection", blocking)
    monkeypatch.setattr(LoopringHook, "call", blocking)
    monkeypatch.setattr(LoopringHook, "aclose", aclose)

    assert run(nft_trigger(account_id, nft["nftData"]))["status"] == "success"
    assert closed == [True]


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"selection": {"kind": "nft"}}, "account_id/address"),
        ({"selection": {"kind": "token", "account_id": 1}}, "selection kind"),
        ({"selection": {"kind": "collection", "account_id": 1}}, "collection_id/contract_address"),
        ({"target_statuses": ["DEPLOYED", "LIVE"]}, "target_statuses"),
        ({"failure_statuses": ["DEPLOYED"]}, "target_statuses/failure_statuses"),
    ],
)
def test_bad_kwargs_are_rejected_at_construction(overrides, parameter):
    with pytest.raises(LoopringInvalidParameterError) as caught:
        nft_trigger(10001, "0x" + "ab" * 32, **overrides)
    assert caught.value.parameter == parameter


def test_silent_fail_keeps_polling_through_permanent_errors(sandbox, held, monkeypatch):
    account_id, nft = held
    use_connection(monkeypatch, sandbox.url, "Nope" * 8)
    # The deadline leaves room for several checks on a loaded machine (a first check that
    # took longer than the deadline would end after one).
    trigger = nft_trigger(account_id, nft["nftData"], silent_fail=True, deadline=time.time() + 1.5)

    event = run(trigger)

    assert event["status"] == "timeout"
    assert "the last check failed" in event["message"] and "104002" in event["message"]
    assert len(statuses(sandbox)) >= 2 and set(statuses(sandbox)) == {400}


def test_pause_between_checks():
    plain = nft_trigger(10001, "0x" + "ab" * 32, poke_interval=10)
    assert [plain._pause(checks, 0) for checks in (2, 3)] == [10, 10]
    # Transient errors in a row: doubled each time, up to five minutes.
    assert [plain._pause(2, errors) for errors in (1, 2, 6)] == [20, 40, 300]
    growing = nft_trigger(
        10001, "0x" + "ab" * 32, poke_interval=10, exponential_backoff=True, max_wait=50
    )
    assert [growing._pause(checks, 0) for checks in (2, 3, 4, 40)] == [20, 40, 50, 50]
