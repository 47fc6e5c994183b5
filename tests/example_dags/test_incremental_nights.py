"""Incremental nights of the example snapshot: fetch what the blocks name, carry the rest.

Each night runs the real DAG (``dag.test()``) against the sandbox; its ledger is the truth:
an incremental night's holdings must be exactly those of a full scan of the same state.
"""

from __future__ import annotations

import hashlib
import io
import json
from array import array
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.operators.nights import plan_night
from airflow_provider_loopring.operators.watch_list import WatchList
from airflow_provider_loopring.storage import carry
from tests.example_dags.snapshot_day import read_partition

DAYS = ("2026-03-01", "2026-03-02", "2026-03-03")
BLOCK = "/api/v3/block/getBlock"
pytestmark = pytest.mark.loopring_sandbox(accounts=7, nfts_per_account=6, collections_per_account=2)


def night(dag: Any, day: str, conf: dict[str, Any]) -> dict[str, Any]:
    """One night; its summary."""
    when = pendulum.parse(f"{day}T05:00:00+00:00")
    run = dag.test(run_conf=conf, logical_date=when, run_after=when)
    assert run.state == "success"
    summary: dict[str, Any] = run.get_task_instance("summarize").xcom_pull()
    return summary


def holdings(records: list[dict[str, Any]]) -> dict[tuple[int, str], str]:
    return {(r["accountId"], r["nftData"].lower()): str(r["total"]) for r in records}


def truth(sandbox: Any, ids: list[int]) -> dict[tuple[int, str], str]:
    return holdings([b for a in ids for b in sandbox.balances(a, non_zero=True)])


