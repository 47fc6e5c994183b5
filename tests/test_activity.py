"""The core's reading of a block's NFT moves, on Loopring's own samples (endpoints §5)."""

from __future__ import annotations

import pytest

from airflow_provider_loopring._core.activity import (
    COLUMNS,
    ActivityError,
    block_moves,
    moves_nft,
    nft_move,
)

NFT = "0x002c471c82f1912eb3b3aff8c8b509c2126861bab0444533dbc17c06704f2235"
# getPendingRequests' NFT transfer, as Loopring's docs publish it.
TRANSFER = {
    "txType": "Transfer",
    "accountId": 61279,
    "token": {"tokenId": 32980, "nftData": NFT, "amount": "1"},
    "toToken": {"tokenId": 32899},
    "fee": {"tokenId": 1, "amount": "80900000000000000"},
    "validUntil": 1658444653,
    "toAccountId": 109068,
    "toAccountAddress": "0xd319373c55864b48e9edd03c08bade589443eff4",
    "storageId": 25,
}


def order(account: int, sells: int, buys: int, nft: str, fill: int | str) -> dict:
    return {"accountID": account, "tokenS": sells, "tokenB": buys, "nftData": nft, "fillS": fill}


def move(tx: dict) -> dict | None:
    return nft_move(tx, block_id=200, index=3, created_at=1610164628895)


def test_an_nft_transfer_is_one_flat_record():
    record = move(TRANSFER)
    assert record is not None and tuple(record) == COLUMNS
    assert record == {
        "blockId": 200,
        "indexInBlock": 3,
        "createdAt": 1610164628895,
        "txType": "Transfer",
        "nftData": NFT,
        "amount": "1",
        "accountId": 61279,
        "fromAccountId": 61279,
        "fromAddress": None,
        "toAccountId": 109068,
        "toAddress": "0xd319373c55864b48e9edd03c08bade589443eff4",
        "minterAccountId": None,
        "minterAddress": None,
        "tokenId": 32980,
        "feeTokenId": 1,
        "feeAmount": "80900000000000000",
    }


@pytest.mark.parametrize(
    "tx",
    [
        {**TRANSFER, "token": {"tokenId": 1, "amount": "5"}},  # LRC
        {"txType": "Deposit", "accountId": 10010, "token": {"tokenId": 2, "amount": "1000000"}},
        {"txType": "SpotTrade", "orderA": order(5, 2, 0, "", 10), "orderB": order(6, 0, 2, "", 1)},
        {"txType": "AccountUpdate", "accountId": 5, "owner": "0x" + "ab" * 20},
        {"txType": "NftData", "accountId": 5, "nftToken": {"nftData": NFT}},
        {"txType": "Noop"},
        {"txType": "SomethingNew", "accountId": 5, "token": {"nftData": NFT}},
    ],
    ids=["erc20-transfer", "erc20-deposit", "erc20-trade", "update", "nftdata", "noop", "unknown"],
)
def test_transactions_that_move_no_nft_have_no_record(tx):
    assert not moves_nft(tx)
    assert move(tx) is None


def test_a_trade_s_from_side_is_the_order_selling_the_nft_whichever_it_is():
    buyer_first = {
        "txType": "SpotTrade",
        "orderA": order(7, 0, 32800, NFT, "10000000000000000"),  # pays ETH
        "orderB": order(8, 32811, 0, NFT, 2),  # sells 2 of the NFT
    }
    record = move(buyer_first)
    assert record is not None
    assert (record["fromAccountId"], record["toAccountId"]) == (8, 7)
    assert (record["amount"], record["tokenId"], record["accountId"]) == ("2", 32811, 8)


def test_a_mint_names_its_minter_and_receiver_and_a_slot_alone_marks_an_nft():
    mint = {
        "txType": "NftMint",
        "minterAccountId": 11,
        "minter": "0x" + "AA" * 20,
        "toAccountId": 12,
        "nftToken": {"tokenId": 32770, "nftData": NFT.upper().replace("0X", "0x"), "amount": 5},
    }
    record = move(mint)
    assert record is not None
    assert (record["minterAccountId"], record["minterAddress"]) == (11, "0x" + "aa" * 20)
    assert (record["fromAccountId"], record["toAccountId"], record["accountId"]) == (None, 12, 11)
    assert (record["nftData"], record["amount"]) == (NFT, "5")
    withdraw = {"txType": "Withdraw", "accountId": 9, "owner": "0x" + "cd" * 20}
    withdraw["token"] = {"tokenId": 32999, "amount": "1"}  # no nftData: the slot tells
    record = move(withdraw)
    assert record is not None
    assert (record["fromAccountId"], record["toAddress"], record["nftData"]) == (
        9,
        "0x" + "cd" * 20,
        None,
    )


@pytest.mark.parametrize(
    ("tx", "message"),
    [
        ({"txType": "Transfer", "accountId": 5}, "without its 'token'"),
        ({"txType": "NftMint", "toAccountId": 5}, "without its 'nftToken'"),
        ({"txType": "SpotTrade", "orderA": order(5, 32768, 0, NFT, 1)}, "'orderB'"),
        ({**TRANSFER, "token": {**TRANSFER["token"], "amount": "1.5"}}, "not a whole number"),
    ],
)
def test_a_moving_transaction_that_cannot_be_read_is_an_error_never_skipped(tx, message):
    with pytest.raises(ActivityError, match=message):
        move(tx)


def test_block_moves_keeps_block_order_and_refuses_a_block_without_its_list():
    block = {"blockId": 200, "createdAt": 5, "transactions": [{"txType": "Noop"}, TRANSFER]}
    assert [(r["blockId"], r["indexInBlock"]) for r in block_moves(block)] == [(200, 1)]
    with pytest.raises(ActivityError, match="list of transactions"):
        list(block_moves({"blockId": 200}))
    with pytest.raises(ActivityError, match="transaction 0 is not an object"):
        list(block_moves({"blockId": 200, "transactions": ["x"]}))


def test_without_an_nft_slot_the_seller_is_the_order_whose_own_nft_data_is_set():
    slotless = {
        "txType": "SpotTrade",
        "orderA": order(7, 0, 2, "", "10000000000000000"),  # pays ETH, names no NFT
        "orderB": order(8, 2, 0, NFT, 2),  # names the NFT: it sells it
    }
    record = move(slotless)
    assert record is not None
    assert (record["fromAccountId"], record["toAccountId"], record["accountId"]) == (8, 7, 8)
    assert (record["nftData"], record["amount"]) == (NFT, "2")
    mirrored = {**slotless, "orderA": slotless["orderB"], "orderB": slotless["orderA"]}
    record = move(mirrored)
    assert record is not None and (record["fromAccountId"], record["toAccountId"]) == (8, 7)
