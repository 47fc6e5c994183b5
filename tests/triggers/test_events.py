"""The event triggers against the sandbox: real polls, one watcher or many sharing one poll
(Airflow's own SharedStreamManager). Each test reads a fixed number of polls, so "no more
events" is a count, not a wait. The asset state store is a dict with Airflow's aget/aset."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from airflow_provider_loopring import _core as api
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.testing import Fault
from airflow_provider_loopring.triggers import _polls
from airflow_provider_loopring.triggers.events import (
    LoopringDeploymentEventTrigger,
    LoopringHoldingsEventTrigger,
)
from airflow_provider_loopring.version_compat import HAS_SHARED_STREAMS
from tests.sensors.scripts import DEPLOYS, use_connection

FAST = 0.01  # seconds between polls


class AssetStore:
    """What the triggerer injects as ``asset_state_store`` for one watched asset."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)  # JSON, as Airflow stores it
        self.writes += 1


async def take(stream: AsyncIterator[Any], polls: int) -> AsyncIterator[Any]:
    """The first ``polls`` snapshots of a shared stream, then the end."""
    for _ in range(polls):
        yield await anext(stream)
    await stream.aclose()


def events(trigger: Any, polls: int, store: AssetStore | None = None) -> list[dict[str, Any]]:
    """The payloads a watcher fires over ``polls`` polls of its own."""
    trigger.asset_state_store = store

    async def collect() -> list[dict[str, Any]]:
        stream = type(trigger).open_shared_stream(trigger.serialize()[1])
        return [e.payload async for e in trigger.filter_shared_stream(take(stream, polls))]

    return asyncio.run(collect())


def deployment(account_id: int, **kwargs: Any) -> LoopringDeploymentEventTrigger:
    return LoopringDeploymentEventTrigger(account_id=account_id, poke_interval=FAST, **kwargs)


@pytest.fixture
def collection(sandbox) -> tuple[int, dict[str, Any]]:
    account_id = sandbox.accounts[0]["accountId"]
    return account_id, sandbox.collections(account_id)[0]["collection"]


# --- construction ---------------------------------------------------------------------------


def test_serialize_is_json_primitives_and_rebuilds_the_same_trigger() -> None:
    data = "0x" + "ab" * 32
    for trigger in (
        LoopringDeploymentEventTrigger(account_id=7, collection_id=270),
        LoopringDeploymentEventTrigger(account_id=7, token_address="0x" + "Cd" * 20),
        LoopringDeploymentEventTrigger(account_id=7, nft_datas=data, target_statuses="deployed"),
        LoopringHoldingsEventTrigger(account_id=7, max_changes=5),
    ):
        classpath, kwargs = trigger.serialize()
        assert json.loads(json.dumps(kwargs)) == kwargs
        assert classpath == f"airflow_provider_loopring.triggers.events.{type(trigger).__name__}"
        assert type(trigger)(**kwargs).serialize() == (classpath, kwargs)
    kwargs = LoopringDeploymentEventTrigger(account_id=7, nft_datas=data).serialize()[1]
    assert (kwargs["nft_datas"], kwargs["target_statuses"]) == ([data], ["DEPLOYED"])


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"account_id": 0}, "account_id"),
        ({"account_id": 7, "poke_interval": 0}, "poke_interval"),
        ({"account_id": 7, "poke_interval": float("nan")}, "poke_interval"),
        ({"account_id": 7, "collection_id": -1}, "collection_id"),
        ({"account_id": 7, "token_address": "0x12"}, "contract_address"),
        ({"account_id": 7, "collection_id": 1, "token_address": "0x" + "1" * 40}, "collection_id"),
        ({"account_id": 7, "nft_datas": "0x" + "1" * 64, "collection_id": 1}, "nft_datas"),
        ({"account_id": 7, "target_statuses": ["LIVE"]}, "target_statuses"),
        ({"account_id": 7, "target_statuses": []}, "target_statuses"),
    ],
)
def test_bad_arguments_are_refused_at_construction(kwargs: dict[str, Any], parameter: str) -> None:
    with pytest.raises(LoopringInvalidParameterError, match=parameter):
        LoopringDeploymentEventTrigger(**kwargs)


