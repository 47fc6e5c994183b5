"""10. The sandbox's ledger at scale (issue 23): 100,000 accounts of 10 NFTs.

In one process, as a test uses it: how long the sandbox takes to make, how long the first
request for one account waits while the index (by nftData and owner) is built behind it, the
slowest answer to other connections during that build (they must never stall), how long the
build takes, a first nftHolders after it, ``simulate_day(0.01)`` and the peak memory.
"""

from __future__ import annotations

import resource
import statistics
import time
import urllib.request
from pathlib import Path

from benchmarks.harness import Figure, main

ACCOUNTS = 100_000
NFTS = 10


def _get(url: str, key: str) -> float:
    """Seconds one request takes, outside the sandbox's code (urllib, no proxy)."""
    request = urllib.request.Request(url, headers={"X-API-KEY": key})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    started = time.perf_counter()
    with opener.open(request, timeout=120) as response:
        response.read()
    return time.perf_counter() - started


def run(workdir: Path) -> list[Figure]:
    from airflow_provider_loopring.testing import LoopringSandbox

    started = time.perf_counter()
    sandbox = LoopringSandbox(accounts=ACCOUNTS, nfts_per_account=NFTS, collections_per_account=1)
    made = time.perf_counter() - started
    with sandbox:
        indexed = sandbox._dataset.seeded._indexed  # the build started with the server
        target = sandbox._dataset.seeded.account_id(ACCOUNTS // 2)
        first = _get(f"{sandbox.url}/api/v3/user/nft/balances?accountId={target}", sandbox.api_key)
        first_during_build = not indexed.is_set()
        probes: list[float] = []
        index = 0
        while not indexed.is_set():  # other connections, while the index is built
            account_id = sandbox._dataset.seeded.account_id(index * 997 % ACCOUNTS)
            probes.append(_get(f"{sandbox.url}/api/v3/account?accountId={account_id}", ""))
            index += 1
        built = time.perf_counter() - started
        nft_data = sandbox.balances(target, non_zero=True)[0]["nftData"]
        holders = _get(
            f"{sandbox.url}/api/v3/nft/info/nftHolders?nftData={nft_data}", sandbox.api_key
        )
        day_started = time.perf_counter()
        day = sandbox.simulate_day(change_rate=0.01, seed=1)
        day_took = time.perf_counter() - day_started
    median = statistics.median(probes or [0.0])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        Figure("10. ledger: make 100,000 accounts", made, "<=", 1.0, unit="s"),
        Figure(
            "10. ledger: first request for one account",
            first * 1000,
            "<=",
            1000,
            unit="ms",
            digits=1,
            note="while the index was still building" if first_during_build else "index done",
        ),
        Figure(
            "10. ledger: slowest other answer during the build",
            max(probes, default=0.0) * 1000,
            "<=",
            1000,
            unit="ms",
            digits=1,
            note=f"{len(probes)} requests, median {median * 1000:.1f} ms",
        ),
        Figure("10. ledger: index built (100,000 accounts)", built, unit="s", digits=1),
        Figure("10. ledger: first nftHolders after it", holders * 1000, unit="ms", digits=1),
        Figure(
            "10. ledger: simulate_day(0.01)",
            day_took,
            "<=",
            10.0,
            unit="s",
            note=f"{len(day['transactions'])} txs, {len(day['accounts'])} accounts",
        ),
        Figure("10. ledger: peak memory", peak_mb, unit="MB", digits=0),
    ]


if __name__ == "__main__":
    main(run)
