"""What moved: an account's NFT transactions and its NFT trades."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_loopring.models.fields import (
    AMOUNT,
    INTEGER,
    MISSING,
    OBJECT,
    OPTIONAL_OBJECT,
    STRING,
    ApiModel,
    Field,
    Page,
    bad,
    read_int,
)


def _read_created(raw: Mapping[str, Any], key: str) -> int | None:
    """``timestamp`` as the responses send it, or ``createdAt`` as the docs' table names it."""
    value = raw.get(key)
    return read_int(raw, key) if value is not None else read_int(raw, "createdAt")


@dataclass(frozen=True, slots=True, kw_only=True)
class NftTransaction(ApiModel):
    """One NFT transaction of an account (an item of ``/api/v3/user/nft/transactions``).

    :param id: Loopring's id of the row.
    :param request_id: the relayer's request id.
    :param hash: the layer-2 hash: what makes a transaction the same in two accounts' lists.
    :param tx_hash: the layer-1 hash, where there is one.
    :param nft_tx_type: ``MINT``, ``TRANSFER``, ``DEPOSIT``, ``WITHDRAW``, ... as sent.
    :param nft_data: the NFT moved.
    :param amount: how many; big integers from decimal strings.
    :param fee_token_symbol: the token the fee was paid in.
    :param fee_amount: the fee, in that token's smallest unit.
    :param status: ``processing``, ``processed``, ``failed`` or ``received``.
    :param created_at: milliseconds (``timestamp`` in responses, ``createdAt`` in the docs).
    :param updated_at: milliseconds.
    :param memo: the sender's memo.
    :param receiver_address: the receiver's address (transfers).
    :param sender_address: the sender's address.
    :param receiver: the receiver's account id; 0 when there is none.
    :param storage_info: ``accountId``, ``tokenId``, ``storageId`` of the transaction.
    :param withdrawal_info: ``recipient``, ``fastStatus``, ``distributeHash`` (withdrawals).
    :param minter_info: ``accountId``, ``minter``, ``originalMinter`` (mints).
    :param nft_status_info: the NFT's deployment status, type, token address and id.
    :param block_id_info: ``blockId`` and ``indexInBlock``, where sent (not in the docs'
        sample); None otherwise.
    """

    _FIELDS = (
        INTEGER("id", "id"),
        INTEGER("request_id", "requestId"),
        STRING("hash", "hash"),
        STRING("tx_hash", "txHash"),
        STRING("nft_tx_type", "nftTxType"),
        STRING("nft_data", "nftData"),
        AMOUNT("amount", "amount"),
        STRING("fee_token_symbol", "feeTokenSymbol"),
        AMOUNT("fee_amount", "feeAmount"),
        STRING("status", "status"),
        Field("created_at", "timestamp", frozenset({int}), _read_created),
        INTEGER("updated_at", "updatedAt"),
        STRING("memo", "memo"),
        STRING("receiver_address", "receiverAddress"),
        STRING("sender_address", "senderAddress"),
        INTEGER("receiver", "receiver"),
        OBJECT("storage_info", "storageInfo"),
        OBJECT("withdrawal_info", "withdrawalInfo"),
        OBJECT("minter_info", "minterInfo"),
        OBJECT("nft_status_info", "nftStatusInfo"),
        OPTIONAL_OBJECT("block_id_info", "blockIdInfo"),
    )
    id: int | None
    request_id: int | None
    hash: str | None
    tx_hash: str | None
    nft_tx_type: str | None
    nft_data: str | None
    amount: int
    fee_token_symbol: str | None
    fee_amount: int
    status: str | None
    created_at: int | None
    updated_at: int | None
    memo: str | None
    receiver_address: str | None
    sender_address: str | None
    receiver: int | None
    storage_info: dict[str, Any]
    withdrawal_info: dict[str, Any]
    minter_info: dict[str, Any]
    nft_status_info: dict[str, Any]
    block_id_info: dict[str, Any] | None

    def listing_key(self) -> object:
        """What makes a transaction the same on another page: its hash (its id)."""
        return self.hash or self.id

    @property
    def block(self) -> tuple[int, int] | None:
        """``(blockId, indexInBlock)`` when the row gives both and the block is made (not 0)."""
        info = self.block_id_info or {}
        block_id, index = read_int(info, "blockId"), read_int(info, "indexInBlock")
        return None if not block_id or index is None else (block_id, index)


@dataclass(frozen=True, slots=True, kw_only=True)
class NftTransactionsPage(Page):
    """A page of ``/api/v3/user/nft/transactions``: ``{"totalNum", "transactions"}``.

    :param total_num: the account's matching transactions across all pages.
    :param items: this page's transactions.
    """

    _KEYS = frozenset({"totalNum", "transactions"})
    _ITEMS = "transactions"
    _ITEM_MODEL = NftTransaction
    items: list[NftTransaction]