def test_bad_holdings_arguments_are_refused_at_construction() -> None:
    with pytest.raises(LoopringInvalidParameterError, match="max_changes"):
        LoopringHoldingsEventTrigger(account_id=7, max_changes=-1)
    with pytest.raises(LoopringInvalidParameterError, match="poke_interval"):
        LoopringHoldingsEventTrigger(account_id=7, poke_interval=-5)


def test_block_mode_is_refused_where_the_triggerer_cannot_share_its_poll(monkeypatch) -> None:
    from airflow_provider_loopring import version_compat

    monkeypatch.setattr(version_compat, "HAS_SHARED_STREAMS", False)  # Airflow 3.1 and 3.2
    with pytest.raises(LoopringInvalidParameterError, match=r"block_stream.*Airflow 3\.3"):
        LoopringHoldingsEventTrigger(account_id=7, block_stream=True)
    assert not LoopringHoldingsEventTrigger(account_id=7).block_stream  # polling is fine


def test_watchers_of_one_account_listing_share_a_key_whatever_they_select() -> None:
    data = "0x" + "ab" * 32
    by_id = deployment(7, collection_id=1).shared_stream_key()
    assert by_id == deployment(7, token_address="0x" + "1" * 40).shared_stream_key()
    assert by_id == deployment(7, target_statuses=["DEPLOY_FAILED"]).shared_stream_key()
    assert by_id != deployment(8, collection_id=1).shared_stream_key()
    assert (
        by_id != LoopringDeploymentEventTrigger(account_id=7, collection_id=1).shared_stream_key()
    )
    nfts = deployment(7, nft_datas=data).shared_stream_key()
    holdings = LoopringHoldingsEventTrigger(account_id=7, poke_interval=FAST).shared_stream_key()
    assert nfts == holdings != by_id  # both list the account's balances: one poll


# --- deployment -----------------------------------------------------------------------------


def test_a_deployment_fires_once_with_the_record_and_the_transition(sandbox, collection) -> None:
    account_id, watched = collection
    sandbox.schedule_collection_status(watched["id"], DEPLOYS, every=1)
    fired = events(deployment(account_id, collection_id=watched["id"]), polls=6, store=AssetStore())
    assert len(fired) == 1, fired  # DEPLOYING is no target; DEPLOYED stays DEPLOYED
    (event,) = fired
    assert event["transition"] == {"from": "DEPLOYING", "to": "DEPLOYED"}
    assert (event["event"], event["kind"], event["key"]) == (
        "deployment",
        "collection",
        str(watched["id"]),
    )
    assert event["record"]["id"] == watched["id"]
    assert event["record"]["contractAddress"] == watched["contractAddress"]
    assert event["account_id"] == account_id and "DEPLOYING -> DEPLOYED" in event["message"]


def test_a_restart_fires_what_moved_while_down_and_nothing_twice(sandbox, collection) -> None:
    account_id, first = collection
    second = sandbox.collections(account_id)[1]["collection"]
    for each in (first, second):
        sandbox.set_collection_status(each["id"], "NOT_DEPLOYED")
    store = AssetStore()
    assert events(deployment(account_id), polls=2, store=store) == []  # the first look
    sandbox.set_collection_status(first["id"], "DEPLOYED")
    fired = events(deployment(account_id), polls=2, store=store)
    assert [e["key"] for e in fired] == [str(first["id"])]
    # "Down": the second deploys with no watcher running. A new watcher, same store.
    sandbox.set_collection_status(second["id"], "DEPLOYED")
    fired = events(deployment(account_id), polls=3, store=store)
    assert [(e["key"], e["transition"]["from"]) for e in fired] == [
        (str(second["id"]), "NOT_DEPLOYED")
    ]
    assert events(deployment(account_id), polls=2, store=store) == []


def test_failures_fire_only_when_asked_and_nfts_can_be_watched(sandbox, collection) -> None:
    account_id, watched = collection
    nft = next(
        b
        for b in sandbox.balances(account_id, non_zero=True)
        if b["collectionInfo"]["id"] != watched["id"]
    )
    sandbox.set_nft_status(nft["nftData"], "DEPLOYING")
    store = AssetStore()
    targets = ["DEPLOYED", "DEPLOY_FAILED"]
    watchers = [deployment(account_id, nft_datas=[nft["nftData"]], target_statuses=targets)]
    watchers.append(deployment(account_id, nft_datas=[nft["nftData"]]))
    assert [events(w, polls=1, store=store) for w in watchers] == [[], []]
    sandbox.set_nft_status(nft["nftData"], "DEPLOY_FAILED")
    (failed,) = events(watchers[0], polls=2, store=store)
    assert failed["transition"] == {"from": "DEPLOYING", "to": "DEPLOY_FAILED"}
    assert failed["kind"] == "nft" and failed["record"]["nftData"] == nft["nftData"]
    assert events(watchers[1], polls=2, store=store) == []  # DEPLOY_FAILED is not its target


