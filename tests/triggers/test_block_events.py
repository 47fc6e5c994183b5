"""The holdings watcher in block mode against the sandbox's ledger: the same events as polling
mode for the same scripted transactions, at a cost of one head poll, the new blocks and the
listings of the watched accounts they name.

A driver hands each poll's next snapshot to its watchers and waits until every watcher asks
for the next one, so a script step runs between two polls and "no more events" is a count,
not a wait. The sharing test runs Airflow's own SharedStreamManager, as test_events does."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from airflow_provider_loopring import _core as api
from airflow_provider_loopring._core.selections import NftSelection
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.hooks.selections import fetch
from airflow_provider_loopring.testing import Fault
from airflow_provider_loopring.testing.sandbox import txs
from airflow_provider_loopring.triggers import _blocks, _polls
from airflow_provider_loopring.triggers.events import LoopringHoldingsEventTrigger
from airflow_provider_loopring.version_compat import HAS_SHARED_STREAMS
from tests.sensors.scripts import use_connection
from tests.triggers.test_events import FAST, AssetStore, events, watch_in_manager

# Block mode is refused before Airflow 3.3 (test_events checks that): it needs shared streams.
pytestmark = pytest.mark.skipif(not HAS_SHARED_STREAMS, reason="shared streams: Airflow 3.3")
BALANCES = api.NFT_BALANCES.path
FOUR = pytest.mark.loopring_sandbox(accounts=4, nfts_per_account=30, collections_per_account=2)


def watcher(account_id: int, block_stream: bool, **kwargs: Any) -> LoopringHoldingsEventTrigger:
    trigger = LoopringHoldingsEventTrigger(
        account_id=account_id, poke_interval=FAST, block_stream=block_stream, **kwargs
    )
    return LoopringHoldingsEventTrigger(**trigger.serialize()[1])  # as the triggerer builds it


class Feed:
    """One watcher's shared stream: the driver puts a snapshot, the watcher takes it and says
    when it asks for the next (``waiting``)."""

    def __init__(self) -> None:
        self.items: asyncio.Queue[Any] = asyncio.Queue()
        self.waiting = asyncio.Event()

    async def stream(self) -> AsyncIterator[Any]:
        while True:
            self.waiting.set()
            item = await self.items.get()
            if item is None:
                return
            yield item


class Driver:
    """Polls (one per group of watchers) stepped together: a script step, then each group's
    next poll, handed to its watchers; ``before(step, group)`` and ``after(step, group,
    payloads)`` run around each group's poll."""

    def __init__(self, groups: list[list[LoopringHoldingsEventTrigger]]) -> None:
        self.groups = groups
        self.fired: dict[int, list[dict[str, Any]]] = {}  # id(watcher) -> its payloads
        self._now: list[dict[str, Any]] = []

    async def run(
        self,
        steps: list[Callable[[], Any]],
        before: Callable[[int, int], Any] = lambda step, group: None,
        after: Callable[[int, int, list[dict[str, Any]]], Any] = lambda step, group, fired: None,
    ) -> None:
        polls, feeds, tasks = [], [], []
        for group in self.groups:
            polls.append(type(group[0]).open_shared_stream(group[0].serialize()[1]))
            feeds.append([Feed() for _ in group])
            for each, feed in zip(group, feeds[-1], strict=True):
                tasks.append(asyncio.create_task(self._consume(each, feed)))
        try:
            for number, step in enumerate(steps):
                step()
                for index, (poll, group_feeds) in enumerate(zip(polls, feeds, strict=True)):
                    await asyncio.gather(*(f.waiting.wait() for f in group_feeds))
                    before(number, index)
                    snapshot = await anext(poll)
                    for feed in group_feeds:
                        feed.waiting.clear()
                        feed.items.put_nowait(snapshot)
                    await asyncio.gather(*(f.waiting.wait() for f in group_feeds))
                    fired, self._now = self._now, []
                    after(number, index, fired)
        finally:
            for group_feeds in feeds:
                for feed in group_feeds:
                    feed.items.put_nowait(None)
            await asyncio.gather(*tasks)
            for poll in polls:
                await poll.aclose()

    async def _consume(self, trigger: LoopringHoldingsEventTrigger, feed: Feed) -> None:
        mine = self.fired.setdefault(id(trigger), [])
        async for event in trigger.filter_shared_stream(feed.stream()):
            mine.append(event.payload)
            self._now.append(event.payload)


