"""Typed, tolerant models of what Loopring's REST API returns.

Every model keeps the mapping it was built from (a shallow copy it owns) and derives its typed
attributes from it, so ``to_dict()`` gives back the API's own field names and values exactly as
received (decimal strings, the raw ``nftId``, unknown fields): a deep copy of that mapping, or
with ``copy=False`` the mapping itself, for callers that only serialise it. A nested
model (``metadata``, ``collectionInfo``, ...) owns the very dict its parent's mapping points to,
so a record is held once however deep it goes.

Malformed input raises ``ValueError`` naming the field (``data[3].total: expected ...``); the caller
turns it into a bad-response error. Stdlib only, so DAG files and triggers import it cheaply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
_set = object.__setattr__
_SCALARS = frozenset({str, int, float, bool, type(None)})
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


_STATUSES = {status.value: status for status in DeploymentStatus}


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
    value = raw.get(key)
    if type(value) is str and value in _STATUSES:  # Loopring's own spelling: the usual case
        return _STATUSES[value]
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


def _opt_nft_id(raw: Mapping[str, Any], key: str) -> str | None:
    """A balance's hex nftId, zero-padded (see :func:`_nft_id_hex`)."""
    value = _opt_str(raw, key)
    return None if value is None else _nft_id_hex(value)


def _opt_metadata_nft_id(raw: Mapping[str, Any], key: str) -> str | None:
    """``metadata.nftId`` as sent, checked now rather than when someone reads its hex."""
    value = _opt_str(raw, key)
    if value is not None:
        _metadata_nft_id_hex(value)
    return value