def test_a_collection_first_seen_already_deployed_fires_with_no_from(sandbox, collection) -> None:
    account_id, watched = collection
    store = AssetStore()
    sandbox.set_collection_status(watched["id"], "DEPLOYED")
    # A saved state that has not seen this collection yet (it was made after that look).
    trigger = deployment(account_id, collection_id=watched["id"])
    store.values[trigger._state_key()] = json.dumps({"statuses": {}})
    (event,) = events(trigger, polls=2, store=store)
    assert event["transition"] == {"from": None, "to": "DEPLOYED"}


def test_errors_never_end_the_watcher(sandbox, collection, monkeypatch, caplog) -> None:
    account_id, watched = collection
    use_connection(monkeypatch, sandbox.url, sandbox.api_key, max_retries=0)
    monkeypatch.setattr(_polls, "MAX_ERROR_BACKOFF", FAST)  # the longest pause, shortened
    sandbox.set_collection_status(watched["id"], "NOT_DEPLOYED")
    sandbox.add_fault(Fault("status", path=api.COLLECTION_BALANCES.path, status=503, times=2))
    sandbox.add_fault(
        Fault("status", path=api.COLLECTION_BALANCES.path, status=400, code=100001, times=1)
    )
    sandbox.schedule_collection_status(watched["id"], ["NOT_DEPLOYED", "DEPLOYED"], every=1)
    with caplog.at_level(logging.WARNING, logger=_polls.__name__):
        fired = events(deployment(account_id, collection_id=watched["id"]), 3, AssetStore())
    assert [e["transition"]["to"] for e in fired] == ["DEPLOYED"]
    statuses = [r.status for r in sandbox.requests if r.path == api.COLLECTION_BALANCES.path]
    assert statuses[:4] == [503, 503, 400, 200]
    assert "(1 in a row)" in caplog.text and "(2 in a row)" in caplog.text
    assert "100001" in caplog.text and sandbox.api_key not in caplog.text


def test_pauses_grow_on_transient_errors_up_to_the_longest() -> None:
    assert [_polls.error_pause(60, n) for n in range(5)] == [60, 120, 240, 300, 300]
    assert _polls.error_pause(600, 3) == 600  # never shorter than the interval


def test_without_a_state_store_the_watcher_says_so_and_keeps_memory(
    sandbox, collection, capsys
) -> None:
    account_id, watched = collection
    sandbox.schedule_collection_status(watched["id"], DEPLOYS, every=1)
    fired = events(deployment(account_id, collection_id=watched["id"]), polls=5, store=None)
    logged = "".join(capsys.readouterr())  # the trigger logs through structlog
    assert len(fired) == 1 and "in memory only (no asset state store)" in logged


# --- holdings -------------------------------------------------------------------------------