def unstamped(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    key = lambda r: (r["accountId"], r.get("nftData") or r["collection"]["id"])  # noqa: E731
    return sorted(({k: v for k, v in r.items() if k != "fetchedAt"} for r in records), key=key)


@pytest.mark.newest_only  # our logic, not Airflow's: ~75 s a run on 3.1
def test_an_incremental_night_equals_a_full_scan_and_costs_what_changed(
    snapshot_dag: Any, sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(carry, "CARRY_FILE_ROWS", 4)  # carried records: several files
    a, b, c, d, e, f, g = (account["accountId"] for account in sandbox.accounts)
    root, full_root = tmp_path / "nights", tmp_path / "full"
    d_owner = sandbox.accounts[3]["owner"]  # watched by address: resolved once, then carried
    conf = {"accounts": [a, b, c, d_owner, e, f], "output_root": f"file://{root}"}
    first = night(snapshot_dag, DAYS[0], conf)
    assert (first["mode"], first["why_full"]) == ("full", "no earlier complete day to carry from")
    assert first["as_of_block"] == sandbox.head
    _, day1 = read_partition(root, "balances", DAYS[0])
    assert all(isinstance(r["fetchedAt"], int) for r in day1)

    moved = sandbox.balances(a, non_zero=True)[0]["nftData"]
    sold = sandbox.balances(c, non_zero=True)[0]["nftData"]
    sandbox.transfer(a, b, moved, "1")
    sandbox.trade(c, g, sold, "1")  # g is watched from day 2 on: added, so fetched anyway
    sandbox.seal_block()
    sandbox.clear_requests()
    conf["accounts"] = [a, b, c, d_owner, e, g]  # f removed, g added
    second = night(snapshot_dag, DAYS[1], conf)
    requests = sandbox.requests
    watched = [a, b, c, d, e, g]

    assert (second["mode"], second["why_full"], second["last_day"]) == (
        "incremental",
        None,
        DAYS[0],
    )
    assert second["as_of_block"] == sandbox.head
    assert second["blocks_read"] == sandbox.head - first["as_of_block"] == 1
    assert (second["fetched_accounts"], second["carried_accounts"]) == (4, 2)  # a b c g | d e
    assert (second["verified_accounts"], second["differed"]) == (1, [])  # 0.01 of 2: at least 1
    assert second["accounts"] == 6
    # The carried ids went to the carry task in a file (not XCom), 8 bytes each.
    kept = array("q", (root / "_carry" / f"dt={DAYS[1]}" / "carry.ids").read_bytes())
    assert sorted(kept) == sorted([d, e])
    # The head (also the one new block), each fetched wallet's balances and collections
    # (one page each), and the sampled wallet's balances: nothing else.
    assert len(requests) == 1 + 2 * 4 + 1
    assert sum(r.path == BLOCK for r in requests) == 1
    _, day2 = read_partition(root, "balances", DAYS[1])
    assert holdings(day2) == truth(sandbox, watched)
    assert {r["accountId"] for r in day2} == set(watched)
    carried = [r for r in day2 if r["accountId"] in (d, e)]
    names = [item["name"] for item in read_partition(root, "balances", DAYS[1])[0]["files"]]
    carry_files = [name for name in names if name.startswith("part-carry-")]
    assert carry_files == [f"part-carry-{n:04d}.jsonl" for n in range(len(carry_files))]
    assert len(carry_files) == -(-len(carried) // 4)  # 4 records a file, the last may hold less
    assert unstamped(carried) == unstamped([r for r in day1 if r["accountId"] in (d, e)])
    assert {r["fetchedAt"] for r in carried} <= {r["fetchedAt"] for r in day1}

    before, after = holdings(day1), truth(sandbox, watched)
    expected = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert {(r["accountId"], r["nftData"]) for r in _changes(root, DAYS[1])} == expected
    assert {account for account, _ in expected} == {a, b, c, f, g}  # f: removed, g: added

    full = night(snapshot_dag, DAYS[1], {**conf, "output_root": f"file://{full_root}"})
    assert full["mode"] == "full"
    for kind in ("balances", "collections"):
        _, incremental = read_partition(root, kind, DAYS[1])
        _, scanned = read_partition(full_root, kind, DAYS[1])
        assert unstamped(incremental) == unstamped(scanned), kind

    third = night(snapshot_dag, DAYS[2], {**conf, "full_every": 2})
    assert third["mode"] == "full"
    assert third["why_full"] == f"the last full scan ({DAYS[0]}) is 2 days old (full_every 2)"


def _changes(root: Path, day: str) -> list[dict[str, Any]]:
    return read_partition(root, "changes", day)[1]


@pytest.mark.newest_only  # our logic, not Airflow's: ~75 s a run on 3.1
def test_a_change_no_block_names_is_caught_by_the_sample_and_the_night_goes_full(
    snapshot_dag: Any, sandbox: Any, tmp_path: Path
) -> None:
    ids = [account["accountId"] for account in sandbox.accounts]
    root = tmp_path / "nights"
    conf = {"accounts": ids, "output_root": f"file://{root}", "verify_sample": 1.0}
    night(snapshot_dag, DAYS[0], conf)
    sandbox.set_quirks(["blocks_hide_receivers"])
    sender, receiver = ids[0], ids[5]
    sandbox.transfer(sender, receiver, sandbox.balances(sender, non_zero=True)[0]["nftData"])
    sandbox.seal_block()
    second = night(snapshot_dag, DAYS[1], conf)
    assert second["mode"] == "full"
    assert [item["accountId"] for item in second["differed"]] == [receiver]
    assert "held now, not recorded" in second["differed"][0]["why"]
    assert second["why_full"] == f"1 of {len(ids) - 1} sampled wallets differed ({receiver})"
    assert second["verified_accounts"] == len(ids) - 1  # every carried wallet: 1.0
    assert holdings(read_partition(root, "balances", DAYS[1])[1]) == truth(sandbox, ids)

    # A day read back that does not match its manifest is not carried from. (Its collections:
    # the changes read its balances, and refuse a damaged day on their own.)
    part = root / "collections" / f"dt={DAYS[1]}" / "part-0000.jsonl"
    part.write_bytes(part.read_bytes().replace(b'"count":', b'"count":9', 1))
    third = night(snapshot_dag, DAYS[2], conf)
    assert third["mode"] == "full"
    assert third["why_full"].startswith("the last complete day cannot be trusted: ")
    assert (
        "collections/dt=2026-03-02/part-0000.jsonl is longer than its manifest"
        in (third["why_full"])
    )
    assert holdings(read_partition(root, "balances", DAYS[2])[1]) == truth(sandbox, ids)

    # Its balances are read once, by the sample's check: damaged, the next night goes full.
    part = root / "balances" / f"dt={DAYS[2]}" / "part-0000.jsonl"
    part.write_bytes(part.read_bytes().replace(b'"total":"', b'"total":"9', 1))
    fourth = plan_night(
        LoopringHook(), root=f"file://{root}", day="2026-03-04", accounts=WatchList(ids),
        mode="incremental", full_every=7, verify_sample=0.5, output_format="jsonl", cache=None,
        conn_id=None,
    )  # fmt: skip
    assert fourth.mode == "full"
    assert fourth.why_full is not None
    assert fourth.why_full.startswith("the last complete day cannot be trusted: part-0000.jsonl")
    assert "balances/dt=2026-03-03/_manifest.json is longer than its manifest's" in fourth.why_full


def test_parquet_nights_carry_from_a_version_1_day(
    snapshot_dag: Any, sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    monkeypatch.setattr(carry, "CARRY_FILE_ROWS", 1)  # a new file after each batch

    ids = [account["accountId"] for account in sandbox.accounts]
    root = tmp_path / "lake"
    conf = {"accounts": ids, "output_root": f"file://{root}", "output_format": "parquet"}
    night(snapshot_dag, DAYS[0], conf)
    for kind in ("balances", "collections"):
        _as_version_1(root / kind / f"dt={DAYS[0]}")
    sandbox.transfer(ids[0], ids[1], sandbox.balances(ids[0], non_zero=True)[0]["nftData"])
    sandbox.seal_block()
    second = night(snapshot_dag, DAYS[1], conf)
    assert (second["mode"], second["fetched_accounts"]) == ("incremental", 2)
    folder = root / "balances" / f"dt={DAYS[1]}"
    for path in folder.glob("*.parquet"):
        meta = json.loads(pq.read_schema(path).metadata[b"loopring.schema"])
        assert meta == {"kind": "balances", "version": 2}
    _, rows = read_partition(root, "balances", DAYS[1])
    assert holdings(rows) == truth(sandbox, ids)
    assert {str(r["snapshot_date"]) for r in rows} == {DAYS[1]}
    fetched = {r["accountId"] for r in rows if r["fetchedAt"] is not None}
    assert fetched == {ids[0], ids[1]}  # the carried rows of a version-1 day: not known
    assert {r["accountId"] for r in _changes(root, DAYS[1])} == {ids[0], ids[1]}

    sandbox.clear_requests()  # a quiet day: no block, so no wallet to fetch, no task mapped
    third = night(snapshot_dag, DAYS[2], conf)
    assert (third["mode"], third["blocks_read"], third["fetched_accounts"]) == ("incremental", 0, 0)
    assert len(sandbox.requests) == 1 + 1  # the head, and the one sampled wallet
    assert holdings(read_partition(root, "balances", DAYS[2])[1]) == truth(sandbox, ids)
    assert _changes(root, DAYS[2]) == []
    names = [item["name"] for item in read_partition(root, "balances", DAYS[2])[0]["files"]]
    assert len(names) > 1  # each batch of day 2's files in a carry file of its own
    assert names == [f"part-carry-{n:04d}.parquet" for n in range(len(names))]


def _as_version_1(folder: Path) -> None:
    """Rewrite a partition's Parquet files as schema version 1 wrote them: no fetchedAt."""
    import pyarrow.parquet as pq

    manifest = json.loads((folder / "_manifest.json").read_text())
    for item in manifest["files"]:
        path = folder / item["name"]
        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[b"loopring.schema"])
        table = table.drop_columns(["fetchedAt"]).replace_schema_metadata(
            {"loopring.schema": json.dumps({**meta, "version": 1})}
        )
        out = io.BytesIO()
        pq.write_table(table, out)
        path.write_bytes(out.getvalue())
        data = out.getvalue()
        item["bytes"], item["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    manifest["bytes"] = sum(item["bytes"] for item in manifest["files"])
    (folder / "_manifest.json").write_text(json.dumps(manifest))


def test_bad_night_params_are_refused_before_any_request(sandbox: Any, tmp_path: Path) -> None:
    from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
    from airflow_provider_loopring.hooks.loopring import LoopringHook
    from airflow_provider_loopring.operators.nights import plan_night

    good = {"mode": "incremental", "full_every": 7, "verify_sample": 0.01}
    for name, value in (("mode", "weekly"), ("full_every", 0), ("verify_sample", 0)):
        with pytest.raises(LoopringInvalidParameterError, match=f"Invalid {name}: "):
            plan_night(
                LoopringHook(),
                root=f"file://{tmp_path}",
                day=DAYS[0],
                accounts=[("account_id", sandbox.accounts[0]["accountId"])],
                output_format="jsonl",
                cache=None,
                conn_id=None,
                **{**good, name: value},
            )
    assert sandbox.requests == []
