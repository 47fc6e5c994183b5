"""4. CPU per record: our parse-and-write path vs. ``json.loads`` + ``json.dumps``.

Twice: writing JSON Lines (goal 2.0 x raw) and Parquet with the declared schema (goal 2.5 x
raw: the typed columns, the JSON text of metadata and the Arrow and Parquet encoding).

The response bodies are real: 200 pages of 50 balances with ``metadata=true`` from the
sandbox, fetched once. Ours replays them through ``LoopringNftBalancesOperator.execute``
writing a ``file://`` JSON Lines object: the hook's paging, ``api.parse_response``, the
models, the operator's records, the storage sink, the final move; only the socket is
replaced. The raw loop ``json.loads`` each body and writes each item with ``json.dumps``
(same separators) to a file. CPU seconds (``time.process_time``), the best of several
alternating rounds of each.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import Figure, import_runtime, main, sandbox

PAGES = 200
PAGE_SIZE = 50
ROUNDS = 5


def fetch_bodies(workdir: Path) -> tuple[int, list[bytes]]:
    with sandbox(workdir, accounts=1, nfts_per_account=PAGES * PAGE_SIZE) as served:
        (account_id,) = served.account_ids
        # The connection outlives the sandbox: the replayed hook reads its settings only.
        served.connect(requests_per_second=1_000_000)
        bodies = [
            served.get(
                "/api/v3/user/nft/balances",
                accountId=account_id,
                offset=page * PAGE_SIZE,
                limit=PAGE_SIZE,
                nonZero="false",
                metadata="true",
            )
            for page in range(PAGES)
        ]
    return account_id, bodies


def replay(bodies: list[bytes]) -> None:
    """Answer every request of the hook's sync transport from ``bodies`` instead of a socket
    (class-wide: the operator makes its own hook)."""
    from airflow_provider_loopring import _core as api
    from airflow_provider_loopring.hooks.transport import SyncTransport

    def send(transport: SyncTransport, request: api.ApiRequest, *_: Any) -> Any:
        body = bodies[int(request.params["offset"]) // PAGE_SIZE]
        return api.parse_response(request, 200, {}, body)

    SyncTransport.send = send  # type: ignore[method-assign]


def ours(
    account_id: int, bodies: list[bytes], workdir: Path, output_format: str = "jsonl"
) -> Callable[[], int]:
    from airflow_provider_loopring.operators.loopring import LoopringNftBalancesOperator

    replay(bodies)
    operator = LoopringNftBalancesOperator(
        task_id="cpu",
        account_id=account_id,
        non_zero=False,
        metadata=True,
        output_path=f"file://{workdir}/ours.{output_format}",
        output_format=output_format,
        snapshot_date="2026-01-01",
    )
    return lambda: int(operator.execute({})["records"])


def raw(bodies: list[bytes], workdir: Path) -> Callable[[], int]:
    def once() -> int:
        records = 0
        with open(workdir / "raw.jsonl", "wb") as out:
            for body in bodies:
                for item in json.loads(body)["data"]:
                    out.write(json.dumps(item, separators=(",", ":")).encode() + b"\n")
                    records += 1
        return records

    return once


def cpu_seconds(work: Callable[[], int]) -> float:
    started = time.process_time()
    records = work()
    if records != PAGES * PAGE_SIZE:
        raise RuntimeError(f"{records} records, expected {PAGES * PAGE_SIZE}")
    return time.process_time() - started


def run(workdir: Path) -> list[Figure]:
    import_runtime()
    account_id, bodies = fetch_bodies(workdir)
    paths = {
        "ours": ours(account_id, bodies, workdir),
        "parquet": ours(account_id, bodies, workdir, "parquet"),
        "raw": raw(bodies, workdir),
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(ROUNDS):
        for name, work in paths.items():
            gc.collect()
            times[name].append(cpu_seconds(work))
    raw_s = min(times["raw"])
    per_record = 1e6 / (PAGES * PAGE_SIZE)
    return [
        Figure(
            f"4. CPU per record: {label} / raw json",
            min(times[name]) / raw_s,
            "<=",
            goal,
            note=f"{min(times[name]) * per_record:.0f} us vs {raw_s * per_record:.0f} us a record",
        )
        for name, label, goal in (("ours", "ours", 2.0), ("parquet", "Parquet", 2.5))
    ]


if __name__ == "__main__":
    main(run)
