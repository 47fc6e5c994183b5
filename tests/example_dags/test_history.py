"""The example history DAG under dag.test(): two consecutive days and a re-run of the first,
each partition exactly the ledger's transactions of its interval, with its manifest."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.conftest import DAGS_FOLDER
from tests.operators.test_loopring import read_jsonl
from tests.operators.test_transactions import DAY, START, E, S, at, expected, held, ids, make_day

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "loopring_nft_history.py"
pytestmark = pytest.mark.loopring_sandbox(accounts=4, nfts_per_account=8)


@pytest.fixture
def history_dag(sandbox: Any, airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from airflow_provider_loopring.version_compat import dag_bag_class

    monkeypatch.setenv("LOOPRING_HISTORY_RETRY_DELAY", "0")
    path = DAGS_FOLDER / EXAMPLE.name
    shutil.copy(EXAMPLE, path)
    try:
        yield dag_bag_class()(dag_folder=str(path)).get_dag("loopring_nft_history")
    finally:
        path.unlink()


def by_hash(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records in hash order: a transaction of two accounts sits in the part of whichever
    was fetched first (the task's threads race), so the order within a file may differ."""
    return sorted(records, key=lambda record: record["hash"])


def partition(root: Path, day: str) -> dict[str, Any]:
    """The partition's files, its manifest checked against them, and its records."""
    folder = root / "transactions" / f"dt={day}"
    manifest = json.loads((folder / "_manifest.json").read_text())
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["_manifest.json", "part-0000.jsonl"]
    data = (folder / "part-0000.jsonl").read_bytes()
    (entry,) = manifest["files"]
    assert entry == {
        "name": "part-0000.jsonl",
        "records": manifest["records"],
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    return {"manifest": manifest, "records": read_jsonl(data)}


def test_two_days_and_a_rerun_each_exactly_its_interval(sandbox, history_dag, tmp_path):
    accounts = ids(sandbox)
    make_day(sandbox, S, E)
    make_day(sandbox, E, E + DAY)  # its first transaction exactly at midnight
    root = tmp_path / "history"
    conf = {"accounts": accounts, "output_root": f"file://{root}"}

    def run(day: pendulum.DateTime) -> str:
        # A manual run's interval is the last whole one before it (its run_after): the day's.
        return history_dag.test(logical_date=day.add(days=1), run_conf=conf).state

    assert run(START) == "success"
    assert run(START.add(days=1)) == "success"
    first, second = partition(root, "2026-03-01"), partition(root, "2026-03-02")
    assert by_hash(first["records"]) == by_hash(expected(sandbox, accounts, S, E))
    assert by_hash(second["records"]) == by_hash(expected(sandbox, accounts, E, E + DAY))
    assert first["manifest"]["start"] == START.isoformat()
    assert first["manifest"]["end"] == START.add(days=1).isoformat()
    both = [r["hash"] for day in (first, second) for r in day["records"]]
    assert len(both) == len(set(both)) == 12  # 6 a day: none doubled at midnight, none missing

    # A re-run of the first day replaces it (here with a transaction that came since).
    a, b, *_ = accounts
    at(sandbox, S + 5000, sandbox.transfer, a, b, held(sandbox, a))
    assert run(START) == "success"
    again = partition(root, "2026-03-01")
    assert by_hash(again["records"]) == by_hash(expected(sandbox, accounts, S, E))
    assert len(again["records"]) == len(first["records"]) + 1
    assert partition(root, "2026-03-02") == second  # the other day untouched
