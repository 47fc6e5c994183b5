"""Typed, tolerant models of what Loopring's REST API returns.

Every model keeps the mapping it was built from (a shallow copy it owns) and derives its typed
attributes from it, so ``to_dict()`` gives back the API's own field names and values exactly as
received (decimal strings, the raw ``nftId``, unknown fields): a deep copy of that mapping. A nested
model (``metadata``, ``collectionInfo``, ...) owns the very dict its parent's mapping points to,
so a record is held once however deep it goes.

Malformed input raises ``ValueError`` naming the field (``data[3].total: expected ...``); the caller
turns it into a bad-response error. Stdlib only, so DAG files and triggers import it cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, TypeVar

__all__ = [
    "Account",
    "Collection",
    "CollectionBalance",
    "CollectionsPage",
    "DeploymentStatus",
    "NftBalance",
    "NftBalancesPage",
    "NftMetadata",
    "PendingBalance",
    "same_address",
]

_M = TypeVar("_M", bound="_ApiModel")
_P = TypeVar("_P", bound="_Page")
_T = TypeVar("_T")
_MISSING: Any = object()
_NFT_ID_LIMIT = 1 << 256


class DeploymentStatus(str, Enum):
    """Layer-1 deployment status of an NFT contract (``deploymentStatus`` / ``deployStatus``)."""

    NOT_DEPLOYED = "NOT_DEPLOYED"
    DEPLOYING = "DEPLOYING"
    DEPLOYED = "DEPLOYED"
    DEPLOY_FAILED = "DEPLOY_FAILED"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        """Whether the status will not change any more without someone acting."""
        return self in (DeploymentStatus.DEPLOYED, DeploymentStatus.DEPLOY_FAILED)

    @classmethod
    def parse(cls, value: str) -> DeploymentStatus:
        """Read a status, ignoring case and surrounding whitespace.

        :param value: the status as Loopring or a user spells it.
        :raises ValueError: naming the value and the valid ones.
        """
        if isinstance(value, str):
            member = cls.__members__.get(value.strip().upper())
            if member is not None:
                return member
        valid = ", ".join(member.value for member in cls)
        raise ValueError(f"unknown deployment status {_describe(value)}; expected one of {valid}")


def same_address(a: str | None, b: str | None) -> bool:
    """Whether two addresses are the same; Loopring mixes their case. ``None`` matches nothing."""
    return a is not None and b is not None and a.lower() == b.lower()


# --- reading fields --------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return text if isinstance(value, str) else f"{type(value).__name__} {text}"


def _bad(key: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"{key}: expected {expected}, got {_describe(value)}")


def _as_int(value: Any) -> int | None:
    """A JSON integer or a decimal string as an int; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        digits = value[1:] if value.startswith("-") else value
        # isascii/isdigit first: int() would also take " 7", "1_000" and non-ASCII digits.
        if digits.isascii() and digits.isdigit():
            try:
                return int(value)
            except ValueError:  # beyond Python's int-from-string digit limit
                return None
    return None


def _req_int(raw: Mapping[str, Any], key: str) -> int:
    number = _as_int(raw.get(key))
    if number is None:
        raise _bad(key, "an integer", raw.get(key, _MISSING))
    return number


def _opt_int(raw: Mapping[str, Any], key: str, expected: str = "an integer") -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    number = _as_int(value)
    if number is None:
        raise _bad(key, expected, value)
    return number


def _amount(raw: Mapping[str, Any], key: str) -> int:
    """A token amount: a decimal string of any size; missing or null is nothing held."""
    number = _opt_int(raw, key, "a decimal integer string")
    return 0 if number is None else number


def _opt(raw: Mapping[str, Any], key: str, kind: type[_T], expected: str) -> _T | None:
    value = raw.get(key)
    if value is None or isinstance(value, kind):
        return value
    raise _bad(key, expected, value)


def _opt_str(raw: Mapping[str, Any], key: str) -> str | None:
    return _opt(raw, key, str, "a string")


def _opt_bool(raw: Mapping[str, Any], key: str) -> bool | None:
    return _opt(raw, key, bool, "a boolean")


