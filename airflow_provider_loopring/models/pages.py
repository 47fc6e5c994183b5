"""Pages of the list endpoints: ``totalNum`` and a list of items, each item its own model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from airflow_provider_loopring.models.collection import CollectionBalance
from airflow_provider_loopring.models.fields import (
    MISSING,
    ApiModel,
    bad,
    copy_json,
    parse_at,
    read_required_int,
)
from airflow_provider_loopring.models.nft import NftBalance

_P = TypeVar("_P", bound="_Page")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Page(ApiModel):
    """A page of a list endpoint: ``totalNum`` and the list under ``_ITEMS``.

    Read by hand rather than from a field table: its items are popped out of its own mapping.
    """

    _ITEMS: ClassVar[str]
    _ITEM_MODEL: ClassVar[type[ApiModel]]
    total_num: int
    items: Sequence[ApiModel]

    @classmethod
    def _parse(cls: type[_P], raw: dict[str, Any]) -> _P:
        # Popped: the page keeps only its own fields, each item keeps its own.
        values = raw.pop(cls._ITEMS, MISSING)
        if not isinstance(values, list):
            raise bad(cls._ITEMS, "a list", values)
        items = [parse_at(cls._ITEM_MODEL, f"{cls._ITEMS}[{i}]", v) for i, v in enumerate(values)]
        return cls(_raw=raw, total_num=read_required_int(raw, "totalNum"), items=items)

    def to_dict(self, *, copy: bool = True) -> dict[str, Any]:
        """The page as received, its items included (see :meth:`ApiModel.to_dict`).

        :param copy: True (default): a deep copy, the caller's own; False: the models' own
            data, for a caller that only reads it.
        """
        own = copy_json(self._raw) if copy else self._raw
        return {**own, self._ITEMS: [item.to_dict(copy=copy) for item in self.items]}


@dataclass(frozen=True, slots=True, kw_only=True)
class NftBalancesPage(_Page):
    """A page of ``/api/v3/user/nft/balances``: ``{"totalNum": .., "data": [..]}``.

    :param total_num: balances matching the query across all pages.
    :param items: this page's balances.
    """

    _KEYS = frozenset({"totalNum", "data"})
    _ITEMS = "data"
    _ITEM_MODEL = NftBalance
    items: list[NftBalance]


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionsPage(_Page):
    """A page of ``/api/v3/user/collection/details``: ``{"collections": [..], "totalNum": ..}``.

    :param total_num: collections matching the query across all pages.
    :param items: this page's collections, each with its count.
    """

    _KEYS = frozenset({"totalNum", "collections"})
    _ITEMS = "collections"
    _ITEM_MODEL = CollectionBalance
    items: list[CollectionBalance]