#: The positions of a trade's array, as Loopring's docs list them, by the names we give them.
TRADE_POSITIONS = (
    "id",
    "hash",
    "sellOrderHash",
    "buyOrderHash",
    "price",
    "nftData",
    "nftAmount",
    "nftTokenId",
    "erc20TokenId",
    "sellFeeAmount",
    "buyFeeAmount",
    "blockId",
    "indexInBlock",
    "sellAccountId",
    "buyAccountId",
    "sellStorageId",
    "buyStorageId",
    "createdAt",
    "submitterAccountId",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class NftTrade(ApiModel):
    """One NFT trade (a row of ``/api/v3/user/nft/trades``), its positions named.

    Loopring sends a trade as an array of strings; :meth:`to_dict` gives it with the names of
    :data:`TRADE_POSITIONS` (positions past them under ``"more"``).

    :param id: the trade's id.
    :param hash: the trade's layer-2 hash.
    :param sell_order_hash: the selling order.
    :param buy_order_hash: the buying order.
    :param price: the price, a decimal string as sent.
    :param nft_data: the NFT traded.
    :param nft_amount: how many.
    :param nft_token_id: the NFT's slot in the seller's account.
    :param erc20_token_id: the token paid in.
    :param sell_fee_amount: the seller's fee.
    :param buy_fee_amount: the buyer's fee.
    :param block_id: the block it is in (0 until made).
    :param index_in_block: its position there.
    :param sell_account_id: the seller's account.
    :param buy_account_id: the buyer's account.
    :param sell_storage_id: the seller's storage id.
    :param buy_storage_id: the buyer's storage id.
    :param created_at: milliseconds.
    :param submitter_account_id: the account that submitted it.
    """

    _FIELDS = (
        INTEGER("id", "id"),
        STRING("hash", "hash"),
        STRING("sell_order_hash", "sellOrderHash"),
        STRING("buy_order_hash", "buyOrderHash"),
        STRING("price", "price"),
        STRING("nft_data", "nftData"),
        AMOUNT("nft_amount", "nftAmount"),
        INTEGER("nft_token_id", "nftTokenId"),
        INTEGER("erc20_token_id", "erc20TokenId"),
        AMOUNT("sell_fee_amount", "sellFeeAmount"),
        AMOUNT("buy_fee_amount", "buyFeeAmount"),
        INTEGER("block_id", "blockId"),
        INTEGER("index_in_block", "indexInBlock"),
        INTEGER("sell_account_id", "sellAccountId"),
        INTEGER("buy_account_id", "buyAccountId"),
        INTEGER("sell_storage_id", "sellStorageId"),
        INTEGER("buy_storage_id", "buyStorageId"),
        INTEGER("created_at", "createdAt"),
        INTEGER("submitter_account_id", "submitterAccountId"),
    )
    id: int | None
    hash: str | None
    sell_order_hash: str | None
    buy_order_hash: str | None
    price: str | None
    nft_data: str | None
    nft_amount: int
    nft_token_id: int | None
    erc20_token_id: int | None
    sell_fee_amount: int
    buy_fee_amount: int
    block_id: int | None
    index_in_block: int | None
    sell_account_id: int | None
    buy_account_id: int | None
    sell_storage_id: int | None
    buy_storage_id: int | None
    created_at: int | None
    submitter_account_id: int | None

    def listing_key(self) -> object:
        """What makes a trade the same on another page: its id (its hash)."""
        return self.id if self.id is not None else self.hash


def named_trade(row: Any, path: str) -> dict[str, Any]:
    """A trade's array as a mapping of :data:`TRADE_POSITIONS`; a mapping is taken as it is.

    :param row: one element of ``trades``.
    :param path: where it is, for errors (``trades[3]``).
    :raises ValueError: neither an array nor an object.
    """
    if isinstance(row, Mapping):
        return dict(row)
    if not isinstance(row, list):
        raise bad(path, "an array (or an object)", row)
    named = dict(zip(TRADE_POSITIONS, row, strict=False))
    if len(row) > len(TRADE_POSITIONS):
        named["more"] = row[len(TRADE_POSITIONS) :]
    return named


@dataclass(frozen=True, slots=True, kw_only=True)
class NftTradesPage(Page):
    """A page of ``/api/v3/user/nft/trades``: ``{"totalNum", "trades": [[..], ..]}``.

    :param total_num: the account's matching trades across all pages.
    :param items: this page's trades, each array read by position.
    """

    _KEYS = frozenset({"totalNum", "trades"})
    _ITEMS = "trades"
    _ITEM_MODEL = NftTrade
    items: list[NftTrade]

    @classmethod
    def _parse(cls, raw: dict[str, Any]) -> NftTradesPage:
        rows = raw.get(cls._ITEMS, MISSING)
        if isinstance(rows, list):
            raw[cls._ITEMS] = [named_trade(row, f"trades[{i}]") for i, row in enumerate(rows)]
        return super(NftTradesPage, cls)._parse(raw)
