"""6. Trigger scale: 1,000 deployment waits in one event loop, as one triggerer runs them.

1,000 ``LoopringDeploymentTrigger``s, each waiting on one NFT of its account, are rebuilt from
``serialize()`` (as the triggerer does) and run concurrently in one event loop until each
yields its first event. The sandbox (its own process) walks every NFT NOT_DEPLOYED ->
DEPLOYING -> DEPLOYED, one step per response that shows it, so each wait ends on its third
check. Figures: the process's peak RSS (imports included), the CPU seconds of the run, and
how many waits ended in success.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Figure, SandboxProcess, main, peak_rss_figure, rss_mib, sandbox

TRIGGERS = 1_000
ACCOUNTS = 10
# Every tenth NFT is also held by the neighbour, every eighth is no longer held: >1,000 left.
NFTS_PER_ACCOUNT = 130
POKE_INTERVAL = 0.5
DEPLOYS = ["NOT_DEPLOYED", "DEPLOYING", "DEPLOYED"]


def watched_nfts(served: SandboxProcess) -> list[tuple[int, str]]:
    """(account, nftData) for TRIGGERS distinct NFTs, each scripted to deploy."""
    pairs: dict[str, int] = {}
    for account_id in served.account_ids:
        # non_zero: a wait on an NFT the account no longer holds would never end.
        for balance in served.client.balances(account_id, non_zero=True, metadata=False):
            pairs.setdefault(balance["nftData"], account_id)
    chosen = [(account_id, nft_data) for nft_data, account_id in pairs.items()][:TRIGGERS]
    for _, nft_data in chosen:
        served.client.schedule_nft_status(nft_data, DEPLOYS, every=1)
    return chosen


def build(watched: list[tuple[int, str]]) -> list[Any]:
    from airflow_provider_loopring.triggers.loopring import LoopringDeploymentTrigger

    deadline = time.time() + 120
    triggers = []
    for account_id, nft_data in watched:
        trigger = LoopringDeploymentTrigger(
            selection={"kind": "nft", "account_id": account_id, "nft_datas": [nft_data]},
            target_statuses=["DEPLOYED"],
            failure_statuses=["DEPLOY_FAILED"],
            deadline=deadline,
            poke_interval=POKE_INTERVAL,
        )
        _, kwargs = trigger.serialize()
        triggers.append(LoopringDeploymentTrigger(**kwargs))
    return triggers


async def first_event(trigger: Any) -> dict[str, Any]:
    """What the triggerer does with a trigger: take its first event, close the generator."""
    events = trigger.run()
    try:
        event = await anext(events)
    finally:
        await events.aclose()
    return dict(event.payload)


async def run_all(triggers: list[Any]) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(first_event(trigger) for trigger in triggers)))


def run(workdir: Path) -> list[Figure]:
    import airflow_provider_loopring.triggers.loopring  # noqa: F401  (the triggerer has it)

    with sandbox(workdir, accounts=ACCOUNTS, nfts_per_account=NFTS_PER_ACCOUNT) as served:
        served.connect(requests_per_second=100_000)
        watched = watched_nfts(served)
        after_imports = rss_mib()
        cpu_before, started = time.process_time(), time.perf_counter()
        events = asyncio.run(run_all(build(watched)))
        cpu, wall = time.process_time() - cpu_before, time.perf_counter() - started
        checks = len(served.client.requests)
    succeeded = sum(1 for event in events if event["status"] == "success")
    return [
        peak_rss_figure("6. triggers: peak RSS, 1,000 waits", after_imports),
        Figure(
            "6. triggers: CPU seconds, 1,000 waits",
            cpu,
            unit="s",
            note=f"{checks} checks in {wall:.1f} s",
        ),
        Figure("6. triggers: waits that succeeded", succeeded, "==", TRIGGERS, digits=0),
    ]


if __name__ == "__main__":
    main(run)
