"""NFTs as themselves: who holds one, what it is, and the NFTs of a collection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_loopring.models.fields import (
    AMOUNT,
    BOOLEAN,
    INTEGER,
    REQUIRED_INTEGER,
    STRING,
    ApiModel,
    Field,
    Page,
    bad,
    nested,
    parse_at,
)
from airflow_provider_loopring.models.nft import NftMetadata


@dataclass(frozen=True, slots=True, kw_only=True)
class NftHolder(ApiModel):
    """One account holding an NFT (an item of ``/api/v3/nft/info/nftHolders``).

    :param account_id: the holder's account.
    :param address: the holder's layer-1 address, where Loopring sends it (newer responses).
    :param token_id: the NFT's slot in the holder's account (slots differ between accounts).
    :param amount: how many the account holds; big integers from decimal strings.
    """

    _FIELDS = (
        REQUIRED_INTEGER("account_id", "accountId"),
        STRING("address", "address"),
        INTEGER("token_id", "tokenId"),
        AMOUNT("amount", "amount"),
    )
    account_id: int
    address: str | None
    token_id: int | None
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NftHoldersPage(Page):
    """A page of ``/api/v3/nft/info/nftHolders``: ``{"totalNum": .., "nftHolders": [..]}``.

    What ``totalNum`` counts is not settled (every holder, or the page), so a listing ends at
    an empty page rather than at it.

    :param total_num: as Loopring sends it.
    :param items: this page's holders.
    """

    _KEYS = frozenset({"totalNum", "nftHolders"})
    _ITEMS = "nftHolders"
    _ITEM_MODEL = NftHolder
    items: list[NftHolder]


_INFO_FIELDS: tuple[Field, ...] = (
    STRING("nft_data", "nftData"),
    STRING("minter", "minter"),
    STRING("nft_type", "nftType"),
    STRING("token_address", "tokenAddress"),
    STRING("nft_id", "nftId"),
    INTEGER("royalty_percentage", "royaltyPercentage"),
    INTEGER("creator_fee_bips", "creatorFeeBips"),
    BOOLEAN("status", "status"),
    STRING("nft_factory", "nftFactory"),
    STRING("nft_owner", "nftOwner"),
    STRING("nft_base_uri", "nftBaseUri"),
    STRING("royalty_address", "royaltyAddress"),
    STRING("original_minter", "originalMinter"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class NftInfo(ApiModel):
    """What an NFT is (an item of ``/api/v3/nft/info/nfts``); unknown fields are kept.

    :param nft_data: the NFT's id on layer 2.
    :param minter: the address that minted it.
    :param nft_type: ``ERC1155`` or ``ERC721``.
    :param token_address: its token contract on layer 1.
    :param nft_id: the token id on layer 1, as sent (hex).
    :param royalty_percentage: the royalty on trades, in percent.
    :param creator_fee_bips: the same, under its old (deprecated) name.
    :param status: Loopring's flag for the NFT.
    :param nft_factory: the factory of its token contract.
    :param nft_owner: the owner of its token contract.
    :param nft_base_uri: the base URI of its metadata.
    :param royalty_address: who receives its royalties.
    :param original_minter: the first minter, where a deposit made a new minter.
    """

    _FIELDS = _INFO_FIELDS
    nft_data: str | None
    minter: str | None
    nft_type: str | None
    token_address: str | None
    nft_id: str | None
    royalty_percentage: int | None
    creator_fee_bips: int | None
    status: bool | None
    nft_factory: str | None
    nft_owner: str | None
    nft_base_uri: str | None
    royalty_address: str | None
    original_minter: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NftInfos(ApiModel):
    """The bare array ``/api/v3/nft/info/nfts`` answers; NFTs it does not know are left out.

    :param items: the NFTs found, in Loopring's order.
    """

    items: Sequence[NftInfo]

    @classmethod
    def from_api(cls, data: Any) -> NftInfos:
        """Read the array (see :meth:`ApiModel.from_api`).

        :param data: the decoded JSON array.
        """
        if not isinstance(data, list):
            raise bad("the response", "an array of NFTs", data)
        items = [parse_at(NftInfo, f"[{i}]", value) for i, value in enumerate(data)]
        return cls(_raw={}, items=items)

    def to_dict(self, *, copy: bool = True) -> dict[str, Any]:
        """``{"items": [..]}``, each NFT as received.

        :param copy: see :meth:`ApiModel.to_dict`.
        """
        return {"items": [item.to_dict(copy=copy) for item in self.items]}


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionNft(NftInfo):
    """An NFT of a collection (an item of ``/api/v3/nft/public/collection/items``).

    The fields of :class:`NftInfo`, and its mint's: its creation, amount and metadata.

    :param nft_data: the NFT's id on layer 2.
    :param minter: the address that minted it.
    :param nft_type: ``ERC1155`` or ``ERC721``.
    :param token_address: its token contract on layer 1.
    :param nft_id: the token id on layer 1, as sent (hex).
    :param royalty_percentage: the royalty on trades, in percent.
    :param creator_fee_bips: the same, under its old (deprecated) name.
    :param status: Loopring's flag for the NFT.
    :param nft_factory: the factory of its token contract.
    :param nft_owner: the owner of its token contract.
    :param nft_base_uri: the base URI of its metadata.
    :param royalty_address: who receives its royalties.
    :param original_minter: the first minter.
    :param original_royalty_percentage: the royalty it was minted with.
    :param created_at: when it was minted, in milliseconds.
    :param total: how many were minted (the original mint amount).
    :param metadata: with ``metadata=true``; None otherwise.
    """

    _FIELDS = (
        *_INFO_FIELDS,
        INTEGER("original_royalty_percentage", "originalRoyaltyPercentage"),
        INTEGER("created_at", "createdAt"),
        AMOUNT("total", "total"),  # a number in the sample, a decimal string elsewhere
        nested("metadata", "metadata", NftMetadata),
    )
    original_royalty_percentage: int | None
    created_at: int | None
    total: int
    metadata: NftMetadata | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionNftsPage(Page):
    """A page of ``/api/v3/nft/public/collection/items``: ``{"totalNum", "nftTokenInfos"}``.

    :param total_num: the collection's NFTs across all pages.
    :param items: this page's NFTs.
    """

    _KEYS = frozenset({"totalNum", "nftTokenInfos"})
    _ITEMS = "nftTokenInfos"
    _ITEM_MODEL = CollectionNft
    items: list[CollectionNft]