def _opt_obj(raw: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    return _opt(raw, key, dict, "an object")


def _copy_json(value: Any) -> Any:
    """Deep copy of JSON data; several times faster than ``copy.deepcopy`` on it.

    Each dict is copied whole, in C; only the containers in it are visited, and a dict of
    plain values (most of them) is recognised without a loop.
    """
    if isinstance(value, dict):
        copied = dict(value)
        if not _SCALARS.issuperset(map(type, copied.values())):
            for key, item in copied.items():
                if isinstance(item, (dict, list)):
                    copied[key] = _copy_json(item)  # an existing key: safe while iterating
        return copied
    if isinstance(value, list):
        return [_copy_json(item) if isinstance(item, (dict, list)) else item for item in value]
    return value


def _parse_at(model: type[_M], path: str, value: Any) -> _M:
    if not isinstance(value, dict) and not isinstance(value, Mapping):  # the ABC check is slow
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


# How each kind of field is read: the value itself when its type is one of ``as_is`` (the
# usual case, checked without a call), else the reader, which converts what it accepts (a
# decimal string to an int, null to {}) or raises naming the field.
_Reader = Callable[[dict[str, Any], str], Any]
_Kind = tuple[frozenset[type], _Reader]
_NONE: type = type(None)
_STR: _Kind = (frozenset({str, _NONE}), _opt_str)
_INT: _Kind = (frozenset({int, _NONE}), _opt_int)
_REQ_INT: _Kind = (frozenset({int}), _req_int)
_BOOL: _Kind = (frozenset({bool, _NONE}), _opt_bool)
_OBJ: _Kind = (frozenset({dict}), _obj)
_OPT_OBJ: _Kind = (frozenset({dict, _NONE}), _opt_obj)
_AMOUNT: _Kind = (frozenset(), _amount)  # decimal strings: always converted
_STATUS: _Kind = (frozenset({_NONE}), _opt_status)
_NFT_ID: _Kind = (frozenset({_NONE}), _opt_nft_id)
_METADATA_NFT_ID: _Kind = (frozenset({_NONE}), _opt_metadata_nft_id)


def _model(model: type[_ApiModel]) -> _Kind:
    """A nested object read into ``model`` (None when null or absent)."""
    return frozenset({_NONE}), lambda raw, key: _nested(raw, key, model)


def _setter(cls: type, attribute: str) -> Callable[[Any, Any], None]:
    """The slot's own setter in the class ``slots=True`` makes: a third faster than
    ``object.__setattr__``, which looks the slot up and checks the call on every use."""
    slot = cls.__dict__.get(attribute)
    if slot is not None and hasattr(slot, "__set__"):
        setter: Callable[[Any, Any], None] = slot.__set__
        return setter
    return lambda model, value: _set(model, attribute, value)


def _spec(*fields: tuple[str, str, _Kind]) -> tuple[Any, ...]:
    """``(attribute, Loopring's name, kind)`` flattened for the loop in ``_ApiModel._parse``."""
    return tuple((attribute, key, *kind) for attribute, key, kind in fields)


# --- models ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _ApiModel:
    """The API mapping a model came from, and the way back to it."""

    _FIELDS: ClassVar[frozenset[str]] = frozenset()
    # (attribute, Loopring's name, types taken as they are, reader), made by ``_spec``.
    _SPEC: ClassVar[tuple[tuple[str, str, frozenset[type], _Reader], ...]] = ()
    # The same with each attribute's setter instead of its name, for ``_parse``.
    _READ: ClassVar[tuple[tuple[Callable[[Any, Any], None], str, frozenset[type], _Reader], ...]]
    _raw: dict[str, Any] = field(repr=False, compare=False)

    def __init_subclass__(cls) -> None:
        # No super(): slots=True remakes the class, so its __class__ cell would be stale.
        if "_SPEC" not in cls.__dict__:
            return
        cls._FIELDS = frozenset(key for _, key, _, _ in cls._SPEC)
        cls._READ = tuple(
            (_setter(cls, attribute), key, as_is, read) for attribute, key, as_is, read in cls._SPEC
        )
        hints = cls.__annotations__  # the class's own (Python >= 3.10)
        typed = {name for name, hint in hints.items() if not str(hint).startswith("ClassVar")}
        unread = typed - {attribute for attribute, _, _, _ in cls._SPEC}
        if unread:  # _parse would leave them unset
            raise TypeError(f"{cls.__name__}._SPEC does not read {sorted(unread)}")

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
        """Build from ``raw``, which the new model owns, field by field as ``_SPEC`` says.

        Each field is set straight into its slot, past the frozen class's ``__setattr__`` as
        its own ``__init__`` does, without first gathering keyword arguments: this loop runs
        for every field of every record an operator fetches.
        """
        model = object.__new__(cls)
        _set(model, "_raw", raw)
        get = raw.get
        for put, key, as_is, read in cls._READ:
            value = get(key)
            put(model, value if type(value) in as_is else read(raw, key))
        return model

    def to_dict(self, *, copy: bool = True) -> dict[str, Any]:
        """The object as received: Loopring's names and values, as JSON-ready data.

        :param copy: True (default): a deep copy, the caller's own. False: the model's own
            data, for a caller that only reads it, such as one that serialises each record
            and drops the model; a copy costs about as much CPU as ``json.dumps`` of it.
            Changing what it returns changes the model.
        """
        if not copy:
            return self._raw
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

    _SPEC = _spec(("withdraw", "withdraw", _AMOUNT), ("deposit", "deposit", _AMOUNT))
    withdraw: int
    deposit: int


_NOTHING_PENDING = PendingBalance(_raw={}, withdraw=0, deposit=0)


def _pending(raw: dict[str, Any], key: str) -> PendingBalance:
    """``pending``: missing or null is nothing pending."""
    return _nested(raw, key, PendingBalance) or _NOTHING_PENDING


@dataclass(frozen=True, slots=True, kw_only=True)
class NftMetadata(_ApiModel):
    """An NFT's metadata as Loopring caches it (``metadata``, with ``metadata=true``).

    :param base: name, decimals, description, image, properties (a string), ...
    :param image_size: thumbnails by size: ``240-240``, ``332-332``, ``original``.
    :param extra: imageData, externalUrl, attributes (a JSON-encoded string), animationUrl, ...
    :param nft_type: an int here (1 = ERC1155), unlike the balance's string.
    :param nft_id: as sent: 0x followed by DECIMAL digits; see :attr:`nft_id_hex`.
    """

    _SPEC = _spec(
        ("nft_id", "nftId", _METADATA_NFT_ID),
        ("uri", "uri", _STR),
        ("base", "base", _OBJ),
        ("image_size", "imageSize", _OBJ),
        ("extra", "extra", _OBJ),
        ("status", "status", _INT),
        ("nft_type", "nftType", _INT),
        ("network", "network", _INT),
        ("token_address", "tokenAddress", _STR),
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

    _SPEC = _spec(
        ("id", "id", _REQ_INT),
        ("owner", "owner", _STR),
        ("name", "name", _STR),
        ("contract_address", "contractAddress", _STR),
        ("collection_address", "collectionAddress", _STR),
        ("base_uri", "baseUri", _STR),
        ("nft_factory", "nftFactory", _STR),
        ("description", "description", _STR),
        ("avatar", "avatar", _STR),
        ("banner", "banner", _STR),
        ("thumbnail", "thumbnail", _STR),
        ("tile_uri", "tileUri", _STR),
        ("cached", "cached", _OBJ),
        ("deploy_status", "deployStatus", _STATUS),
        ("nft_type", "nftType", _STR),
        ("is_public", "isPublic", _BOOL),
        ("times", "times", _OBJ),
        ("extra", "extra", _OBJ),
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

    _SPEC = _spec(
        ("account_id", "accountId", _REQ_INT),
        ("token_id", "tokenId", _REQ_INT),
        ("nft_data", "nftData", _STR),
        ("token_address", "tokenAddress", _STR),
        ("nft_type", "nftType", _STR),
        ("nft_id", "nftId", _NFT_ID),
        ("total", "total", _AMOUNT),
        ("locked", "locked", _AMOUNT),
        ("pending", "pending", (frozenset(), _pending)),
        ("is_counterfactual_nft", "isCounterFactualNFT", _BOOL),
        ("deployment_status", "deploymentStatus", _STATUS),
        ("metadata", "metadata", _model(NftMetadata)),
        ("minter", "minter", _STR),
        ("royalty_percentage", "royaltyPercentage", _INT),
        ("id", "id", _INT),
        ("updated_at", "updatedAt", _INT),
        ("balance_updated_at", "balanceUpdatedAt", _INT),
        ("preference", "preference", _OPT_OBJ),
        ("collection_info", "collectionInfo", _model(Collection)),
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


def _collection(raw: dict[str, Any], key: str) -> Collection:
    collection = _nested(raw, key, Collection)
    if collection is None:
        raise _bad(key, "an object", raw.get(key, _MISSING))
    return collection


def _count(raw: Mapping[str, Any], key: str) -> int:
    """How many kinds of NFT of a collection are held; 0 when absent."""
    count = _opt_int(raw, key)
    return 0 if count is None else count


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionBalance(_ApiModel):
    """A collection and how many kinds of its NFTs an account holds.

    :param count: kinds of NFT held; 0 when absent (``nft/public/collections`` sends none).
    """

    _SPEC = _spec(
        ("collection", "collection", (frozenset(), _collection)),
        ("count", "count", (frozenset({int}), _count)),
    )
    collection: Collection
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Account(_ApiModel):
    """A layer-2 account (``/api/v3/account``).

    :param public_key: the EdDSA key, ``x`` and ``y``; both empty before activation.
    :param key_seed: the message signed to derive the key; empty before activation.
    """

    _SPEC = _spec(
        ("account_id", "accountId", _REQ_INT),
        ("owner", "owner", _STR),
        ("frozen", "frozen", _BOOL),
        ("public_key", "publicKey", _OBJ),
        ("tags", "tags", _STR),
        ("nonce", "nonce", _INT),
        ("key_nonce", "keyNonce", _INT),
        ("key_seed", "keySeed", _STR),
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

    def to_dict(self, *, copy: bool = True) -> dict[str, Any]:
        """The page as received, its items included (see :meth:`_ApiModel.to_dict`)."""
        own = _copy_json(self._raw) if copy else self._raw
        return {**own, self._ITEMS: [item.to_dict(copy=copy) for item in self.items]}


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
