"""NFT balances: what an account holds, its pending amounts, the NFT's metadata."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_loopring.models.collection import Collection
from airflow_provider_loopring.models.fields import (
    AMOUNT,
    BOOLEAN,
    INTEGER,
    NONE,
    OBJECT,
    OPTIONAL_OBJECT,
    REQUIRED_INTEGER,
    STRING,
    ApiModel,
    Field,
    Kind,
    Page,
    bad,
    nested,
    read_nested,
    read_str,
)
from airflow_provider_loopring.models.status import STATUS, DeploymentStatus

_NFT_ID_LIMIT = 1 << 256


# --- nftId: hex in a balance, 0x + decimal in its metadata -----------------------------------


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
    raise bad("nftId", "up to 64 hex digits", value)


def _metadata_nft_id_hex(value: str) -> str:
    """``metadata.nftId`` as 0x + 64 hex: Loopring sends 0x + DECIMAL digits there.

    A value with hex letters is read as hex, so a fix of the quirk upstream does not break us.
    """
    digits = _strip_0x(value)
    if not (digits.isascii() and digits.isdigit()):
        return _nft_id_hex(value)
    if len(digits) <= 78 and int(digits) < _NFT_ID_LIMIT:
        return f"0x{int(digits):064x}"
    raise bad("nftId", "a 256-bit id", value)


def _read_nft_id(raw: Mapping[str, Any], key: str) -> str | None:
    """A balance's hex nftId, zero-padded (see :func:`_nft_id_hex`)."""
    value = read_str(raw, key)
    return None if value is None else _nft_id_hex(value)


def _read_metadata_nft_id(raw: Mapping[str, Any], key: str) -> str | None:
    """``metadata.nftId`` as sent, checked now rather than when someone reads its hex."""
    value = read_str(raw, key)
    if value is not None:
        _metadata_nft_id_hex(value)
    return value


# Strings are always read (padded, or checked); null stays None.
_NFT_ID = Kind(frozenset({NONE}), _read_nft_id)
_METADATA_NFT_ID = Kind(frozenset({NONE}), _read_metadata_nft_id)


# --- models ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingBalance(ApiModel):
    """Amounts on their way between layers (``pending``).

    :param withdraw: leaving layer 2, not yet on layer 1.
    :param deposit: coming from layer 1, not yet on layer 2.
    """

    _FIELDS = (AMOUNT("withdraw", "withdraw"), AMOUNT("deposit", "deposit"))
    withdraw: int
    deposit: int


_NOTHING_PENDING = PendingBalance(_raw={}, withdraw=0, deposit=0)


def _read_pending(raw: dict[str, Any], key: str) -> PendingBalance:
    """``pending``: missing or null is nothing pending."""
    return read_nested(raw, key, PendingBalance) or _NOTHING_PENDING


@dataclass(frozen=True, slots=True, kw_only=True)
class NftMetadata(ApiModel):
    """An NFT's metadata as Loopring caches it (``metadata``, with ``metadata=true``).

    :param uri: where the metadata comes from (``ipfs://...``).
    :param base: name, decimals, description, image, properties (a string), ...
    :param image_size: thumbnails by size: ``240-240``, ``332-332``, ``original``.
    :param extra: imageData, externalUrl, attributes (a JSON-encoded string), animationUrl, ...
    :param status: Loopring's status of its cached copy, undocumented (1 in its examples).
    :param nft_type: an int here (1 = ERC1155), unlike the balance's string.
    :param network: Loopring's network code, undocumented (0 in its examples).
    :param token_address: the NFT's token contract, lowercase here.
    :param nft_id: as sent: 0x followed by DECIMAL digits; see :attr:`nft_id_hex`.
    """

    _FIELDS = (
        _METADATA_NFT_ID("nft_id", "nftId"),
        STRING("uri", "uri"),
        OBJECT("base", "base"),
        OBJECT("image_size", "imageSize"),
        OBJECT("extra", "extra"),
        INTEGER("status", "status"),
        INTEGER("nft_type", "nftType"),
        INTEGER("network", "network"),
        STRING("token_address", "tokenAddress"),
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
class NftBalance(ApiModel):
    """One NFT held by one account (an item of ``/api/v3/user/nft/balances``).

    :param account_id: the account that holds it.
    :param token_id: the NFT's token slot in the account (from 32768).
    :param nft_data: the NFT's id on layer 2: 0x + 64 hex digits, the same in every account.
    :param token_address: the NFT's token contract on layer 1.
    :param nft_type: ``ERC1155`` or ``ERC721``.
    :param nft_id: 0x + 64 lowercase hex digits (Loopring may drop leading zeros); ``to_dict``
        keeps the id as sent.
    :param total: held, including ``locked``; big integers from decimal strings, missing = 0.
    :param locked: frozen by pending orders or transfers.
    :param pending: amounts on their way between layers; zeros when absent or null.
    :param is_counterfactual_nft: whether its token contract is counterfactual (an address
        known before the contract is deployed).
    :param deployment_status: a :class:`DeploymentStatus`, the raw string if unknown, or None.
    :param metadata: present with ``metadata=true``; None when null or absent.
    :param minter: the address that minted the NFT.
    :param royalty_percentage: the minter's royalty on trades, in percent.
    :param id: Loopring's id of this balance.
    :param updated_at: milliseconds, as is ``balance_updated_at``.
    :param balance_updated_at: when the amount last changed.
    :param preference: ``favourite`` and ``hide`` flags, when sent.
    :param collection_info: the NFT's collection, when sent; None when null or absent.
    """

    _FIELDS = (
        REQUIRED_INTEGER("account_id", "accountId"),
        REQUIRED_INTEGER("token_id", "tokenId"),
        STRING("nft_data", "nftData"),
        STRING("token_address", "tokenAddress"),
        STRING("nft_type", "nftType"),
        _NFT_ID("nft_id", "nftId"),
        AMOUNT("total", "total"),
        AMOUNT("locked", "locked"),
        Field("pending", "pending", frozenset(), _read_pending),
        BOOLEAN("is_counterfactual_nft", "isCounterFactualNFT"),
        STATUS("deployment_status", "deploymentStatus"),
        nested("metadata", "metadata", NftMetadata),
        STRING("minter", "minter"),
        INTEGER("royalty_percentage", "royaltyPercentage"),
        INTEGER("id", "id"),
        INTEGER("updated_at", "updatedAt"),
        INTEGER("balance_updated_at", "balanceUpdatedAt"),
        OPTIONAL_OBJECT("preference", "preference"),
        nested("collection_info", "collectionInfo", Collection),
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

    def listing_key(self) -> object:
        """What makes a balance the same balance on another page: its nftData (its slot)."""
        return self.nft_data or self.token_id


@dataclass(frozen=True, slots=True, kw_only=True)
class NftBalancesPage(Page):
    """A page of ``/api/v3/user/nft/balances``: ``{"totalNum": .., "data": [..]}``.

    :param total_num: balances matching the query across all pages.
    :param items: this page's balances.
    """

    _KEYS = frozenset({"totalNum", "data"})
    _ITEMS = "data"
    _ITEM_MODEL = NftBalance
    items: list[NftBalance]
