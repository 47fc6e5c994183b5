"""The declared Parquet schema of each record kind: the same for every file of every run.

Never inferred from the data: every documented field is a typed column (amounts exact as
DECIMAL(38,0), ids int64, epoch-millisecond times as UTC timestamps, statuses as dictionary
strings, nested objects Loopring reshapes from NFT to NFT as JSON text), every row carries its
``accountId`` and ``snapshot_date``, and whatever Loopring sends beyond the schema is kept in
one JSON text column, ``extra``, so nothing is lost. A value of the wrong type is a
``ValueError`` naming the field, never a silent null. Bump :data:`VERSION` on any change; it is
written into each file's metadata (``loopring.schema``). Version 2 added ``fetchedAt`` (when
the record was fetched, epoch ms) to balances and collections; version-1 files read the same
without it.

Standard library only: pyarrow is imported by :func:`arrow_schema` and the writer, in tasks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

VERSION = 2
KINDS: tuple[str, ...] = ("balances", "collections", "changes", "holders", "transactions")
MAX_DIGITS = 38  # DECIMAL(38, 0): Loopring's amounts are at most ~10^20

Getter = Callable[[Mapping[str, Any]], Any]


class Column(NamedTuple):
    """One column: its name, its type (see :func:`arrow_schema`), where the value comes from.

    :param path: the keys leading to the value in Loopring's record (``("pending",
        "withdraw")``); empty for columns the writer fills (``snapshot_date``, ``extra``).
    """

    name: str
    type: str
    path: tuple[str, ...] = ()
    nullable: bool = True


def _columns(*specs: tuple[str, str, str]) -> tuple[Column, ...]:
    """Columns from (name, type, dotted path) rows; the path defaults to the name."""
    return tuple(Column(name, kind, tuple((path or name).split("."))) for name, kind, path in specs)


_SNAPSHOT = Column("snapshot_date", "date", (), nullable=False)
_EXTRA = Column("extra", "json")

BALANCE_COLUMNS = (
    _SNAPSHOT,
    *_columns(
        ("accountId", "int64", ""),
        ("id", "int64", ""),
        ("tokenId", "int64", ""),
        ("nftData", "string", ""),
        ("tokenAddress", "string", ""),
        ("nftId", "string", ""),
        ("nftType", "status", ""),
        ("total", "decimal", ""),
        ("locked", "decimal", ""),
        ("pendingWithdraw", "decimal", "pending.withdraw"),
        ("pendingDeposit", "decimal", "pending.deposit"),
        ("deploymentStatus", "status", ""),
        ("isCounterFactualNFT", "bool", ""),
        ("minter", "string", ""),
        ("royaltyPercentage", "int64", ""),
        ("preferenceFavourite", "bool", "preference.favourite"),
        ("preferenceHide", "bool", "preference.hide"),
        ("updatedAt", "timestamp", ""),
        ("balanceUpdatedAt", "timestamp", ""),
        ("collectionId", "int64", "collectionInfo.id"),
        ("collectionInfo", "json", ""),
        ("metadata", "json", ""),
        ("fetchedAt", "timestamp", ""),
    ),
    _EXTRA,
)

COLLECTION_COLUMNS = (
    _SNAPSHOT,
    *_columns(
        ("accountId", "int64", ""),
        ("count", "int64", ""),
        ("collectionId", "int64", "collection.id"),
        ("owner", "string", "collection.owner"),
        ("name", "string", "collection.name"),
        ("contractAddress", "string", "collection.contractAddress"),
        ("collectionAddress", "string", "collection.collectionAddress"),
        ("baseUri", "string", "collection.baseUri"),
        ("nftFactory", "string", "collection.nftFactory"),
        ("description", "string", "collection.description"),
        ("avatar", "string", "collection.avatar"),
        ("banner", "string", "collection.banner"),
        ("thumbnail", "string", "collection.thumbnail"),
        ("tileUri", "string", "collection.tileUri"),
        ("deployStatus", "status", "collection.deployStatus"),
        ("nftType", "status", "collection.nftType"),
        ("isPublic", "bool", "collection.isPublic"),
        ("createdAt", "timestamp", "collection.times.createdAt"),
        ("updatedAt", "timestamp", "collection.times.updatedAt"),
        ("cached", "json", "collection.cached"),
        ("collectionExtra", "json", "collection.extra"),
        ("fetchedAt", "timestamp", ""),
    ),
    _EXTRA,
)

CHANGE_COLUMNS = (
    _SNAPSHOT,
    *_columns(
        ("accountId", "int64", ""),
        ("nftData", "string", ""),
        ("change", "status", ""),
        ("totalBefore", "decimal", ""),
        ("totalAfter", "decimal", ""),
        ("deploymentStatusBefore", "status", ""),
        ("deploymentStatusAfter", "status", ""),
        ("dayBefore", "date", ""),
        ("dayAfter", "date", ""),
    ),
    _EXTRA,
)

# One (NFT, holder): Loopring's nftHolders item (NftHolder's fields) and the NFT it holds.
HOLDER_COLUMNS = (
    _SNAPSHOT,
    *_columns(
        ("accountId", "int64", ""),
        ("nftData", "string", ""),
        ("address", "string", ""),
        ("tokenId", "int64", ""),
        ("amount", "decimal", ""),
        ("collectionId", "int64", ""),
        ("tokenAddress", "string", ""),
    ),
    _EXTRA,
)

# An NFT transaction (/user/nft/transactions): snapshot_date is the day of its partition (the
# first day of the interval fetched), accountId the account whose storage it used.
TRANSACTION_COLUMNS = (
    _SNAPSHOT,
    *_columns(
        ("accountId", "int64", "storageInfo.accountId"),
        ("id", "int64", ""),
        ("requestId", "int64", ""),
        ("hash", "string", ""),
        ("txHash", "string", ""),
        ("nftTxType", "status", ""),
        ("nftData", "string", ""),
        ("amount", "decimal", ""),
        ("feeTokenSymbol", "status", ""),
        ("feeAmount", "decimal", ""),
        ("status", "status", ""),
        ("timestamp", "timestamp", ""),
        ("updatedAt", "timestamp", ""),
        ("memo", "string", ""),
        ("senderAddress", "string", ""),
        ("receiverAddress", "string", ""),
        ("receiver", "int64", ""),
        ("tokenId", "int64", "storageInfo.tokenId"),
        ("storageId", "int64", "storageInfo.storageId"),
        ("blockId", "int64", "blockIdInfo.blockId"),
        ("indexInBlock", "int64", "blockIdInfo.indexInBlock"),
        ("withdrawalInfo", "json", ""),
        ("minterInfo", "json", ""),
        ("nftStatusInfo", "json", ""),
    ),
    _EXTRA,
)

SCHEMAS: dict[str, tuple[Column, ...]] = {
    "balances": BALANCE_COLUMNS,
    "collections": COLLECTION_COLUMNS,
    "changes": CHANGE_COLUMNS,
    "holders": HOLDER_COLUMNS,
    "transactions": TRANSACTION_COLUMNS,
}


NFT_ACTIVITY_COLUMNS = (
    _SNAPSHOT,
    *_columns(
        ("accountId", "int64", ""),
        ("blockId", "int64", ""),
        ("indexInBlock", "int64", ""),
        ("createdAt", "timestamp", ""),
        ("txType", "status", ""),
        ("nftData", "string", ""),
        ("amount", "decimal", ""),
        ("fromAccountId", "int64", ""),
        ("fromAddress", "string", ""),
        ("toAccountId", "int64", ""),
        ("toAddress", "string", ""),
        ("minterAccountId", "int64", ""),
        ("minterAddress", "string", ""),
        ("tokenId", "int64", ""),
        ("feeTokenId", "int64", ""),
        ("feeAmount", "decimal", ""),
    ),
    _EXTRA,
)
# The blocks operator's records (_core.activity.nft_move): one per NFT-moving transaction.
SCHEMAS["nft_activity"] = NFT_ACTIVITY_COLUMNS
KINDS = (*KINDS, "nft_activity")


def lineage_fields(kind: str) -> tuple[tuple[str, str], ...]:
    """The (name, type) of each column of a Parquet file of ``kind``, for a schema facet.

    The types are :func:`arrow_schema`'s, as Arrow prints them (JSON columns are strings):
    only a task writing Parquet asks, so pyarrow is there.

    :param kind: one of :data:`KINDS`.
    """
    return tuple((field.name, str(field.type)) for field in arrow_schema(kind))


def statistics_columns(kind: str) -> list[str]:
    """The columns whose min / max a Parquet file keeps per row group: all but JSON text.

    A JSON column's min and max are whole objects (a collection's ~1.2 KB each): they made
    three quarters of a balances file's footer, which a reader parses whole on opening
    (+24 MiB for a day of 200,000 wallets), and no query filters on them.

    :param kind: one of :data:`KINDS`.
    """
    return [column.name for column in SCHEMAS[kind] if column.type != "json"]


def dictionary_columns(kind: str) -> list[str]:
    """The columns a Parquet file dictionary-encodes: the statuses (the others are nearly all
    distinct; their dictionaries cost the writer up to 1 MiB each: benchmarks/memory.py).

    :param kind: one of :data:`KINDS`."""
    return [column.name for column in SCHEMAS[kind] if column.type == "status"]


def arrow_schema(kind: str) -> Any:
    """The pyarrow schema of a record kind, with the schema version in its metadata.

    :param kind: one of :data:`KINDS`.
    """
    import pyarrow as pa

    types = {
        "int64": pa.int64(),
        "string": pa.string(),
        "status": pa.dictionary(pa.int32(), pa.string()),
        "decimal": pa.decimal128(MAX_DIGITS, 0),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("ms", tz="UTC"),
        "date": pa.date32(),
        "json": pa.string(),
    }
    fields = [pa.field(c.name, types[c.type], nullable=c.nullable) for c in SCHEMAS[kind]]
    meta = {"loopring.schema": json.dumps({"kind": kind, "version": VERSION})}
    return pa.schema(fields, metadata=meta)


# --- reading a record into a row --------------------------------------------------------


def _describe(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


INT64 = range(-(2**63), 2**63)
# Epoch milliseconds of years 1 to 9999: what a timestamp column can be read back as.
MILLIS = range(-62_135_596_800_000, 253_402_300_800_000)


def _integer(value: Any, where: str) -> int | None:
    if value is None or (type(value) is int and value in INT64):
        return value
    raise ValueError(f"{where}: expected an integer of at most 64 bits, got {_describe(value)}")


def _millis(value: Any, where: str) -> int | None:
    if value is None or (type(value) is int and value in MILLIS):
        return value
    raise ValueError(
        f"{where}: expected an integer of epoch milliseconds (years 1-9999), got {_describe(value)}"
    )


def _text(value: Any, where: str) -> str | None:
    if value is None or type(value) is str:
        return value
    raise ValueError(f"{where}: expected text, got {_describe(value)}")


def _flag(value: Any, where: str) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise ValueError(f"{where}: expected true or false, got {_describe(value)}")


def _decimal(value: Any, where: str) -> Any:
    """A decimal string (as Loopring sends amounts) or an int: exact, never a float."""
    if value is None:
        return None
    # The same amounts as numbers as in text: whole, not negative, at most 38 digits.
    if (type(value) is int and 0 <= value < 10**MAX_DIGITS) or (
        type(value) is str and value.isascii() and value.isdigit() and len(value) <= MAX_DIGITS
    ):
        return Decimal(value)
    expected = "a decimal string of at most 38 digits"
    raise ValueError(f"{where}: expected {expected}, got {_describe(value)}")


_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _json(value: Any, where: str) -> str | None:
    if value is None:
        return None
    try:
        return _ENCODE(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected JSON, got {_describe(value)}") from None


_CONVERT: dict[str, Callable[[Any, str], Any]] = {
    "int64": _integer,
    "string": _text,
    "status": _text,
    "decimal": _decimal,
    "bool": _flag,
    "timestamp": _millis,  # epoch milliseconds; Arrow reads them as UTC times
    "date": _text,  # "YYYY-MM-DD"; converted to a date by the writer
    "json": _json,
}


class RowReader:
    """Turns Loopring's records of one kind into rows of the declared columns.

    :param kind: one of :data:`KINDS`.
    :param snapshot_date: the ``snapshot_date`` of every row ("YYYY-MM-DD").
    """

    def __init__(self, kind: str, snapshot_date: str) -> None:
        self.kind = kind
        self.columns = SCHEMAS[kind]
        self.snapshot_date = snapshot_date
        self._read = [
            (c.path, _CONVERT[c.type], f"{kind}.{'.'.join(c.path)}") for c in self.columns if c.path
        ]
        self._known = _known_paths(self.columns)

    def row(self, record: Mapping[str, Any]) -> list[Any]:
        """The record's values in column order; raises ValueError naming a wrong field.

        :param record: a record as Loopring sent it; fields beyond the columns go to ``extra``.
        """
        values: list[Any] = [self.snapshot_date]
        for path, convert, where in self._read:
            value: Any = record
            for key in path:
                value = value.get(key) if type(value) is dict else None
            values.append(convert(value, where))
        values.append(_json(_beyond(record, self._known), f"{self.kind}.extra"))
        return values


def _known_paths(columns: Sequence[Column]) -> dict[str, Any]:
    """The schema's paths as a tree: ``{"pending": {"withdraw": None, ...}, "total": None}``.

    A JSON column holds its whole object: nothing below it is extra.
    """
    tree: dict[str, Any] = {}
    for column in sorted(columns, key=lambda c: c.type == "json"):  # JSON columns last
        if not column.path:
            continue
        node: dict[str, Any] | None = tree
        for key in column.path[:-1]:
            node = node.setdefault(key, {}) if node is not None else None
        if node is not None:
            leaf = column.path[-1]
            node[leaf] = None if column.type == "json" else node.get(leaf)
    return tree


def _beyond(record: Mapping[str, Any], known: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the record holds that no column does (None when nothing)."""
    extra: dict[str, Any] = {}
    for key, value in record.items():
        if key not in known:
            extra[key] = value
        elif known[key] is not None and isinstance(value, Mapping):
            deeper = _beyond(value, known[key])
            if deeper:
                extra[key] = deeper
    return extra or None