def _obj(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A nested object left as a plain dict; missing or null reads as empty."""
    return _opt(raw, key, dict, "an object") or {}


def _opt_status(raw: Mapping[str, Any], key: str) -> DeploymentStatus | str | None:
    value = _opt_str(raw, key)
    if value is None:
        return None
    try:
        return DeploymentStatus.parse(value)
    except ValueError:
        return value  # a status we do not know yet: keep Loopring's word, consumers decide


def _strip_0x(value: str) -> str:
    return value[2:] if value[:2] in ("0x", "0X") else value


def _nft_id_hex(value: str) -> str:
    """A hex nftId as 0x + 64 lowercase digits; Loopring drops leading zeros."""
    digits = _strip_0x(value)
    if 0 < len(digits) <= 64 and digits.isascii() and digits.isalnum():
        try:
            return f"0x{int(digits, 16):064x}"
        except ValueError:
            pass
    raise _bad("nftId", "up to 64 hex digits", value)


def _metadata_nft_id_hex(value: str) -> str:
    """``metadata.nftId`` as 0x + 64 hex: Loopring sends 0x + DECIMAL digits there.

    A value with hex letters is read as hex, so a fix of the quirk upstream does not break us.
    """
    digits = _strip_0x(value)
    if not (digits.isascii() and digits.isdigit()):
        return _nft_id_hex(value)
    if len(digits) <= 78 and int(digits) < _NFT_ID_LIMIT:
        return f"0x{int(digits):064x}"
    raise _bad("nftId", "a 256-bit id", value)


def _copy_json(value: Any) -> Any:
    """Deep copy of JSON data; several times faster than ``copy.deepcopy`` on it."""
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


def _parse_at(model: type[_M], path: str, value: Any) -> _M:
    if not isinstance(value, Mapping):
        raise _bad(path, "an object", value)
    try:
        return model._parse(dict(value))
    except ValueError as exc:
        raise ValueError(f"{path}.{exc}") from exc


def _nested(raw: dict[str, Any], key: str, model: type[_M]) -> _M | None:
    value = raw.get(key)
    if value is None:
        return None
    parsed = _parse_at(model, key, value)
    raw[key] = parsed._raw  # the parent points at the child's copy: each dict is held once
    return parsed


# --- models ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _ApiModel:
    """The API mapping a model came from, and the way back to it."""

    _FIELDS: ClassVar[frozenset[str]] = frozenset()
    _raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls: type[_M], data: Mapping[str, Any]) -> _M:
        """Build from a decoded JSON object; unknown fields are kept, optional ones may be absent.

        :param data: the object as Loopring sent it; the model keeps a shallow copy of it
            and of each nested object it models.
        :raises ValueError: naming the field, when the data has the wrong shape.
        """
        if not isinstance(data, Mapping):
            raise _bad(cls.__name__, "an object", data)
        return cls._parse(dict(data))

    @classmethod
    def _parse(cls: type[_M], raw: dict[str, Any]) -> _M:
        """Build from ``raw``, which the new model owns."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The object as received: Loopring's names and values, as JSON-ready data of our own."""
        copied: dict[str, Any] = _copy_json(self._raw)
        return copied

    @property
    def extra_fields(self) -> dict[str, Any]:
        """Fields Loopring sent that this model does not know (a copy)."""
        return {k: _copy_json(v) for k, v in self._raw.items() if k not in self._FIELDS}


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingBalance(_ApiModel):
    """Amounts on their way between layers (``pending``).

    :param withdraw: leaving layer 2, not yet on layer 1.
    :param deposit: coming from layer 1, not yet on layer 2.
    """

    _FIELDS = frozenset({"withdraw", "deposit"})
    withdraw: int
    deposit: int

    @classmethod
    def _parse(cls, raw: dict[str, Any]) -> PendingBalance:
        return cls(_raw=raw, withdraw=_amount(raw, "withdraw"), deposit=_amount(raw, "deposit"))


_NOTHING_PENDING = PendingBalance(_raw={}, withdraw=0, deposit=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class NftMetadata(_ApiModel):
    """An NFT's metadata as Loopring caches it (``metadata``, with ``metadata=true``).

    :param base: name, decimals, description, image, properties (a string), ...
    :param image_size: thumbnails by size: ``240-240``, ``332-332``, ``original``.
    :param extra: imageData, externalUrl, attributes (a JSON-encoded string), animationUrl, ...
    :param nft_type: an int here (1 = ERC1155), unlike the balance's string.
    :param nft_id: as sent: 0x followed by DECIMAL digits; see :attr:`nft_id_hex`.
    """

    _FIELDS = frozenset(
        {
            "uri",
            "base",
            "imageSize",
            "extra",
            "status",
            "nftType",
            "network",
            "tokenAddress",
            "nftId",
        }
    )
    uri: str | None
    base: dict[str, Any]
    image_size: dict[str, Any]
    extra: dict[str, Any]
    status: int | None
    nft_type: int | None
    network: int | None
    token_address: str | None
    nft_id: str | None

    @property
    def nft_id_hex(self) -> str | None:
        """The nftId as 0x + 64 lowercase hex digits, comparable with :attr:`NftBalance.nft_id`."""
        return None if self.nft_id is None else _metadata_nft_id_hex(self.nft_id)

    @classmethod
    def _parse(cls, raw: dict[str, Any]) -> NftMetadata:
        nft_id = _opt_str(raw, "nftId")
        if nft_id is not None:
            _metadata_nft_id_hex(nft_id)  # fail on a bad id now, not when someone reads it
        return cls(
            _raw=raw,
            uri=_opt_str(raw, "uri"),
            base=_obj(raw, "base"),
            image_size=_obj(raw, "imageSize"),
            extra=_obj(raw, "extra"),
            status=_opt_int(raw, "status"),
            nft_type=_opt_int(raw, "nftType"),
            network=_opt_int(raw, "network"),
            token_address=_opt_str(raw, "tokenAddress"),
            nft_id=nft_id,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Collection(_ApiModel):
    """An NFT collection (``collection``, ``collectionInfo``, or ``nft/public/collection``).

    :param collection_address: a 0x address, ``0x..-0x..`` for legacy collections, or a URL.
    :param cached: CDN copies of avatar, banner, tileUri and thumbnail.
    :param deploy_status: a :class:`DeploymentStatus`, the raw string if unknown, or None.
    :param is_public: documented, absent from real responses: usually None.
    :param times: createdAt and updatedAt, in milliseconds.
    :param extra: properties (isLegacy, isMintable, ...) and mintChannel.
    """

    _FIELDS = frozenset(
        {
            "id",
            "owner",
            "name",
            "contractAddress",
            "collectionAddress",
            "baseUri",
            "nftFactory",
            "description",
            "avatar",
            "banner",
            "thumbnail",
            "tileUri",
            "cached",
            "deployStatus",
            "nftType",
            "isPublic",
            "times",
            "extra",
        }
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

    @classmethod
    def _parse(cls, raw: dict[str, Any]) -> Collection:
        return cls(
            _raw=raw,
            id=_req_int(raw, "id"),
            owner=_opt_str(raw, "owner"),
            name=_opt_str(raw, "name"),
            contract_address=_opt_str(raw, "contractAddress"),
            collection_address=_opt_str(raw, "collectionAddress"),
            base_uri=_opt_str(raw, "baseUri"),
            nft_factory=_opt_str(raw, "nftFactory"),
            description=_opt_str(raw, "description"),
            avatar=_opt_str(raw, "avatar"),
            banner=_opt_str(raw, "banner"),
            thumbnail=_opt_str(raw, "thumbnail"),
            tile_uri=_opt_str(raw, "tileUri"),
            cached=_obj(raw, "cached"),
            deploy_status=_opt_status(raw, "deployStatus"),
            nft_type=_opt_str(raw, "nftType"),
            is_public=_opt_bool(raw, "isPublic"),
            times=_obj(raw, "times"),
            extra=_obj(raw, "extra"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NftBalance(_ApiModel):
    """One NFT held by one account (an item of ``/api/v3/user/nft/balances``).

    :param nft_id: 0x + 64 lowercase hex digits (Loopring may drop leading zeros); ``to_dict``
        keeps the id as sent.
    :param total: held, including ``locked``; big integers from decimal strings, missing = 0.
    :param locked: frozen by pending orders or transfers.
    :param deployment_status: a :class:`DeploymentStatus`, the raw string if unknown, or None.
    :param metadata: present with ``metadata=true``; None when null or absent.
    :param updated_at: milliseconds, as is ``balance_updated_at``.
    :param preference: ``favourite`` and ``hide`` flags, when sent.
    """

    _FIELDS = frozenset(
        {
            "accountId",
            "tokenId",
            "nftData",
            "tokenAddress",
            "nftType",
            "nftId",
            "total",
            "locked",
            "pending",
            "isCounterFactualNFT",
            "deploymentStatus",
            "metadata",
            "minter",
            "royaltyPercentage",
            "id",
            "updatedAt",
            "balanceUpdatedAt",
            "preference",
            "collectionInfo",
        }
    )
    account_id: int
    token_id: int
    nft_data: str | None
    token_address: str | None
    nft_type: str | None
    nft_id: str | None
    total: int
    locked: int
    pending: PendingBalance
    is_counterfactual_nft: bool | None
    deployment_status: DeploymentStatus | str | None
    metadata: NftMetadata | None
    minter: str | None
    royalty_percentage: int | None
    id: int | None
    updated_at: int | None
    balance_updated_at: int | None
    preference: dict[str, Any] | None
    collection_info: Collection | None

    @classmethod
    def _parse(cls, raw: dict[str, Any]) -> NftBalance:
        nft_id = _opt_str(raw, "nftId")
        return cls(
            _raw=raw,
            account_id=_req_int(raw, "accountId"),
            token_id=_req_int(raw, "tokenId"),
            nft_data=_opt_str(raw, "nftData"),
            token_address=_opt_str(raw, "tokenAddress"),
            nft_type=_opt_str(raw, "nftType"),
            nft_id=None if nft_id is None else _nft_id_hex(nft_id),
            total=_amount(raw, "total"),
            locked=_amount(raw, "locked"),
            pending=_nested(raw, "pending", PendingBalance) or _NOTHING_PENDING,
            is_counterfactual_nft=_opt_bool(raw, "isCounterFactualNFT"),
            deployment_status=_opt_status(raw, "deploymentStatus"),
            metadata=_nested(raw, "metadata", NftMetadata),
            minter=_opt_str(raw, "minter"),
            royalty_percentage=_opt_int(raw, "royaltyPercentage"),
            id=_opt_int(raw, "id"),
            updated_at=_opt_int(raw, "updatedAt"),
            balance_updated_at=_opt_int(raw, "balanceUpdatedAt"),
            preference=_opt(raw, "preference", dict, "an object"),
            collection_info=_nested(raw, "collectionInfo", Collection),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionBalance(_ApiModel):
    """A collection and how many kinds of its NFTs an account holds.

    :param count: kinds of NFT held; 0 when absent (``nft/public/collections`` sends none).
    """

    _FIELDS = frozenset({"collection", "count"})
    collection: Collection
    count: int

    @classmethod
    def _parse(cls, raw: dict[str, Any]) -> CollectionBalance:
        collection = _nested(raw, "collection", Collection)
        if collection is None:
            raise _bad("collection", "an object", raw.get("collection", _MISSING))
        count = _opt_int(raw, "count")
        return cls(_raw=raw, collection=collection, count=0 if count is None else count)


@dataclass(frozen=True, slots=True, kw_only=True)
class Account(_ApiModel):
    """A layer-2 account (``/api/v3/account``).

    :param public_key: the EdDSA key, ``x`` and ``y``; both empty before activation.
    :param key_seed: the message signed to derive the key; empty before activation.
    """

    _FIELDS = frozenset(
        {"accountId", "owner", "frozen", "publicKey", "tags", "nonce", "keyNonce", "keySeed"}
    )
    account_id: int
    owner: str | None
    frozen: bool | None
    public_key: dict[str, Any]
    tags: str | None
    nonce: int | None
    key_nonce: int | None
    key_seed: str | None

    @property
    def is_activated(self) -> bool:
        """Whether the account has set its layer-2 key, without which it cannot trade."""
        return bool(self.public_key.get("x"))

    @classmethod
    def _parse(cls, raw: dict[str, Any]) -> Account:
        return cls(
            _raw=raw,
            account_id=_req_int(raw, "accountId"),
            owner=_opt_str(raw, "owner"),
            frozen=_opt_bool(raw, "frozen"),
            public_key=_obj(raw, "publicKey"),
            tags=_opt_str(raw, "tags"),
            nonce=_opt_int(raw, "nonce"),
            key_nonce=_opt_int(raw, "keyNonce"),
            key_seed=_opt_str(raw, "keySeed"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Page(_ApiModel):
    """A page of a list endpoint: ``totalNum`` and the list under ``_ITEMS``."""

    _ITEMS: ClassVar[str]
    _ITEM_MODEL: ClassVar[type[_ApiModel]]
    total_num: int
    items: Sequence[_ApiModel]

    @classmethod
    def _parse(cls: type[_P], raw: dict[str, Any]) -> _P:
        # Popped: the page keeps only its own fields, each item keeps its own.
        values = raw.pop(cls._ITEMS, _MISSING)
        if not isinstance(values, list):
            raise _bad(cls._ITEMS, "a list", values)
        items = [_parse_at(cls._ITEM_MODEL, f"{cls._ITEMS}[{i}]", v) for i, v in enumerate(values)]
        return cls(_raw=raw, total_num=_req_int(raw, "totalNum"), items=items)

    def to_dict(self) -> dict[str, Any]:
        """The page as received, its items included."""
        return {**_copy_json(self._raw), self._ITEMS: [item.to_dict() for item in self.items]}


@dataclass(frozen=True, slots=True, kw_only=True)
class NftBalancesPage(_Page):
    """A page of ``/api/v3/user/nft/balances``: ``{"totalNum": .., "data": [..]}``.

    :param total_num: balances matching the query across all pages.
    :param items: this page's balances.
    """

    _FIELDS = frozenset({"totalNum", "data"})
    _ITEMS = "data"
    _ITEM_MODEL = NftBalance
    items: list[NftBalance]


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionsPage(_Page):
    """A page of ``/api/v3/user/collection/details``: ``{"collections": [..], "totalNum": ..}``.

    :param total_num: collections matching the query across all pages.
    :param items: this page's collections, each with its count.
    """

    _FIELDS = frozenset({"totalNum", "collections"})
    _ITEMS = "collections"
    _ITEM_MODEL = CollectionBalance
    items: list[CollectionBalance]
