"""13. History (issue 25): a day of NFT transactions of 1,000 accounts at the API's limit, and
memory that does not follow the number of transactions.

The sandbox, in its own process (``python -m benchmarks.history serve``), holds two days made
at chosen moments. On each, every one of 1,000 watched accounts mints an NFT at midnight,
then sends one of it N times through the day, spread evenly; every tenth goes to the next
watched account (a transaction two watched accounts list, written once), the others to 100
unwatched accounts. Day 1: 1,000 accounts, N = 20 (21,000 transactions, a page per account).
Day 2: the first 200 accounts only, N = 500 (100,200 transactions, 12 pages an account).

- Rate, day 1: 50 ms latency, 20 requests/s server-side (429 above it), the hook at the same
  20/s; ``LoopringNftTransactionsOperator`` (``max_workers=8``) to a ``file://`` JSON Lines
  object: (requests answered / wall time of execute) / rate.
- Memory, day 2, as benchmark 3 measures it: no latency, no limit; in two fresh interpreters
  40 of the accounts (20,090 transactions) and all 200 (100,200): peak RSS growth (``VmHWM``
  reset once the operator is built, minus RSS then), 100k / 20k. What a task holds follows
  its workers and the largest account's listing (the hook remembers the keys of a listing,
  ~100 bytes a row, to drop repeats), not the transactions of the task: the claims of shared
  ones are on disk.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Figure,
    SandboxProcess,
    import_runtime,
    main,
    measure_fresh,
    peak_rss_mib,
    reset_peak_rss,
    rss_mib,
    serving,
)

WATCHED = 1_000
UNWATCHED = 100
SHARED_EVERY = 10  # every tenth send goes to the next watched account
DAY_START = 1_772_323_200_000  # 2026-03-01T00:00:00Z
DAY = 86_400_000
RATE_SENDS, MEMORY_SENDS = 20, 500  # per account, on days 1 and 2
MEMORY_ACCOUNTS, SMALL = 200, 40  # the accounts of day 2, and of its 20k run
RATE = 20.0
LATENCY = 0.05
WORKERS = 8


def make_day(sandbox: Any, start: int, sends: int, accounts: int = WATCHED) -> list[int]:
    """One day as described above, on the sandbox's ledger; the watched accounts' ids."""
    ids = [account["accountId"] for account in sandbox.accounts]
    watched, unwatched = ids[:accounts], ids[WATCHED:]
    sandbox.set_time(start)
    nfts = [sandbox.mint(account_id, str(sends))["nftToken"]["nftData"] for account_id in watched]
    sandbox.seal_block()
    for j in range(sends):
        for i, account_id in enumerate(watched):
            shared = j % SHARED_EVERY == 0
            to = watched[(i + 1) % accounts] if shared else unwatched[i % UNWATCHED]
            sandbox.set_time(start + j * (DAY // sends) + i + 1)
            sandbox.transfer(account_id, to, nfts[i])
        sandbox.seal_block()
    sandbox.set_time(None)
    return watched


def transactions(sends: int, accounts: int = WATCHED, of: int = WATCHED) -> int:
    """The transactions of a day's first ``accounts`` of ``of``: a mint and the sends of each,
    and the shared ones the first receives from the last of ``of`` when not all are asked."""
    return accounts * (1 + sends) + (sends // SHARED_EVERY if accounts < of else 0)


def serve() -> None:
    """Run the sandbox with the day made, print its address, serve until SIGTERM."""
    from airflow_provider_loopring.testing import LoopringSandbox

    sandbox = LoopringSandbox(
        accounts=WATCHED + UNWATCHED, nfts_per_account=2, collections_per_account=1
    )
    started = time.perf_counter()
    watched = make_day(sandbox, DAY_START, RATE_SENDS)
    make_day(sandbox, DAY_START + DAY, MEMORY_SENDS, MEMORY_ACCOUNTS)
    made = time.perf_counter() - started
    stop = False

    def handle(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, handle)
    with sandbox:
        info = {"url": sandbox.url, "api_key": sandbox.api_key, "watched": watched, "made": made}
        print(json.dumps(info), flush=True)
        while not stop:
            time.sleep(0.2)


@contextmanager
def served(workdir: Path) -> Iterator[tuple[SandboxProcess, dict[str, Any]]]:
    with serving([sys.executable, "-m", "benchmarks.history", "serve"], workdir) as info:
        yield SandboxProcess(info["url"], info["api_key"]), info


def operator(spec: dict[str, Any]) -> Any:
    from airflow_provider_loopring.operators.transactions import LoopringNftTransactionsOperator

    return LoopringNftTransactionsOperator(
        task_id="history",
        account_id=spec["accounts"],
        start=spec["start"],
        end=spec["start"] + DAY,
        output_path=spec["output"],
        max_workers=WORKERS,
    )


def measure(spec: dict[str, Any]) -> dict[str, float]:
    """In a fresh interpreter: fetch ``spec``'s window; RSS growth, records, seconds."""
    os.environ.update(spec["env"])
    import_runtime()
    import airflow_provider_loopring.operators._claims  # noqa: F401  (imported in execute)

    task = operator(spec)
    gc.collect()
    before = rss_mib()
    reset_peak_rss()
    started = time.perf_counter()
    reference = task.execute({})
    return {
        "growth": peak_rss_mib() - before,
        "records": reference["records"],
        "seconds": time.perf_counter() - started,
    }


