"""A watch list of any length (issue 26): read a line at a time, held at 8 bytes an id, the
carried ids kept in a file for the carry task rather than in XCom."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
from array import array
from pathlib import Path

import pytest

from airflow_provider_loopring._core.nights import AccountIds, sorted_unique
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.operators.arguments import check_accounts
from airflow_provider_loopring.operators.watch_list import WatchList
from airflow_provider_loopring.storage import carry, snapshots
from airflow_provider_loopring.storage.confined import UntrustedError

A = "0x" + "ab" * 20
B = "0x" + "cd" * 20


def test_a_watch_list_is_what_check_accounts_makes_of_the_same_values() -> None:
    values = [7, "12", A, 7, A.upper().replace("0X", "0x"), 3, B, "12", 5]
    watched = WatchList(values)
    assert list(watched) == check_accounts(None, None, values)
    assert list(watched) == [
        ("account_id", 7),
        ("account_id", 12),
        ("address", A),
        ("account_id", 3),
        ("address", B),
        ("account_id", 5),
    ]
    assert len(watched) == 6
    assert watched[2] == ("address", A) and watched[-1] == ("account_id", 5)
    assert watched[1:3] == [("account_id", 12), ("address", A)]
    assert list(watched.ids) == [3, 5, 7, 12]


@pytest.mark.parametrize(
    ("values", "shown"),
    [([], "at least one account"), ([1, "0x12"], "0x12"), ([1, -4], "-4"), ([True], "True")],
)
def test_a_watch_list_names_its_parameter_for_a_bad_account(values: list, shown: str) -> None:
    with pytest.raises(LoopringInvalidParameterError, match="accounts") as raised:
        WatchList(values)
    assert shown in str(raised.value)


def test_sorted_unique_is_sorted_set_across_chunks() -> None:
    rng = random.Random(3)
    values = array("q", (rng.randrange(50_000) for _ in range(30_000)))  # > 3 chunks, repeats
    assert list(sorted_unique(values)) == sorted(set(values))
    assert list(AccountIds(values)) == sorted(set(values))
    assert list(sorted_unique(array("q"))) == []


def test_a_watch_list_holds_few_bytes_a_wallet() -> None:
    ids = range(10_000_000, 10_200_000)  # 200,000 wallets, given as text lines would be
    tracemalloc.start()
    try:
        watched = WatchList(str(account) for account in reversed(ids))
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(watched) == len(ids) and watched[0] == ("account_id", ids[-1])
    # The order and the sorted ids, 8 bytes each: a list of pairs would be ~100 bytes a wallet.
    assert held / len(ids) < 20
    assert peak / len(ids) < 40


def test_a_watch_list_read_from_a_file_holds_few_bytes_a_wallet(tmp_path: Path) -> None:
    path = tmp_path / "accounts.txt"
    path.write_text("".join(f"{account}\n" for account in range(10_000_000, 10_200_000)))
    tracemalloc.start()
    try:
        watched = WatchList(snapshots.iter_accounts(f"file://{path}"))
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(watched) == 200_000
    # The file's bytes and text while it is read (~9 bytes a line each), then 17 a wallet.
    assert held / len(watched) < 20
    assert peak / len(watched) < 45


def test_an_accounts_file_is_read_a_line_at_a_time_each_line_named(tmp_path: Path) -> None:
    path = tmp_path / "accounts.txt"
    path.write_bytes(b"# watched\r\n11329\r\n\r\n" + A.encode() + b"\n 12 \rnope\n")
    read = snapshots.iter_accounts(f"file://{path}")
    assert next(read) == 11329 and next(read) == A and next(read) == 12
    with pytest.raises(LoopringInvalidParameterError, match="accounts_path line 6"):
        next(read)


def test_the_carried_ids_are_kept_in_a_file_checked_when_read(tmp_path: Path) -> None:
    root = f"file://{tmp_path}"
    ids = array("q", [9, 4, 4_000_000_000, 1])
    old = tmp_path / "_carry" / "dt=2026-05-01"
    old.mkdir(parents=True)
    entry = carry.write_carry(root, "2026-05-02", ids, conn_id=None)
    assert entry["records"] == 4 and entry["bytes"] == 32
    assert not old.exists()  # an earlier night's carry is done
    assert list(carry.read_carry(root, "2026-05-02", entry, conn_id=None)) == [1, 4, 9, 4 * 10**9]

    stored = tmp_path / "_carry" / "dt=2026-05-02" / "carry.ids"
    stored.write_bytes(stored.read_bytes()[:-8] + array("q", [5]).tobytes())
    with pytest.raises(UntrustedError, match=r"carry\.ids"):
        carry.read_carry(root, "2026-05-02", entry, conn_id=None)
    data = stored.read_bytes()[:-3]
    stored.write_bytes(data)  # a whole file, but not of whole ids: refused too
    forged = {**entry, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    with pytest.raises(UntrustedError, match="whole account ids"):
        carry.read_carry(root, "2026-05-02", forged, conn_id=None)
    with pytest.raises(UntrustedError):
        carry.read_carry(root, "2026-05-02", ["not", "an", "entry"], conn_id=None)


def test_a_link_in_place_of_the_carry_folder_is_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "root" / "_carry").mkdir(parents=True)
    (tmp_path / "root" / "_carry" / "dt=2026-05-02").symlink_to(outside)
    carry.write_carry(f"file://{tmp_path}/root", "2026-05-02", array("q", [1]), conn_id=None)
    assert list(outside.iterdir()) == []


def test_a_carry_file_a_later_night_removed_says_what_to_run_again(tmp_path: Path) -> None:
    root = f"file://{tmp_path}"
    entry = carry.write_carry(root, "2026-05-01", array("q", [1]), conn_id=None)
    carry.write_carry(root, "2026-05-02", array("q", [2]), conn_id=None)
    with pytest.raises(UntrustedError, match=r"run this night's planning task \(batches\)"):
        carry.read_carry(root, "2026-05-01", entry, conn_id=None)
