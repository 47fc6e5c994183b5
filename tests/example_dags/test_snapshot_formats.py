"""Two days of the example snapshot, in JSON Lines and in Parquet, read as a reader would.

Parquet is read with DuckDB, the way data engineers read a lake: a glob over the day
partitions with Hive partitioning. The changes between the two days must be exactly the
sandbox mutations made between them, in both formats.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.example_dags.snapshot_day import read_partition

DAY_1, DAY_2 = "2026-03-01", "2026-03-02"
pytestmark = pytest.mark.loopring_sandbox(
    accounts=3, nfts_per_account=60, collections_per_account=2
)


def run_day(dag: Any, day: str, conf: dict[str, Any]) -> Any:
    when = pendulum.parse(f"{day}T05:00:00+00:00")
    run = dag.test(run_conf=conf, logical_date=when, run_after=when)
    assert run.state == "success"
    return run


def mutate(sandbox: Any) -> set[tuple[int, str, str]]:
    """Changes between the days: (accountId, nftData, change) as the sandbox makes them."""
    a, b, c = (account["accountId"] for account in sandbox.accounts)
    held_a = sandbox.balances(a, non_zero=True)
    held_c = sandbox.balances(c, non_zero=True)
    minted = "0x" + "0e" * 32
    sandbox.set_balance(a, held_a[0]["nftData"], str(int(held_a[0]["total"]) + 1))
    sandbox.set_balance(a, held_a[1]["nftData"], "0")
    sandbox.set_balance(b, minted, "12")
    expected = {
        (a, held_a[0]["nftData"].lower(), "amount"),
        (a, held_a[1]["nftData"].lower(), "removed"),
        (b, minted, "added"),
    }
    only_c = next(
        x["nftData"]
        for x in held_c
        if all(x["nftData"] != y["nftData"] for k in (a, b) for y in sandbox.balances(k))
    )
    sandbox.set_nft_status(only_c, "DEPLOY_FAILED")
    return expected | {(c, only_c.lower(), "status")}


@pytest.mark.parametrize("output_format", ["jsonl", "parquet"])
def test_two_days_and_what_changed_between_them(
    snapshot_dag: Any, sandbox: Any, tmp_path: Path, output_format: str
) -> None:
    root = tmp_path / "snapshots"
    conf = {
        "accounts": [a["accountId"] for a in sandbox.accounts],
        "output_root": f"file://{root}",
        "output_format": output_format,
        "mode": "full",  # full days: a status change has no transaction to find
    }
    first = run_day(snapshot_dag, DAY_1, conf)
    assert first.get_task_instance("changes").state == "success"
    manifest, _ = read_partition(root, "changes", DAY_1)
    assert (manifest["files"], manifest["previous_day"]) == ([], None)  # the first day
    expected = mutate(sandbox)
    second = run_day(snapshot_dag, DAY_2, conf)
    manifest, records = changes_of(root, DAY_2, output_format)
    assert manifest["previous_day"] == DAY_1
    assert {(r["accountId"], r["nftData"], r["change"]) for r in records} == expected
    assert len(records) == len(expected)
    assert [r["accountId"] for r in records] == sorted(r["accountId"] for r in records)
    summary = second.get_task_instance("summarize").xcom_pull()
    assert summary["changes"] == {
        "previous_day": DAY_1,
        **{kind: sum(1 for *_, k in expected if k == kind) for kind in ("added", "removed")},
        "amount": 1,
        "status": 1,
    }


def changes_of(root: Path, day: str, output_format: str) -> tuple[dict[str, Any], list[Any]]:
    if output_format == "jsonl":
        return read_partition(root, "changes", day)
    import duckdb

    folder = root / "changes" / f"dt={day}"
    manifest = json.loads((folder / "_manifest.json").read_text())
    rows = duckdb.sql(
        f"SELECT accountId, nftData, change FROM read_parquet('{folder}/*.parquet')"
    ).fetchall()
    keys = ("accountId", "nftData", "change")
    return manifest, [dict(zip(keys, row, strict=True)) for row in rows]


def test_parquet_read_by_duckdb_is_the_sandbox_exactly(
    snapshot_dag: Any, sandbox: Any, tmp_path: Path
) -> None:
    import duckdb
    import pyarrow.parquet as pq

    from airflow_provider_loopring.storage.schemas import arrow_schema

    root = tmp_path / "lake"
    ids = [a["accountId"] for a in sandbox.accounts]
    conf = {
        "accounts": ids,
        "output_root": f"file://{root}",
        "output_format": "parquet",
        "mode": "full",
    }
    run_day(snapshot_dag, DAY_1, conf)
    mutate(sandbox)
    run_day(snapshot_dag, DAY_2, conf)

    glob = f"{root}/balances/**/*.parquet"
    for day in (DAY_1, DAY_2):
        rows = duckdb.sql(
            f"SELECT accountId, nftData, total, deploymentStatus FROM read_parquet('{glob}',"
            f" hive_partitioning = true) WHERE dt = '{day}' AND snapshot_date = '{day}'"
        ).fetchall()
        if day == DAY_2:
            expected = [
                (b["accountId"], b["nftData"], Decimal(b["total"]), b["deploymentStatus"])
                for a in ids
                for b in sandbox.balances(a, non_zero=True)
            ]
            assert rows == expected  # exactly the sandbox's rows, in the accounts' order
        ((total,),) = duckdb.sql(
            f"SELECT sum(total) FROM read_parquet('{glob}', hive_partitioning = true)"
            f" WHERE dt = '{day}'"
        ).fetchall()
        assert total == sum(r[2] for r in rows)  # exact: DECIMAL(38,0), no float on the way
    types = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{glob}')").fetchall()
    assert ("total", "DECIMAL(38,0)") in [(name, kind) for name, kind, *_ in types]
    files = sorted(root.glob("*/dt=*/*.parquet"))
    assert len(files) >= 8
    for path in files:
        kind = path.parent.parent.name
        assert pq.read_schema(path) == arrow_schema(kind)  # declared, never inferred