def _fresh(sandbox: SandboxProcess, accounts: list[int], day: int, output: Path) -> dict[str, Any]:
    spec = {"accounts": accounts, "start": DAY_START + day * DAY, "output": f"file://{output}"}
    return measure_fresh("benchmarks.history", sandbox, spec, output)


def run(workdir: Path) -> list[Figure]:
    import_runtime()
    with served(workdir) as (sandbox, info):
        watched = info["watched"]
        sandbox.client.set_latency(LATENCY)
        sandbox.client.set_rate_limit(RATE)
        sandbox.connect(requests_per_second=RATE)
        output = f"file://{workdir}/day.jsonl"
        task = operator({"accounts": watched, "start": DAY_START, "output": output})
        started = time.perf_counter()
        reference = task.execute({})
        wall = time.perf_counter() - started
        answered = sandbox.client.requests
        sandbox.client.set_latency(0)
        sandbox.client.set_rate_limit(None)
        small = _fresh(sandbox, watched[:SMALL], 1, workdir / "small.jsonl")
        large = _fresh(sandbox, watched[:MEMORY_ACCOUNTS], 1, workdir / "large.jsonl")
    print(json.dumps({"small": small, "large": large, "made": info["made"]}), file=sys.stderr)
    too_many = sum(1 for request in answered if request.status == 429)
    expected = tuple(
        transactions(MEMORY_SENDS, n, MEMORY_ACCOUNTS) for n in (SMALL, MEMORY_ACCOUNTS)
    )
    return [
        Figure(
            f"13. history: achieved requests/s / {RATE:.0f}",
            len(answered) / wall / RATE,
            ">=",
            0.95,
            note=f"{len(answered)} requests in {wall:.2f} s",
            digits=3,
        ),
        Figure("13. history: 429 responses", too_many, "<=", 0, digits=0),
        Figure(
            "13. history: a day of 1,000 accounts written",
            reference["records"],
            "==",
            transactions(RATE_SENDS),
            digits=0,
        ),
        Figure(
            "13. history: peak RSS growth, 100k transactions",
            large["growth"],
            "<=",
            64,
            unit="MiB",
            digits=1,
            note=f"{large['seconds']:.1f} s",
        ),
        Figure(
            "13. history: growth 100k / growth 20k",
            large["growth"] / small["growth"],
            "<=",
            1.2,
            note=f"20k: {small['growth']:.1f} MiB",
        ),
        Figure(
            "13. history: transactions of the 20k and 100k runs",
            1 if (small["records"], large["records"]) == expected else 0,
            "==",
            1,
            digits=0,
            note=f"{small['records']:.0f} and {large['records']:.0f}",
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        main(run)
