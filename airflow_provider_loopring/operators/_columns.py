"""The columns of the records the operators write: Loopring's names and JSON types.

What lineage tools are told of a file's schema (see :mod:`._lineage`); the tests check the
names against the models' fields, so the two cannot drift apart.
"""

from __future__ import annotations

Columns = tuple[tuple[str, str], ...]

BALANCE_COLUMNS: Columns = (
    ("accountId", "integer"),
    ("tokenId", "integer"),
    ("nftData", "string"),
    ("tokenAddress", "string"),
    ("nftType", "string"),
    ("nftId", "string"),
    ("total", "string"),  # a big integer as a decimal string
    ("locked", "string"),
    ("pending", "struct"),
    ("isCounterFactualNFT", "boolean"),
    ("deploymentStatus", "string"),
    ("metadata", "struct"),
    ("minter", "string"),
    ("royaltyPercentage", "integer"),
    ("id", "integer"),
    ("updatedAt", "integer"),
    ("balanceUpdatedAt", "integer"),
    ("preference", "struct"),
    ("collectionInfo", "struct"),
)
COLLECTION_COLUMNS: Columns = (
    ("collection", "struct"),
    ("count", "integer"),
    ("accountId", "integer"),
)
