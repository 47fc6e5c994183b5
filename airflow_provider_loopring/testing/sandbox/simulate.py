"""`simulate_day`: a day of random activity on the ledger, sealed into blocks.

Touches only the accounts it picks (and those they pay), so a day on 100,000 accounts makes
the few hundred or thousand it needs and never the rest.
"""

from __future__ import annotations

import random
from typing import Any

import airflow_provider_loopring.testing.sandbox.txs as txs
from airflow_provider_loopring.testing.sandbox.ledger import Ledger

DAY_BLOCK = 100  # transactions per block when the ledger has no block_size
KINDS = (
    ("transfer", 40),
    ("trade", 20),
    ("mint", 12),
    ("withdraw", 6),
    ("deposit", 6),
    ("token_transfer", 8),
    ("account_update", 5),
    ("new_account", 3),
)


def simulate_day(
    ledger: Ledger, change_rate: float = 0.01, seed: int | None = None
) -> dict[str, Any]:
    """Random transfers, trades, mints, withdrawals, deposits and non-NFT transactions naming
    about ``change_rate`` of the seeded accounts, sealed into blocks.

    :param ledger: the ledger to act on.
    :param change_rate: the share of accounts to touch, above 0 and at most 1.
    :param seed: the seed of the day's choices; None: a new one each day.
    :return: ``{"transactions": [...], "blockIds": [...], "accounts": [...]}``: the
        transactions in order, the blocks sealed, the ids of every account named.
    :raises ValueError: ``change_rate`` out of range.
    """
    if not 0 < change_rate <= 1:
        raise ValueError("change_rate must be above 0 and at most 1")
    rng = random.Random(seed)
    size = ledger.seeded.size
    target = max(1, round(change_rate * size))
    names, weights = zip(*KINDS, strict=True)
    made: list[dict[str, Any]] = []
    touched: set[int] = set()
    with ledger.lock:
        before = ledger.head
        pending_before = len(ledger.pending)
        for _ in range(target * 20):  # a bound: a day of tiny accounts may run out of moves
            if len(touched) >= target:
                break
            tx = _act(ledger, rng, rng.choices(names, weights)[0])
            if tx is not None:
                made.append(tx)
                touched.update(txs.named(tx))
            if len(ledger.pending) - pending_before >= (ledger.block_size or DAY_BLOCK):
                ledger.seal_block()
                pending_before = 0
        if ledger.pending:
            ledger.seal_block()
        block_ids = list(range(before + 1, ledger.head + 1))
    return {"transactions": made, "blockIds": block_ids, "accounts": sorted(touched)}


def _pick(ledger: Ledger, rng: random.Random) -> int:
    return ledger.seeded.account_id(rng.randrange(ledger.seeded.size))


def _held(ledger: Ledger, account_id: int, rng: random.Random) -> dict[str, Any] | None:
    rows = [
        row for row in ledger.balances(account_id) if int(row["total"]) - int(row["locked"]) > 0
    ]
    return rng.choice(rows) if rows else None


def _act(ledger: Ledger, rng: random.Random, kind: str) -> dict[str, Any] | None:
    """One transaction of ``kind`` between random accounts; None when the pick holds nothing."""
    account_id = _pick(ledger, rng)
    if kind == "mint":
        return ledger.mint(account_id, str(rng.choice((1, 1, 5, 100))))
    if kind == "token_transfer":
        return ledger.token_transfer(account_id, _pick(ledger, rng), rng.randrange(1, 10**18))
    if kind == "account_update":
        return ledger.account_update(account_id)
    row = _held(ledger, account_id, rng)
    if row is None:
        return None
    nft_data = row["nftData"]
    if kind == "deposit":
        return ledger.deposit(account_id, nft_data, "1")
    if kind == "withdraw":
        return ledger.withdraw(account_id, nft_data, "1")
    other = _pick(ledger, rng)
    if other == account_id:
        return None
    if kind == "trade":
        price = f"{rng.choice((1, 5, 20, 150)) / 1000:.3f}"
        return ledger.trade(account_id, other, nft_data, "1", price)
    if kind == "new_account":
        return ledger.transfer(account_id, "0x" + f"{rng.getrandbits(160):040x}", nft_data)
    return ledger.transfer(account_id, other, nft_data, "1")
