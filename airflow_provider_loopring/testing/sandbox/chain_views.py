"""The block endpoints: getBlock and getPendingRequests, straight from the chain."""

from __future__ import annotations

import hashlib

from airflow_provider_loopring.testing.sandbox.chain import RECEIVER_KEYS
from airflow_provider_loopring.testing.sandbox.generate import EXCHANGE_ADDRESS
from airflow_provider_loopring.testing.sandbox.ledger import Ledger
from airflow_provider_loopring.testing.sandbox.params import ApiError, ApiResult

NAMED_BLOCKS = ("finalized", "confirmed")


def get_block(ledger: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/block/getBlock?id=N|finalized|confirmed (default: finalized).

    Every sealed block is final here, so ``finalized`` and ``confirmed`` both name the newest.
    A block not made yet is an error envelope (100001), as is an id that is no number. The
    quirk ``blocks_hide_receivers`` leaves each transaction's receiver out.

    :param ledger: the data to answer from.
    :param query: ``id``.
    """
    raw = query.get("id", "") or "finalized"
    if raw in NAMED_BLOCKS:
        block_id = ledger.head
    elif raw.isascii() and raw.isdigit():
        block_id = int(raw)
    else:
        raise ApiError(100001, f"invalid argument: id={raw!r} is not a block id")
    block = ledger.block(block_id)
    if block is None:
        raise ApiError(100001, f"invalid argument: block {block_id} is not made yet")
    digest = hashlib.blake2b(f"{ledger.seed}:block:{block_id}".encode(), digest_size=32)
    transactions = [entry.tx for entry in block.entries]
    if "blocks_hide_receivers" in ledger.quirks:
        transactions = [
            {key: value for key, value in tx.items() if key not in RECEIVER_KEYS}
            for tx in transactions
        ]
    body = {
        "blockId": block.block_id,
        "blockSize": len(block.entries),
        "exchange": EXCHANGE_ADDRESS.lower(),
        "txHash": "0x" + digest.hexdigest(),
        "status": "COMPLETED",
        "createdAt": block.created_at,
        "transactions": transactions,
    }
    return ApiResult(200, body)


def pending_requests(ledger: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/block/getPendingRequests: the transactions waiting for the next block.

    :param ledger: the data to answer from.
    :param query: none are taken.
    """
    with ledger.lock:
        return ApiResult(200, [entry.tx for entry in ledger.pending])
