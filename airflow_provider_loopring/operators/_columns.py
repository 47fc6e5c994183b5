"""The columns of the JSON records the operators write: Loopring's names and JSON types.

What lineage tools are told of a JSON file's schema (see :mod:`._lineage`), derived from the
models' field tables (``_FIELDS``): a field's JSON type follows from how the model reads it.
Parquet files are described by their declared schema instead (``storage.schemas``).
"""

from __future__ import annotations

import re

from airflow_provider_loopring.models import (
    CollectionBalance,
    NftBalance,
    NftHolder,
    NftTransaction,
)
from airflow_provider_loopring.models.fields import (
    AMOUNT,
    BOOLEAN,
    INTEGER,
    OBJECT,
    OPTIONAL_OBJECT,
    REQUIRED_INTEGER,
    STRING,
    ApiModel,
    Field,
)

Columns = tuple[tuple[str, str], ...]

# The JSON type of each kind of field the models read; an amount is a decimal string.
_KIND_TYPES = {
    STRING.read: "string",
    AMOUNT.read: "string",
    INTEGER.read: "integer",
    REQUIRED_INTEGER.read: "integer",
    BOOLEAN.read: "boolean",
    OBJECT.read: "struct",
    OPTIONAL_OBJECT.read: "struct",
}
_SCALAR_TYPES = ((bool, "boolean"), (int, "integer"), (str, "string"), (dict, "struct"))


def json_type(field: Field, annotation: str) -> str:
    """A field's type in Loopring's JSON, from the model's table.

    A usual kind says it (``STRING``, ``AMOUNT``, ...); a field read its own way says it by
    the type it takes as is (``count``: an int); any other is a string the model parses
    (``nftId``, ``deploymentStatus``: ``str`` is in the attribute's annotation) or a nested
    object read into a model (``pending``, ``collection``, ``metadata``).

    :param field: one row of a model's ``_FIELDS``.
    :param annotation: the model's annotation of the field's attribute, as text.
    """
    if field.read in _KIND_TYPES:
        return _KIND_TYPES[field.read]
    for kind, name in _SCALAR_TYPES:
        if kind in field.types:
            return name
    return "string" if re.search(r"\bstr\b", annotation) else "struct"


def _columns(model: type[ApiModel], *added: tuple[str, str]) -> Columns:
    hints = {name: str(hint) for name, hint in model.__annotations__.items()}
    fields = ((field.key, json_type(field, hints[field.attribute])) for field in model._FIELDS)
    return (*fields, *added)


def json_columns(kind: str) -> Columns:
    """The (name, JSON type) columns of a record of ``kind``, in the model's order.

    :param kind: ``balances`` (an ``NftBalance``), ``collections`` (a ``CollectionBalance``
        and the ``accountId`` the operator adds), ``holders`` (an ``NftHolder`` and the
        NFT's ``nftData``, ``collectionId`` and ``tokenAddress`` the operator adds) or
        ``transactions`` (an ``NftTransaction``).
    """
    if kind == "collections":
        return _columns(CollectionBalance, ("accountId", "integer"))
    if kind == "holders":
        return _columns(
            NftHolder,
            ("nftData", "string"),
            ("collectionId", "integer"),
            ("tokenAddress", "string"),
        )
    if kind == "transactions":
        return _columns(NftTransaction)
    return _columns(NftBalance)