def first_look(account_id: int, block_stream: bool) -> AssetStore:
    """The state store of a watcher of the account after its first look (one interval)."""
    store = AssetStore()
    trigger = watcher(account_id, block_stream)
    trigger.asset_state_store = store
    asyncio.run(Driver([[trigger]]).run([lambda: None]))
    return store


def pages(sandbox: Any, account_ids: set[int]) -> int:
    """The requests one listing of each account costs (its pages), as polling mode lists it."""
    hook = LoopringHook()
    for account_id in account_ids:
        fetch(hook, NftSelection(account_id=account_id))
    return hook.requests_sent


def held(sandbox: Any, account_id: int, skip: int = 0) -> str:
    return str(
        [b for b in sandbox.balances(account_id) if b["total"] not in ("0",)][skip]["nftData"]
    )


# --- construction ---------------------------------------------------------------------------


def test_block_mode_is_a_parameter_kept_through_serialize_and_checked() -> None:
    for block_stream in (False, True):
        trigger = LoopringHoldingsEventTrigger(account_id=7, block_stream=block_stream)
        classpath, kwargs = trigger.serialize()
        assert json.loads(json.dumps(kwargs)) == kwargs and kwargs["block_stream"] is block_stream
        assert type(trigger)(**kwargs).serialize() == (classpath, kwargs)
    assert LoopringHoldingsEventTrigger(account_id=7).block_stream is False  # the default
    with pytest.raises(LoopringInvalidParameterError, match="block_stream"):
        LoopringHoldingsEventTrigger(account_id=7, block_stream="yes")  # type: ignore[arg-type]


def test_every_block_watcher_of_a_connection_and_interval_shares_one_key() -> None:
    keys = {watcher(account, True).shared_stream_key() for account in (7, 8, 9)}
    assert len(keys) == 1
    (key,) = keys
    assert key != watcher(7, False).shared_stream_key()  # polling keeps one poll per account
    other_interval = LoopringHoldingsEventTrigger(account_id=7, block_stream=True)
    assert other_interval.shared_stream_key() != key
    other_conn = LoopringHoldingsEventTrigger(
        account_id=7, poke_interval=FAST, block_stream=True, loopring_conn_id="other"
    )
    assert other_conn.shared_stream_key() != key


# --- the same events, for what changed ------------------------------------------------------


