"""The endpoints the provider reads, each declared once (see :mod:`.endpoint` for how).

An item key is an ``attrgetter`` or the model's own ``listing_key``, not a lambda here: it
runs for every item a listing reads, in the model's module.

Adding an endpoint is a declaration here (with a ``TypedDict`` of its query, for IDEs), a
model in :mod:`airflow_provider_loopring.models`, and one line per named hook method.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter
from typing import TypedDict

from airflow_provider_loopring._core.endpoint import (
    ApiRequest,
    Endpoint,
    Param,
    address,
    flag,
    listed,
    millis,
    required,
)
from airflow_provider_loopring._core.validation import (
    check_address,
    check_block_id,
    check_collection_id,
    check_hash,
    check_nft_data,
    check_token_id,
    choice,
)
from airflow_provider_loopring.models import (
    Account,
    Block,
    Collection,
    CollectionNftsPage,
    CollectionsPage,
    NftBalance,
    NftBalancesPage,
    NftHoldersPage,
    NftInfos,
    NftTrade,
    NftTradesPage,
    NftTransaction,
    NftTransactionsPage,
)

__all__ = ["ApiRequest", "Endpoint", "Param"]  # re-exported: their old home


class NftBalancesQuery(TypedDict, total=False):
    """What ``GET /api/v3/user/nft/balances`` selects, declared once for every hook method.

    Give ``account_id`` or ``address`` (exactly one). List filters take a list or "a,b".
    """

    account_id: int | str
    address: str
    nft_datas: str | Sequence[str]  # only these NFTs (nftData values)
    token_addrs: str | Sequence[str]  # only NFTs of these token contracts
    token_ids: int | str | Sequence[int | str]  # only these layer-2 token ids
    non_zero: bool  # leave out NFTs the account no longer holds (default True)
    metadata: bool  # include each NFT's metadata as Loopring caches it (default False)


class CollectionsQuery(TypedDict, total=False):
    """What ``GET /api/v3/user/collection/details`` selects, declared once for every method.

    Give ``account_id`` or ``address`` (exactly one; an address is looked up first: the
    endpoint takes only account ids).
    """

    account_id: int | str
    address: str
    token_address: str  # only the collection of this token contract
    non_zero: bool  # leave out collections the account no longer holds any NFT of


class AccountQuery(TypedDict, total=False):
    """What ``GET /api/v3/account`` selects: ``account_id`` or ``address`` (exactly one)."""

    account_id: int | str
    address: str


class NftHoldersQuery(TypedDict, total=False):
    """What ``GET /api/v3/nft/info/nftHolders`` selects: one NFT."""

    nft_data: str  # the NFT (0x + 64 hex digits)


class CollectionNftsQuery(TypedDict, total=False):
    """What ``GET /api/v3/nft/public/collection/items`` selects: one collection's NFTs."""

    collection_id: int | str  # Loopring's collection id
    metadata: bool  # include each NFT's metadata (default False)


class CollectionQuery(TypedDict, total=False):
    """What ``GET /api/v3/nft/public/collection`` selects: exactly one of these."""

    collection_id: int | str  # Loopring's collection id
    contract_address: str  # the collection's token contract on layer 1
    nft_data: str  # an NFT of the collection


class NftTransactionsQuery(TypedDict, total=False):
    """What ``GET /api/v3/user/nft/transactions`` selects (an address is looked up first).

    ``start`` / ``end``: aware datetimes or epoch milliseconds; Loopring's window includes both.
    """

    account_id: int | str
    address: str
    start: datetime | int
    end: datetime | int
    types: str | Sequence[str]  # of TRANSACTION_TYPES; default: all of them
    nft_datas: str | Sequence[str]  # only these NFTs


class NftTradesQuery(TypedDict, total=False):
    """What ``GET /api/v3/user/nft/trades`` selects (an address is looked up first)."""

    account_id: int | str
    address: str
    nft_data: str
    order_hash: str
    trade_hash: str
    start: datetime | int
    end: datetime | int
    ascending: bool  # oldest first (Loopring's isASC; default False: newest first)


class BlockQuery(TypedDict, total=False):
    """What ``GET /api/v3/block/getBlock`` selects: a block id, "finalized" or "confirmed"."""

    block_id: int | str


