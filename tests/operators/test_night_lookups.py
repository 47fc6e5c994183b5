"""An incremental night looks up no address a block gave with its account's id.

``plan_night`` reads the blocks since the last day's cursor against the sandbox; the truth is
the sandbox's ledger: every transaction it makes names its accounts by id (a withdrawal's
``toAddress`` is where the NFT goes on layer 1, no layer-2 account), so nothing is looked up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.operators.nights import plan_night
from airflow_provider_loopring.storage import nights, snapshots
from airflow_provider_loopring.testing.sandbox import txs

pytestmark = pytest.mark.loopring_sandbox(
    accounts=60, nfts_per_account=3, collections_per_account=1
)
ACCOUNT = "/api/v3/account"


def write_last_day(root: str, day: str, as_of_block: int) -> None:
    """A complete day that watched no one: nothing carried, every watched wallet fetched."""
    for kind in ("balances", "collections"):
        snapshots.commit_partition(snapshots.partition(root, kind, day), [], conn_id=None)
    nights.write_watched(root, day, [], conn_id=None)
    folder = snapshots.partition(root, "summary", day)
    summary = {"as_of_block": as_of_block, "last_full_day": day, "format": "jsonl"}
    written = snapshots.write_file(
        f"{folder}/summary.json", json.dumps(summary).encode(), records=1, conn_id=None
    )
    snapshots.commit_partition(folder, [written], conn_id=None)


def test_withdrawals_cost_no_address_lookup(sandbox: Any, tmp_path: Path) -> None:
    root = f"file://{tmp_path}"
    cursor = sandbox.head
    write_last_day(root, "2026-06-01", cursor)
    ids = [account["accountId"] for account in sandbox.accounts]
    for seed, account in ((1, ids[0]), (2, ids[1])):  # two days, a withdrawal in each at least
        sandbox.withdraw(account, sandbox.balances(account, non_zero=True)[0]["nftData"])
        sandbox.simulate_day(change_rate=0.5, seed=seed)
    block_txs = [
        entry.tx
        for block_id in range(cursor + 1, sandbox.head + 1)
        for entry in sandbox._dataset.block(block_id).entries
    ]
    withdrawals = [tx for tx in block_txs if tx["txType"] == "Withdraw"]
    assert len({tx["toAddress"] for tx in withdrawals}) >= 2  # what used to be looked up
    sandbox.clear_requests()
    night = plan_night(
        LoopringHook(),
        root=root,
        day="2026-06-02",
        accounts=[("account_id", account) for account in ids],
        mode="incremental",
        full_every=7,
        verify_sample=0.01,
        output_format="jsonl",
        cache=None,
        conn_id=None,
    )
    assert (night.mode, night.why_full, night.last_day) == ("incremental", None, "2026-06-01")
    assert night.blocks_read == sandbox.head - cursor
    assert night.address_lookups == 0
    assert [r for r in sandbox.requests if r.path == ACCOUNT] == []
    named = {account for tx in block_txs for account in txs.named(tx)}
    assert set(night.fetch) == set(ids) and named & set(ids)  # nothing carried: all fetched
