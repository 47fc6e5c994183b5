"""3. Streaming memory: 100,000 balances to a ``file://`` JSON Lines object in bounded memory.

The sandbox (in its own process: its data is large) holds 20 accounts x 5,000 balances with
metadata (~2.9 kB of JSON each). ``LoopringNftBalancesOperator`` (default ``max_workers``)
streams 4 of the accounts (20,000 balances) in one fresh interpreter and all 20 (100,000) in
another. Each measures its peak RSS (``VmHWM``, reset once the operator is built) minus its RSS
at that moment, after imports and setup. Bounded memory means the growth does not follow
the record count: the growth at 100k must stay within 1.2 x the growth at 20k. The same
twice: to JSON Lines and to Parquet (the declared schema, bounded row groups).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
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
    sandbox,
)

ACCOUNTS = 20
PER_ACCOUNT = 5_000
SMALL = 4  # accounts of the 20,000 run


def measure(spec: dict[str, Any]) -> dict[str, float]:
    """In a fresh interpreter: stream ``spec``'s accounts, report RSS after setup and peak."""
    from airflow_provider_loopring.operators.loopring import LoopringNftBalancesOperator

    os.environ.update(spec["env"])
    import_runtime()
    if spec["format"] == "parquet":  # imported inside execute, as requests is: not measured
        import pyarrow.parquet  # noqa: F401
    operator = LoopringNftBalancesOperator(
        task_id="memory",
        account_id=spec["accounts"],
        non_zero=False,
        metadata=True,
        output_path=spec["output"],
        output_format=spec["format"],
        snapshot_date="2026-01-01",
    )
    gc.collect()
    before = rss_mib()
    reset_peak_rss()
    started = time.perf_counter()
    reference = operator.execute({})
    return {
        "growth": peak_rss_mib() - before,
        "records": reference["records"],
        "seconds": time.perf_counter() - started,
    }


def _run_fresh(served: SandboxProcess, accounts: list[int], output: Path) -> dict[str, float]:
    spec = {"accounts": accounts, "output": f"file://{output}", "format": output.suffix.lstrip(".")}
    return measure_fresh("benchmarks.memory", served, spec, output)  # 290 MB at 100k


def run(workdir: Path) -> list[Figure]:
    figures = []
    with sandbox(workdir, accounts=ACCOUNTS, nfts_per_account=PER_ACCOUNT) as served:
        for label, suffix in (("", "jsonl"), (" (Parquet)", "parquet")):
            accounts = served.account_ids
            small = _run_fresh(served, accounts[:SMALL], workdir / f"small.{suffix}")
            large = _run_fresh(served, accounts, workdir / f"large.{suffix}")
            print(json.dumps({suffix: {"small": small, "large": large}}), file=sys.stderr)
            figures += _figures(label, small, large)
    return figures


def _figures(label: str, small: dict[str, float], large: dict[str, float]) -> list[Figure]:
    expected = (SMALL * PER_ACCOUNT, ACCOUNTS * PER_ACCOUNT)
    complete = (small["records"], large["records"]) == expected
    return [
        Figure(
            f"3. memory{label}: peak RSS growth, 100k balances",
            large["growth"],
            "<=",
            64,
            unit="MiB",
            digits=1,
            note=f"{large['seconds']:.1f} s",
        ),
        Figure(
            f"3. memory{label}: growth 100k / growth 20k",
            large["growth"] / small["growth"],
            "<=",
            1.2,
            note=f"20k: {small['growth']:.1f} MiB",
        ),
        Figure(
            f"3. memory{label}: balances written",
            large["records"] if complete else 0,
            "==",
            ACCOUNTS * PER_ACCOUNT,
            digits=0,
        ),
    ]


if __name__ == "__main__":
    main(run)
