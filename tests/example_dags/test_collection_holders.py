"""Two days of the example `loopring_collection_holders` DAG, checked against the ledger.

Collections are given by id and by contract address, one of them both ways; each day's holders
must be exactly the ledger's holders of every NFT of them, each once, read through the
partition's manifest; the second
day's changes exactly the transfer and mint made between the days.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.example_dags.conftest import example_dag
from tests.example_dags.snapshot_day import read_partition
from tests.operators.test_holders import collection_ids, nfts_of, truth

DAY_1, DAY_2 = "2026-04-01", "2026-04-02"
pytestmark = pytest.mark.loopring_sandbox(
    accounts=3, nfts_per_account=24, collections_per_account=2
)


@pytest.fixture
def holders_dag(sandbox: Any, airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("LOOPRING_HOLDERS_RETRY_DELAY", "0")
    with example_dag("loopring_collection_holders") as dag:
        yield dag


def run_day(dag: Any, day: str, conf: dict[str, Any]) -> Any:
    when = pendulum.parse(f"{day}T05:00:00+00:00")
    run = dag.test(run_conf=conf, logical_date=when, run_after=when)
    assert run.state == "success"
    return run


def expected(sandbox: Any, by_id: int, by_contract: int) -> list[tuple[str, int, str, int]]:
    """(nftData, accountId, amount, collectionId): the collections in the order given."""
    rows = truth(sandbox, nfts_of(sandbox, by_id)) + truth(sandbox, nfts_of(sandbox, by_contract))
    return [(r["nftData"], r["accountId"], r["amount"], r["collectionId"]) for r in rows]


def day_holders(root: Path, day: str) -> list[tuple[str, int, str, int]]:
    manifest, records = read_partition(root, "holders", day)
    assert manifest["kind"] == "holders"
    return [(r["nftData"], r["accountId"], r["amount"], r["collectionId"]) for r in records]


def test_two_days_of_holders_and_what_changed_between_them(
    holders_dag: Any, sandbox: Any, tmp_path: Path
) -> None:
    by_id, by_contract = collection_ids(sandbox)[:2]
    contract = nfts_of(sandbox, by_contract)[0]["collectionInfo"]["contractAddress"]
    root = tmp_path / "lake"
    collections = [by_id, contract.lower(), by_contract]  # by_contract twice: read once
    conf = {"collections": collections, "output_root": f"file://{root}"}
    first = run_day(holders_dag, DAY_1, conf)
    before = expected(sandbox, by_id, by_contract)
    assert day_holders(root, DAY_1) == before
    manifest, _ = read_partition(root, "holder_changes", DAY_1)
    assert (manifest["files"], manifest["previous_day"]) == ([], None)  # the first day
    summary = first.get_task_instance("summarize").xcom_pull()
    assert summary["collections"] == [
        {
            "collectionId": collection_id,
            "holders": len({r[1] for r in before if r[3] == collection_id}),
            "nfts": len({r[0] for r in before if r[3] == collection_id}),
            "records": sum(1 for r in before if r[3] == collection_id),
        }
        for collection_id in sorted((by_id, by_contract))
    ]

    # Between the days: a whole holding moves to another account, and a new NFT is minted.
    nft = nfts_of(sandbox, by_id)[0]["nftData"]
    holder = sandbox._dataset.holders(nft)[0]
    receiver = next(
        a["accountId"]
        for a in sandbox.accounts
        if all(a["accountId"] != h["accountId"] for h in sandbox._dataset.holders(nft))
    )
    sandbox.transfer(holder["accountId"], receiver, nft, holder["total"])
    minted = sandbox.mint(sandbox.accounts[0]["accountId"], "5", collection_id=by_contract)
    sandbox.seal_block()
    new_nft = minted["nftToken"]["nftData"].lower()
    second = run_day(holders_dag, DAY_2, conf)
    assert day_holders(root, DAY_2) == expected(sandbox, by_id, by_contract)
    manifest, changes = read_partition(root, "holder_changes", DAY_2)
    assert manifest["previous_day"] == DAY_1
    assert sorted((r["accountId"], r["nftData"], r["change"]) for r in changes) == sorted(
        [
            (holder["accountId"], nft, "removed"),
            (receiver, nft, "added"),
            (sandbox.accounts[0]["accountId"], new_nft, "added"),
        ]
    )
    counts = second.get_task_instance("summarize").xcom_pull()["changes"]
    assert counts == {"previous_day": DAY_1, "added": 2, "removed": 1, "amount": 0}
    _, (stored,) = read_partition(root, "holder_summary", DAY_2)
    assert stored == second.get_task_instance("summarize").xcom_pull()
