"""The holdings comparison the snapshot changes and the holdings watcher share: pure."""

from __future__ import annotations

from airflow_provider_loopring._core.holdings import Holding, compare, holdings


def test_each_kind_of_change_once_in_a_stable_order():
    before = {"0xa": Holding("1", "DEPLOYED"), "0xb": Holding("2"), "0xc": Holding("5", "X")}
    after = {"0xd": Holding("1"), "0xb": Holding("3"), "0xc": Holding("5", "DEPLOYED")}
    assert [(c.nft_data, c.change) for c in compare(before, after)] == [
        ("0xd", "added"),
        ("0xb", "amount"),
        ("0xc", "status"),
        ("0xa", "removed"),
    ]
    assert compare(after, after) == []
    removed = compare(before, after)[-1].to_dict()
    assert removed == {
        "nftData": "0xa",
        "change": "removed",
        "totalBefore": "1",
        "totalAfter": None,
        "deploymentStatusBefore": "DEPLOYED",
        "deploymentStatusAfter": None,
    }


def test_zero_balances_are_not_held_and_nft_data_case_does_not_matter():
    records = [
        {"nftData": "0xAB", "total": "10", "deploymentStatus": "DEPLOYED"},
        {"nftData": "0xcd", "total": "0"},
    ]
    assert holdings(records) == {"0xab": Holding("10", "DEPLOYED")}
