"""A client of the sandbox's chain endpoints, written from Loopring's docs, for the proofs.

It replays blocks with its own reading of the transaction fields (loopring-endpoints.md,
section 5), not with the sandbox's code, so that a proof checks the sandbox against the docs.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import requests

HOLDERS = "/api/v3/nft/info/nftHolders"
BALANCES = "/api/v3/user/nft/balances"
GET_BLOCK = "/api/v3/block/getBlock"
KIND_PATHS = {
    "transfers": "/api/v3/user/nft/transfers",
    "mints": "/api/v3/user/nft/mints",
    "deposits": "/api/v3/user/nft/deposits",
    "withdrawals": "/api/v3/user/nft/withdrawals",
}
TRADES = "/api/v3/user/nft/trades"
TRANSACTIONS = "/api/v3/user/nft/transactions"


class Chain:
    """Reads a sandbox over HTTP as a pipeline would."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["X-API-KEY"] = api_key

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(self.url + path, params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def pages(self, path: str, key: str, **params: Any) -> list[Any]:
        """Every item, paging by offset until a page comes back empty."""
        items: list[Any] = []
        while True:
            page = self.get(path, offset=len(items), limit=50, **params)[key]
            if not page:
                return items
            items += page

    def head(self) -> int:
        return int(self.get(GET_BLOCK, id="finalized")["blockId"])

    def blocks(self, first: int, last: int) -> list[dict[str, Any]]:
        return [self.get(GET_BLOCK, id=block_id) for block_id in range(first, last + 1)]

    def balances(self, account_id: int) -> dict[str, int]:
        items = self.pages(BALANCES, "data", accountId=account_id, nonZero="false")
        return {item["nftData"]: int(item["total"]) for item in items}

    def holders(self, nft_data: str) -> dict[int, int]:
        items = self.pages(HOLDERS, "nftHolders", nftData=nft_data)
        return {item["accountId"]: int(item["amount"]) for item in items}


def nft_moves(tx: dict[str, Any]) -> list[tuple[int, str, int]]:
    """(account, nftData, change) of each NFT balance a block transaction moves."""
    kind = tx["txType"]
    if kind == "NftMint":
        token = tx["nftToken"]
        return [(tx["toAccountId"], token["nftData"], int(token["amount"]))]
    if kind == "SpotTrade":
        seller, buyer = tx["orderA"], tx["orderB"]
        if not seller["nftData"]:
            return []
        amount = int(seller["fillS"])
        return [
            (seller["accountID"], seller["nftData"], -amount),
            (buyer["accountID"], seller["nftData"], amount),
        ]
    token = tx.get("token", {})
    if not token.get("nftData") or token["tokenId"] < 32768:
        return []
    amount = int(token["amount"])
    if kind == "Transfer":
        return [
            (tx["accountId"], token["nftData"], -amount),
            (tx["toAccountId"], token["nftData"], amount),
        ]
    if kind == "Withdraw":
        return [(tx["accountId"], token["nftData"], -amount)]
    if kind == "Deposit":
        return [(tx["accountId"], token["nftData"], amount)]
    return []


def named_accounts(tx: dict[str, Any]) -> set[int]:
    """The accounts an NFT transaction names (the table of loopring-endpoints.md, section 5)."""
    if not nft_moves(tx) and tx["txType"] != "NftMint":
        return set()
    if tx["txType"] == "NftMint":
        return {tx["minterAccountId"], tx["toAccountId"]}
    if tx["txType"] == "SpotTrade":
        return {tx["orderA"]["accountID"], tx["orderB"]["accountID"]}
    return {tx["accountId"], tx.get("toAccountId", tx["accountId"])}


def replay(blocks: list[dict[str, Any]]) -> dict[int, Counter[str]]:
    """Every account's NFT balances after these blocks, from nothing."""
    held: dict[int, Counter[str]] = {}
    for block in blocks:
        for tx in block["transactions"]:
            for account_id, nft_data, change in nft_moves(tx):
                held.setdefault(account_id, Counter())[nft_data] += change
    return held
