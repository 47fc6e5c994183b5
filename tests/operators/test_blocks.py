"""LoopringBlocksOperator against the sandbox's ledger: the records are its blocks' NFT moves.

The sandbox makes real blocks (mint, transfer, trade, withdraw, deposit, and transactions that
move no NFT); each test reads them through the operator and compares the dataset with the
ledger's blocks, read here straight from the ledger, never through the API.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_loopring.exceptions import (
    LoopringApiError,
    LoopringBlockError,
    LoopringInvalidParameterError,
)
from airflow_provider_loopring.links.loopring import LoopringBlockLink
from airflow_provider_loopring.operators.blocks import LoopringBlocksOperator
from airflow_provider_loopring.storage import activity as store
from airflow_provider_loopring.testing import Fault
from airflow_provider_loopring.testing.sandbox import txs
from tests.conftest import connection_json

pytestmark = pytest.mark.loopring_sandbox(accounts=6, nfts_per_account=4, collections_per_account=1)
BLOCK = "/api/v3/block/getBlock"
IMPORTS = "from airflow_provider_loopring.operators.blocks import LoopringBlocksOperator\n"
NEW_ADDRESS = "0x" + "5a" * 20


def activity(sandbox, seed: int) -> list[int]:
    """Every kind of NFT move, and transactions that move none, in blocks; their ids."""
    first = sandbox.head + 1
    a, b, c = (account["accountId"] for account in sandbox.accounts[:3])
    minted = sandbox.mint(a, "5")["nftToken"]["nftData"]
    sandbox.seal_block()
    sandbox.transfer(a, b, minted, "2")
    sandbox.trade(b, c, minted, "1", "0.02")
    ledger = sandbox._dataset  # the ledger's own mutations the control surface has not
    ledger.token_transfer(c, a, 10**15)  # LRC: names accounts, moves no NFT
    ledger.account_update(b)
    sandbox.seal_block()
    sandbox.withdraw(a, minted, "1")
    sandbox.deposit(c, minted, "1")
    sandbox.transfer(a, NEW_ADDRESS, minted, "1")  # opens an account
    sandbox.seal_block()
    sandbox.seal_block()  # a Noop
    sandbox.simulate_day(change_rate=0.5, seed=seed)
    for _ in range(3):
        sandbox.transfer(c, a, minted, "1")
        sandbox.transfer(a, c, minted, "1")
        sandbox.seal_block()
    return list(range(first, sandbox.head + 1))


def ledger_blocks(sandbox, block_ids):
    """The ledger's own blocks (the truth), not the API's view of them."""
    return [sandbox._dataset.block(block_id) for block_id in block_ids]


def expected_records(sandbox, block_ids):
    """Each NFT move of the ledger's blocks, by the sandbox's own reading of its transactions."""
    found = []
    for block in ledger_blocks(sandbox, block_ids):
        for index, entry in enumerate(block.entries):
            tx = entry.tx
            if not txs.nft_of(tx):
                continue
            kind = tx["txType"]
            sides = _sides(tx)
            minter = tx.get("minterAccountId")
            nft_data = txs.nft_of(tx).lower()
            found.append((block.block_id, index, block.created_at, kind, nft_data, *sides, minter))
    return found


def _sides(tx):
    """(from account, to account, amount) as the sandbox builds each kind (txs.py)."""
    kind = tx["txType"]
    if kind == "NftMint":
        return None, tx["toAccountId"], tx["nftToken"]["amount"]
    if kind == "SpotTrade":  # order A sells the NFT
        return tx["orderA"]["accountID"], tx["orderB"]["accountID"], str(tx["orderA"]["fillS"])
    if kind == "Deposit":
        return None, tx["accountId"], tx["token"]["amount"]
    if kind == "Withdraw":
        return tx["accountId"], None, tx["token"]["amount"]
    assert kind == "Transfer"
    return tx["accountId"], tx["toAccountId"], tx["token"]["amount"]


def as_tuples(records):
    return [
        (
            r["blockId"],
            r["indexInBlock"],
            r["createdAt"],
            r["txType"],
            r["nftData"],
            r["fromAccountId"],
            r["toAccountId"],
            r["amount"],
            r["minterAccountId"],
        )
        for r in records
    ]


def named_accounts(sandbox, block_ids):
    blocks = ledger_blocks(sandbox, block_ids)
    return sorted({a for block in blocks for e in block.entries for a in txs.named(e.tx)})


def read_day(root: Path, day: str):
    folder = root / "nft_activity" / f"dt={day}"
    manifest = json.loads((folder / "_manifest.json").read_text())
    records = []
    for item in manifest["files"]:
        records += [json.loads(line) for line in (folder / item["name"]).read_text().splitlines()]
    return manifest, records


def block_requests(sandbox, since=0):
    return [r.query.get("id", "finalized") for r in sandbox.requests[since:] if r.path == BLOCK]


def operator(root: Path, **kwargs):
    return LoopringBlocksOperator(task_id="blocks", output_root=f"file://{root}", **kwargs)


def test_the_records_are_the_nft_moves_of_the_ledgers_blocks(sandbox, tmp_path):
    block_ids = activity(sandbox, seed=1)
    sandbox.clear_requests()
    result = operator(
        tmp_path, start_block=block_ids[0], day="2026-12-01", blocks_per_range=3
    ).execute({})
    manifest, records = read_day(tmp_path, "2026-12-01")
    assert as_tuples(records) == expected_records(sandbox, block_ids)
    assert {r["txType"] for r in records} == txs.NFT_KINDS
    assert result["account_ids"] == named_accounts(sandbox, block_ids)
    # A withdrawal's layer-1 address is no layer-2 account, and every other transaction gives
    # its accounts' ids: nothing is named by address.
    entries = [e.tx for b in ledger_blocks(sandbox, block_ids) for e in b.entries]
    assert any(tx["txType"] == "Withdraw" for tx in entries) and result["addresses"] == []
    assert (result["first_block"], result["last_block"]) == (block_ids[0], block_ids[-1])
    assert result["blocks_read"] == len(block_ids) and result["records"] == len(records)
    assert (manifest["first_block"], manifest["last_block"]) == (block_ids[0], block_ids[-1])
    assert len(manifest["files"]) == -(-len(block_ids) // 3)
    cursor = json.loads((tmp_path / "nft_activity" / "_cursor.json").read_text())
    assert (cursor["day"], cursor["last_block"]) == ("2026-12-01", block_ids[-1])
    # One request per block; the head is the last block, read once: blocks + 1 - 1.
    assert block_requests(sandbox) == ["finalized", *map(str, block_ids[:-1])]


def test_the_next_run_reads_on_from_the_cursor_each_block_once(sandbox, tmp_path):
    day1 = activity(sandbox, seed=2)
    operator(tmp_path, start_block=day1[0], day="2026-12-01").execute({})
    day2 = activity(sandbox, seed=3)
    # start_block stays in the DAG: once a cursor exists it is not used.
    result = operator(tmp_path, start_block=day1[0], day="2026-12-02").execute({})
    assert (result["first_block"], result["last_block"]) == (day2[0], day2[-1])
    _, records = read_day(tmp_path, "2026-12-02")
    assert as_tuples(records) == expected_records(sandbox, day2)
    read = [r for r in block_requests(sandbox) if r != "finalized"]
    assert read == [str(b) for b in day1[:-1] + day2[:-1]]  # heads were read as the head
    # Nothing new: the head only, and the day stays what it was.
    sandbox.clear_requests()
    again = operator(tmp_path, day="2026-12-02").execute({})
    assert block_requests(sandbox) == ["finalized"]
    assert (again["first_block"], again["last_block"], again["blocks_read"]) == (
        day2[0],
        day2[-1],
        0,
    )
    assert again["resumed_blocks"] == len(day2)
    assert as_tuples(read_day(tmp_path, "2026-12-02")[1]) == expected_records(sandbox, day2)
    # New blocks the same day: added to it, only they are read.
    later = activity(sandbox, seed=14)
    sandbox.clear_requests()
    more = operator(tmp_path, day="2026-12-02").execute({})
    assert block_requests(sandbox) == ["finalized", *map(str, later[:-1])]
    assert (more["first_block"], more["last_block"]) == (day2[0], later[-1])
    assert more["account_ids"] == named_accounts(sandbox, day2 + later)
    records = read_day(tmp_path, "2026-12-02")[1]
    assert as_tuples(records) == expected_records(sandbox, day2 + later)


def test_a_retry_does_not_read_the_ranges_a_failed_try_finished(
    sandbox, run_dag, tmp_path, monkeypatch
):
    explorer = "https://explorer.example.org"
    connection = connection_json(
        sandbox.url, sandbox.api_key, requests_per_second=500, explorer_url=explorer
    )
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", connection)
    block_ids = activity(sandbox, seed=4)
    failing = block_ids[4]  # the first block of the third range of two
    failed = []

    def fail_once(body, query):
        if query.get("id") == str(failing) and not failed:
            failed.append(True)
            return {"resultInfo": {"code": 100001, "message": "injected: fail this try"}}
        return body

    sandbox.add_fault(Fault("transform", path=BLOCK, times=None, transform=fail_once))
    sandbox.clear_requests()
    result = run_dag(
        f"""
        LoopringBlocksOperator(
            task_id="blocks", output_root="file://{tmp_path}", start_block={block_ids[0]},
            day="2026-12-01", blocks_per_range=2, retries=1, retry_delay=0, retry_policy=None,
        )
        """,
        header=IMPORTS,
    )
    assert result.state == "success"
    asked = block_requests(sandbox)
    second = asked.index("finalized", 1)
    assert asked[:second] == ["finalized", *map(str, block_ids[:5])]  # try 1 failed at 5th
    assert asked[second:] == ["finalized", *map(str, block_ids[4:-1])]  # try 2: from there
    _, records = read_day(tmp_path, "2026-12-01")
    assert as_tuples(records) == expected_records(sandbox, block_ids)
    assert result.xcom("blocks")["resumed_blocks"] == 4
    # The task's button: the last block it read, in the connection's explorer.
    link = result.xcom("blocks", key=LoopringBlockLink().xcom_key)
    assert link == f"{explorer}/block/{block_ids[-1]}"
    assert not (tmp_path / "nft_activity" / "dt=2026-12-01" / "_ranges.json").exists()


def _gap(block_id):
    def answer(body, query):
        if query.get("id") == str(block_id):
            body["blockId"] = block_id + 1
        return body

    return Fault("transform", path=BLOCK, times=None, transform=answer)


def _no_token(block_id):
    def answer(body, query):
        if query.get("id") == str(block_id):
            for tx in body["transactions"]:
                if tx["txType"] == "Transfer":
                    tx["token"] = None
        return body

    return Fault("transform", path=BLOCK, times=None, transform=answer)


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        (_gap, LoopringBlockError, "gap"),
        (lambda b: Fault("malformed", path=BLOCK, times=None), LoopringApiError, "blockId"),
        (_no_token, LoopringApiError, "without its 'token'"),
    ],
)
def test_a_gap_or_a_block_that_does_not_parse_fails_and_commits_nothing(
    sandbox, tmp_path, fault, error, message
):
    block_ids = activity(sandbox, seed=5)
    sandbox.add_fault(fault(block_ids[1]))  # the second block: a Transfer
    task = operator(tmp_path, start_block=block_ids[0], day="2026-12-01", blocks_per_range=1)
    with pytest.raises(error, match=message):
        task.execute({})
    assert not (tmp_path / "nft_activity" / "dt=2026-12-01" / "_manifest.json").exists()
    assert not (tmp_path / "nft_activity" / "_cursor.json").exists()


def test_a_cursor_ahead_of_the_head_fails(sandbox, tmp_path):
    block_ids = activity(sandbox, seed=6)
    operator(tmp_path, start_block=block_ids[0], day="2026-12-01").execute({})
    cursor_file = tmp_path / "nft_activity" / "_cursor.json"
    manifest_file = tmp_path / "nft_activity" / "dt=2026-12-01" / "_manifest.json"
    # A consistent pair past the head (a store copied from another chain, say).
    for path in (cursor_file, manifest_file):
        data = json.loads(path.read_text())
        data["last_block"] += 5
        path.write_text(json.dumps(data))
    with pytest.raises(LoopringBlockError, match=r"ahead of the finalized head"):
        operator(tmp_path, day="2026-12-02").execute({})


def test_bad_input_is_refused_before_any_request(sandbox, tmp_path):
    block_ids = activity(sandbox, seed=7)
    sandbox.clear_requests()
    with pytest.raises(LoopringInvalidParameterError, match=r"^Invalid start_block:.*no cursor"):
        operator(tmp_path, day="2026-12-01").execute({})
    with pytest.raises(LoopringInvalidParameterError, match=r"^Invalid end_block:"):
        first = block_ids[0]
        operator(tmp_path, day="2026-12-01", start_block=first, end_block=first - 2).execute({})
    assert sandbox.requests == []
    operator(tmp_path, start_block=block_ids[0], day="2026-12-01").execute({})
    sandbox.clear_requests()
    with pytest.raises(LoopringInvalidParameterError, match=r"^Invalid end_block:"):
        operator(tmp_path, day="2026-12-02", end_block=block_ids[-1] - 1).execute({})
    with pytest.raises(LoopringInvalidParameterError, match=r"^Invalid day:"):
        operator(tmp_path, day="2026-11-30").execute({})
    assert sandbox.requests == []
    with pytest.raises(LoopringInvalidParameterError, match=r"^Invalid end_block:"):
        operator(tmp_path, end_block=-1)
    with pytest.raises(LoopringInvalidParameterError, match=r"^Invalid blocks_per_range:"):
        operator(tmp_path, blocks_per_range=0)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda data: "{not json",
        lambda data: json.dumps({**data, "last_block": data["last_block"] + 2}),
        lambda data: json.dumps({**data, "first_block": data["first_block"] + 1}),
        lambda data: json.dumps({**data, "last_block": "12"}),
        lambda data: json.dumps({**data, "day": "../../etc"}),
    ],
    ids=["not-json", "moved-ahead", "first-moved", "not-a-number", "not-a-day"],
)
def test_a_tampered_cursor_fails_clearly_and_reads_nothing(sandbox, tmp_path, tamper):
    block_ids = activity(sandbox, seed=8)
    operator(tmp_path, start_block=block_ids[0], day="2026-12-01").execute({})
    cursor_file = tmp_path / "nft_activity" / "_cursor.json"
    cursor_file.write_text(tamper(json.loads(cursor_file.read_text())))
    sandbox.clear_requests()
    with pytest.raises(LoopringBlockError, match=r"cursor .* cannot be trusted"):
        operator(tmp_path, day="2026-12-02").execute({})
    assert sandbox.requests == []
    assert not (tmp_path / "nft_activity" / "dt=2026-12-02").exists()


def test_a_run_that_stopped_between_its_manifest_and_its_cursor_counts_as_finished(
    sandbox, tmp_path, monkeypatch
):
    day1 = activity(sandbox, seed=15)
    operator(tmp_path, start_block=day1[0], day="2026-12-01").execute({})
    later = activity(sandbox, seed=16)
    write_cursor = store.write_cursor

    def crash_once(*args, **kwargs):
        monkeypatch.setattr(store, "write_cursor", write_cursor)
        raise OSError("injected: the store went away")

    monkeypatch.setattr(store, "write_cursor", crash_once)
    sandbox.clear_requests()
    with pytest.raises(OSError, match="injected"):
        operator(tmp_path, day="2026-12-01").execute({})
    manifest, _ = read_day(tmp_path, "2026-12-01")
    cursor = json.loads((tmp_path / "nft_activity" / "_cursor.json").read_text())
    assert (manifest["last_block"], cursor["last_block"]) == (later[-1], day1[-1])
    day2 = activity(sandbox, seed=17)
    result = operator(tmp_path, day="2026-12-02").execute({})
    assert (result["first_block"], result["last_block"]) == (day2[0], day2[-1])
    read = [r for r in block_requests(sandbox) if r != "finalized"]
    assert read == [str(b) for b in later[:-1] + day2[:-1]]  # each once; heads as the head
    assert as_tuples(read_day(tmp_path, "2026-12-01")[1]) == expected_records(sandbox, day1 + later)
    assert as_tuples(read_day(tmp_path, "2026-12-02")[1]) == expected_records(sandbox, day2)


def test_a_cursor_whose_day_has_no_manifest_goes_on_only_with_that_day(sandbox, tmp_path):
    day1 = activity(sandbox, seed=18)
    operator(tmp_path, start_block=day1[0], day="2026-12-01", blocks_per_range=2).execute({})
    later = activity(sandbox, seed=19)
    sandbox.add_fault(_gap(later[3]))  # the day's re-run fails once it marked it incomplete
    with pytest.raises(LoopringBlockError, match="gap"):
        operator(tmp_path, day="2026-12-01", blocks_per_range=2).execute({})
    sandbox.clear_faults()
    folder = tmp_path / "nft_activity" / "dt=2026-12-01"
    assert not (folder / "_manifest.json").exists()
    sandbox.clear_requests()
    with pytest.raises(LoopringBlockError, match=r"2026-12-01, the cursor's day, has no"):
        operator(tmp_path, day="2026-12-02").execute({})  # would leave day 1 incomplete
    checkpoint = folder / "_ranges.json"
    saved = checkpoint.read_text()
    moved = json.loads(saved)
    moved["first_block"] += 1  # no checkpoint of the cursor's day
    checkpoint.write_text(json.dumps(moved))
    with pytest.raises(LoopringBlockError, match=r"cannot be trusted: .* does not start there"):
        operator(tmp_path, day="2026-12-01").execute({})
    assert sandbox.requests == []
    cut = json.loads(saved)
    cut["ranges"] = cut["ranges"][:1]  # lists fewer blocks than the cursor: read again
    checkpoint.write_text(json.dumps(cut))
    done = operator(tmp_path, day="2026-12-01", blocks_per_range=2).execute({})
    assert (done["first_block"], done["last_block"]) == (day1[0], later[-1])
    assert as_tuples(read_day(tmp_path, "2026-12-01")[1]) == expected_records(sandbox, day1 + later)
    day2 = activity(sandbox, seed=20)
    result = operator(tmp_path, day="2026-12-02").execute({})
    assert (result["first_block"], result["last_block"]) == (day2[0], day2[-1])
    assert as_tuples(read_day(tmp_path, "2026-12-02")[1]) == expected_records(sandbox, day2)


def test_a_cursor_that_is_a_link_is_not_followed(sandbox, tmp_path):
    block_ids = activity(sandbox, seed=9)
    operator(tmp_path, start_block=block_ids[0], day="2026-12-01").execute({})
    cursor_file = tmp_path / "nft_activity" / "_cursor.json"
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(cursor_file.read_text())
    cursor_file.unlink()
    cursor_file.symlink_to(elsewhere)
    with pytest.raises(LoopringBlockError, match=r"is a link"):
        operator(tmp_path, day="2026-12-02").execute({})


def test_a_damaged_range_file_is_read_again_not_taken_back(sandbox, tmp_path):
    block_ids = activity(sandbox, seed=10)
    task = operator(tmp_path, start_block=block_ids[0], day="2026-12-01", blocks_per_range=2)
    task.execute({})
    folder = tmp_path / "nft_activity" / "dt=2026-12-01"
    second = sorted(folder.glob("blocks-*.jsonl"))[1]
    second.write_text(second.read_text() + "\n")  # no longer what the manifest says
    sandbox.clear_requests()
    result = operator(tmp_path, day="2026-12-01", blocks_per_range=2).execute({})
    assert result["resumed_blocks"] == 2  # the first range only
    assert block_requests(sandbox) == ["finalized", *map(str, block_ids[2:-1])]
    assert as_tuples(read_day(tmp_path, "2026-12-01")[1]) == expected_records(sandbox, block_ids)


def test_parquet_has_the_declared_schema(sandbox, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    from airflow_provider_loopring.storage.schemas import arrow_schema

    block_ids = activity(sandbox, seed=11)
    operator(tmp_path, start_block=block_ids[0], day="2026-12-01", output_format="parquet").execute(
        {}
    )
    folder = tmp_path / "nft_activity" / "dt=2026-12-01"
    (file,) = folder.glob("blocks-*.parquet")
    table = pq.read_table(file)
    assert table.schema == arrow_schema("nft_activity")
    rows = table.to_pylist()
    assert [(r["blockId"], r["indexInBlock"], r["nftData"]) for r in rows] == [
        (*e[:2], e[4]) for e in expected_records(sandbox, block_ids)
    ]
    assert [str(r["amount"]) for r in rows] == [e[7] for e in expected_records(sandbox, block_ids)]


def test_on_s3_a_second_run_reads_on_from_the_cursor(sandbox, s3, scratch):
    day1 = activity(sandbox, seed=12)
    root = s3.url("activity")
    kwargs = {"output_root": root, "output_conn_id": s3.conn_id, "blocks_per_range": 4}
    LoopringBlocksOperator(task_id="b", start_block=day1[0], day="2026-12-01", **kwargs).execute({})
    day2 = activity(sandbox, seed=13)
    sandbox.clear_requests()
    result = LoopringBlocksOperator(task_id="b", day="2026-12-02", **kwargs).execute({})
    assert block_requests(sandbox) == ["finalized", *map(str, day2[:-1])]
    folder = "activity/nft_activity/dt=2026-12-02/"
    manifest = json.loads(s3.read(folder + "_manifest.json"))
    records = [
        json.loads(line)
        for item in manifest["files"]
        for line in s3.read(folder + item["name"]).decode().splitlines()
    ]
    assert as_tuples(records) == expected_records(sandbox, day2)
    assert (result["first_block"], result["last_block"]) == (day2[0], day2[-1])
    assert s3.keys("activity/nft_activity/dt=2026-12-02/_ranges") == []


def test_lineage_names_the_blocks_endpoint_and_the_dataset(sandbox, tmp_path):
    from airflow_provider_loopring._core.activity import COLUMNS

    lineage = operator(tmp_path, start_block=1).get_openlineage_facets_on_start()
    (source,) = lineage.inputs
    assert source.namespace == "loopring://" + sandbox.url.split("://")[1]
    assert source.name == BLOCK
    (target,) = lineage.outputs
    assert (target.namespace, target.name) == ("file", f"{tmp_path}/nft_activity")
    assert [f.name for f in target.facets["schema"].fields] == list(COLUMNS)
    assert sandbox.requests == []


def test_a_day_folder_that_is_a_link_is_not_trusted_nor_written_through(sandbox, tmp_path):
    block_ids = activity(sandbox, seed=15)
    root = tmp_path / "root"
    operator(root, start_block=block_ids[0], day="2026-12-01").execute({})
    day = root / "nft_activity" / "dt=2026-12-01"
    outside = tmp_path / "outside"
    day.rename(outside)
    day.symlink_to(outside)  # a link where the day's folder goes, to a copy of it
    before = sorted(path.name for path in outside.iterdir())
    sandbox.clear_requests()
    result = operator(root, day="2026-12-01").execute({})
    assert result["resumed_blocks"] == 0  # nothing taken back through the link
    assert block_requests(sandbox) == ["finalized", *map(str, block_ids[:-1])]
    assert not day.is_symlink() and (day / "_manifest.json").is_file()
    assert sorted(path.name for path in outside.iterdir()) == before  # nothing written there
    assert as_tuples(read_day(root, "2026-12-01")[1]) == expected_records(sandbox, block_ids)


def test_templated_blocks_rendered_as_text_are_read_as_numbers(sandbox, tmp_path):
    block_ids = activity(sandbox, seed=16)
    task = operator(tmp_path, start_block="{{ params.first }}", day="2026-12-01")
    context = {"params": {"first": block_ids[0]}}
    task.render_template_fields(context)
    assert task.start_block == str(block_ids[0])  # not a native DAG: text
    result = task.execute(context)
    assert (result["first_block"], result["last_block"]) == (block_ids[0], block_ids[-1])
    bad = operator(tmp_path, end_block="{{ params.end }}", day="2026-12-02")
    bad.render_template_fields({"params": {"end": "12a"}})
    with pytest.raises(LoopringInvalidParameterError, match=r"^Invalid end_block:"):
        bad.execute({})
