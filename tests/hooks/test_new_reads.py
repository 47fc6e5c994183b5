"""The hook's reads of holders, NFT info, collections, history, trades and blocks (issues 25, 26).

Against the sandbox over HTTP; the truth is the sandbox's ledger as the test reads it
(tests/testing/ledger_client.py: its own paging and its own replay of the blocks).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_loopring.exceptions import (
    LoopringBadResponseError,
    LoopringBlockError,
    LoopringInvalidParameterError,
)
from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.models import Block, touched_accounts
from airflow_provider_loopring.testing import Fault, LoopringSandbox
from tests.conftest import connection_json
from tests.testing.ledger_client import (
    TRANSACTIONS,
    Chain,
    named_accounts,
    replay,
)

MORE = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "loopring-docs" / "more"
UNKNOWN_NFT = "0x" + "7" * 64


@pytest.fixture(scope="module")
def busy() -> Iterator[tuple[LoopringSandbox, Chain]]:
    """A small sandbox after a day of every kind of activity, all of it sealed."""
    with LoopringSandbox(accounts=5, nfts_per_account=24, block_size=9) as sandbox:
        ids = [a["accountId"] for a in sandbox.accounts]
        minted = sandbox.mint(ids[1], "7")["nftToken"]["nftData"]
        sandbox.transfer(ids[1], ids[2], minted, "3")
        sandbox.trade(ids[2], ids[3], minted, "2", "0.5")
        sandbox.trade(ids[1], ids[4], minted, "1", "0.25")
        sandbox.withdraw(ids[3], minted, "1")
        sandbox.simulate_day(change_rate=0.6, seed=4)
        sandbox.seal_block()
        yield sandbox, Chain(sandbox.url, sandbox.api_key)


@pytest.fixture
def hook(busy: tuple[LoopringSandbox, Chain], monkeypatch: pytest.MonkeyPatch) -> LoopringHook:
    sandbox, _ = busy
    conn = connection_json(sandbox.url, sandbox.api_key, requests_per_second=500)
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", conn)
    return LoopringHook()


def truth(chain: Chain) -> dict[int, Counter[str]]:
    return replay(chain.blocks(1, chain.head()))


def held_by_many(chain: Chain) -> list[str]:
    counts = Counter(n for held in truth(chain).values() for n, v in held.items() if v > 0)
    return [nft_data for nft_data, holders in counts.most_common() if holders > 1][:3]


def test_holders_are_every_account_holding_the_nft_each_once(busy, hook) -> None:
    _, chain = busy
    held = truth(chain)
    for nft_data in held_by_many(chain):
        expected = {a: c[nft_data] for a, c in held.items() if c[nft_data] > 0}
        got = list(hook.iter_nft_holders(nft_data=nft_data, page_size=1))
        assert {h.account_id: h.amount for h in got} == expected
        assert len(got) == len(expected)
        assert all(h.address and h.address.startswith("0x") for h in got)


def test_holders_page_until_an_empty_page_whatever_totalnum_counts(busy, hook) -> None:
    sandbox, chain = busy
    nft_data = held_by_many(chain)[0]
    expected = chain.holders(nft_data)
    sandbox.set_quirks(["holders_total_is_page"])
    try:
        got = {
            h.account_id: h.amount for h in hook.iter_nft_holders(nft_data=nft_data, page_size=1)
        }
    finally:
        sandbox.set_quirks([])
    assert got == expected and len(expected) > 1


def test_nft_infos_ask_50_a_request_each_nftdata_once(busy, hook) -> None:
    sandbox, chain = busy
    nfts = sorted({n for held in truth(chain).values() for n in held})[:120]
    sandbox.clear_requests()
    infos = hook.get_nft_infos(nft_datas=[*nfts, *nfts[:10], UNKNOWN_NFT])
    asked = [r for r in sandbox.requests if r.path == "/api/v3/nft/info/nfts"]
    assert len(nfts) > 100
    assert [info.nft_data for info in infos] == nfts  # the unknown one is left out
    sizes = [len(r.query["nftDatas"].split(",")) for r in asked]
    assert sizes == [50, 50, len(nfts) + 1 - 100]  # the repeats asked once


def test_a_collection_by_id_address_or_nft_and_its_nfts(busy, hook) -> None:
    sandbox, _ = busy
    account = sandbox.accounts[0]["accountId"]
    balances = [b for b in sandbox.balances(account, non_zero=False) if b.get("collectionInfo")]
    by_collection: dict[int, set[str]] = {}
    for balance in balances:
        by_collection.setdefault(balance["collectionInfo"]["id"], set()).add(balance["nftData"])
    collection_id, some = next(iter(by_collection.items()))
    collection = hook.get_collection(collection_id=collection_id)
    assert collection.id == collection_id
    assert hook.get_collection(nft_data=next(iter(some))).id == collection_id
    nfts = list(hook.iter_collection_nfts(collection_id=collection_id, page_size=2))
    assert some <= {nft.nft_data for nft in nfts}
    assert len({nft.nft_data for nft in nfts}) == len(nfts)
    assert all(nft.metadata is None for nft in nfts)
    with_metadata = list(hook.iter_collection_nfts(collection_id=collection_id, metadata=True))
    assert [n.nft_data for n in with_metadata] == [n.nft_data for n in nfts]
    assert any(n.metadata is not None for n in with_metadata)
    address = collection.collection_address or ""
    if len(address) == 42:  # Loopring-made collections: their collectionAddress is the contract
        assert hook.get_collection(contract_address=address).id == collection_id


def test_transactions_every_page_each_once_and_both_window_ends(busy, hook) -> None:
    sandbox, chain = busy
    account = sandbox.accounts[1]["accountId"]
    expected = chain.pages(TRANSACTIONS, "transactions", accountId=account)
    got = list(hook.iter_nft_transactions(account_id=account, page_size=3))
    assert [t.hash for t in got] == [row["hash"] for row in expected]
    assert len(got) > 3
    moment = got[len(got) // 2].created_at
    assert moment is not None
    at = {t.hash for t in got if t.created_at == moment}
    assert at <= {t.hash for t in hook.iter_nft_transactions(account_id=account, start=moment)}
    assert at <= {t.hash for t in hook.iter_nft_transactions(account_id=account, end=moment)}
    after = {t.hash for t in hook.iter_nft_transactions(account_id=account, start=moment + 1)}
    assert not at & after
    mints = list(hook.iter_nft_transactions(account_id=account, types=["mint"]))
    assert mints and {t.nft_tx_type for t in mints} == {"MINT"}


def test_trades_are_read_by_position(busy, hook) -> None:
    sandbox, _ = busy
    seller, buyer = (sandbox.accounts[i]["accountId"] for i in (2, 3))
    trades = list(hook.iter_nft_trades(account_id=buyer))
    ours = [t for t in trades if (t.sell_account_id, t.buy_account_id) == (seller, buyer)]
    assert [t.nft_amount for t in ours] == [2]
    trade = ours[0]
    assert trade.block_id and trade.created_at and trade.hash and trade.hash.startswith("0x")
    assert trade.to_dict()["sellAccountId"] == str(seller)


def test_blocks_in_order_each_naming_every_account_it_moves(busy, hook) -> None:
    _, chain = busy
    head = chain.head()
    sent = hook.requests_sent
    blocks = list(hook.iter_blocks(1))
    assert [b.block_id for b in blocks] == list(range(1, head + 1))
    assert hook.requests_sent - sent == head  # the head is read once, not twice
    for block, raw in zip(blocks, chain.blocks(1, head), strict=True):
        assert block.to_dict() == raw
        for tx in block.transactions:
            ids, _ = tx.accounts()
            assert named_accounts(tx.to_dict()) <= ids


def test_a_gap_or_a_block_past_the_head_is_never_read_on(busy, hook) -> None:
    sandbox, chain = busy
    head = chain.head()

    def another(body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        return {**body, "blockId": body["blockId"] + 1}

    sandbox.add_fault(Fault("transform", path="/api/v3/block/getBlock", times=2, transform=another))
    with pytest.raises(LoopringBlockError, match="gap"):
        list(hook.iter_blocks(head - 2, head - 1))
    sandbox.clear_faults()
    sent = hook.requests_sent
    with pytest.raises(LoopringBlockError, match="not finalized"):
        list(hook.iter_blocks(1, head + 1))
    assert hook.requests_sent - sent == 1  # the head only
    with pytest.raises(LoopringBlockError, match="ahead"):
        list(hook.iter_blocks(head + 2))
    assert list(hook.iter_blocks(head + 1)) == []  # caught up: nothing new


def test_the_async_twins_read_the_same(busy, hook) -> None:
    sandbox, chain = busy
    nft_data = held_by_many(chain)[0]
    account = sandbox.accounts[1]["accountId"]

    async def read() -> tuple[list[Any], ...]:
        holders = [h async for h in hook.aiter_nft_holders(nft_data=nft_data, page_size=1)]
        txs = [t async for t in hook.aiter_nft_transactions(account_id=account, page_size=5)]
        blocks = [b async for b in hook.aiter_blocks(1)]
        infos = await hook.aget_nft_infos(nft_datas=nft_data)
        return holders, txs, blocks, infos

    holders, txs, blocks, infos = asyncio.run(read())
    assert holders == list(hook.iter_nft_holders(nft_data=nft_data))
    assert [t.hash for t in txs] == [t.hash for t in hook.iter_nft_transactions(account_id=account)]
    assert [b.block_id for b in blocks] == list(range(1, chain.head() + 1))
    assert [i.nft_data for i in infos] == [nft_data]


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda h: h.iter_nft_holders(nft_data="0x12"), "nft_data"),
        (lambda h: h.iter_nft_holders(), "nft_data"),
        (lambda h: h.get_nft_infos(nft_datas=[]), "nft_datas"),
        (lambda h: h.get_nft_infos(nft_datas=["0x" + "1" * 64, "nope"]), "nft_datas"),
        (lambda h: h.get_collection(), "collection_id/contract_address/nft_data"),
        (lambda h: h.get_collection(collection_id=1, nft_data=UNKNOWN_NFT), "collection_id"),
        (lambda h: h.iter_collection_nfts(collection_id=-1), "collection_id"),
        (lambda h: h.iter_nft_transactions(account_id=1, types="mint,swap"), "types"),
        (lambda h: h.iter_nft_transactions(account_id=1, start="yesterday"), "start"),
        (lambda h: h.iter_nft_trades(account_id=1, trade_hash="0x1"), "trade_hash"),
        (lambda h: h.get_block(block_id="latest"), "block_id"),
        (lambda h: h.iter_blocks(-1), "start"),
        (lambda h: h.iter_blocks(1, "head"), "end"),
    ],
)
def test_bad_input_is_refused_by_name_before_any_request(hook, call, parameter) -> None:
    sent = hook.requests_sent
    with pytest.raises(LoopringInvalidParameterError, match=f"Invalid {parameter}"):
        call(hook)
    assert hook.requests_sent == sent


def test_loopring_samples_read_into_the_models() -> None:
    block = Block.from_api(
        json.loads((MORE / "block_get_block__uat2__docs-layer-2-block-info.json").read_text())
    )
    assert block.block_id == 200 and block.transactions[0].accounts() == (
        frozenset({10010}),
        frozenset(),
    )
    pending = json.loads(
        (MORE / "block_get_pending_requests__uat2__docs-get-pending-transactions.json").read_text()
    )
    assert [touched_accounts(tx)[0] for tx in pending] == [{88240, 108}, {61279, 109068}]


def test_an_address_is_named_where_no_id_is() -> None:
    tx = {
        "txType": "Transfer",
        "accountId": 7,
        "toAccountId": 0,
        "toAccountAddress": "0xAB" + "c" * 38,
    }
    assert touched_accounts(tx) == (frozenset({7}), frozenset({"0xab" + "c" * 38}))
    future = {"txType": "NftSomethingNew", "payerAccountId": "12", "extra": [{"accountID": 13}]}
    assert touched_accounts(future) == (frozenset({12, 13}), frozenset())


def test_a_malformed_block_is_a_bad_response(busy, hook) -> None:
    sandbox, _ = busy
    sandbox.add_fault(Fault("malformed", path="/api/v3/block/getBlock", body={"blockId": "x"}))
    try:
        with pytest.raises(LoopringBadResponseError, match="blockId"):
            hook.get_block(block_id=1)
    finally:
        sandbox.clear_faults()
