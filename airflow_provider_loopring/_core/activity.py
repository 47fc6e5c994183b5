"""A block's NFT activity: which transactions move an NFT, as one flat record each.

Pure: handed a block as Loopring sends it (``getBlock``), it answers records; no request, no
Airflow, standard library only. The blocks operator writes these records; the block-driven
watchers and the incremental nights read the same blocks, and whatever of NFT moves they need
is answered here. Which *accounts* a transaction names is
:func:`~airflow_provider_loopring.models.block.touched_accounts`'s (every transaction, NFT or
not); this module is only about NFT moves.

What moves an NFT (loopring-endpoints.md, section 5):

- ``NftMint``: always (``nftToken``); the minter mints into the receiver (``toAccountId``).
- ``Transfer``, ``Withdraw``, ``Deposit``: when ``token`` names an NFT (an ``nftData``, or a
  slot ``tokenId`` of 32768 and above); an ERC20 one moves no NFT.
- ``SpotTrade``: when an order names an NFT (``nftData`` not empty, or a token of 32768 and
  above); the order selling it (``tokenS``) is the ``from`` side, the other the ``to`` side;
  where no slot tells, the order whose own ``nftData`` is set is the ``from`` side.
- Every other type (``AccountUpdate``, ``NftData``, ``Noop``, ``AmmUpdate``, an unknown one):
  no NFT moves.

A transaction of a moving type without the object that says what moved (a ``Transfer``
without ``token``, a ``SpotTrade`` without its orders, an ``NftMint`` without ``nftToken``) is
an :class:`ActivityError`: whether it moved an NFT cannot be told, and it is never passed over.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

NFT_TOKEN_ID_START = 2**15  # slots below are ERC20 tokens (ExchangeData.sol)
NFT_MOVING_TYPES = frozenset({"NftMint", "Transfer", "Withdraw", "Deposit", "SpotTrade"})
#: Every type Loopring documents; a block holding another is read (its accounts are named)
#: but a reader should hear of it: it might move NFTs in a way not known here.
KNOWN_TYPES = NFT_MOVING_TYPES | {
    "Noop",
    "AccountUpdate",
    "AmmUpdate",
    "JoinAmm",
    "ExitAmm",
    "SignatureVerification",
    "NftData",
}
#: The keys of every record, in this order (the Parquet schema ``nft_activity`` has them).
COLUMNS = (
    "blockId",
    "indexInBlock",
    "createdAt",
    "txType",
    "nftData",
    "amount",
    "accountId",
    "fromAccountId",
    "fromAddress",
    "toAccountId",
    "toAddress",
    "minterAccountId",
    "minterAddress",
    "tokenId",
    "feeTokenId",
    "feeAmount",
)


class ActivityError(ValueError):
    """A transaction whose NFT move cannot be read: the block is not what Loopring documents."""


def _id(value: Any) -> int | None:
    """An account or token id as an int (Loopring sends ints; digit strings are read too)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _address(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value.startswith("0x") else None


def _amount(value: Any, where: str) -> str | None:
    """A whole amount as a decimal string, as Loopring sends amounts; None when absent."""
    if value is None:
        return None
    number = _id(value)
    if number is None:
        raise ActivityError(f"{where}: the amount {value!r} is not a whole number")
    return str(number)


def _object(tx: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = tx.get(key)
    if not isinstance(value, Mapping):
        raise ActivityError(f"{where}: a {tx.get('txType')} without its {key!r} object")
    return value


def _is_nft_token(token: Mapping[str, Any]) -> bool:
    slot = _id(token.get("tokenId"))
    return bool(token.get("nftData")) or (slot is not None and slot >= NFT_TOKEN_ID_START)


Order = Mapping[str, Any]


def _sells_nft(order: Order) -> bool:
    slot = _id(order.get("tokenS"))
    return slot is not None and slot >= NFT_TOKEN_ID_START


def _seller_first(a: Order, b: Order) -> tuple[Order, Order]:
    """A trade's orders, the NFT's seller first: the order selling a slot of 32768 and above;
    where no slot tells, the one whose own ``nftData`` is set; else order A."""
    for tells in (_sells_nft, lambda order: bool(order.get("nftData"))):
        if tells(b) and not tells(a):
            return b, a
        if tells(a) and not tells(b):
            return a, b
    return a, b


def moves_nft(tx: Mapping[str, Any], where: str = "transaction") -> bool:
    """Whether a block transaction moves an NFT (see the module's list).

    :param tx: the transaction as Loopring sent it.
    :param where: how to name it in an error (``block 12 transaction 3``).
    :raises ActivityError: a moving type without the object that tells.
    """
    kind = tx.get("txType")
    if kind == "NftMint":
        _object(tx, "nftToken", where)
        return True
    if kind in ("Transfer", "Withdraw", "Deposit"):
        return _is_nft_token(_object(tx, "token", where))
    if kind == "SpotTrade":
        orders = (_object(tx, "orderA", where), _object(tx, "orderB", where))
        return any(
            bool(order.get("nftData"))
            or _sells_nft(order)
            or (_id(order.get("tokenB")) or 0) >= NFT_TOKEN_ID_START
            for order in orders
        )
    return False


def _sides(tx: Mapping[str, Any], where: str) -> dict[str, Any]:
    """nftData, amount, slot and the two sides of a moving transaction, by its type."""
    kind = tx["txType"]
    if kind == "NftMint":
        token = _object(tx, "nftToken", where)
        return {
            "token": token,
            "to": (tx.get("toAccountId"), tx.get("toAccountAddress") or tx.get("toAddress")),
            "minter": (tx.get("minterAccountId"), tx.get("minter")),
        }
    if kind == "SpotTrade":
        a, b = _object(tx, "orderA", where), _object(tx, "orderB", where)
        seller, buyer = _seller_first(a, b)
        token = {
            "nftData": seller.get("nftData") or buyer.get("nftData"),
            "amount": seller.get("fillS"),
            "tokenId": seller.get("tokenS"),
        }
        return {
            "token": token,
            "from": (seller.get("accountID"), None),
            "to": (buyer.get("accountID"), None),
        }
    token = _object(tx, "token", where)
    owner = tx.get("owner")
    if kind == "Deposit":  # from layer 1 into the account
        sender = (None, tx.get("fromAddress") or owner)
        return {"token": token, "from": sender, "to": (tx.get("accountId"), owner)}
    if kind == "Withdraw":  # from the account to layer 1
        receiver = (None, tx.get("toAddress") or owner)
        return {"token": token, "from": (tx.get("accountId"), owner), "to": receiver}
    return {
        "token": token,
        "from": (tx.get("accountId"), tx.get("fromAddress") or owner),
        "to": (tx.get("toAccountId"), tx.get("toAccountAddress") or tx.get("toAddress")),
    }


def nft_move(
    tx: Mapping[str, Any], *, block_id: int, index: int, created_at: int | None
) -> dict[str, Any] | None:
    """The flat record of one block transaction that moves an NFT; None when it moves none.

    Keys (:data:`COLUMNS`): the block's ``blockId``, ``createdAt`` (ms) and the position
    ``indexInBlock`` (from 0: the explorer's ``/tx/<blockId>-<indexInBlock>``); ``txType``;
    ``nftData``; ``amount`` (a decimal string); ``accountId`` (the account that made it: the
    sender, the depositor or withdrawer, a mint's minter, a trade's seller); each side's
    account id and address (``from*``: the sender, the seller, a withdrawal's account, a
    deposit's layer-1 address; ``to*``: the receiver, the buyer, a mint's receiver, a
    deposit's account, a withdrawal's layer-1 address); a mint's ``minter*``; the sender's
    slot ``tokenId``; the fee (``feeTokenId``, ``feeAmount``). What a type does not send is
    None.

    :param tx: the transaction as Loopring sent it.
    :param block_id: its block.
    :param index: its position in the block, from 0.
    :param created_at: the block's ``createdAt`` (ms).
    :raises ActivityError: a moving type without the object that tells what moved, or an
        amount that is no whole number.
    """
    where = f"block {block_id} transaction {index}"
    if not moves_nft(tx, where):
        return None
    sides = _sides(tx, where)
    token = sides["token"]
    fee = tx.get("fee")
    fee = fee if isinstance(fee, Mapping) else {}
    sender = sides.get("from", (None, None))
    receiver = sides["to"]
    minter = sides.get("minter", (None, None))
    nft_data = token.get("nftData")
    return {
        "blockId": block_id,
        "indexInBlock": index,
        "createdAt": created_at,
        "txType": tx["txType"],
        "nftData": nft_data.lower() if isinstance(nft_data, str) and nft_data else None,
        "amount": _amount(token.get("amount"), where),
        "accountId": _id(sender[0]) if sender[0] is not None else _id(minter[0] or receiver[0]),
        "fromAccountId": _id(sender[0]),
        "fromAddress": _address(sender[1]),
        "toAccountId": _id(receiver[0]),
        "toAddress": _address(receiver[1]),
        "minterAccountId": _id(minter[0]),
        "minterAddress": _address(minter[1]),
        "tokenId": _id(token.get("tokenId")),
        "feeTokenId": _id(fee.get("tokenId")),
        "feeAmount": _amount(fee.get("amount"), where),
    }


def block_moves(block: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The NFT-move records of a block (``getBlock``'s body), in block order.

    :param block: the block as Loopring sent it: ``blockId``, ``createdAt``, ``transactions``.
    :raises ActivityError: see :func:`nft_move`; also a block without its id or its list of
        transactions.
    """
    block_id, transactions = _id(block.get("blockId")), block.get("transactions")
    if block_id is None or not isinstance(transactions, list):
        raise ActivityError("a block without its blockId or its list of transactions")
    created_at = _id(block.get("createdAt"))
    for index, tx in enumerate(transactions):
        if not isinstance(tx, Mapping):
            raise ActivityError(f"block {block_id} transaction {index} is not an object")
        record = nft_move(tx, block_id=block_id, index=index, created_at=created_at)
        if record is not None:
            yield record
