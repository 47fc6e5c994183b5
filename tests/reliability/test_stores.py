"""Round 3: what the provider reads back from a store is untrusted (docs/reliability.md).

Real writes through ``ObjectStoragePath`` on ``file://``: checkpoints of a writer, day
partitions and their manifests, the address cache, account files. Each case corrupts what
a store holds the way a bug, a crash or a hostile writer could, and checks that the
provider uses nothing it cannot verify, and never reads or writes outside the folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.storage import snapshots
from airflow_provider_loopring.storage.accounts import AccountCache
from airflow_provider_loopring.storage.changes import compare_days
from airflow_provider_loopring.storage.confined import UntrustedError
from airflow_provider_loopring.storage.objects import FilePart, ObjectStorageWriter
from airflow_provider_loopring.storage.schemas import RowReader

TASK, FINGERPRINT = "ti-test", '["balances"]'
ACCOUNTS = ("account_id:1", "account_id:2")


def _writer(target: Path) -> ObjectStorageWriter:
    return ObjectStorageWriter(f"file://{target}", conn_id=None, output_format="jsonl")


def checkpoint(target: Path, accounts: tuple[str, ...] = ACCOUNTS) -> Path:
    """One checkpoint of ``accounts`` (one record each) for ``target``; its folder."""
    with _writer(target) as writer:
        checkpoints = writer.checkpoints(TASK, FINGERPRINT, 3600)
        for number, account in enumerate(accounts, 1):
            part = writer.new_part()
            part.write({"accountId": number, "nftData": f"0x{number:064x}"})
            part.close()
            checkpoints.add(account, part)
        checkpoints.save()  # one checkpoint of them all
        return Path(checkpoints.folder)


def resume(target: Path, wanted: set[str] | None = None) -> dict[str, str]:
    """What a retry takes back: account -> the records of its part."""
    with _writer(target) as writer:
        done = writer.checkpoints(TASK, FINGERPRINT, 0).resume(wanted)
        return {
            account: Path(part.path).read_text() if isinstance(part, FilePart) else "skipped"
            for account, part in done.items()
        }


def edit_manifest(folder: Path, change: Any) -> None:
    path = folder / "checkpoint-000001.json"
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def _drop(key: str) -> Any:
    return lambda manifest: {k: v for k, v in manifest.items() if k != key}


def _set(key: str, value: Any) -> Any:
    return lambda manifest: {**manifest, key: value}


def _first_account(key: str, value: Any) -> Any:
    def change(manifest: dict[str, Any]) -> dict[str, Any]:
        manifest["accounts"][0][key] = value
        return manifest

    return change


CORRUPT_CHECKPOINTS = {
    "manifest-null": lambda manifest: None,
    "manifest-a-list": lambda manifest: [manifest],
    "no-bytes": _drop("bytes"),
    "no-sha256": _drop("sha256"),
    "bytes-text": _set("bytes", "34"),
    "offset-text": _first_account("offset", "0"),
    "offset-negative": _first_account("offset", -1),
    "length-past-the-chunk": _first_account("length", 10**6),
    "accounts-not-a-list": _set("accounts", {"account_id:1": 0}),
    "chunk-outside-its-folder": _set("chunk", "../../outside.part"),
    "chunk-an-absolute-path": _set("chunk", "/dev/zero"),
    "chunk-gone": _set("chunk", "chunk-000009.part"),
}


@pytest.mark.parametrize("case", CORRUPT_CHECKPOINTS, ids=list(CORRUPT_CHECKPOINTS))
def test_a_checkpoint_that_cannot_be_verified_is_fetched_again(tmp_path, caplog, case):
    target = tmp_path / "out" / "balances.jsonl"
    folder = checkpoint(target)
    assert set(resume(target)) == set(ACCOUNTS)  # untouched, it is taken back
    # A file outside the folder that the manifest's size and digest would match.
    chunk = (folder / "chunk-000001.part").read_bytes()
    (folder.parents[1] / "outside.part").write_bytes(chunk)
    edit_manifest(folder, CORRUPT_CHECKPOINTS[case])
    with caplog.at_level(logging.WARNING, "airflow_provider_loopring.storage.staging"):
        assert resume(target) == {}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "fetched again" in warnings[0].getMessage()


def test_a_chunk_that_does_not_match_is_read_no_further_than_its_size(tmp_path, caplog):
    target = tmp_path / "out" / "balances.jsonl"
    folder = checkpoint(target)
    chunk = folder / "chunk-000001.part"
    chunk.write_bytes(chunk.read_bytes() + b"x" * (8 << 20))  # longer than its manifest says
    with caplog.at_level(logging.WARNING):
        assert resume(target) == {}
    assert "longer than its manifest" in caplog.text


def test_accounts_of_another_task_are_not_taken_over_nor_counted(tmp_path, caplog):
    target = tmp_path / "out" / "balances.jsonl"
    checkpoint(target, ("account_id:1", "account_id:999999"))
    with caplog.at_level(logging.WARNING):
        done = resume(target, wanted={"account_id:1", "account_id:2"})
    assert list(done) == ["account_id:1"]
    assert "1 accounts this task does not fetch" in caplog.text


def test_a_link_in_place_of_a_chunk_is_replaced_not_written_through(tmp_path):
    target = tmp_path / "out" / "balances.jsonl"
    config = tmp_path / "airflow.cfg"
    config.write_text("[core]\n")
    staging = tmp_path / "out" / ".balances.jsonl.staging" / TASK
    staging.mkdir(parents=True)
    (staging / "chunk-000001.part").symlink_to(config)
    (staging / "checkpoint-000002.json").symlink_to(tmp_path)  # a link to a folder
    folder = checkpoint(target)
    assert config.read_text() == "[core]\n"
    assert not (folder / "chunk-000001.part").is_symlink()
    assert set(resume(target)) == set(ACCOUNTS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["airflow.cfg", "out"]


def test_a_staging_folder_that_is_a_link_is_not_written_through(tmp_path):
    target = tmp_path / "out" / "balances.jsonl"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".balances.jsonl.staging").symlink_to(elsewhere)
    assert resume(target) == {}  # nothing is read through it either
    checkpoint(target)
    assert list(elsewhere.iterdir()) == []
    assert set(resume(target)) == set(ACCOUNTS)
    with _writer(target) as writer:
        writer.commit([], fetched_at="now")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["balances.jsonl"]
    assert list(elsewhere.iterdir()) == []


# --- day partitions ----------------------------------------------------------------------

DAY_1, DAY_2 = "2026-03-01", "2026-03-02"


def _balance(account: int, nft: int, total: str = "1", status: str = "DEPLOYED") -> dict:
    return {
        "accountId": account,
        "nftData": f"0x{nft:064x}",
        "total": total,
        "deploymentStatus": status,
    }


def write_day(root: Path, day: str, records: list[dict[str, Any]]) -> Path:
    folder = snapshots.partition(f"file://{root}", "balances", day)
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    item = snapshots.write_file(
        f"{folder}/part-0000.jsonl", data, records=len(records), conn_id=None
    )
    snapshots.commit_partition(folder, [item], conn_id=None, kind="balances", day=day)
    return Path(folder.removeprefix("file://"))


class Changes(list):
    def write(self, record: dict[str, Any]) -> None:
        self.append(record)


def test_a_day_manifest_naming_a_file_outside_its_partition_is_refused(tmp_path):
    root = tmp_path / "snapshots"
    folder = write_day(root, DAY_1, [_balance(1, 1)])
    write_day(root, DAY_2, [_balance(1, 1)])
    outside = json.dumps(_balance(999999, 9)).encode() + b"\n"
    (tmp_path / "x").write_bytes(outside)
    manifest = json.loads((folder / "_manifest.json").read_text())
    manifest["files"][0].update(
        name="../../../x", bytes=len(outside), sha256=hashlib.sha256(outside).hexdigest()
    )
    (folder / "_manifest.json").write_text(json.dumps(manifest))
    sink = Changes()
    with pytest.raises(UntrustedError, match="not a plain name"):
        compare_days(f"file://{root}", DAY_2, conn_id=None, sink=sink)
    assert sink == []


def test_a_previous_day_that_no_longer_matches_its_manifest_is_refused(tmp_path):
    root = tmp_path / "snapshots"
    folder = write_day(root, DAY_1, [_balance(1, n) for n in range(20)])
    write_day(root, DAY_2, [_balance(1, n) for n in range(20)])
    part = folder / "part-0000.jsonl"
    part.write_bytes(part.read_bytes().replace(b'"total": "1"', b'"total": "0"'))
    sink = Changes()
    with pytest.raises(UntrustedError, match="does not match its manifest's SHA-256"):
        compare_days(f"file://{root}", DAY_2, conn_id=None, sink=sink)
    assert sink == []


def test_values_holding_tabs_and_newlines_cannot_forge_a_change(tmp_path):
    root = tmp_path / "snapshots"
    forged = "DEPLOYED\n1\t424242\t0x" + "ab" * 32 + "\t1\t"
    write_day(root, DAY_1, [_balance(1, 1)])
    write_day(root, DAY_2, [_balance(1, 1, status=forged)])
    sink = Changes()
    counts = compare_days(f"file://{root}", DAY_2, conn_id=None, sink=sink)
    assert [(c["accountId"], c["change"]) for c in sink] == [(1, "status")]
    assert sink[0]["deploymentStatusAfter"] == forged
    assert counts["added"] == 0


# --- the address cache -------------------------------------------------------------------

A, B = "0x" + "ab" * 20, "0x" + "cd" * 20


@pytest.mark.parametrize(
    ("objects", "known"),
    [
        ({"w.json": [A, 5]}, {}),
        ({"w.json": {A: -5, B: 7}}, {B: 7}),
        ({"w.json": {A: 2**40, B: True}}, {}),
        ({"w.json": {A: 5, A.upper().replace("0X", "0x"): 6, B: 7}}, {B: 7}),
        ({"w.json": {A: 5}, "v.json": {A: 6}}, {}),
        ({"w.json": {"0x12": 5, "eleven": 6, B: "7"}}, {}),
    ],
    ids=[
        "a-json-array",
        "a-negative-id",
        "ids-out-of-range",
        "two-spellings-two-ids",
        "two-writers-two-ids",
        "not-addresses",
    ],
)
def test_the_address_cache_uses_only_well_formed_entries(tmp_path, objects, known):
    for name, entries in objects.items():
        (tmp_path / name).write_text(json.dumps(entries))
    cache = AccountCache(f"file://{tmp_path}", conn_id=None, writer="w").load()
    assert {address: cache.get(address) for address in (A, B)} == {
        A: known.get(A),
        B: known.get(B),
    }


# --- account files -----------------------------------------------------------------------


def test_an_accounts_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "accounts.txt"
    path.write_bytes(b"\xef\xbb\xbf11329\n" + A.encode() + b"\n")
    assert snapshots.read_accounts(f"file://{path}") == [11329, A]


def test_an_accounts_file_that_is_not_utf8_names_its_line(tmp_path):
    path = tmp_path / "accounts.txt"
    path.write_bytes(b"11329\n# ok\n\xff12\n")
    with pytest.raises(LoopringInvalidParameterError) as caught:
        snapshots.read_accounts(f"file://{path}")
    assert caught.value.parameter == "accounts_path line 3"
    assert "not UTF-8" in str(caught.value)


# --- Parquet -----------------------------------------------------------------------------

NUMBERS = {
    "total-10**40": ("total", 10**40),
    "total-negative": ("total", -5),
    "updated-at-10**20": ("updatedAt", 10**20),
    "token-id-2**70": ("tokenId", 2**70),
}


@pytest.mark.parametrize("case", NUMBERS, ids=list(NUMBERS))
def test_parquet_checks_numbers_as_it_checks_text(case):
    field, value = NUMBERS[case]
    reader = RowReader("balances", DAY_1)
    with pytest.raises(ValueError, match=rf"^balances\.{field}: expected"):
        reader.row({**_balance(1, 1), field: value})


def test_parquet_takes_amounts_as_numbers_within_bounds():
    row = RowReader("balances", DAY_1).row({**_balance(1, 1), "total": 10**20})
    assert Decimal(10**20) in row


def test_a_day_folder_that_is_a_link_is_not_written_through(tmp_path):
    root, elsewhere = tmp_path / "snapshots", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "balances").mkdir(parents=True)
    (root / "balances" / f"dt={DAY_1}").symlink_to(elsewhere)
    snapshots.start_day(f"file://{root}", DAY_1, ("balances",), conn_id=None)
    write_day(root, DAY_1, [_balance(1, 1)])
    assert list(elsewhere.iterdir()) == []
    assert (root / "balances" / f"dt={DAY_1}" / "_manifest.json").is_file()


def test_a_link_in_place_of_the_target_is_replaced_not_written_through(tmp_path):
    config = tmp_path / "airflow.cfg"
    config.write_text("[core]\n")
    target = tmp_path / "out" / "balances.jsonl"
    target.parent.mkdir()
    target.symlink_to(config)
    with _writer(target) as writer:
        part = writer.new_part()
        part.write(_balance(1, 1))
        part.close()
        writer.commit([part], fetched_at="now")
    assert config.read_text() == "[core]\n"
    assert not target.is_symlink() and json.loads(target.read_text())["accountId"] == 1
