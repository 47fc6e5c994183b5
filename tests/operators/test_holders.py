"""LoopringNftHoldersOperator against the sandbox, checked exactly against its ledger.

The ledger's holders (``Ledger.holders``: the balances inverted) and a collection's NFTs
(``Ledger.collection_nfts``) are the truth; the operator reads them over HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.operators._columns import json_columns
from airflow_provider_loopring.operators.holders import LoopringNftHoldersOperator
from airflow_provider_loopring.storage import schemas
from airflow_provider_loopring.testing import Fault
from tests.operators.conftest import leftover_parts
from tests.operators.test_loopring import read_jsonl, requests_to
from tests.operators.test_resume import fail_once_at

pytestmark = pytest.mark.loopring_sandbox(
    accounts=4, nfts_per_account=24, collections_per_account=2
)
HOLDERS = "/api/v3/nft/info/nftHolders"
ITEMS = "/api/v3/nft/public/collection/items"
IMPORTS = """
from airflow_provider_loopring.operators.holders import LoopringNftHoldersOperator as Holders
"""
NFT = "0x" + "ab" * 32


def collection_ids(sandbox: Any) -> list[int]:
    """Every collection the sandbox's accounts own, in the accounts' order."""
    seen: dict[int, None] = {}
    for account in sandbox.accounts:
        for item in sandbox.collections(account["accountId"], non_zero=False):
            seen.setdefault(item["collection"]["id"], None)
    return list(seen)


def nfts_of(sandbox: Any, collection_id: int) -> list[dict[str, Any]]:
    return [nft for nft, _ in sandbox._dataset.collection_nfts(collection_id)]


def truth(sandbox: Any, nfts: list[dict[str, Any]], collection_id: Any = "ledger") -> list[dict]:
    """Every (NFT, holder) the ledger has, in the NFTs' order and then the ledger's."""
    owners = {account["accountId"]: account["owner"] for account in sandbox.accounts}
    return [
        {
            "nftData": nft["nftData"],
            "accountId": row["accountId"],
            "address": owners[row["accountId"]],
            "tokenId": row["tokenId"],
            "amount": row["total"],
            "collectionId": (
                nft["collectionInfo"]["id"] if collection_id == "ledger" else collection_id
            ),
            "tokenAddress": nft["tokenAddress"].lower(),
        }
        for nft in nfts
        for row in sandbox._dataset.holders(nft["nftData"])
    ]


def a_collection_with_shared_nfts(sandbox: Any) -> int:
    """A collection some NFT of which more than one account holds."""
    for collection_id in collection_ids(sandbox):
        if any(
            len(sandbox._dataset.holders(n["nftData"])) > 1 for n in nfts_of(sandbox, collection_id)
        ):
            return collection_id
    raise AssertionError("the sandbox has no NFT held by two accounts")


def test_every_holder_of_a_collection_exactly_as_the_ledger_has_them(sandbox):
    collection_id = a_collection_with_shared_nfts(sandbox)
    nfts = nfts_of(sandbox, collection_id)
    expected = truth(sandbox, nfts)
    assert len(expected) > len(nfts)  # some NFT has several holders
    records = LoopringNftHoldersOperator(
        task_id="t", collection_id=collection_id, max_xcom_records=len(expected)
    ).execute({})
    assert records == expected
    # By its contract address: the same records, after one lookup of the collection.
    contract = nfts[0]["collectionInfo"]["contractAddress"]
    by_contract = LoopringNftHoldersOperator(task_id="t", token_address=contract).execute({})
    assert by_contract == expected


def test_holders_total_is_page_still_gives_every_holder(sandbox):
    """totalNum counting the page (one community reading) must not end the listing early."""
    sandbox.set_quirks(["holders_total_is_page"])
    many = max(
        (n for c in collection_ids(sandbox) for n in nfts_of(sandbox, c)),
        key=lambda nft: len(sandbox._dataset.holders(nft["nftData"])),
    )
    holders = sandbox._dataset.holders(many["nftData"])
    assert len(holders) >= 2
    # Pages of one holder: the first page's totalNum is 1 whatever the NFT has.
    sandbox.add_fault(
        Fault("transform", path=HOLDERS, times=None, transform=_limit_one_page(holders))
    )
    xcom = LoopringNftHoldersOperator(task_id="t", nft_datas=[many["nftData"]]).execute({})
    assert xcom == truth(sandbox, [many])


def test_each_nft_costs_its_pages_and_the_empty_page_after_them_no_page_twice(sandbox):
    """To XCom: the first page (read for the cap check) is used, not asked for again."""
    nfts = [n for c in collection_ids(sandbox) for n in nfts_of(sandbox, c)]
    counts = {n["nftData"]: len(sandbox._dataset.holders(n["nftData"])) for n in nfts}
    alone = next(n for n in nfts if counts[n["nftData"]] == 1)
    shared = next(n for n in nfts if counts[n["nftData"]] > 1)
    sandbox.clear_requests()
    records = LoopringNftHoldersOperator(
        task_id="t", nft_datas=[alone["nftData"], shared["nftData"]], max_workers=1
    ).execute({})
    assert records == truth(sandbox, [alone, shared])
    asked = [(r.query["nftData"], r.query["offset"]) for r in requests_to(sandbox, HOLDERS)]
    last = str(counts[shared["nftData"]])  # the empty page after the shared NFT's holders
    expected = [(alone["nftData"], "0"), (alone["nftData"], "1"), (shared["nftData"], "0")]
    assert sorted(asked) == sorted([*expected, (shared["nftData"], last)])
    # A 1-of-1 NFT: 2 requests (it was 3: the first page was asked for again).
    # Pages of one holder: each page once, then the empty one.
    sandbox.add_fault(Fault("transform", path=HOLDERS, times=None, transform=_limit_one_page([])))
    sandbox.clear_requests()
    records = LoopringNftHoldersOperator(task_id="t", nft_datas=[shared["nftData"]]).execute({})
    assert records == truth(sandbox, [shared])
    offsets = [r.query["offset"] for r in requests_to(sandbox, HOLDERS)]
    assert offsets == [str(n) for n in range(counts[shared["nftData"]] + 1)]


def _limit_one_page(holders: list[dict[str, Any]]):
    """Answer every holders page with its first holder only, as a server capping limit=1."""

    def answer(body, query):
        return {"totalNum": min(1, len(body["nftHolders"])), "nftHolders": body["nftHolders"][:1]}

    return answer


def test_given_nfts_take_their_contract_and_collection_from_loopring(sandbox):
    collection_id = collection_ids(sandbox)[1]
    nfts = nfts_of(sandbox, collection_id)[:3]
    records = LoopringNftHoldersOperator(
        task_id="t", nft_datas=",".join(nft["nftData"].upper().replace("0X", "0x") for nft in nfts)
    ).execute({})
    assert records == truth(sandbox, nfts, collection_id)
    asked = [r.query["nftDatas"] for r in requests_to(sandbox, "/api/v3/nft/info/nfts")]
    assert len(asked) == 1  # 50 a request


def test_after_a_transfer_and_a_mint_the_holders_change_exactly(sandbox, tmp_path):
    collection_id = a_collection_with_shared_nfts(sandbox)
    nft = nfts_of(sandbox, collection_id)[0]
    before = LoopringNftHoldersOperator(task_id="t", collection_id=collection_id).execute({})
    holder = sandbox._dataset.holders(nft["nftData"])[0]
    receiver = next(
        a["accountId"] for a in sandbox.accounts if a["accountId"] != holder["accountId"]
    )
    minter = sandbox.accounts[0]["accountId"]
    sandbox.transfer(holder["accountId"], receiver, nft["nftData"], "1")
    minted = sandbox.mint(minter, "7", collection_id=collection_id)
    sandbox.seal_block()
    after = LoopringNftHoldersOperator(task_id="t", collection_id=collection_id).execute({})
    assert after == truth(sandbox, nfts_of(sandbox, collection_id))
    new_nft = minted["nftToken"]["nftData"].lower()
    assert [(r["accountId"], r["amount"]) for r in after if r["nftData"] == new_nft] == [
        (minter, "7")
    ]
    moved = {(r["accountId"], r["amount"]) for r in after if r["nftData"] == nft["nftData"]}
    assert moved != {
        (r["accountId"], r["amount"]) for r in before if r["nftData"] == nft["nftData"]
    }


@pytest.mark.parametrize("output_format", ["jsonl", "parquet"])
def test_a_retry_does_not_fetch_the_holders_of_nfts_already_done(
    sandbox, run_dag, tmp_path, scratch, output_format
):
    collection_id = a_collection_with_shared_nfts(sandbox)
    nfts = nfts_of(sandbox, collection_id)
    assert len(nfts) >= 4
    # One worker: each NFT costs its page and the empty page after it; the 5th request is
    # the third NFT's first: try 1 finishes two NFTs.
    sandbox.add_fault(fail_once_at(5, HOLDERS))
    target = tmp_path / "out" / f"holders.{output_format}"
    result = run_dag(
        f"""
        Holders(
            task_id="holders", collection_id={collection_id}, retries=1, retry_delay=0,
            retry_policy=None, max_workers=1, checkpoint_interval=0,
            output_path="file://{target}", output_format={output_format!r},
        )
        """,
        header=IMPORTS,
    )
    assert result.state == "success"
    asked = [r.query["nftData"] for r in requests_to(sandbox, HOLDERS)]
    retry = list(dict.fromkeys(asked[5:]))
    assert retry == [nft["nftData"] for nft in nfts[2:]]  # not the two finished ones
    expected = truth(sandbox, nfts)
    assert read_records(target) == [(r["nftData"], r["accountId"], r["amount"]) for r in expected]
    reference = result.xcom("holders")
    assert (reference["resumed_accounts"], reference["records"]) == (2, len(expected))
    assert leftover_parts(scratch) == []


def read_records(target: Path) -> list[tuple[str, int, str]]:
    if target.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(target).to_pylist()
        return [(r["nftData"], r["accountId"], str(r["amount"])) for r in rows]
    return [(r["nftData"], r["accountId"], r["amount"]) for r in read_jsonl(target.read_bytes())]


def test_parquet_holds_the_declared_typed_columns(sandbox, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    from decimal import Decimal

    collection_id = a_collection_with_shared_nfts(sandbox)
    target = tmp_path / "holders.parquet"
    LoopringNftHoldersOperator(
        task_id="t",
        collection_id=collection_id,
        output_path=f"file://{target}",
        output_format="parquet",
        snapshot_date="2026-01-02",
    ).execute({})
    table = pq.read_table(target)
    assert table.schema == schemas.arrow_schema("holders")
    expected = truth(sandbox, nfts_of(sandbox, collection_id))
    rows = table.to_pylist()
    assert [
        {
            k: r[k]
            for k in ("nftData", "accountId", "address", "tokenId", "collectionId", "tokenAddress")
        }
        for r in rows
    ] == [
        {
            k: e[k]
            for k in ("nftData", "accountId", "address", "tokenId", "collectionId", "tokenAddress")
        }
        for e in expected
    ]
    assert [r["amount"] for r in rows] == [Decimal(e["amount"]) for e in expected]
    assert {r["snapshot_date"].isoformat() for r in rows} == {"2026-01-02"}
    assert {r["extra"] for r in rows} == {None}


def test_the_holders_schema_reads_every_field_of_a_record_and_nothing_else():
    read_from = {column.path[0] for column in schemas.SCHEMAS["holders"] if column.path}
    assert read_from == {name for name, _ in json_columns("holders")}


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({}, "nft_datas/collection_id/token_address"),
        ({"nft_datas": [NFT], "collection_id": 5}, "nft_datas/collection_id/token_address"),
        ({"collection_id": 5, "account_id": 1}, "nft_datas/collection_id/token_address"),
        ({"nft_datas": ["0x1234"]}, "nft_datas"),
        ({"nft_datas": [NFT[:-1] + "g"]}, "nft_datas"),
        ({"nft_datas": []}, "nft_datas"),
        ({"collection_id": "seven"}, "collection_id"),
        ({"token_address": "0xabc"}, "token_address"),
        ({"collection_id": 5, "output_format": "csv"}, "output_format"),
    ],
)
def test_bad_input_is_refused_naming_it_before_any_request(sandbox, arguments, parameter):
    with pytest.raises(LoopringInvalidParameterError) as raised:
        LoopringNftHoldersOperator(task_id="t", **arguments)
    assert raised.value.parameter == parameter
    assert sandbox.requests == []


def test_templated_bad_input_is_refused_when_the_task_runs_before_any_request(sandbox):
    operator = LoopringNftHoldersOperator(task_id="t", nft_datas="{{ params.nfts }}")
    operator.nft_datas = ["0xnothex"]  # as rendered
    with pytest.raises(LoopringInvalidParameterError, match="nft_datas"):
        operator.execute({})
    assert sandbox.requests == []


def test_an_nft_loopring_does_not_know_fails_the_task_naming_it(sandbox):
    from airflow_provider_loopring.exceptions import LoopringNotFoundError

    with pytest.raises(LoopringNotFoundError, match=NFT):
        LoopringNftHoldersOperator(task_id="t", nft_datas=[NFT]).execute({})
    assert requests_to(sandbox, HOLDERS) == []


def test_lineage_names_the_endpoint_the_selection_and_the_output(sandbox, tmp_path):
    operator = LoopringNftHoldersOperator(
        task_id="t", collection_id=7, output_path=f"file://{tmp_path}/h.jsonl"
    )
    lineage = operator.get_openlineage_facets_on_start()
    assert [d.name for d in lineage.inputs] == [HOLDERS]
    assert lineage.run_facets["loopring"].filters == {"collection_id": 7}
    (output,) = lineage.outputs
    assert output.name == f"{tmp_path}/h.jsonl"
    assert [f.name for f in output.facets["schema"].fields] == [
        "accountId",
        "address",
        "tokenId",
        "amount",
        "nftData",
        "collectionId",
        "tokenAddress",
    ]
    assert json.dumps(lineage.run_facets["loopring"].filters)  # plain JSON, no key


def test_holder_changes_between_two_parquet_days_are_exactly_the_ledger_moves(sandbox, tmp_path):
    """The snapshot changes' comparison reads holders partitions (Parquet here: the DAG test
    covers JSON Lines) and finds exactly what moved between the days."""
    pytest.importorskip("pyarrow")
    from airflow_provider_loopring.operators.changes import LoopringSnapshotChangesOperator
    from airflow_provider_loopring.storage import snapshots

    collection_id = a_collection_with_shared_nfts(sandbox)
    root = f"file://{tmp_path}/lake"

    def write_day(day: str) -> None:
        folder = snapshots.partition(root, "holders", day)
        reference = LoopringNftHoldersOperator(
            task_id="t",
            collection_id=collection_id,
            output_path=f"{folder}/part-0000.parquet",
            output_format="parquet",
            snapshot_date=day,
        ).execute({})
        snapshots.commit_partition(folder, [reference], conn_id=None, kind="holders", day=day)

    write_day("2026-05-01")
    nft = nfts_of(sandbox, collection_id)[0]["nftData"]
    holder = sandbox._dataset.holders(nft)[0]
    other = next(a["accountId"] for a in sandbox.accounts if a["accountId"] != holder["accountId"])
    before = {r["accountId"]: r["total"] for r in sandbox._dataset.holders(nft)}
    sandbox.transfer(holder["accountId"], other, nft, "1")
    sandbox.seal_block()
    write_day("2026-05-02")
    counts = LoopringSnapshotChangesOperator(
        task_id="c", kind="holders", output_root=root, day="2026-05-02", output_format="jsonl"
    ).execute({})
    after = {r["accountId"]: r["total"] for r in sandbox._dataset.holders(nft)}
    expected = {
        (
            account,
            "added" if account not in before else "removed" if account not in after else "amount",
        )
        for account in set(before) | set(after)
        if before.get(account) != after.get(account)
    }
    changes = read_jsonl(
        (tmp_path / "lake/holder_changes/dt=2026-05-02/part-0000.jsonl").read_bytes()
    )
    assert len(expected) == 2  # the sender and the receiver
    assert {(r["accountId"], r["change"]) for r in changes} == expected
    assert {r["nftData"] for r in changes} == {nft}
    assert counts["previous_day"] == "2026-05-01"
    assert sum(counts[k] for k in ("added", "removed", "amount", "status")) == len(expected)


def test_a_single_contract_links_to_its_collection_and_no_account_is_linked(monkeypatch):
    from tests.links.test_loopring import EXPLORER, TOKEN, links, use

    use(monkeypatch, "https://api3.loopring.io")
    by_contract = LoopringNftHoldersOperator(task_id="h", token_address=TOKEN)
    assert links(by_contract) == ("", f"{EXPLORER}/collections/{TOKEN.lower()}")
    assert links(LoopringNftHoldersOperator(task_id="i", collection_id=[5, 6])) == ("", "")
    assert links(LoopringNftHoldersOperator(task_id="n", nft_datas=[NFT])) == ("", "")
