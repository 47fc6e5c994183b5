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

Import the models from this package, not from its modules, which may move.
"""

from airflow_provider_loopring.models.account import Account
from airflow_provider_loopring.models.collection import (
    Collection,
    CollectionBalance,
    CollectionsPage,
)
from airflow_provider_loopring.models.nft import (
    NftBalance,
    NftBalancesPage,
    NftMetadata,
    PendingBalance,
)
from airflow_provider_loopring.models.status import DeploymentStatus, same_address

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