#: ``types`` Loopring's docs list for ``/user/nft/transactions``.
TRANSACTION_TYPES = (
    "mint",
    "deposit",
    "transfer",
    "deploy",
    "onchain_withdrawal",
    "offchain_withdrawal",
)
MAX_NFT_INFOS = 50  # nft/info/nfts: "max 50" nftDatas a request

ACCOUNT = Endpoint("/api/v3/account", Account, address_param="owner", paged=False, needs_key=False)
NFT_BALANCES = Endpoint(
    "/api/v3/user/nft/balances",
    NftBalancesPage,
    params=(
        listed("nft_datas", "nftDatas", check_nft_data),
        listed("token_addrs", "tokenAddrs", check_address),
        listed("token_ids", "tokenIds", check_token_id),
        flag("non_zero", "nonZero", True),
        flag("metadata", "metadata", False),
    ),
    key=NftBalance.listing_key,
    owner=attrgetter("account_id"),
)
COLLECTION_BALANCES = Endpoint(
    "/api/v3/user/collection/details",
    CollectionsPage,
    params=(address("token_address", "tokenAddress"), flag("non_zero", "nonZero", True)),
    account="id",
    key=attrgetter("collection.id"),
)
NFT_HOLDERS = Endpoint(
    "/api/v3/nft/info/nftHolders",
    NftHoldersPage,
    params=(required(Param("nft_data", "nftData", check_nft_data)),),
    account=None,
    key=attrgetter("account_id"),
    ends="empty",  # what totalNum counts is not settled (loopring-endpoints.md 1)
)
NFT_INFOS = Endpoint(
    "/api/v3/nft/info/nfts",
    NftInfos,
    params=(required(listed("nft_datas", "nftDatas", check_nft_data)),),
    account=None,
    paged=False,
    needs_key=False,
)
COLLECTION_NFTS = Endpoint(
    "/api/v3/nft/public/collection/items",
    CollectionNftsPage,
    params=(
        required(Param("collection_id", "id", check_collection_id)),
        flag("metadata", "metadata", False),
    ),
    account=None,
    key=attrgetter("nft_data"),
    needs_key=False,
)
COLLECTION = Endpoint(
    "/api/v3/nft/public/collection",
    Collection,
    params=(
        Param("collection_id", "id", check_collection_id),
        address("contract_address", "collectionAddress"),
        Param("nft_data", "nftHash", check_nft_data),
    ),
    account=None,
    paged=False,
    needs_key=False,
    one_of=("collection_id", "contract_address", "nft_data"),
)
NFT_TRANSACTIONS = Endpoint(
    "/api/v3/user/nft/transactions",
    NftTransactionsPage,
    params=(
        millis("start", "start"),
        millis("end", "end"),
        listed("types", "types", choice(TRANSACTION_TYPES)),
        listed("nft_datas", "nftData", check_nft_data),
    ),
    account="id",
    key=NftTransaction.listing_key,
)
NFT_TRADES = Endpoint(
    "/api/v3/user/nft/trades",
    NftTradesPage,
    params=(
        Param("nft_data", "nftData", check_nft_data),
        Param("order_hash", "orderHash", check_hash),
        Param("trade_hash", "tradeHash", check_hash),
        millis("start", "start"),
        millis("end", "end"),
        flag("ascending", "isASC", False),
    ),
    account="id",
    key=NftTrade.listing_key,
)
BLOCK = Endpoint(
    "/api/v3/block/getBlock",
    Block,
    params=(Param("block_id", "id", check_block_id, default="finalized"),),
    account=None,
    paged=False,
    needs_key=False,
)


def account_request(*, account_id: object = None, address: object = None) -> ApiRequest:
    """``GET /api/v3/account`` by id or owner address (exactly one); it needs no key."""
    return ACCOUNT.request(account_id=account_id, address=address)[0]


def nft_balances_request(**args: object) -> ApiRequest:
    """One page of balances; every argument checked (see :class:`NftBalancesQuery`)."""
    return NFT_BALANCES.request(**args)[0]


def collections_request(**args: object) -> tuple[ApiRequest, str | None]:
    """The request, and the address still to resolve: this endpoint takes only an accountId.

    Everything is validated here, before the caller spends a request on resolving.
    """
    return COLLECTION_BALANCES.request(**args)
