"""8. Shared polls: 100 deployment watchers on 10 accounts in one triggerer-like event loop.

100 ``LoopringDeploymentEventTrigger``s (10 accounts x 10 collections, each watcher on one
collection by id), rebuilt from ``serialize()``, subscribe to Airflow's own
``SharedStreamManager`` with their ``shared_stream_key`` as the triggerer does, and each reads
``POLLS`` listings. The sandbox (its own process) walks every collection NOT_DEPLOYED ->
DEPLOYING -> DEPLOYED, so each watcher fires once. Figures: API requests per poll interval
(one per account, not one per watcher), events fired, peak RSS, and the CPU seconds an hour of
watching costs at the default 60 s interval (CPU per round of polls x 60 rounds).

Block mode (issue 26): 10,000 ``LoopringHoldingsEventTrigger(block_stream=True)`` watchers, one
per account of a 10,000-account sandbox (10 NFTs each), rebuilt from ``serialize()``, subscribe
to one ``SharedStreamManager`` as the triggerer does, and each reads ``BLOCK_POLLS`` ticks of
the one shared poll while a script seals a simulated day (1 % of accounts moving) into the
ledger every interval. Each interval's requests (from one head request to the next, in the
sandbox's log) are checked against its bound: 1 head poll + the new blocks + a listing per
watched account those blocks name (the truth: the sandbox's own naming, ``txs.named``, of the
blocks the interval covered). Polling mode lists every account every interval: 10,000
requests (one page of 10 NFTs each); the ratio compares the two. The first interval, where
each watcher's first look lists its account once, is reported apart. The script runs as the
first watcher hears a tick, so each day's blocks land in the next interval.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Figure,
    main,
    peak_rss_figure,
    peak_rss_mib,
    reset_peak_rss,
    rss_mib,
    sandbox,
)

ACCOUNTS, COLLECTIONS = 10, 10
POLLS = 20
POKE_INTERVAL = 0.2  # seconds here; an hour of watching is counted at the default 60 s
DEPLOYS = ["NOT_DEPLOYED", "DEPLOYING", "DEPLOYED"]
LISTING = "/api/v3/user/collection/details"


class AssetStore:
    """The asset state store the triggerer injects, kept in memory (JSON, as Airflow keeps it)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = value


def build(served: Any) -> list[Any]:
    from airflow_provider_loopring.triggers.events import LoopringDeploymentEventTrigger

    watchers = []
    for account_id in served.account_ids:
        for held in served.client.collections(account_id, non_zero=False):
            collection_id = held["collection"]["id"]
            served.client.schedule_collection_status(collection_id, DEPLOYS, every=1)
            trigger = LoopringDeploymentEventTrigger(
                account_id=account_id, collection_id=collection_id, poke_interval=POKE_INTERVAL
            )
            watchers.append(LoopringDeploymentEventTrigger(**trigger.serialize()[1]))
    return watchers


async def watch(watchers: list[Any]) -> int:
    """Every watcher reads POLLS listings through one manager; the events fired."""
    from airflow.triggers.shared_stream import SharedStreamManager

    manager = SharedStreamManager()

    async def one(number: int, watcher: Any) -> int:
        watcher.asset_state_store = AssetStore()
        stream = manager.subscribe(
            trigger_id=number, trigger=watcher, key=watcher.shared_stream_key()
        )
        fired = 0
        async for _ in watcher.filter_shared_stream(_take(stream, POLLS)):
            fired += 1
        return fired

    try:
        return sum(await asyncio.gather(*(one(n, w) for n, w in enumerate(watchers))))
    finally:
        await manager.stop_all()


async def _take(stream: Any, polls: int) -> Any:
    for _ in range(polls):
        yield await anext(stream)
    await stream.aclose()


BLOCK_ACCOUNTS = 10_000
BLOCK_POLLS = 12  # ticks each watcher reads; the first holds the first looks
BLOCK_INTERVAL = 0.5
BLOCK_PATH, BALANCES = "/api/v3/block/getBlock", "/api/v3/user/nft/balances"


async def follow_blocks(watchers: list[Any], script: Any) -> list[tuple[int, int]]:
    """Every watcher reads BLOCK_POLLS ticks through one manager; after each tick but the
    last the first watcher runs ``script`` (a day's changes to the ledger) before it asks for
    the next. Returns the (after, through) of each tick, as the first watcher saw it."""
    from airflow.triggers.shared_stream import SharedStreamManager

    manager, ticks = SharedStreamManager(), []

    async def seen(stream: Any) -> Any:
        async for tick in stream:
            ticks.append((tick.after, tick.through))
            yield tick
            if len(ticks) < BLOCK_POLLS:
                await asyncio.to_thread(script, len(ticks))

    async def one(number: int, watcher: Any) -> None:
        watcher.asset_state_store = AssetStore()
        key = watcher.shared_stream_key()
        stream = _take(manager.subscribe(trigger_id=number, trigger=watcher, key=key), BLOCK_POLLS)
        async for _ in watcher.filter_shared_stream(seen(stream) if number == 0 else stream):
            pass

    try:
        await asyncio.gather(*(one(n, w) for n, w in enumerate(watchers)))
    finally:
        await manager.stop_all()
    return ticks


