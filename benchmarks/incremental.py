"""12. Incremental snapshot nights (issue 26): 100,000 wallets of 10 NFTs, 1 % moving a day.

A sandbox of 100,000 accounts runs in this process (its ledger is the truth). Day 1 is the full
night's output written from the ledger, the records the balances and collections endpoints
serve (a fetched full night is 200,001 requests: 11 hours at Loopring's 5 a second, minutes
even against the sandbox). Then 7 days: ``simulate_day(0.01)``, and a night: the code the
DAG's tasks run, each task in a fresh interpreter as Airflow runs each task in a process of
its own (so each peak is the task's own), without Airflow's scheduling: the plan (the watch
list read from its file, ``plan_night``: the blocks since the cursor, the verification
sample; the carried ids written for the carry task), the balances and the collections
operators' ``execute`` for the wallets to fetch, then ``carry_forward``, the partitions'
manifests and the summary. Parquet, as a lake of this size would be. The same night at
10,000 and at 200,000 wallets gives the memory figure.

Figures: an incremental night's requests against a full scan's (goal >= 20x fewer) and against
the minimum, blocks + 1 + the pages of the named and sampled wallets (goal <= 1.1x); its wall
time at the connection's rate (requests / 5 a second: the rate bounds a night, the requests
are what the code decides) and, measured, against the sandbox with no limit; the holdings of
every day equal the ledger's (what a full scan returns), compared as a digest of every
(account, NFT, total); each task's peak memory at 10,000, 100,000 and 200,000 wallets, and
the growth per wallet of the task that grows most (goal <= 0.1 KiB: flat, as a watch list of
8 bytes an id would be).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import CONN_ID, Figure, main, run_python

ACCOUNTS, SMALL, LARGE = 100_000, 10_000, 200_000
NFTS = 10
DAYS = 7
RATE = 5.0  # Loopring's documented limit per key, requests a second
PAGE = 50
BATCHES = 4  # the example snapshot DAG's
FIRST_DAY = "2026-06-01"


def _day(n: int) -> str:
    import datetime

    return (datetime.date.fromisoformat(FIRST_DAY) + datetime.timedelta(days=n)).isoformat()


def _ids(sandbox: Any) -> list[int]:
    seeded = sandbox._dataset.seeded
    return [seeded.account_id(i) for i in range(seeded.size)]


def write_first_day(sandbox: Any, root: str, ids: list[int]) -> None:
    """Day 0, a full night as the endpoints would answer it, written by the DAG's writers: one
    file per batch, as the DAG's 4 batches write it."""
    from airflow_provider_loopring.storage import nights, snapshots
    from airflow_provider_loopring.storage.objects import ObjectStorageWriter

    day, data = _day(0), sandbox._dataset
    stamp = int(time.time() * 1000)
    for kind in ("balances", "collections"):
        folder = snapshots.partition(root, kind, day)
        refs = []
        for index, batch in enumerate(snapshots.split(ids, BATCHES)):
            with ObjectStorageWriter(
                f"{folder}/part-{index:04d}.parquet",
                conn_id=None,
                output_format="parquet",
                record_kind=kind,
                snapshot_date=day,
            ) as writer:
                part = writer.new_part()
                for account in batch:
                    if kind == "balances":
                        records = data.snapshot_balances(account, True, False)
                    else:
                        records = data.snapshot_collections(account, True)
                    for record in records:
                        part.write({**record, "accountId": account, "fetchedAt": stamp})
                part.close()
                refs.append(writer.commit([part], fetched_at=""))
        snapshots.commit_partition(folder, refs, conn_id=None, kind=kind, day=day)
    nights.write_watched(root, day, (f"account_id:{a}" for a in ids), conn_id=None)
    _summary(root, day, {"as_of_block": data.head, "last_full_day": day, "format": "parquet"})


def _summary(root: str, day: str, summary: dict[str, Any]) -> None:
    from airflow_provider_loopring.storage import snapshots

    folder = snapshots.partition(root, "summary", day)
    data = json.dumps(summary).encode()
    written = snapshots.write_file(f"{folder}/summary.json", data, records=1, conn_id=None)
    snapshots.commit_partition(folder, [written], conn_id=None, kind="summary", day=day)