@FOUR
def test_block_mode_fires_what_polling_fires_at_the_cost_of_what_the_blocks_name(sandbox) -> None:
    a, b, c, outsider = (account["accountId"] for account in sandbox.accounts)
    watched = {a, b, c}  # the fourth account is named by blocks but watched by no one
    polling = [watcher(account, False) for account in sorted(watched)]
    blocks = [watcher(account, True) for account in sorted(watched)]
    stores = {id(w): AssetStore() for w in polling + blocks}
    for each in polling + blocks:
        each.asset_state_store = stores[id(each)]
    made: list[dict[str, Any]] = []
    to_new_address = "0x" + "5e" * 20

    def did(*transactions: dict[str, Any]) -> None:
        made.extend(transactions)

    steps: list[Callable[[], Any]] = [
        lambda: None,  # the first look: no events
        lambda: (did(sandbox.transfer(a, b, held(sandbox, a))), sandbox.seal_block()),
        lambda: sandbox.seal_block(),  # a Noop block: nothing to list
        lambda: (
            did(sandbox.mint(c, "3")),
            sandbox.seal_block(),
            did(sandbox.trade(b, c, held(sandbox, b))),
            did(sandbox.transfer(a, outsider, held(sandbox, a, 1))),
            sandbox.seal_block(),
        ),
        lambda: (
            did(sandbox.transfer(outsider, to_new_address, held(sandbox, outsider))),
            sandbox.seal_block(),
        ),  # only the outsider and a new account: no listing
        lambda: did(*sandbox.simulate_day(change_rate=0.75, seed=26)["transactions"]),
        lambda: None,  # no new block
    ]
    driver = Driver([[w] for w in polling] + [blocks])
    block_group = len(polling)
    polled: list[list[dict[str, Any]]] = [[] for _ in steps]
    followed: list[list[dict[str, Any]]] = [[] for _ in steps]
    costs: list[tuple[int, int, set[int], int]] = []  # head, blocks by id, accounts, listings
    expected: list[tuple[int, int, set[int], int]] = []
    heads = [sandbox.head]

    def before(step: int, group: int) -> None:
        if group != block_group:
            return
        # What the block watchers' poll should cost this step, from the sandbox's own
        # naming of the transactions made (txs.named), measured before the poll.
        named = set().union(set(), *(txs.named(tx) for tx in made)) & watched
        listed = watched if step == 0 else named  # the first look lists every watched one
        new_blocks = sandbox.head - heads[-1]
        expected.append((1, max(new_blocks - 1, 0), listed, pages(sandbox, listed)))
        heads.append(sandbox.head)
        made.clear()
        sandbox.clear_requests()

    def after(step: int, group: int, fired: list[dict[str, Any]]) -> None:
        if group != block_group:
            polled[step].extend(fired)
            return
        followed[step].extend(fired)
        requests = sandbox.requests
        by_id = [r.query.get("id") for r in requests if r.path == api.BLOCK.path]
        listings = [int(r.query["accountId"]) for r in requests if r.path == BALANCES]
        assert len(requests) == len(by_id) + len(listings), [(r.path, r.query) for r in requests]
        head = sum(block_id in (None, "finalized") for block_id in by_id)
        costs.append((head, len(by_id) - head, set(listings), len(listings)))

    asyncio.run(driver.run(steps, before, after))

    def key(payload: dict[str, Any]) -> int:
        return int(payload["account_id"])

    for number, (by_polling, by_blocks) in enumerate(zip(polled, followed, strict=True)):
        assert sorted(by_blocks, key=key) == sorted(by_polling, key=key), f"step {number}"
    fired = [len(each) for each in polled]
    assert fired[:5] == [0, 2, 0, 3, 0] and fired[6] == 0 and fired[5] >= 1, fired
    assert costs == expected  # 1 head poll + new blocks but the head + named accounts' pages
    assert all(cost[0] == 1 for cost in costs)  # one head poll per interval
    assert costs[2] == costs[4] == costs[6] == (1, 0, set(), 0)  # named by no watched block
    assert costs[3][:3] == (1, 1, {a, b, c})


