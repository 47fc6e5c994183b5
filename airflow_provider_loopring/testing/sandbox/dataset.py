"""The sandbox's holdings: every account's NFT balances as the ledger's transactions left them.

Balances change only through :meth:`Dataset.credit` and :meth:`Dataset.debit`, which the
ledger calls for each transaction it accepts; an account's balances are first made from the
seeded first blocks (`seeded`) the first time anything reads or moves them. Statuses
(deployment, locked, pending) change without a transaction, as on Loopring.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow_provider_loopring.testing.sandbox.generate import (
    DEFAULT_SEED,
    checksum_case,
    make_account,
    make_balance,
)
from airflow_provider_loopring.testing.sandbox.seeded import Seeded

BURN_ACCOUNT_ID = 9_999  # below every seeded id, which start at 10,000
BURN_ADDRESS = "0x000000000000000000000000000000000000dEaD"
FIRST_LIVE_ROW = 10_000_000


def is_zero(balance: dict[str, Any]) -> bool:
    """A balance the account once held: `nonZero=true` hides it.

    :param balance: a balance as the API sends it (``total`` a decimal string).
    """
    return bool(balance["total"] == "0")


def without_metadata(balance: dict[str, Any]) -> dict[str, Any]:
    """The balance as `metadata=false` shows it.

    :param balance: a balance as the API sends it; left as it is (a copy is returned).
    """
    return {key: value for key, value in balance.items() if key != "metadata"}


class Dataset:
    """Accounts, collections and balances of one sandbox; safe to use from several threads.

    Balances are live dicts shared with the server; the public accessors hand out deep copies.
    A balance's `collectionInfo` IS its collection's dict, so a collection status change shows
    everywhere at once.

    :param accounts: how many seeded accounts, at least 1.
    :param nfts_per_account: NFT balances each starts with, zero ones included.
    :param collections_per_account: collections each owns, at least 1.
    :param seed: the seed: the same seed, the same data.
    :raises ValueError: no account or no collection.
    """

    def __init__(
        self,
        accounts: int = 3,
        nfts_per_account: int = 120,
        collections_per_account: int = 3,
        seed: int = DEFAULT_SEED,
    ) -> None:
        if accounts < 1 or nfts_per_account < 0 or collections_per_account < 1:
            raise ValueError("need at least one account and one collection per account")
        self.seed = seed
        self.nfts_per_account = nfts_per_account
        self.seeded = Seeded(accounts, nfts_per_account, collections_per_account, seed)
        self.lock = threading.RLock()
        burn = make_account(random.Random(f"{seed}:burn"), BURN_ACCOUNT_ID)
        burn["owner"] = BURN_ADDRESS
        self._opened: dict[int, dict[str, Any]] = {BURN_ACCOUNT_ID: burn}
        self._opened_by_owner = {BURN_ADDRESS.lower(): BURN_ACCOUNT_ID}
        self._rows: dict[int, list[dict[str, Any]]] = {}
        self._row_of: dict[int, dict[str, dict[str, Any]]] = {}
        self._by_nft: dict[str, list[dict[str, Any]]] = {}
        self._by_collection: dict[int, list[dict[str, Any]]] = {}
        self._nft_status: dict[str, tuple[int, str]] = {}  # nftData: (collection, status)
        self.live_nfts: dict[str, dict[str, Any]] = {}
        self.live_holders: dict[str, set[int]] = {}
        self._next_row = FIRST_LIVE_ROW

    @contextmanager
    def indexed_lock(self) -> Iterator[None]:
        """The lock, taken once the index by ``nftData`` and owner is built: whoever waits
        for the index must not hold the lock that every request takes."""
        self.seeded.build_index()
        with self.lock:
            yield

    # -- accounts --

    @property
    def accounts(self) -> list[dict[str, Any]]:
        """Every account, seeded then opened later (not the burn account); live dicts."""
        seeded = [self.seeded.account(index) for index in range(self.seeded.size)]
        with self.lock:
            later = [a for i, a in self._opened.items() if i != BURN_ACCOUNT_ID]
        return seeded + later

    def account(self, account_id: int) -> dict[str, Any] | None:
        """The account with this id, or None.

        :param account_id: the account id.
        """
        index = self.seeded.index_of(account_id)
        return self._opened.get(account_id) if index is None else self.seeded.account(index)

    def account_by_owner(self, owner: str) -> dict[str, Any] | None:
        """The account of this owner address, or None.

        :param owner: the owner's address, in any case.
        """
        key = owner.lower()
        if key in self._opened_by_owner:
            return self._opened[self._opened_by_owner[key]]
        index = self.seeded.find_owner(key)
        return None if index is None else self.seeded.account(index)

    def open_account(self, owner: str) -> dict[str, Any]:
        """The account of ``owner``, opened now if it has none (a transfer to a new address).

        :param owner: the address, 0x + 40 hex digits, in any case.
        """
        with self.lock:
            found = self.account_by_owner(owner)
            if found is not None:
                return found
            account_id = self.seeded.account_id(self.seeded.size) + len(self._opened)
            account = make_account(random.Random(f"{self.seed}:opened:{owner}"), account_id)
            account.update(owner=checksum_case(owner), nonce=0, keyNonce=0, keySeed="")
            account["publicKey"] = {"x": "", "y": ""}  # no L2 key until its owner sets one
            self._opened[account_id] = account
            self._opened_by_owner[owner.lower()] = account_id
            return account

    # -- balances --

    def balances(self, account_id: int) -> list[dict[str, Any]]:
        """Every balance of the account, newest first (the API's order), zero ones included.

        :param account_id: the account; it must exist (else KeyError).
        """
        with self.lock:
            found = self._rows.get(account_id)
            if found is None:
                found = self._materialize(account_id)
            return found

    def _materialize(self, account_id: int) -> list[dict[str, Any]]:
        index = self.seeded.index_of(account_id)
        if index is None and account_id not in self._opened:
            raise KeyError(f"no account with id {account_id}")
        rows = [] if index is None else [row for row, _ in self.seeded.first_holdings(index)]
        self._row_of[account_id] = {}
        for row in rows:
            self._register(account_id, row)
        rows.reverse()
        self._rows[account_id] = rows
        return rows

    def _register(self, account_id: int, row: dict[str, Any]) -> None:
        override = self._nft_status.get(row["nftData"])
        if override is not None:
            row["deploymentStatus"] = override[1]
        self._row_of[account_id][row["nftData"]] = row
        self._by_nft.setdefault(row["nftData"], []).append(row)
        self._by_collection.setdefault(row["collectionInfo"]["id"], []).append(row)

    def row(self, account_id: int, nft_data: str) -> dict[str, Any] | None:
        """The account's balance of this NFT (a live dict), or None.

        :param account_id: the account; it must exist (else KeyError).
        :param nft_data: the NFT's ``nftData``, lowercase.
        """
        with self.lock:
            self.balances(account_id)
            return self._row_of[account_id].get(nft_data)

    def nft(self, nft_data: str) -> dict[str, Any] | None:
        """The NFT as minted (a live dict), or None when no transaction ever minted it.

        :param nft_data: the NFT's ``nftData``, in any case.
        """
        key = nft_data.lower()
        found = self.live_nfts.get(key)
        if found is not None:
            return found
        place = self.seeded.find_nft(key)
        return None if place is None else self.seeded.mints(place[0])[place[1]]

    def holders(self, nft_data: str) -> list[dict[str, Any]]:
        """Every balance of this NFT above zero, oldest holder first (live dicts).

        :param nft_data: the NFT's ``nftData``, lowercase.
        """
        place = self.seeded.find_nft(nft_data)  # may wait for the index: not under the lock
        with self.lock:
            ids = (
                []
                if place is None
                else [self.seeded.account_id(i) for i in self.seeded.holders_of(*place)]
            )
            ids += sorted(self.live_holders.get(nft_data, set()) - set(ids))
            rows = [self.row(account_id, nft_data) for account_id in ids]
            return [row for row in rows if row is not None and not is_zero(row)]

    def credit(self, account_id: int, nft: dict[str, Any], amount: int) -> dict[str, Any]:
        """Add ``amount`` of an NFT to an account: the ledger's only way to raise a balance.

        :param account_id: the receiving account.
        :param nft: the NFT as minted (:meth:`nft`).
        :param amount: how many, above 0.
        :return: the account's balance row of it.
        """
        with self.lock:
            row = self.row(account_id, nft["nftData"])
            if row is None:
                row = self._new_row(account_id, nft)
            row["total"] = str(int(row["total"]) + amount)
            self.live_holders.setdefault(nft["nftData"], set()).add(account_id)
            return row

    def debit(self, account_id: int, nft_data: str, amount: int) -> dict[str, Any]:
        """Take ``amount`` of an NFT from an account: the only way to lower a balance.

        :param account_id: the sending account.
        :param nft_data: the NFT's ``nftData``, lowercase.
        :param amount: how many, above 0.
        :return: the account's balance row of it.
        :raises ValueError: the account holds fewer than ``amount`` unlocked.
        """
        with self.lock:
            row = self.row(account_id, nft_data)
            free = 0 if row is None else int(row["total"]) - int(row["locked"])
            if row is None or free < amount:
                raise ValueError(
                    f"account {account_id} holds {free} unlocked of {nft_data}, not {amount}"
                )
            row["total"] = str(int(row["total"]) - amount)
            return row

    def _new_row(self, account_id: int, nft: dict[str, Any]) -> dict[str, Any]:
        rows = self.balances(account_id)
        rng = random.Random(f"{self.seed}:row:{account_id}:{nft['nftData']}")
        row = make_balance(rng, self._next_row, account_id, len(rows), nft)
        self._next_row += 1
        row.update(total="0", locked="0", pending={"withdraw": "0", "deposit": "0"})
        self._register(account_id, row)
        rows.insert(0, row)  # newest first, as the API lists them
        return row

    def collection_counts(
        self, account_id: int, non_zero: bool = True
    ) -> list[tuple[dict[str, Any], int]]:
        """(collection, kinds of NFT held in it) for the account, in order of first holding.

        :param account_id: the account.
        :param non_zero: count only the NFTs the account still holds.
        """
        counts: dict[int, list[Any]] = {}
        for balance in self.balances(account_id):
            if non_zero and is_zero(balance):
                continue
            collection = balance["collectionInfo"]
            counts.setdefault(collection["id"], [collection, 0])[1] += 1
        return [(collection, count) for collection, count in counts.values()]

    def collection(self, collection_id: int) -> dict[str, Any] | None:
        """The collection with this id (a live dict), or None.

        :param collection_id: the collection's id.
        """
        position = self.seeded.collection_position(collection_id)
        return None if position is None else self.seeded.collection(position)
