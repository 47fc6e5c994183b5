"""11. Holders of a collection (issue 25): at the connection's rate, in memory flat in records.

The sandbox (its own process) holds three collections of 1,000 NFTs, minted and transferred
through its ledger: one whose NFTs have 2 holders each (the rate run) and two whose NFTs
have 20 and 100 (20,000 and 100,000 records). ``LoopringNftHoldersOperator`` writes every
holder of a collection to a ``file://`` JSON Lines object.

- Rate: 50 ms latency, 50 requests/s server-side (429 above it), the hook at the same rate,
  default ``max_workers``. A collection of N NFTs cannot take less than (its listing pages +
  2 N holders pages: each NFT's page and the empty page that ends it) / rate seconds; the
  figure is (requests the sandbox answered / wall time of ``execute``) / rate, the listing
  (sequential) included.
- Memory: no latency or limit; the 20,000 and the 100,000 records each in a fresh
  interpreter, peak RSS (``VmHWM``, reset once the operator is built) minus RSS then; the
  growth at 100k must stay within 1.2 x the growth at 20k.
"""

from __future__ import annotations

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

NFTS = 1_000
HOLDERS = {"rate": 2, "small": 20, "large": 100}  # holders of each NFT, per collection
RATE = 50.0
LATENCY = 0.05


def serve() -> None:
    """In the sandbox's process: make the collections, print where it is, serve until killed."""
    import threading

    from airflow_provider_loopring.testing import LoopringSandbox

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    sandbox = LoopringSandbox(
        accounts=max(HOLDERS.values()) + 1, nfts_per_account=1, collections_per_account=1
    )
    ledger = sandbox._dataset  # built in-process: 120,000 transfers over HTTP would take minutes
    ids = [account["accountId"] for account in sandbox.accounts]
    # Each minter's own collection, read before any transfer makes others' show up too.
    owned = [sandbox.collections(k, non_zero=False)[0]["collection"]["id"] for k in ids]
    collections = {}
    for minter, collection_id, (name, holders) in zip(ids, owned, HOLDERS.items(), strict=False):
        for _ in range(NFTS - len(ledger.collection_nfts(collection_id))):
            nft = ledger.mint(minter, str(holders), collection_id)["nftToken"]["nftData"]
            for receiver in [k for k in ids if k != minter][: holders - 1]:
                ledger.transfer(minter, receiver, nft, "1")
        nfts = ledger.collection_nfts(collection_id)
        records = sum(len(ledger.holders(nft["nftData"])) for nft, _ in nfts)
        collections[name] = {"id": collection_id, "records": records}
    ledger.seal_block()
    with sandbox:
        info = {"url": sandbox.url, "api_key": sandbox.api_key, "collections": collections}
        print(json.dumps(info), flush=True)
        while not stopping.wait(1.0):
            pass


@contextmanager
def served(workdir: Path) -> Iterator[tuple[SandboxProcess, dict[str, Any]]]:
    command = [sys.executable, "-c", "from benchmarks.holders import serve; serve()"]
    with serving(command, workdir) as info:
        yield SandboxProcess(info["url"], info["api_key"]), info["collections"]


def warm() -> None:
    """Import what the run imports on first use (as ``import_runtime`` does for the rest):
    the endpoint declarations and their models, loaded lazily by the first request."""
    import_runtime()
    import airflow.sdk.execution_time.supervisor  # noqa: F401  (the first get_connection's)

    from airflow_provider_loopring._core import endpoints  # noqa: F401
    from airflow_provider_loopring.hooks import nfts  # noqa: F401


def operator(collection_id: int, output: Path) -> Any:
    from airflow_provider_loopring.operators.holders import LoopringNftHoldersOperator

    return LoopringNftHoldersOperator(
        task_id="holders", collection_id=collection_id, output_path=f"file://{output}"
    )


def measure(spec: dict[str, Any]) -> dict[str, float]:
    """In a fresh interpreter: every holder of ``spec``'s collection; RSS after setup, peak."""
    os.environ.update(spec["env"])
    warm()
    task = operator(spec["collection_id"], Path(spec["output"]))
    before = rss_mib()
    reset_peak_rss()
    started = time.perf_counter()
    reference = task.execute({})
    return {
        "growth": peak_rss_mib() - before,
        "records": reference["records"],
        "seconds": time.perf_counter() - started,
    }


def _fresh(sandbox: SandboxProcess, collection_id: int, output: Path) -> dict[str, float]:
    spec = {"collection_id": collection_id, "output": str(output)}
    return measure_fresh("benchmarks.holders", sandbox, spec, output)


def run(workdir: Path) -> list[Figure]:
    warm()
    with served(workdir) as (sandbox, collections):
        small = _fresh(sandbox, collections["small"]["id"], workdir / "small.jsonl")
        large = _fresh(sandbox, collections["large"]["id"], workdir / "large.jsonl")
        print(json.dumps({"small": small, "large": large}), file=sys.stderr)
        sandbox.client.set_latency(LATENCY)
        sandbox.client.set_rate_limit(RATE)
        sandbox.client.clear_requests()
        sandbox.connect(requests_per_second=RATE)
        task = operator(collections["rate"]["id"], workdir / "rate.jsonl")
        started = time.perf_counter()
        reference = task.execute({})
        wall = time.perf_counter() - started
        answered = sandbox.client.requests
    too_many = sum(1 for request in answered if request.status == 429)
    listing = [r.time for r in answered if r.path.endswith("/collection/items")]
    holders = [r.time for r in answered if r.path.endswith("/nftHolders")]
    phases = {"listing": listing[-1] - listing[0], "holders": holders[-1] - holders[0]}
    print(json.dumps({"seconds": phases}), file=sys.stderr)
    written = (reference["records"], small["records"], large["records"])
    truth = tuple(collections[name]["records"] for name in ("rate", "small", "large"))
    return [
        Figure(
            f"11. holders: achieved requests/s / {RATE:.0f}",
            len(answered) / wall / RATE,
            ">=",
            0.95,
            note=f"{len(answered)} requests in {wall:.2f} s, {NFTS:,} NFTs",
            digits=3,
        ),
        Figure("11. holders: 429 responses", too_many, "<=", 0, digits=0),
        Figure(
            "11. holders: peak RSS growth, 100k records",
            large["growth"],
            unit="MiB",
            digits=1,
            note=f"{large['seconds']:.1f} s",
        ),
        Figure(
            "11. holders: growth 100k / growth 20k",
            large["growth"] / small["growth"],
            "<=",
            1.2,
            note=f"20k: {small['growth']:.1f} MiB",
        ),
        Figure(
            "11. holders: records written == ledger's",
            1 if written == truth else 0,
            "==",
            1,
            digits=0,
            note=f"{written[0]:,} + {written[1]:,} + {written[2]:,}",
        ),
    ]


if __name__ == "__main__":
    main(run)
