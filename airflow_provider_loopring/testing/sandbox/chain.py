"""The chain: L2 blocks of transactions, pending ones, and each account's history.

A mutation (`ledger`) moves balances and hands its transaction to `Chain.accept`, which queues
it as pending; `seal_block` turns the pending ones into a block. Balances move when a
transaction is accepted, as Loopring's relayer moves them before the block is submitted, so
pending transactions already show in balances. The seeded data is minted in the first blocks,
one per seeded account, made on demand like the accounts.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import airflow_provider_loopring.testing.sandbox.txs as txs
from airflow_provider_loopring.testing.sandbox.generate import (
    DEFAULT_SEED,
    EPOCH_MS,
    FIRST_NFT_TOKEN_ID,
)
from airflow_provider_loopring.testing.sandbox.statuses import Statuses

BLOCK_SPACING_MS = 600_000  # the seeded blocks: one every ten minutes from EPOCH_MS
FIRST_LIVE_ID = 10**10  # ids of transactions made after the seed; seeded ones are below
QUIRKS = frozenset(
    {
        "mints_key_transfers",
        "holders_total_is_page",
        "history_oldest_first",
        # getBlock leaves out who receives (toAccountId, toAccountAddress, toAddress): holdings
        # change without a block naming the account, as a block shape other than the docs'
        # would make them (what an incremental night's verification must catch).
        "blocks_hide_receivers",
    }
)
RECEIVER_KEYS = ("toAccountId", "toAccountAddress", "toAddress")


@dataclass
class Entry:
    """One transaction as the ledger holds it, and where it sits.

    :param tx: the block transaction (Loopring's field names).
    :param id: its id in history rows.
    :param hash: its L2 hash.
    :param created_at: when it was accepted, epoch ms.
    :param block_id: its block; 0 while it is pending (as Loopring's history shows it).
    :param index: its position in the block, from 0.
    """

    tx: dict[str, Any]
    id: int
    hash: str
    created_at: int
    block_id: int = 0
    index: int = 0


@dataclass
class Block:
    """A sealed block: its id, when it was made, its transactions in order.

    :param block_id: its id.
    :param created_at: when it was sealed, epoch ms.
    :param entries: its transactions, in order.
    """

    block_id: int
    created_at: int
    entries: list[Entry]


def _hash(text: str) -> str:
    return "0x" + hashlib.blake2b(text.encode(), digest_size=32).hexdigest()


class Chain(Statuses):
    """`Statuses` plus the blocks that hold every change of its balances (module docstring).

    :param accounts: how many seeded accounts, at least 1.
    :param nfts_per_account: NFT balances each starts with, zero ones included.
    :param collections_per_account: collections each owns, at least 1.
    :param seed: the seed: the same seed, the same data.
    :param block_size: the most transactions a block holds; a full one is sealed at once.
        None: blocks are sealed only by :meth:`seal_block`.
    :param quirks: the readings of the API to answer with where sources disagree (QUIRKS).
    """

    def __init__(
        self,
        accounts: int = 3,
        nfts_per_account: int = 120,
        collections_per_account: int = 3,
        seed: int = DEFAULT_SEED,
        block_size: int | None = None,
        quirks: Iterable[str] = (),
    ) -> None:
        super().__init__(accounts, nfts_per_account, collections_per_account, seed)
        if block_size is not None and block_size < 1:
            raise ValueError("block_size must be at least 1")
        self.block_size = block_size
        self.quirks: frozenset[str] = frozenset()
        self.set_quirks(quirks)
        self.blocks: list[Block] = []
        self.pending: list[Entry] = []
        self._history: dict[int, list[Entry]] = {}
        self._next_id = FIRST_LIVE_ID
        self.time_ms: int | None = None  # set_time: when the next transactions are made

    def set_time(self, epoch_ms: int | None) -> None:
        """Make the next transactions (and blocks) at this moment; None: at the wall clock's.

        History is read by time: a test places transactions exactly at a window's edges.

        :param epoch_ms: the moment, epoch milliseconds; None: the wall clock.
        """
        self.time_ms = None if epoch_ms is None else int(epoch_ms)

    def _now(self) -> int:
        return int(time.time() * 1000) if self.time_ms is None else self.time_ms

    def set_quirks(self, quirks: Iterable[str]) -> None:
        """Answer with these readings of the API (names in QUIRKS); the rest as documented.

        :param quirks: the quirk names.
        :raises ValueError: an unknown name.
        """
        chosen = frozenset(quirks)
        if chosen - QUIRKS:
            raise ValueError(f"unknown quirks {sorted(chosen - QUIRKS)}; known: {sorted(QUIRKS)}")
        self.quirks = chosen

    # -- blocks --

    @property
    def head(self) -> int:
        """The id of the newest block (the seeded blocks are 1 .. accounts)."""
        return self.seeded.size + len(self.blocks)

    def block(self, block_id: int) -> Block | None:
        """A block by id, or None when it is not made yet.

        :param block_id: the block's id, from 1.
        """
        if 1 <= block_id <= self.seeded.size:
            created = EPOCH_MS + block_id * BLOCK_SPACING_MS
            return Block(block_id, created, self.first_block(block_id - 1))
        with self.lock:
            live = block_id - self.seeded.size - 1
            return self.blocks[live] if 0 <= live < len(self.blocks) else None

    def first_block(self, index: int) -> list[Entry]:
        """The transactions of seeded account ``index``'s block: its key, then its mints.

        A zero balance is a mint then a withdrawal of all of it (the account once held it).

        :param index: the seeded account's position.
        """
        seeded, block_id = self.seeded, index + 1
        account = seeded.account(index)
        found = [txs.account_update(account, 1)]
        for row, minter in seeded.first_holdings(index):
            amount = max(int(row["total"]), 1)
            position = row["tokenId"] - FIRST_NFT_TOKEN_ID
            found.append(txs.nft_mint(seeded.account(minter), account, row, amount, 2 * position))
            if row["total"] == "0":
                token = {"tokenId": row["tokenId"], "nftData": row["nftData"], "amount": "1"}
                found.append(txs.withdraw(account, token, 2 * position + 1))
        created = EPOCH_MS + block_id * BLOCK_SPACING_MS
        return [
            Entry(
                tx, block_id * 4096 + i, _hash(f"{self.seed}:{block_id}:{i}"), created, block_id, i
            )
            for i, tx in enumerate(found)
        ]

    def seal_block(self) -> int:
        """Seal the pending transactions into a new block (a Noop when there are none).

        :return: the new block's id.
        """
        with self.lock:
            entries, self.pending = self.pending, []
            if not entries:
                entries = [self.accept(txs.noop())]
                self.pending = []
            block_id = self.head + 1
            last = self.blocks[-1].created_at if self.blocks else 0
            created = max(self._now(), last + 1)
            for index, entry in enumerate(entries):
                entry.block_id, entry.index = block_id, index
            self.blocks.append(Block(block_id, created, entries))
            return block_id

    def accept(self, tx: dict[str, Any]) -> Entry:
        """Queue a transaction whose balances have moved; seal the block when it is full.

        :param tx: the block transaction.
        """
        entry = Entry(tx, self._next_id, _hash(f"{self.seed}:live:{self._next_id}"), self._now())
        self._next_id += 1
        self.pending.append(entry)
        for account_id in set(txs.named(tx)):
            self._history.setdefault(account_id, []).append(entry)
        if self.block_size is not None and len(self.pending) >= self.block_size:
            self.seal_block()
        return entry

    # -- history --

    def history(self, account_id: int) -> list[Entry]:
        """Every transaction naming the account, oldest first, pending ones last.

        :param account_id: the account.
        """
        with self.lock:
            index = self.seeded.index_of(account_id)
            found: list[Entry] = []
            if index is not None:
                before = (index - 1) % self.seeded.size
                if before != index:  # the shared NFTs this account minted into its neighbour
                    found += [
                        e
                        for e in self.first_block(before)
                        if e.tx.get("minterAccountId") == account_id
                    ]
                found += self.first_block(index)
                found.sort(key=lambda e: (e.block_id, e.index))
            return found + list(self._history.get(account_id, ()))