def _skip_one(body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    if query.get("id") in (None, "finalized"):
        return body
    return {**body, "blockId": body["blockId"] + 1}  # asked for n, answered n + 1


def _behind(body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    return {**body, "blockId": body["blockId"] - 3}  # a head behind what was read


BROKEN_CHAINS = {
    # The head, then the first block by id: that one answers for the next id.
    "a-gap": Fault("transform", path=api.BLOCK.path, times=2, transform=_skip_one),
    "a-head-behind": Fault("transform", path=api.BLOCK.path, times=1, transform=_behind),
}


@FOUR
@pytest.mark.parametrize("broken", BROKEN_CHAINS, ids=list(BROKEN_CHAINS))
def test_a_broken_chain_lists_every_watched_account_and_misses_nothing(
    sandbox, caplog, broken
) -> None:
    a, b, *_ = (account["accountId"] for account in sandbox.accounts)
    followers = [watcher(a, True), watcher(b, True)]
    for each in followers:
        each.asset_state_store = AssetStore()
    steps = [
        lambda: None,
        lambda: (
            sandbox.transfer(a, b, held(sandbox, a)),
            sandbox.seal_block(),
            sandbox.seal_block(),  # two blocks: the first is asked for by id
            sandbox.add_fault(BROKEN_CHAINS[broken]),
            sandbox.clear_requests(),
        ),
        lambda: (sandbox.seal_block(), sandbox.clear_requests()),
    ]
    listed: list[set[int]] = []
    driver = Driver([followers])

    def after(step: int, group: int, fired: list[dict[str, Any]]) -> None:
        listed.append({int(r.query["accountId"]) for r in sandbox.requests if r.path == BALANCES})

    with caplog.at_level(logging.WARNING, logger=_blocks.__name__):
        asyncio.run(driver.run(steps, after=after))
    fired = driver.fired
    assert [len(fired[id(w)]) for w in followers] == [1, 1]  # the transfer, on both sides
    assert listed[1] == {a, b} and listed[2] == set()  # everyone once, then following again
    assert "cannot be read in order" in caplog.text
    assert ("got block" if broken == "a-gap" else "ahead of the finalized head") in caplog.text


@FOUR
def test_a_failed_interval_keeps_the_blocks_it_read_and_goes_on_from_there(
    sandbox, monkeypatch
) -> None:
    use_connection(
        monkeypatch, sandbox.url, sandbox.api_key, max_retries=0, requests_per_second=500
    )
    a, b, *_ = (account["accountId"] for account in sandbox.accounts)
    followers = [watcher(a, True), watcher(b, True)]
    for each in followers:
        each.asset_state_store = AssetStore()
    first = sandbox.head + 1

    def three_blocks_the_second_failing_once() -> None:
        sandbox.transfer(a, b, held(sandbox, a))
        for _ in range(3):
            sandbox.seal_block()
        # The head and block `first` answer; block `first + 1` fails once (503).
        sandbox.add_fault(Fault("transform", path=api.BLOCK.path, times=2, transform=_same))
        sandbox.add_fault(Fault("status", path=api.BLOCK.path, status=503, times=1))
        sandbox.clear_requests()

    driver = Driver([followers])
    asyncio.run(driver.run([lambda: None, three_blocks_the_second_failing_once]))
    by_id = [r.query["id"] for r in sandbox.requests if r.path == api.BLOCK.path]
    assert by_id == ["finalized", str(first), str(first + 1), "finalized", str(first + 1)]
    assert [len(driver.fired[id(w)]) for w in followers] == [1, 1]


def _same(body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    return body


def _address_only(address: str | None) -> Callable[[dict[str, Any], dict[str, str]], Any]:
    """A block whose transfers name their receiver by address only (``address``: another)."""

    def change(body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        for tx in body["transactions"]:
            if tx["txType"] == "Transfer":
                del tx["toAccountId"]
                tx["toAccountAddress"] = address or tx["toAccountAddress"]
        return body

    return change


def _to_layer_1(body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    for tx in body["transactions"]:
        if tx["txType"] == "Withdraw":
            tx["toAddress"] = "0x" + "88" * 20
    return body


@FOUR
def test_an_account_named_by_address_only_is_looked_up_once(sandbox) -> None:
    a, b, *_ = (account["accountId"] for account in sandbox.accounts)
    followers = [watcher(a, True), watcher(b, True)]
    for each in followers:
        each.asset_state_store = AssetStore()
    unknown = "0x" + "77" * 20  # no layer-2 account: nothing anyone watches

    def transfer_to_b(address: str | None) -> None:
        sandbox.transfer(a, b, held(sandbox, a))
        sandbox.seal_block()  # one new block: the head, read once
        sandbox.add_fault(Fault("transform", path=api.BLOCK.path, transform=_address_only(address)))
        sandbox.clear_requests()

    def withdraw_elsewhere() -> None:  # to another layer-1 address than its owner
        sandbox.withdraw(a, held(sandbox, a))
        sandbox.seal_block()
        sandbox.add_fault(Fault("transform", path=api.BLOCK.path, transform=_to_layer_1))
        sandbox.clear_requests()

    asked: list[tuple[list[str], set[int]]] = []
    steps = [lambda: None, lambda: transfer_to_b(None), lambda: transfer_to_b(None)]
    steps += [lambda: transfer_to_b(unknown), withdraw_elsewhere]

    def after(step: int, group: int, fired: list[dict[str, Any]]) -> None:
        requests = sandbox.requests
        owners = [r.query["owner"] for r in requests if r.path == api.ACCOUNT.path]
        asked.append((owners, {int(r.query["accountId"]) for r in requests if r.path == BALANCES}))

    driver = Driver([followers])
    asyncio.run(driver.run(steps, after=after))
    b_address = next(x["owner"] for x in sandbox.accounts if x["accountId"] == b).lower()
    assert asked[1:] == [([b_address], {a, b}), ([], {a, b}), ([unknown], {a}), ([], {a})]
    # The third block named an address with no account in b's place: one lookup, no listing.
    # Block mode believes the blocks, so b hears of that transfer only with its next one.
    # A withdrawal names its account by id; where it goes on layer 1 is looked up by no one.
    assert [len(driver.fired[id(w)]) for w in followers] == [4, 2]


def test_the_history_answers_only_for_blocks_it_read_in_order() -> None:
    history = _blocks.Watched()
    history.enter(7)
    assert history.named_between(5, 5) == frozenset() and history.newest() is None
    assert history.named_between(4, 5) is None  # nothing read yet
    history.record(10, 10, frozenset())
    history.record(10, 12, frozenset({7}))
    history.record(12, 15, frozenset({8}))
    assert history.newest() == 15
    assert history.named_between(12, 15) == {8} and history.named_between(10, 15) == {7, 8}
    assert history.named_between(11, 15) == {7, 8}  # inside a tick: the whole tick counts
    assert history.named_between(9, 15) is None and history.named_between(12, 16) is None
    history.record(20, 22, frozenset({9}))  # not after 15: what came between is unknown
    assert history.named_between(15, 22) is None and history.named_between(22, 22) == set()
    history.record(22, 23, None)  # a tick that could not read its blocks
    assert history.named_between(22, 23) is None and history.newest() == 23
    history.leave(7)  # the last watcher leaves: the history of this poll goes with it
    assert history.newest() is None


@pytest.mark.parametrize(
    ("saved", "through", "listed"),
    [
        (14, 14, False),  # saved at the newest block
        (12, 14, False),  # only account 8 named since
        (13, 14, False),  # inside a tick that named only account 8
        (11, None, True),  # inside the tick that named it: the whole tick counts
        (10, None, True),  # named since
        (9, None, True),  # before the history: not known
        (15, None, True),  # past the head read here: not trusted
    ],
)
def test_a_watcher_joining_a_running_poll_trusts_its_saved_block_only_inside_the_history(
    saved: int, through: int | None, listed: bool
) -> None:
    trigger = watcher(7, True)
    trigger.asset_state_store = store = AssetStore()
    store.values[trigger._state_key()] = json.dumps({"block": saved, "holdings": {}})
    registry = _blocks.watched(trigger.shared_stream_key())
    registry.enter(99)  # another watcher keeps the poll going
    try:
        registry.record(10, 10, frozenset())
        registry.record(10, 12, frozenset({7}))
        registry.record(12, 14, frozenset({8}))  # 13..14 named account 8 only
        state = _polls.WatcherState(trigger, trigger._state_key())
        assert asyncio.run(_blocks._start(trigger, state, registry)) == through
        assert (7 in registry.wanted) is listed
    finally:
        registry.leave(99)
        registry.wanted.clear()


# --- state: kept, untrusted, shared with polling mode -----------------------------------------


@FOUR
@pytest.mark.parametrize("tampered", [10**9, "ten", None, -1])
def test_a_restart_fires_what_moved_while_down_whatever_the_saved_block(
    sandbox, capsys, tampered
) -> None:
    a = sandbox.accounts[0]["accountId"]
    store = first_look(a, True)
    first = watcher(a, True)
    saved = json.loads(store.values[first._state_key()])
    assert saved["block"] == sandbox.head and set(saved) == {"block", "holdings"}
    # Down: a transfer happens; the saved block is then tampered with.
    sandbox.transfer(a, sandbox.accounts[1]["accountId"], held(sandbox, a))
    sandbox.seal_block()
    store.values[first._state_key()] = json.dumps({**saved, "block": tampered})
    capsys.readouterr()
    again = watcher(a, True)
    again.asset_state_store = store
    driver = Driver([[again]])
    asyncio.run(driver.run([lambda: None]))  # its first interval lists it: nothing missed
    (event,) = driver.fired[id(again)]
    assert event["counts"]["removed"] + event["counts"]["amount"] == 1
    assert json.loads(store.values[again._state_key()])["block"] == sandbox.head
    logged = "".join(capsys.readouterr())  # the trigger logs through structlog
    assert ("not a block id" in logged) is (tampered in ("ten", -1))


@FOUR
def test_switching_modes_keeps_what_was_seen(sandbox) -> None:
    a, b, *_ = (account["accountId"] for account in sandbox.accounts)
    store = first_look(a, False)
    sandbox.transfer(a, b, held(sandbox, a))
    sandbox.seal_block()
    followed = watcher(a, True)
    followed.asset_state_store = store  # the same state key: what polling mode saved
    driver = Driver([[followed]])
    asyncio.run(driver.run([lambda: None]))
    assert len(driver.fired[id(followed)]) == 1
    sandbox.transfer(b, a, held(sandbox, b))
    sandbox.seal_block()
    assert len(events(watcher(a, False), polls=1, store=store)) == 1  # what block mode saved


@FOUR
def test_a_change_without_a_transaction_waits_for_the_accounts_next_one(sandbox) -> None:
    """What docs/events.md says block mode cannot see: a deployment status moving."""
    a, b, *_ = (account["accountId"] for account in sandbox.accounts)
    follower = watcher(a, True)
    follower.asset_state_store = AssetStore()
    nft = held(sandbox, a)
    driver = Driver([[follower]])
    steps = [
        lambda: None,
        lambda: (sandbox.set_nft_status(nft, "DEPLOY_FAILED"), sandbox.seal_block()),
        lambda: (sandbox.transfer(a, b, held(sandbox, a, 1)), sandbox.seal_block()),
    ]
    counts: list[int] = []
    asyncio.run(driver.run(steps, after=lambda *_: counts.append(len(driver.fired[id(follower)]))))
    assert counts == [0, 0, 1]
    (event,) = driver.fired[id(follower)]
    assert event["counts"]["status"] == 1 and event["total_changes"] == 2


@FOUR
def test_the_triggerer_rebuilds_a_block_watcher_from_its_classpath_and_runs_it(sandbox) -> None:
    from airflow_provider_loopring.version_compat import serde

    a, b, *_ = (account["accountId"] for account in sandbox.accounts)
    store = first_look(a, True)
    first = watcher(a, True)
    sandbox.transfer(a, b, held(sandbox, a))
    sandbox.seal_block()
    classpath, kwargs = first.serialize()
    kwargs = serde().deserialize(serde().serialize(kwargs))  # what the task runner sends
    module, name = classpath.rsplit(".", 1)
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    rebuilt.asset_state_store = store

    async def first_event() -> dict[str, Any]:
        events = rebuilt.run()  # one watcher alone: its own poll of the chain
        event = await anext(events)
        await events.aclose()
        return dict(event.payload)

    payload = asyncio.run(first_event())
    assert (payload["account_id"], payload["total_changes"]) == (a, 1)


# --- many watchers, one head poll -------------------------------------------------------------


@FOUR
def test_many_block_watchers_share_one_head_poll_in_airflows_manager(sandbox) -> None:
    accounts = [account["accountId"] for account in sandbox.accounts]
    watchers = [watcher(account, True) for account in accounts for _ in range(3)]
    polls = 4
    sandbox.clear_requests()
    watch_in_manager(watchers, polls)
    heads = [r for r in sandbox.requests if r.path == api.BLOCK.path]
    listed = [int(r.query["accountId"]) for r in sandbox.requests if r.path == BALANCES]
    # One head poll per interval for all 12 watchers (perhaps one more, under way when the
    # last left); each account listed once, for its watchers' first look, and never again.
    assert all(r.query.get("id") == "finalized" for r in heads)  # no block was sealed
    assert polls <= len(heads) <= polls + 1, len(heads)
    assert sorted(set(listed)) == sorted(accounts)
    assert all(listed.count(account) == pages(sandbox, {account}) for account in accounts)
