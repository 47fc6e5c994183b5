"""L2 block transactions in Loopring's field names, and which accounts and NFTs each names.

Pure functions: the ledger builds its transactions with them, the block, history and pending
views read them back. Shapes follow `getBlock` and `getPendingRequests` as Loopring's docs show
them (loopring-endpoints.md, section 5): ``txType`` and the fields of that kind only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

ETH = 0  # token ids below 32768 are ERC20 tokens; 0 is ETH, 1 LRC
LRC = 1
VALID_UNTIL = 1_900_000_000  # seconds, as Loopring's samples carry it
NFT_KINDS = frozenset({"NftMint", "Transfer", "SpotTrade", "Withdraw", "Deposit"})


def fee(amount: int = 0) -> dict[str, Any]:
    """A fee object: paid in LRC.

    :param amount: in LRC's smallest unit.
    """
    return {"tokenId": LRC, "amount": str(amount)}


def nft_mint(
    minter: dict[str, Any], to: dict[str, Any], row: dict[str, Any], amount: int, storage: int
) -> dict[str, Any]:
    """An NftMint: ``minter`` mints ``amount`` of the NFT of ``row`` into ``to``'s slot.

    :param minter: the minting account.
    :param to: the receiving account.
    :param row: the receiver's balance of the NFT (its slot and ``nftData``).
    :param amount: how many.
    :param storage: the minter's storage id.
    """
    return {
        "txType": "NftMint",
        "minterAccountId": minter["accountId"],
        "minter": minter["owner"].lower(),
        "toAccountId": to["accountId"],
        "toAccountAddress": to["owner"].lower(),
        "nftToken": {"tokenId": row["tokenId"], "nftData": row["nftData"], "amount": str(amount)},
        "nftType": 0 if row["nftType"] == "ERC1155" else 1,
        "fee": fee(),
        "validUntil": VALID_UNTIL,
        "storageId": storage,
    }


def transfer(
    sender: dict[str, Any],
    to: dict[str, Any],
    token: dict[str, Any],
    to_slot: int,
    storage: int,
) -> dict[str, Any]:
    """A Transfer of an NFT (``token`` has ``nftData``) or of an ERC20 token (it has not).

    :param sender: the sending account.
    :param to: the receiving account.
    :param token: ``{"tokenId", "nftData"?, "amount"}``, the sender's slot.
    :param to_slot: the receiver's slot of the same token.
    :param storage: the sender's storage id.
    """
    return {
        "txType": "Transfer",
        "accountId": sender["accountId"],
        "token": token,
        "toToken": {"tokenId": to_slot},
        "fee": fee(),
        "validUntil": VALID_UNTIL,
        "toAccountId": to["accountId"],
        "toAccountAddress": to["owner"].lower(),
        "storageId": storage,
    }


def price_wei(price: str) -> int:
    """A price in ETH as wei.

    :param price: a decimal string (``"0.01"``).
    :raises ValueError: not a positive decimal.
    """
    try:
        value = Decimal(price)
    except ArithmeticError:
        raise ValueError(f"price must be a decimal string, got {price!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"price must be above 0, got {price!r}")
    return int(value * 10**18)


def spot_trade(
    seller_row: dict[str, Any],
    buyer_row: dict[str, Any],
    amount: int,
    wei: int,
    storages: tuple[int, int],
) -> dict[str, Any]:
    """A SpotTrade of an NFT for ETH: order A sells the NFT, order B buys it.

    :param seller_row: the seller's balance of the NFT (account, slot, ``nftData``).
    :param buyer_row: the buyer's balance of it.
    :param amount: how many NFTs.
    :param wei: what the buyer pays, in wei.
    :param storages: the seller's and the buyer's storage ids.
    """
    nft_data = seller_row["nftData"]

    def order(
        row: dict[str, Any], sells: int, buys: int, fill: int, storage: int
    ) -> dict[str, Any]:
        return {
            "storageID": storage,
            "accountID": row["accountId"],
            "amountS": str(fill),
            "amountB": str(wei if sells != ETH else amount),
            "tokenS": sells,
            "tokenB": buys,
            "validUntil": VALID_UNTIL,
            "taker": "",
            "feeBips": 0,
            "isAmm": False,
            "nftData": nft_data,
            "fillS": fill,
        }

    return {
        "txType": "SpotTrade",
        "orderA": order(seller_row, seller_row["tokenId"], ETH, amount, storages[0]),
        "orderB": order(buyer_row, ETH, buyer_row["tokenId"], wei, storages[1]),
        "valid": True,
    }


def withdraw(account: dict[str, Any], token: dict[str, Any], storage: int) -> dict[str, Any]:
    """A Withdraw of ``token`` from L2 to the account's owner on L1.

    :param account: the account.
    :param token: ``{"tokenId", "nftData", "amount"}``.
    :param storage: the account's storage id.
    """
    return {
        "txType": "Withdraw",
        "accountId": account["accountId"],
        "owner": account["owner"].lower(),
        "token": token,
        "fee": fee(),
        "toAddress": account["owner"].lower(),
        "validUntil": VALID_UNTIL,
        "storageId": storage,
    }


def deposit(account: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
    """A Deposit of ``token`` from L1 into the account.

    :param account: the account.
    :param token: ``{"tokenId", "nftData", "amount"}``.
    """
    return {
        "txType": "Deposit",
        "accountId": account["accountId"],
        "owner": account["owner"].lower(),
        "token": token,
    }


def account_update(account: dict[str, Any], nonce: int) -> dict[str, Any]:
    """An AccountUpdate: the account sets its L2 key.

    :param account: the account.
    :param nonce: its nonce after the update.
    """
    return {
        "txType": "AccountUpdate",
        "accountId": account["accountId"],
        "owner": account["owner"].lower(),
        "nonce": nonce,
        "fee": fee(),
        "validUntil": VALID_UNTIL,
    }


def noop() -> dict[str, Any]:
    """A Noop, what fills a block."""
    return {"txType": "Noop"}


def nft_of(tx: dict[str, Any]) -> str:
    """The ``nftData`` a transaction moves, or "" when it moves no NFT.

    :param tx: a block transaction.
    """
    kind = tx["txType"]
    if kind == "NftMint":
        return str(tx["nftToken"]["nftData"])
    if kind == "SpotTrade":
        return str(tx["orderA"]["nftData"])
    if kind in NFT_KINDS:
        return str(tx["token"].get("nftData", ""))
    return ""


def named(tx: dict[str, Any]) -> tuple[int, ...]:
    """The accounts a transaction names, as loopring-endpoints.md's table lists them.

    :param tx: a block transaction.
    """
    kind = tx["txType"]
    if kind == "NftMint":
        return (tx["minterAccountId"], tx["toAccountId"])
    if kind == "Transfer":
        return (tx["accountId"], tx["toAccountId"])
    if kind == "SpotTrade":
        return (tx["orderA"]["accountID"], tx["orderB"]["accountID"])
    if "accountId" in tx:
        return (tx["accountId"],)
    return ()
