"""8. Shared polls: 100 deployment watchers on 10 accounts in one triggerer-like event loop.

100 ``LoopringDeploymentEventTrigger``s (10 accounts x 10 collections, each watcher on one
collection by id), rebuilt from ``serialize()``, subscribe to Airflow's own
``SharedStreamManager`` with their ``shared_stream_key`` as the triggerer does, and each reads
``POLLS`` listings. The sandbox (its own process) walks every collection NOT_DEPLOYED ->
DEPLOYING -> DEPLOYED, so each watcher fires once. Figures: API requests per poll interval
(one per account, not one per watcher), events fired, peak RSS, and the CPU seconds an hour of
watching costs at the default 60 s interval (CPU per round of polls x 60 rounds).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Figure, main, peak_rss_figure, rss_mib, sandbox

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


def run(workdir: Path) -> list[Figure]:
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
