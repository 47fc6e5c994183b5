"""An account's NFT history: user/nft/transactions, transfers, mints, deposits, withdrawals
and trades, each a view of the transactions of the ledger that name the account.

Newest first, as the one client that pages by time implies (LOOPDROP); the quirk
``history_oldest_first`` turns every list but trades (which take ``isASC``) the other way.
Lists are capped at 50 rows: only trades document a maximum (50), the others none.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import airflow_provider_loopring.testing.sandbox.txs as txs
from airflow_provider_loopring.testing.sandbox.chain import Entry
from airflow_provider_loopring.testing.sandbox.ledger import Ledger
from airflow_provider_loopring.testing.sandbox.params import (
    ApiError,
    ApiResult,
    comma_list,
    existing,
    flag,
    integer,
    nft_data,
    paging,
)

TX_TYPES = {"NftMint": "MINT", "Transfer": "TRANSFER", "Deposit": "DEPOSIT", "Withdraw": "WITHDRAW"}
TYPE_NAMES = {
    "mint": "NftMint",
    "transfer": "Transfer",
    "deposit": "Deposit",
    "onchain_withdrawal": "Withdraw",
    "offchain_withdrawal": "Withdraw",
    "deploy": "",  # deployments are not L2 transactions here
}
STATUSES = ("processing", "processed", "failed", "received")
KIND_LISTS = {
    "transfers": "Transfer",
    "mints": "NftMint",
    "deposits": "Deposit",
    "withdrawals": "Withdraw",
}


def _status(entry: Entry) -> str:
    return "processed" if entry.block_id else "processing"


def _moved(entry: Entry) -> tuple[str, dict[str, Any], int, int]:
    """(nftData, amount, the named account, its slot) of an NFT transaction."""
    tx = entry.tx
    if tx["txType"] == "NftMint":
        token = tx["nftToken"]
        return token["nftData"], token["amount"], tx["toAccountId"], token["tokenId"]
    token = tx["token"]
    return token["nftData"], token["amount"], tx["accountId"], token["tokenId"]


def _parties(ledger: Ledger, tx: dict[str, Any]) -> tuple[str, str, int]:
    """(sender address, receiver address, receiver id) as the combined history names them."""

    def owner(account_id: int) -> str:
        return str((ledger.account(account_id) or {}).get("owner", "")).lower()

    kind = tx["txType"]
    if kind == "NftMint":
        return tx["minter"], tx["toAccountAddress"], tx["toAccountId"]
    if kind == "Transfer":
        return owner(tx["accountId"]), tx["toAccountAddress"], tx["toAccountId"]
    if kind == "Deposit":
        return "", tx["owner"], tx["accountId"]
    return tx["owner"], "", 0


def transaction_row(ledger: Ledger, entry: Entry) -> dict[str, Any]:
    """A row of user/nft/transactions, with exactly the fields of the docs' sample.

    :param ledger: the ledger, for addresses and NFT details.
    :param entry: an NFT transaction other than a trade.
    """
    tx = entry.tx
    data, amount, account_id, slot = _moved(entry)
    sender, receiver, receiver_id = _parties(ledger, tx)
    nft = ledger.nft(data) or {}
    minter = tx.get("minterAccountId", 0)
    return {
        "id": entry.id,
        "requestId": entry.id,
        "hash": entry.hash,
        "txHash": "",
        "nftTxType": TX_TYPES[tx["txType"]],
        "nftData": data,
        "amount": amount,
        "feeTokenSymbol": "LRC",
        "feeAmount": tx.get("fee", txs.fee())["amount"],
        "status": _status(entry),
        "timestamp": entry.created_at,
        "updatedAt": entry.created_at,
        "memo": "",
        "receiverAddress": receiver,
        "senderAddress": sender,
        "receiver": receiver_id,
        "storageInfo": {
            "accountId": account_id,
            "tokenId": slot,
            "storageId": tx.get("storageId", 0),
        },
        "withdrawalInfo": {
            "recipient": tx["owner"] if tx["txType"] == "Withdraw" else "",
            "fastStatus": "false",
            "distributeHash": "",
        },
        "minterInfo": {"accountId": minter, "minter": tx.get("minter", ""), "originalMinter": ""},
        "nftStatusInfo": {
            "deploymentStatus": nft.get("collectionInfo", {}).get("deployStatus", "NOT_DEPLOYED"),
            "isCounterFactualNFT": bool(nft.get("isCounterFactualNFT", True)),
            "nftType": nft.get("nftType", "ERC1155"),
            "tokenAddress": nft.get("tokenAddress", ""),
            "tokenId": nft.get("nftId", ""),
        },
    }


def kind_row(ledger: Ledger, entry: Entry) -> dict[str, Any]:
    """A row of user/nft/transfers, mints, deposits or withdrawals (DEXv3's fields).

    :param ledger: the ledger, for addresses.
    :param entry: an NFT transaction of that kind.
    """
    tx = entry.tx
    data, amount, account_id, slot = _moved(entry)
    row: dict[str, Any] = {
        "id": entry.id,
        "requestId": entry.id,
        "hash": entry.hash,
        "txHash": "",
        "accountId": account_id,
        "owner": str((ledger.account(account_id) or {}).get("owner", "")).lower(),
        "status": _status(entry),
        "nftData": data,
        "amount": amount,
        "feeTokenSymbol": "LRC",
        "feeAmount": tx.get("fee", txs.fee())["amount"],
        "createdAt": entry.created_at,
        "updatedAt": entry.created_at,
        "memo": "",
        "blockIdInfo": {"blockId": entry.block_id, "indexInBlock": entry.index},
        "storageInfo": {
            "accountId": account_id,
            "tokenId": slot,
            "storageId": tx.get("storageId", 0),
        },
    }
    kind = tx["txType"]
    if kind == "Transfer":
        row.update(payeeId=tx["toAccountId"], payeeAddress=tx["toAccountAddress"])
    elif kind == "NftMint":
        row.update(minterId=tx["minterAccountId"], minterAddress=tx["minter"])
    elif kind == "Deposit":
        row.update(depositFrom=tx["owner"], depositFromAccountId=0)
    else:
        row.update(
            recipient=tx["toAddress"], distributeHash="", fastWithdrawStatus="", isFast=False
        )
    return row


def trade_row(entry: Entry) -> list[str]:
    """A trade as user/nft/trades sends it: 19 strings, in the documented order.

    :param entry: a SpotTrade of an NFT.
    """
    a, b = entry.tx["orderA"], entry.tx["orderB"]
    amount = int(a["fillS"])
    price = Decimal(b["fillS"]) / Decimal(10**18) / amount
    return [
        str(entry.id),
        entry.hash,
        entry.hash[:-1] + "a",
        entry.hash[:-1] + "b",
        f"{price:.8f}",
        a["nftData"],
        str(amount),
        str(a["tokenS"]),
        str(b["tokenS"]),
        "0",
        "0",
        str(entry.block_id),
        str(entry.index),
        str(a["accountID"]),
        str(b["accountID"]),
        str(a["storageID"]),
        str(b["storageID"]),
        str(entry.created_at),
        "0",
    ]


def _account_entries(ledger: Ledger, query: dict[str, str]) -> list[Entry]:
    account_id = integer(query, "accountId")
    existing(ledger.account(account_id))
    return ledger.history(account_id)


def _window(entries: list[Entry], query: dict[str, str], oldest_first: bool) -> list[Entry]:
    """Filter by time, status and hash; order; then ``startId`` (rows from that id on)."""
    start, end = integer(query, "start", 0), integer(query, "end", 2**63)
    wanted = comma_list(query, "txStatus")
    if any(status not in STATUSES for status in wanted):
        raise ApiError(100001, f"invalid argument: txStatus takes {', '.join(STATUSES)}")
    hashes = {value.lower() for value in comma_list(query, "hashes")}
    chosen = [
        entry
        for entry in entries
        if start <= entry.created_at <= end
        and (not wanted or _status(entry) in wanted)
        and (not hashes or entry.hash in hashes)
    ]
    if not oldest_first:
        chosen.reverse()
    if query.get("startId"):
        start_id = integer(query, "startId")
        chosen = [e for e in chosen if (e.id >= start_id if oldest_first else e.id <= start_id)]
    return chosen


def _nft_filter(query: dict[str, str], name: str) -> set[str]:
    return {nft_data(value, name) for value in comma_list(query, name)}


def transactions(ledger: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/user/nft/transactions: mints, transfers, deposits and withdrawals.

    :param ledger: the data to answer from.
    :param query: ``accountId`` (required), ``offset``, ``limit`` (default 50), ``types``,
        ``hashes``, ``nftData`` (comma lists), ``start``, ``end`` (ms), ``metadata``.
    """
    entries = _account_entries(ledger, query)
    offset, limit = paging(query, default=50)
    flag(query, "metadata", False)
    types = comma_list(query, "types") or list(TYPE_NAMES)
    if any(name not in TYPE_NAMES for name in types):
        raise ApiError(100001, f"invalid argument: types takes {', '.join(TYPE_NAMES)}")
    kinds = {TYPE_NAMES[name] for name in types}
    nfts = _nft_filter(query, "nftData")
    chosen = [
        e
        for e in _window(entries, query, "history_oldest_first" in ledger.quirks)
        if e.tx["txType"] in kinds and txs.nft_of(e.tx) and (not nfts or txs.nft_of(e.tx) in nfts)
    ]
    rows = [transaction_row(ledger, e) for e in chosen[offset : offset + limit]]
    return ApiResult(200, {"totalNum": len(chosen), "transactions": rows})


def _kind_list(key: str) -> Callable[[Ledger, dict[str, str]], ApiResult]:
    kind = KIND_LISTS[key]

    def endpoint(ledger: Ledger, query: dict[str, str]) -> ApiResult:
        entries = _account_entries(ledger, query)
        offset, limit = paging(query, default=50)
        nfts = _nft_filter(query, "nftData")
        chosen = [
            e
            for e in _window(entries, query, "history_oldest_first" in ledger.quirks)
            if e.tx["txType"] == kind
            and txs.nft_of(e.tx)
            and (not nfts or txs.nft_of(e.tx) in nfts)
        ]
        rows = [kind_row(ledger, e) for e in chosen[offset : offset + limit]]
        # The SDK reads mints under "transfers"; DEXv3, the explorer and LOOPDROP under "mints".
        shown = "transfers" if key == "mints" and "mints_key_transfers" in ledger.quirks else key
        return ApiResult(200, {"totalNum": len(chosen), shown: rows})

    endpoint.__name__ = key
    endpoint.__doc__ = (
        f"GET /api/v3/user/nft/{key}: ``accountId`` (required), ``nftData``, ``start``, "
        "``end``, ``startId``, ``offset``, ``limit`` (default 50), ``txStatus``, ``hashes``.\n\n"
        ":param ledger: the data to answer from.\n"
        ":param query: the query parameters above."
    )
    return endpoint


transfers, mints, deposits, withdrawals = (_kind_list(key) for key in KIND_LISTS)


def trades(ledger: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/user/nft/trades: the account's NFT trades as positional arrays.

    :param ledger: the data to answer from.
    :param query: ``accountId`` (required), ``nftData``, ``orderHash``, ``tradeHash``,
        ``start``, ``end`` (ms), ``startId``, ``offset``, ``limit`` (max 50), ``isASC``.
    """
    entries = _account_entries(ledger, query)
    offset, limit = paging(query, default=50)
    ascending = flag(query, "isASC", False)
    nfts = _nft_filter(query, "nftData")
    trade_hash = query.get("tradeHash", "").lower()
    order_hash = query.get("orderHash", "").lower()
    chosen = []
    for entry in _window(entries, query, ascending):
        if entry.tx["txType"] != "SpotTrade" or not txs.nft_of(entry.tx):
            continue
        row = trade_row(entry)
        if (nfts and row[5] not in nfts) or (trade_hash and row[1] != trade_hash):
            continue
        if order_hash and order_hash not in (row[2], row[3]):
            continue
        chosen.append(row)
    return ApiResult(200, {"totalNum": len(chosen), "trades": chosen[offset : offset + limit]})