def _held(sandbox, account_id: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    balances = sandbox.balances(account_id)
    return [b for b in balances if b["total"] != "0"], next(
        b for b in balances if b["total"] == "0"
    )


def test_holdings_changes_come_in_one_event_listing_each(sandbox) -> None:
    account_id = sandbox.accounts[0]["accountId"]
    (kept, sold, *_), returned = _held(sandbox, account_id)
    store = AssetStore()
    watcher = LoopringHoldingsEventTrigger(account_id=account_id, poke_interval=FAST)
    assert events(watcher, polls=2, store=store) == []
    sandbox.set_balance(account_id, kept["nftData"], str(int(kept["total"]) + 1))
    sandbox.set_balance(account_id, sold["nftData"], "0")
    sandbox.set_balance(account_id, returned["nftData"], "3")
    (event,) = events(watcher, polls=3, store=store)
    assert event["counts"] == {"added": 1, "removed": 1, "amount": 1, "status": 0}
    changes = {c["nftData"]: c for c in event["changes"]}
    assert changes[kept["nftData"].lower()]["totalAfter"] == str(int(kept["total"]) + 1)
    assert changes[sold["nftData"].lower()]["change"] == "removed"
    assert changes[returned["nftData"].lower()] == {
        "nftData": returned["nftData"].lower(),
        "change": "added",
        "totalBefore": None,
        "totalAfter": "3",
        "deploymentStatusBefore": None,
        "deploymentStatusAfter": returned["deploymentStatus"],
    }
    assert (event["total_changes"], event["truncated"]) == (3, False)


def test_a_long_list_of_changes_is_cut_and_says_so(sandbox) -> None:
    account_id = sandbox.accounts[0]["accountId"]
    held, _ = _held(sandbox, account_id)
    store = AssetStore()
    watcher = LoopringHoldingsEventTrigger(account_id=account_id, poke_interval=FAST, max_changes=2)
    events(watcher, polls=1, store=store)
    for balance in held[:5]:
        sandbox.set_balance(account_id, balance["nftData"], "0")
    (event,) = events(watcher, polls=1, store=store)
    assert len(event["changes"]) == 2
    assert (event["total_changes"], event["truncated"], event["counts"]["removed"]) == (5, True, 5)


# --- many watchers, one poll ------------------------------------------------------------------


def watch_in_manager(watchers: list[Any], polls: int) -> None:
    """Every watcher reads ``polls`` snapshots through Airflow's own SharedStreamManager,
    subscribed by its ``shared_stream_key`` as the triggerer subscribes it."""
    from airflow.triggers.shared_stream import SharedStreamManager

    async def watch() -> None:
        manager = SharedStreamManager()

        async def one(number: int, watcher: Any) -> None:
            watcher.asset_state_store = AssetStore()
            stream = manager.subscribe(
                trigger_id=number, trigger=watcher, key=watcher.shared_stream_key()
            )
            async for _ in watcher.filter_shared_stream(take(stream, polls)):
                pass

        try:
            await asyncio.gather(*(one(n, w) for n, w in enumerate(watchers)))
        finally:
            await manager.stop_all()

    asyncio.run(watch())


@pytest.mark.skipif(not HAS_SHARED_STREAMS, reason="shared streams come with Airflow 3.3")
def test_many_watchers_share_one_poll_per_account_in_airflows_manager(sandbox) -> None:
    accounts = [a["accountId"] for a in sandbox.accounts]
    watchers = [
        deployment(account, collection_id=held["collection"]["id"])
        for account in accounts
        for held in sandbox.collections(account, non_zero=False)
    ] + [deployment(account) for account in accounts]
    polls = 3
    sandbox.clear_requests()
    watch_in_manager(watchers, polls)
    listed = [
        r.query["accountId"] for r in sandbox.requests if r.path == api.COLLECTION_BALANCES.path
    ]
    assert len(watchers) > len(accounts)
    # Every watcher saw `polls` listings; each account was listed once per poll (and perhaps
    # once more, already under way when the last watcher left).
    assert sorted(set(listed)) == sorted(str(a) for a in accounts)
    assert all(polls <= listed.count(str(a)) <= polls + 1 for a in accounts), listed


UNREADABLE_STATES = {
    "a-list": [["1", "DEPLOYED"]],
    "text": "DEPLOYED",
    "no-statuses": {"seen": {}},
    "statuses-a-list": {"statuses": ["DEPLOYED"]},
    "a-status-not-text": {"statuses": {"1": 5}},
}


@pytest.mark.parametrize("state", UNREADABLE_STATES, ids=list(UNREADABLE_STATES))
def test_an_unreadable_saved_state_is_a_first_look_said_once(
    sandbox, collection, capsys, state
) -> None:
    """Round 3 (docs/reliability.md): a state not of the shape the watcher writes fires
    nothing for what is already deployed, raises nothing, and is replaced."""
    account_id, _ = collection
    for each in sandbox.collections(account_id):
        sandbox.set_collection_status(each["collection"]["id"], "DEPLOYED")
    watcher = deployment(account_id)
    store = AssetStore()
    store.values[watcher._state_key()] = json.dumps(UNREADABLE_STATES[state])
    assert events(watcher, polls=3, store=store) == []
    logged = "".join(capsys.readouterr())  # the trigger logs through structlog
    assert logged.count("Ignoring the saved state") == 1
    saved = json.loads(store.values[watcher._state_key()])
    assert "DEPLOYED" in saved["statuses"].values()  # deployed, yet no event fired