def intervals(requests: list[Any]) -> list[list[Any]]:
    """The request log cut at each head request: one list per tick of the poll."""
    cut: list[list[Any]] = []
    for record in requests:
        if record.path == BLOCK_PATH and record.query.get("id") in (None, "finalized"):
            cut.append([])
        if cut:
            cut[-1].append(record)
    return cut


def named_by(served: Any, first: int, last: int, watched: set[int]) -> set[int]:
    """The watched accounts blocks ``first .. last`` name, by the sandbox's own reading."""
    from airflow_provider_loopring.testing.sandbox import txs

    named: set[int] = set()
    for block_id in range(first, last + 1):
        block = json.loads(served.get(BLOCK_PATH, id=block_id))
        for tx in block["transactions"]:
            named.update(txs.named(tx))
    return named & watched


def run_blocks(workdir: Path) -> list[Figure]:
    from airflow_provider_loopring.triggers.events import LoopringHoldingsEventTrigger

    with sandbox(
        workdir, accounts=BLOCK_ACCOUNTS, nfts_per_account=10, collections_per_account=1
    ) as served:
        served.connect(requests_per_second=100_000)
        accounts = served.account_ids
        watchers = []
        for account_id in accounts:
            trigger = LoopringHoldingsEventTrigger(
                account_id=account_id, poke_interval=BLOCK_INTERVAL, block_stream=True
            )
            watchers.append(LoopringHoldingsEventTrigger(**trigger.serialize()[1]))
        served.client.clear_requests()
        reset_peak_rss()
        before_watching = rss_mib()
        cpu_before, started = time.process_time(), time.perf_counter()
        ticks = asyncio.run(
            follow_blocks(watchers, lambda day: served.client.simulate_day(0.01, seed=day))
        )
        cpu, wall = time.process_time() - cpu_before, time.perf_counter() - started
        cut = intervals(served.client.requests)[: len(ticks)]
        watched = set(accounts)
        first_looks = sum(r.path == BALANCES for r in cut[0])
        ratios, spent, bounds = [], 0, 0
        for (after, through), requests in list(zip(ticks, cut, strict=True))[1:]:
            bound = 1 + (through - after) + len(named_by(served, after + 1, through, watched))
            ratios.append(len(requests) / bound)
            spent, bounds = spent + len(requests), bounds + bound
    measured = len(ratios)
    per_interval = spent / measured
    return [
        Figure(
            "8b. block watchers: requests / (1 + new blocks + named), 10,000 accounts",
            max(ratios),
            "<=",
            1.0,
            note=f"worst of {measured} intervals; {spent} requests against a bound of {bounds}",
        ),
        Figure(
            "8b. block watchers: polling requests per interval / block mode's",
            BLOCK_ACCOUNTS / per_interval,
            digits=0,
            note=f"{BLOCK_ACCOUNTS:,} vs {per_interval:.1f} (1 % of accounts moving a tick)",
        ),
        Figure(
            "8b. block watchers: first looks, listings",
            first_looks,
            "==",
            BLOCK_ACCOUNTS,
            digits=0,
            note=f"each account once, first interval; {cpu:.1f} CPU s, {wall:.1f} s in all",
        ),
        Figure(
            "8b. block watchers: peak RSS growth while watching, 10,000 watchers",
            peak_rss_mib() - before_watching,
            unit="MiB",
            digits=0,
            note=f"{before_watching:.0f} MiB before, watchers built; their states in memory",
        ),
    ]


def run(workdir: Path) -> list[Figure]:
    return run_polls(workdir) + run_blocks(workdir)


def run_polls(workdir: Path) -> list[Figure]:
    import airflow_provider_loopring.hooks.loopring  # the triggerer has it
    import airflow_provider_loopring.triggers.events  # noqa: F401  (imported before measuring)

    with sandbox(
        workdir, accounts=ACCOUNTS, nfts_per_account=20, collections_per_account=COLLECTIONS
    ) as served:
        served.connect(requests_per_second=100_000)
        watchers = build(served)
        served.client.clear_requests()
        after_imports = rss_mib()
        cpu_before, started = time.process_time(), time.perf_counter()
        fired = asyncio.run(watch(watchers))
        cpu, wall = time.process_time() - cpu_before, time.perf_counter() - started
        listings = [r for r in served.client.requests if r.path == LISTING]
    per_interval = len(listings) / POLLS
    return [
        Figure(
            "8. watchers: requests per interval, 100 watchers on 10 accounts",
            per_interval,
            "==",
            ACCOUNTS,
            digits=1,
            note=f"unshared: {len(watchers)}; {len(listings)} in {POLLS} intervals",
        ),
        Figure("8. watchers: deployments fired", fired, "==", len(watchers), digits=0),
        peak_rss_figure("8. watchers: peak RSS, 100 watchers", after_imports),
        Figure(
            "8. watchers: CPU seconds per hour of watching (60 s interval)",
            cpu / POLLS * 3600 / 60,
            unit="s",
            note=f"{cpu:.2f} s for {POLLS} rounds in {wall:.1f} s",
        ),
    ]


if __name__ == "__main__":
    main(run)
