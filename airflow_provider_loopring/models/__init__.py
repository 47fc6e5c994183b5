"""Typed, tolerant models of what Loopring's REST API returns.

Every model keeps the mapping it was built from (a shallow copy it owns) and derives its typed
attributes from it, so ``to_dict()`` gives back the API's own field names and values exactly as
received (decimal strings, the raw ``nftId``, unknown fields): a deep copy of that mapping, or
with ``copy=False`` the mapping itself, for callers that only serialise it. A nested
model (``metadata``, ``collectionInfo``, ...) owns the very dict its parent's mapping points to,
so a record is held once however deep it goes.

Malformed input raises ``ValueError`` naming the field (``data[3].total: expected ...``); the caller
turns it into a bad-response error. Stdlib only, so DAG files and triggers import it cheaply.

One module per resource, its pages beside it, all built on :mod:`.fields` (the readers, the
``Field`` record each model's table is made of, the base model that reads a table, and the
base of the pages of list endpoints):

- :mod:`.status`: :class:`DeploymentStatus`, :func:`same_address`;
- :mod:`.nft`: :class:`NftBalance`, its :class:`PendingBalance` and :class:`NftMetadata`, and
  :class:`NftBalancesPage`;
- :mod:`.collection`: :class:`Collection`, :class:`CollectionBalance`, :class:`CollectionsPage`;
- :mod:`.account`: :class:`Account`;
- :mod:`.nft_info`: :class:`NftHolder`, :class:`NftInfo`, :class:`CollectionNft` and their pages;
- :mod:`.history`: :class:`NftTransaction`, :class:`NftTrade` and their pages;
- :mod:`.block`: :class:`Block`, :class:`BlockTransaction`, :func:`touched_accounts`;

Import the models from this package, not from its modules, which may move.
"""

from airflow_provider_loopring.models.account import Account
from airflow_provider_loopring.models.block import Block, BlockTransaction, touched_accounts
from airflow_provider_loopring.models.collection import (
    Collection,
    CollectionBalance,
    CollectionsPage,
)
from airflow_provider_loopring.models.history import (
    TRADE_POSITIONS,
    NftTrade,
    NftTradesPage,
    NftTransaction,
    NftTransactionsPage,
)
from airflow_provider_loopring.models.nft import (
    NftBalance,
    NftBalancesPage,
    NftMetadata,
    PendingBalance,
)
from airflow_provider_loopring.models.nft_info import (
    CollectionNft,
    CollectionNftsPage,
    NftHolder,
    NftHoldersPage,
    NftInfo,
    NftInfos,
)
from airflow_provider_loopring.models.status import DeploymentStatus, same_address

__all__ = [
    "TRADE_POSITIONS",
    "Account",
    "Block",
    "BlockTransaction",
    "Collection",
    "CollectionBalance",
    "CollectionNft",
    "CollectionNftsPage",
    "CollectionsPage",
    "DeploymentStatus",
    "NftBalance",
    "NftBalancesPage",
    "NftHolder",
    "NftHoldersPage",
    "NftInfo",
    "NftInfos",
    "NftMetadata",
    "NftTrade",
    "NftTradesPage",
    "NftTransaction",
    "NftTransactionsPage",
    "PendingBalance",
    "same_address",
    "touched_accounts",
]
