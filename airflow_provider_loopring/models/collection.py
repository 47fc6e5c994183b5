"""NFT collections, and how many kinds of a collection's NFTs an account holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_loopring.models.fields import (
    BOOLEAN,
    MISSING,
    OBJECT,
    REQUIRED_INTEGER,
    STRING,
    ApiModel,
    Field,
    Page,
    bad,
    read_int,
    read_nested,
)
from airflow_provider_loopring.models.status import STATUS, DeploymentStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Collection(ApiModel):
    """An NFT collection (``collection``, ``collectionInfo``, or ``nft/public/collection``).

    :param id: Loopring's collection id.
    :param owner: the layer-1 address of the collection's owner.
    :param name: the collection's name, any Unicode.
    :param contract_address: the NFT contract on layer 1 (counterfactual until deployed).
    :param collection_address: a 0x address, ``0x..-0x..`` for legacy collections, or a URL.
    :param base_uri: the base URI of its NFTs' metadata (``ipfs://...``); empty for legacy
        and GameStop collections.
    :param nft_factory: the factory contract its NFT contract comes from.
    :param description: free text; may be empty.
    :param avatar: the avatar image's URI.
    :param banner: the banner image's URI; may be empty.
    :param thumbnail: the thumbnail's URI; may be empty.
    :param tile_uri: the tile image's URI.
    :param cached: CDN copies of avatar, banner, tileUri and thumbnail.
    :param deploy_status: a :class:`DeploymentStatus`, the raw string if unknown, or None.
    :param nft_type: ``ERC1155`` or ``ERC721``.
    :param is_public: documented, absent from real responses: usually None.
    :param times: createdAt and updatedAt, in milliseconds.
    :param extra: properties (isLegacy, isMintable, ...) and mintChannel.
    """

    _FIELDS = (
        REQUIRED_INTEGER("id", "id"),
        STRING("owner", "owner"),
        STRING("name", "name"),
        STRING("contract_address", "contractAddress"),
        STRING("collection_address", "collectionAddress"),
        STRING("base_uri", "baseUri"),
        STRING("nft_factory", "nftFactory"),
        STRING("description", "description"),
        STRING("avatar", "avatar"),
        STRING("banner", "banner"),
        STRING("thumbnail", "thumbnail"),
        STRING("tile_uri", "tileUri"),
        OBJECT("cached", "cached"),
        STATUS("deploy_status", "deployStatus"),
        STRING("nft_type", "nftType"),
        BOOLEAN("is_public", "isPublic"),
        OBJECT("times", "times"),
        OBJECT("extra", "extra"),
    )
    id: int
    owner: str | None
    name: str | None
    contract_address: str | None
    collection_address: str | None
    base_uri: str | None
    nft_factory: str | None
    description: str | None
    avatar: str | None
    banner: str | None
    thumbnail: str | None
    tile_uri: str | None
    cached: dict[str, Any]
    deploy_status: DeploymentStatus | str | None
    nft_type: str | None
    is_public: bool | None
    times: dict[str, Any]
    extra: dict[str, Any]


def _read_collection(raw: dict[str, Any], key: str) -> Collection:
    """``collection``: required, unlike other nested objects."""
    collection = read_nested(raw, key, Collection)
    if collection is None:
        raise bad(key, "an object", raw.get(key, MISSING))
    return collection


def _read_count(raw: Mapping[str, Any], key: str) -> int:
    """How many kinds of NFT of a collection are held; 0 when absent."""
    count = read_int(raw, key)
    return 0 if count is None else count


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionBalance(ApiModel):
    """A collection and how many kinds of its NFTs an account holds.

    :param collection: the collection; required, unlike the other nested objects.
    :param count: kinds of NFT held; 0 when absent (``nft/public/collections`` sends none).
    """

    _FIELDS = (
        Field("collection", "collection", frozenset(), _read_collection),
        Field("count", "count", frozenset({int}), _read_count),
    )
    collection: Collection
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionsPage(Page):
    """A page of ``/api/v3/user/collection/details``: ``{"collections": [..], "totalNum": ..}``.

    :param total_num: collections matching the query across all pages.
    :param items: this page's collections, each with its count.
    """

    _KEYS = frozenset({"totalNum", "collections"})
    _ITEMS = "collections"
    _ITEM_MODEL = CollectionBalance
    items: list[CollectionBalance]
