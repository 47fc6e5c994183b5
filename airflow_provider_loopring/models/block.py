"""Layer-2 blocks, their transactions, and which accounts a transaction touches."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_loopring.models.fields import (
    BOOLEAN,
    INTEGER,
    MISSING,
    OPTIONAL_OBJECT,
    REQUIRED_INTEGER,
    STRING,
    ApiModel,
    Field,
    bad,
    parse_at,
)

#: Where a transaction names an account by id, and the addresses that go with that id: an
#: address is named only where its role gives no id.
ACCOUNT_ROLES = (
    ("accountId", ("owner", "fromAddress")),
    ("toAccountId", ("toAccountAddress", "toAddress")),
    ("minterAccountId", ("minter",)),
)
_ID_SUFFIXES = ("accountid",)  # any other key ending so, at any depth (orderA.accountID, ...)


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockTransaction(ApiModel):
    """One transaction of a block, in block order; unknown transaction types and fields are kept.

    :param tx_type: ``Transfer``, ``SpotTrade``, ``NftMint``, ``Deposit``, ``Withdraw``,
        ``NftData``, ``AccountUpdate``, ... as sent.
    :param account_id: the account that signed it (the sender, the depositor, ...).
    :param owner: that account's address, where sent.
    :param token: ``{tokenId, nftData, amount, ...}``: what moved.
    :param to_token: the receiver's slot of it.
    :param fee: ``{tokenId, amount}``.
    :param to_account_id: the receiver's account.
    :param to_account_address: the receiver's address.
    :param storage_id: the sender's storage id.
    :param order_a: a trade's first order (``accountID``, ``nftData``, ``fillS``, ...).
    :param order_b: its second order.
    :param minter_account_id: the minter's account (mints).
    :param minter: the minter's address.
    :param nft_token: the NFT minted (``nftData``, ``amount``, ...).
    :param from_address: the layer-1 sender (deposits).
    :param to_address: the layer-1 receiver (withdrawals).
    :param valid_until: until when it could be made, in seconds.
    :param valid: whether the relayer found it valid, where sent.
    """

    _FIELDS = (
        STRING("tx_type", "txType"),
        INTEGER("account_id", "accountId"),
        STRING("owner", "owner"),
        OPTIONAL_OBJECT("token", "token"),
        OPTIONAL_OBJECT("to_token", "toToken"),
        OPTIONAL_OBJECT("fee", "fee"),
        INTEGER("to_account_id", "toAccountId"),
        STRING("to_account_address", "toAccountAddress"),
        INTEGER("storage_id", "storageId"),
        OPTIONAL_OBJECT("order_a", "orderA"),
        OPTIONAL_OBJECT("order_b", "orderB"),
        INTEGER("minter_account_id", "minterAccountId"),
        STRING("minter", "minter"),
        OPTIONAL_OBJECT("nft_token", "nftToken"),
        STRING("from_address", "fromAddress"),
        STRING("to_address", "toAddress"),
        INTEGER("valid_until", "validUntil"),
        BOOLEAN("valid", "valid"),
    )
    tx_type: str | None
    account_id: int | None
    owner: str | None
    token: dict[str, Any] | None
    to_token: dict[str, Any] | None
    fee: dict[str, Any] | None
    to_account_id: int | None
    to_account_address: str | None
    storage_id: int | None
    order_a: dict[str, Any] | None
    order_b: dict[str, Any] | None
    minter_account_id: int | None
    minter: str | None
    nft_token: dict[str, Any] | None
    from_address: str | None
    to_address: str | None
    valid_until: int | None
    valid: bool | None

    def accounts(self) -> tuple[frozenset[int], frozenset[str]]:
        """The accounts it touches (see :func:`touched_accounts`)."""
        return touched_accounts(self._raw)

    @property
    def nft_datas(self) -> tuple[str, ...]:
        """The NFTs it names (``token``, ``nftToken``, ``orderA`` / ``orderB``), each once."""
        found: list[str] = []
        for part in (self.token, self.nft_token, self.order_a, self.order_b):
            value = (part or {}).get("nftData")
            if isinstance(value, str) and value and value not in found:
                found.append(value)
        return tuple(found)


def _ids(value: Any) -> Iterator[int]:
    """Every account id at any depth: keys ending in ``accountId`` (any case), ids > 0."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and key.lower().endswith(_ID_SUFFIXES):
                number = _as_id(item)
                if number is not None:
                    yield number
            elif isinstance(item, (Mapping, list)):
                yield from _ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _ids(item)


def _as_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value) or None
    return None


def touched_accounts(tx: Mapping[str, Any]) -> tuple[frozenset[int], frozenset[str]]:
    """Every account a block transaction touches, conservatively: ids and addresses.

    Every account id in any role, at any depth (``accountId``, ``toAccountId``,
    ``minterAccountId``, ``orderA.accountID``, ``orderB.accountID``, and any other key ending
    in ``accountId``); and, lowercased, the address of a role that gives no id (``owner`` /
    ``fromAddress`` without ``accountId``, ``toAccountAddress`` / ``toAddress`` without
    ``toAccountId``, ``minter`` without ``minterAccountId``): an address given with its
    role's id is that account, already named. Id 0 counts as no id. A withdrawal's
    ``toAddress`` is never named: it is the layer-1 address the NFT leaves to, no layer-2
    account (the withdrawal changes its ``accountId`` / ``owner``). Unknown transaction types
    are read the same way: a new role is still found by its key.

    :param tx: the transaction as Loopring sent it.
    :return: ``(account ids, addresses)``.
    """
    ids = frozenset(_ids(tx))
    withdrawal = "withdraw" in str(tx.get("txType", "")).lower()  # Withdraw, WITHDRAWAL, ...
    addresses = set()
    for id_key, address_keys in ACCOUNT_ROLES:
        if _as_id(tx.get(id_key)) is not None:
            continue
        for key in address_keys:
            if withdrawal and key == "toAddress":
                continue  # where it goes on layer 1: no layer-2 account
            value = tx.get(key)
            if isinstance(value, str) and value.startswith("0x"):
                addresses.add(value.lower())
    return ids, frozenset(addresses)


def _read_transactions(raw: dict[str, Any], key: str) -> list[BlockTransaction]:
    values = raw.get(key, MISSING)
    if not isinstance(values, list):
        raise bad(key, "a list", values)
    parsed = [parse_at(BlockTransaction, f"{key}[{i}]", v) for i, v in enumerate(values)]
    raw[key] = [tx._raw for tx in parsed]  # each transaction's dict held once
    return parsed


@dataclass(frozen=True, slots=True, kw_only=True)
class Block(ApiModel):
    """A layer-2 block (``/api/v3/block/getBlock``).

    :param block_id: the block's number.
    :param block_size: its transactions, as the block counts them.
    :param exchange: the exchange contract.
    :param tx_hash: the layer-1 transaction that submitted it.
    :param status: ``WAIT_SUBMIT``, ``SUBMITTED`` or ``COMPLETED``, as sent.
    :param created_at: milliseconds.
    :param transactions: its transactions, in block order.
    """

    _FIELDS = (
        REQUIRED_INTEGER("block_id", "blockId"),
        INTEGER("block_size", "blockSize"),
        STRING("exchange", "exchange"),
        STRING("tx_hash", "txHash"),
        STRING("status", "status"),
        INTEGER("created_at", "createdAt"),
        Field("transactions", "transactions", frozenset(), _read_transactions),
    )
    block_id: int
    block_size: int | None
    exchange: str | None
    tx_hash: str | None
    status: str | None
    created_at: int | None
    transactions: list[BlockTransaction]