def _plan(root: str, day: str, night_file: str) -> dict[str, Any]:
    """The ``batches`` task: the watch list checked, the night planned, the list recorded."""
    from airflow_provider_loopring.hooks.loopring import LoopringHook
    from airflow_provider_loopring.operators.arguments import account_key
    from airflow_provider_loopring.operators.nights import plan_night
    from airflow_provider_loopring.operators.watch_list import WatchList
    from airflow_provider_loopring.storage import nights, snapshots
    from airflow_provider_loopring.storage.accounts import AccountCache
    from airflow_provider_loopring.storage.carry import write_carry

    # As the DAG reads its accounts_path file (one account a line) into its watch list.
    watched = WatchList(snapshots.iter_accounts(f"file://{os.environ['BENCH_IDS']}"))
    cache = AccountCache(f"{root}/_accounts", conn_id=None, writer="batches").load()
    snapshots.start_day(root, day, (*nights.KINDS, "changes"), conn_id=None)
    night = plan_night(
        LoopringHook(),
        root=root,
        day=day,
        accounts=watched,
        mode="incremental",
        full_every=DAYS + 1,
        verify_sample=0.01,
        output_format="parquet",
        cache=cache,
        conn_id=None,
    )
    if cache.changed:
        cache.save()
    nights.write_watched(root, day, map(account_key, watched), conn_id=None)
    about = night.about()
    carried = write_carry(root, day, night.carry, conn_id=None)
    Path(night_file).write_text(
        json.dumps({"about": about, "fetch": night.fetch, "carry": carried})
    )
    return about


def _fetch(root: str, day: str, night_file: str, kind: str) -> dict[str, Any]:
    """The ``nft_balances`` or ``collections`` task, for the wallets the plan fetches."""
    from airflow_provider_loopring.operators.loopring import (
        LoopringCollectionsOperator,
        LoopringNftBalancesOperator,
    )
    from airflow_provider_loopring.storage import snapshots

    fetch = json.loads(Path(night_file).read_text())["fetch"]
    if not fetch:
        return {"file": None}
    operator = LoopringNftBalancesOperator if kind == "balances" else LoopringCollectionsOperator
    ref = operator(
        task_id=kind,
        accounts=fetch,
        output_path=f"{snapshots.partition(root, kind, day)}/part-0000.parquet",
        output_format="parquet",
        snapshot_date=day,
        on_missing_account="skip",
        record_fetched_at=True,
    ).execute({})
    return {"file": ref}


def _carry(root: str, day: str, night_file: str) -> dict[str, Any]:
    """The ``carry`` task, then the ``complete`` tasks and the summary."""
    from airflow_provider_loopring.storage import nights, snapshots
    from airflow_provider_loopring.storage.carry import carry_forward, read_carry

    night = json.loads(Path(night_file).read_text())
    files: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ("balances", "collections")}
    for kind in files:
        fetched = Path(f"{night_file}.{kind}")
        if fetched.exists():
            files[kind] += [json.loads(fetched.read_text())]
    incremental = night["about"]["mode"] == "incremental"
    last = nights.last_day(root, day, conn_id=None) if incremental else None
    ids = read_carry(root, day, night["carry"], conn_id=None) if last else ()
    for kind in files:
        if last is not None:
            files[kind] += carry_forward(root, last, kind, day, ids, conn_id=None)
        folder = snapshots.partition(root, kind, day)
        snapshots.commit_partition(folder, files[kind], conn_id=None, kind=kind, day=day)
    _summary(root, day, {**night["about"], "format": "parquet"})
    return {}


STAGES = ("plan", "balances", "collections", "carry")
WATCH_LIST_TASKS = ("plan", "carry")
FETCH_TASKS = ("balances", "collections")

CHILD = """
import json, sys
from benchmarks import incremental
from benchmarks.harness import peak_rss_mib
stage, root, day, night_file = sys.argv[1:]
if stage == "plan":
    result = incremental._plan(root, day, night_file)
elif stage == "carry":
    result = incremental._carry(root, day, night_file)
else:
    result = incremental._fetch(root, day, night_file, stage)
    if result["file"] is not None:
        open(night_file + "." + stage, "w").write(json.dumps(result["file"]))
result["peak_mib"] = peak_rss_mib()
print(json.dumps(result))
"""


