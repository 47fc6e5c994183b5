"""1. Rate-limit saturation: run at the API's limit without a single 429.

Sandbox: 50 ms latency, 20 requests/s server-side (429 + Retry-After above it). The hook is
configured at the same 20 requests/s. ``LoopringNftBalancesOperator`` (default ``max_workers``)
streams 10 accounts x 20 pages of 50 balances to a ``file://`` JSON Lines object. A snapshot of
N pages cannot take less than N / rate seconds; the figure is how close the operator's whole
``execute`` comes to that: (requests the sandbox answered / wall time of execute) / rate.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.harness import Figure, import_runtime, main, sandbox

ACCOUNTS = 10
PAGES = 20
PAGE_SIZE = 50
RATE = 20.0
LATENCY = 0.05


def run(workdir: Path) -> list[Figure]:
    from airflow_provider_loopring.operators.loopring import LoopringNftBalancesOperator

    import_runtime()
    with sandbox(
        workdir,
        accounts=ACCOUNTS,
        nfts_per_account=PAGES * PAGE_SIZE,
        latency=LATENCY,
        rate_limit=RATE,
    ) as served:
        served.connect(requests_per_second=RATE)
        operator = LoopringNftBalancesOperator(
            task_id="rate_limit",
            account_id=served.account_ids,
            non_zero=False,  # every balance, zero ones included: exactly 20 pages each
            output_path=f"file://{workdir}/balances.jsonl",
        )
        started = time.perf_counter()
        reference = operator.execute({})
        wall = time.perf_counter() - started
        answered = served.client.requests
    too_many = sum(1 for request in answered if request.status == 429)
    return [
        Figure(
            "1. rate limit: achieved requests/s / 20",
            len(answered) / wall / RATE,
            ">=",
            0.95,
            note=f"{len(answered)} requests in {wall:.2f} s",
            digits=3,
        ),
        Figure("1. rate limit: 429 responses", too_many, "<=", 0, digits=0),
        Figure(
            "1. rate limit: balances written",
            reference["records"],
            "==",
            ACCOUNTS * PAGES * PAGE_SIZE,
            digits=0,
        ),
    ]


if __name__ == "__main__":
    main(run)