def night_step(root: str, day: str, env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """One night as the DAG's tasks run it: each task in a fresh interpreter, as Airflow
    runs each task in its own process, so each peak is the task's own."""
    started = time.perf_counter()
    night_file = str(workdir / f"night-{day}.json")
    result: dict[str, Any] = {"peaks": {}}
    for stage in STAGES:
        out = run_python(CHILD, [stage, root, day, night_file], env, timeout=600)
        result["peaks"][stage] = out.pop("peak_mib")
        if stage == "plan":
            result.update(out)
    result["peak_mib"] = max(result["peaks"].values())
    result["fetch"] = json.loads(Path(night_file).read_text())["fetch"]
    result["seconds"] = time.perf_counter() - started
    return result


def digest(rows: Any) -> tuple[int, int]:
    """An order-free digest of (account, NFT, total) rows held: (count, sum of hashes)."""
    count = total = 0
    for account, nft, amount in rows:
        if str(amount) in ("", "0"):
            continue
        key = f"{account}:{nft.lower()}:{amount}".encode()
        total = (total + int.from_bytes(hashlib.blake2b(key, digest_size=8).digest())) % 2**64
        count += 1
    return count, total


def day_digest(root: str, day: str) -> tuple[int, int]:
    from airflow_provider_loopring.storage import snapshots

    folder = snapshots.partition(root, "balances", day)
    manifest = snapshots.read_manifest(folder)
    assert manifest is not None
    return digest(
        (b.account_id, b.nft_data, b.total) for b in snapshots.read_balances(folder, manifest)
    )


def truth_digest(sandbox: Any, ids: list[int]) -> tuple[tuple[int, int], int]:
    """The ledger's holdings digest, and the most pages any wallet's listing takes."""
    data, most = sandbox._dataset, 1
    rows = []
    for account in ids:
        held = [b for b in data.balances(account) if b["total"] != "0"]  # the rows, not copies
        collections = len(data.collection_counts(account, True))
        most = max(most, math.ceil(len(held) / PAGE), math.ceil(collections / PAGE))
        rows += [(account, b["nftData"], b["total"]) for b in held]
    return digest(rows), most


def run_scale(workdir: Path, accounts: int, days: int) -> dict[str, Any]:
    from airflow_provider_loopring.testing import LoopringSandbox

    root = f"file://{workdir}/lake-{accounts}"
    out: dict[str, Any] = {"nights": []}
    with LoopringSandbox(
        accounts=accounts, nfts_per_account=NFTS, collections_per_account=1
    ) as sandbox:
        ids = _ids(sandbox)
        ids_file = workdir / f"ids-{accounts}.txt"
        ids_file.write_text("".join(f"{account}\n" for account in ids))
        started = time.perf_counter()
        write_first_day(sandbox, root, ids)
        out["first_day_seconds"] = time.perf_counter() - started
        conn = {"conn_type": "loopring", "host": sandbox.url, "password": sandbox.api_key,
                "extra": {"requests_per_second": 10_000}}  # fmt: skip
        env = {f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(conn), "BENCH_IDS": str(ids_file)}
        for n in range(1, days + 1):
            sandbox.simulate_day(change_rate=0.01, seed=n)
            sandbox.clear_requests()
            result = night_step(root, _day(n), env, workdir)
            records = sandbox.requests
            result["requests"] = len(records)
            result["paths"] = sorted({r.path for r in records})
            (truth, most) = truth_digest(sandbox, ids)
            result["holdings_equal"] = day_digest(root, _day(n)) == truth
            result["most_pages"] = most
            shown = {k: v for k, v in result.items() if k not in ("fetch", "differed")}
            print(f"{accounts} wallets, night {n}: {json.dumps(shown)}", flush=True)
            out["nights"].append(result)
    return out


def run(workdir: Path) -> list[Figure]:
    big = run_scale(workdir, ACCOUNTS, DAYS)
    small = run_scale(workdir, SMALL, 1)
    large = run_scale(workdir, LARGE, 1)
    nights = big["nights"]
    full = 1 + 2 * ACCOUNTS  # the head, then one page of balances and one of collections each
    worst = max(night["requests"] for night in nights)
    assert all(night["most_pages"] == 1 for night in nights), "a wallet of more than one page"
    # blocks + 1 + a page of balances and one of collections per named wallet, one of
    # balances per sampled wallet (every wallet here fits one page: checked above).
    minimum = [
        n["blocks_read"] + 1 + 2 * n["fetched_accounts"] + n["verified_accounts"] for n in nights
    ]
    over = max(n["requests"] / m for n, m in zip(nights, minimum, strict=True))
    mean = sum(n["requests"] for n in nights) / len(nights)
    modes = {n["mode"] for n in nights}
    equal = sum(n["holdings_equal"] for n in nights)
    seconds = max(n["seconds"] for n in nights)
    lookups = sum(n["address_lookups"] for n in nights)
    # Each task's peak (its own process, as in the DAG), the first night of each scale. The
    # plan and the carry take the watch list; the fetch tasks take the wallets that changed
    # (1 % of those watched: ~100, ~1,000, ~2,000), whose buffers fill up to a row group.
    runs = ((SMALL, small), (ACCOUNTS, big), (LARGE, large))
    peaks = {scale: run["nights"][0]["peaks"] for scale, run in runs}
    fetched = [run["nights"][0]["fetched_accounts"] for _, run in runs]
    growth = {task: peaks[LARGE][task] - peaks[SMALL][task] for task in STAGES}
    grows = max(WATCH_LIST_TASKS, key=lambda task: growth[task])
    per_wallet = growth[grows] * 1024 / (LARGE - SMALL)
    fetch_task = max(FETCH_TASKS, key=lambda task: growth[task])
    per_fetched = growth[fetch_task] * 1024 / (fetched[-1] - fetched[0])
    shown = "; ".join(
        f"{task} " + " / ".join(f"{peaks[scale][task]:.0f}" for scale in peaks) for task in STAGES
    )
    return [
        Figure(
            "12. incremental: a full scan's requests / an incremental night's (worst)",
            full / worst,
            ">=",
            20,
            unit="x",
            digits=1,
            note=f"{full:,} vs {worst:,}; mean {mean:,.0f}; modes {sorted(modes)}",
        ),
        Figure(
            "12. incremental: requests / (blocks + 1 + pages of named + sampled), worst night",
            over,
            "<=",
            1.1,
            unit="x",
            note=f"{lookups} address lookups in {len(nights)} nights",
        ),
        Figure(
            "12. incremental: a night at 5 requests/s (worst)",
            worst / RATE / 60,
            unit="min",
            digits=1,
            note=f"its minimum {max(minimum) / RATE / 60:.1f} min; a full scan "
            f"{full / RATE / 3600:.1f} h",
        ),
        Figure(
            "12. incremental: a night's step, measured with no rate limit (worst)",
            seconds,
            unit="s",
            digits=1,
            note=f"day 1 written from the ledger in {big['first_day_seconds']:.0f} s",
        ),
        Figure(
            "12. incremental: days whose holdings equal the ledger's (a full scan's)",
            equal,
            "==",
            len(nights),
            digits=0,
            note=f"of {len(nights)} nights",
        ),
        Figure(
            "12. incremental: memory growth per watched wallet, plan and carry tasks "
            "(200,000 vs 10,000)",
            per_wallet,
            "<=",
            0.1,
            unit="KiB",
            note=f"{grows} +{growth[grows]:.1f} MiB; peaks MiB at 10k / 100k / 200k: {shown}",
        ),
        Figure(
            "12. incremental: memory growth per wallet fetched, fetch tasks (200,000 vs 10,000)",
            per_fetched,
            unit="KiB",
            note=f"{fetch_task} +{growth[fetch_task]:.1f} MiB for "
            + " / ".join(f"{n:,}" for n in fetched)
            + " wallets fetched: a row group's buffer (~4 MiB of rows) filling, then each"
            " wallet's part",
        ),
    ]


if __name__ == "__main__":
    main(run)
