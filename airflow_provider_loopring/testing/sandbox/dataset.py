"""The sandbox's data set: seeded accounts, collections and NFT balances, and their statuses.

Same seed, same data. Accounts and collections are made up front (they are few); each
account's NFTs are made the first time someone asks for them, from a random generator of
their own, so the order of requests never changes the data and a large data set starts fast.
"""

from __future__ import annotations

import copy
import random
import threading
from dataclasses import dataclass
from typing import Any

from airflow_provider_loopring.testing.sandbox.generate import (
    DEFAULT_SEED,
    make_account,
    make_balance,
    make_collection,
    make_mint,
)


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


@dataclass
class _Schedule:
    statuses: list[str]
    every: int
    served: int = 0
    position: int = 0


class Dataset:
    """Accounts, collections and balances of one sandbox; safe to use from several threads.

    Balances are live dicts shared with the server; the public accessors hand out deep copies.
    A balance's `collectionInfo` IS its collection's dict, so a collection status change shows
    everywhere at once.

    :param accounts: how many accounts, at least 1.
    :param nfts_per_account: NFT balances of each account, zero ones included.
    :param collections_per_account: collections each account owns, at least 1.
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
        self._lock = threading.RLock()
        rng = random.Random(seed)
        self._accounts: list[dict[str, Any]] = []
        account_id = 10_000 + rng.randrange(5_000)
        for _ in range(accounts):
            account_id += rng.randint(1, 40)
            self._accounts.append(make_account(rng, account_id))
        self._index_by_id = {a["accountId"]: i for i, a in enumerate(self._accounts)}
        self._index_by_owner = {a["owner"].lower(): i for i, a in enumerate(self._accounts)}
        count = accounts * collections_per_account
        ids = sorted(rng.sample(range(100, 100 + 40 * count), count))
        self._collections = [
            make_collection(rng, ids[g], g, self._accounts[g // collections_per_account]["owner"])
            for g in range(count)
        ]
        self._collections_by_id = {c["id"]: c for c in self._collections}
        self._per_account = collections_per_account
        self._mints: dict[int, list[dict[str, Any]]] = {}
        self._balances: dict[int, list[dict[str, Any]]] = {}
        self._by_nft: dict[str, list[dict[str, Any]]] = {}
        self._by_collection: dict[int, list[dict[str, Any]]] = {}
        self._schedules: dict[tuple[str, Any], _Schedule] = {}

    # -- lookups used by the server (live objects: do not mutate) --

    @property
    def accounts(self) -> list[dict[str, Any]]:
        """Every account, as GET /api/v3/account returns it."""
        return self._accounts

    def account(self, account_id: int) -> dict[str, Any] | None:
        """The account with this id, or None.

        :param account_id: the account id.
        """
        index = self._index_by_id.get(account_id)
        return None if index is None else self._accounts[index]

    def account_by_owner(self, owner: str) -> dict[str, Any] | None:
        """The account of this owner address, or None.

        :param owner: the owner's address, in any case.
        """
        index = self._index_by_owner.get(owner.lower())
        return None if index is None else self._accounts[index]

    def balances(self, account_id: int) -> list[dict[str, Any]]:
        """Every balance of the account, newest first (the API's order), zero ones included.

        Made on the first call for the account.

        :param account_id: the account; it must exist (else KeyError).
        """
        with self._lock:
            found = self._balances.get(account_id)
            if found is None:
                index = self._index_by_id[account_id]
                found = self._balances[account_id] = self._make_balances(index)
            return found

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

    # -- generation --

    def _mints_of(self, index: int) -> list[dict[str, Any]]:
        mints = self._mints.get(index)
        if mints is None:
            rng = random.Random(f"{self.seed}:mints:{index}")
            owner = self._accounts[index]["owner"]
            first = index * self._per_account
            mints = [
                make_mint(rng, k, owner, self._collections[first + k % self._per_account])
                for k in range(self.nfts_per_account)
            ]
            self._mints[index] = mints
        return mints

    def _make_balances(self, index: int) -> list[dict[str, Any]]:
        rng = random.Random(f"{self.seed}:balances:{index}")
        account_id = self._accounts[index]["accountId"]
        own = self._mints_of(index)
        neighbour = (index + 1) % len(self._accounts)
        balances = []
        for k in range(self.nfts_per_account):
            # Every tenth NFT is the neighbour's mint k-1, which the neighbour holds too: the
            # same nftData in two accounts, from a collection this account does not own.
            shared = neighbour != index and k % 10 == 9
            mint = self._mints_of(neighbour)[k - 1] if shared else own[k]
            row_id = index * self.nfts_per_account + k + 1
            balances.append(make_balance(rng, row_id, account_id, k, mint))
        for balance in balances:
            self._by_nft.setdefault(balance["nftData"], []).append(balance)
            self._by_collection.setdefault(balance["collectionInfo"]["id"], []).append(balance)
        balances.reverse()
        return balances

    def _ensure_all(self) -> None:
        for account in self._accounts:
            self.balances(account["accountId"])

    # -- holdings --

    def set_balance(self, account_id: int, nft_data: str, total: str) -> None:
        """Set what an account holds of an NFT: ``total`` a decimal string, "0" removes it.

        An NFT the account does not hold yet is minted into it: the same NFT as another
        account holds, when one does, else a new NFT of one of the account's collections.

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``, in any case.
        :param total: the amount.
        :raises ValueError: ``total`` is not a decimal string.
        """
        if not (isinstance(total, str) and total.isascii() and total.isdigit()):
            raise ValueError(f"total must be a decimal string, got {total!r}")
        with self._lock:
            balances = self.balances(account_id)
            key = nft_data.lower()
            for balance in balances:
                if balance["nftData"].lower() == key:
                    balance["total"] = total
                    return
            self._ensure_all()  # the NFT may sit in an account nobody has asked for yet
            known = self._by_nft.get(key)
            index = self._index_by_id[account_id]
            if known:
                mint = {**known[0], "createdAt": known[0]["updatedAt"]}
            else:
                rng = random.Random(f"{self.seed}:minted:{account_id}:{key}")
                mint = make_mint(
                    rng,
                    len(balances),
                    self._accounts[index]["owner"],
                    self._first_collection(index),
                )
                mint["nftData"] = key
            row_id = 10_000_000 + sum(len(b) for b in self._balances.values())
            rng = random.Random(f"{self.seed}:minted-balance:{account_id}:{key}")
            balance = make_balance(rng, row_id, account_id, len(balances), mint)
            balance["total"] = total
            balances.insert(0, balance)  # newest first, as the API lists them
            self._by_nft.setdefault(key, []).append(balance)
            self._by_collection.setdefault(balance["collectionInfo"]["id"], []).append(balance)

    def _first_collection(self, index: int) -> dict[str, Any]:
        return self._collections[index * self._per_account]

    # -- statuses --

    def set_nft_status(self, nft_data: str, status: str) -> None:
        """Set `deploymentStatus` of every balance of this NFT, in every account.

        :param nft_data: the NFT's ``nftData``, in any case.
        :param status: the status; any string.
        :raises KeyError: no account holds such an NFT.
        """
        with self._lock:
            self._ensure_all()  # an NFT may sit in accounts nobody has asked for yet
            balances = self._by_nft.get(nft_data.lower())
            if not balances:
                raise KeyError(f"no NFT with nftData {nft_data}")
            for balance in balances:
                balance["deploymentStatus"] = status

    def set_collection_status(self, collection_id: int, status: str) -> None:
        """Set the collection's `deployStatus` and the `deploymentStatus` of its NFTs.

        :param collection_id: the collection's id.
        :param status: the status; any string.
        :raises KeyError: there is no such collection.
        """
        with self._lock:
            collection = self._collections_by_id.get(collection_id)
            if collection is None:
                raise KeyError(f"no collection with id {collection_id}")
            collection["deployStatus"] = status
            # Balances made later copy the collection's status; only made ones need updating.
            for balance in self._by_collection.get(collection_id, ()):
                balance["deploymentStatus"] = status

    def schedule_nft_status(self, nft_data: str, statuses: list[str], every: int = 1) -> None:
        """Walk the NFT through `statuses`, one step per `every` responses that include it.

        :param nft_data: the NFT's ``nftData``, in any case.
        :param statuses: the statuses in order; the first is set now, the last sticks.
        :param every: responses per step, at least 1.
        """
        self._schedule(("nft", nft_data.lower()), statuses, every)

    def schedule_collection_status(
        self, collection_id: int, statuses: list[str], every: int = 1
    ) -> None:
        """Walk the collection through `statuses`, one step per `every` responses with it.

        :param collection_id: the collection's id.
        :param statuses: the statuses in order; the first is set now, the last sticks.
        :param every: responses per step, at least 1.
        """
        self._schedule(("collection", collection_id), statuses, every)

    def _schedule(self, key: tuple[str, Any], statuses: list[str], every: int) -> None:
        if not statuses or every < 1:
            raise ValueError("a schedule needs at least one status and every >= 1")
        with self._lock:
            self._apply(key, statuses[0])
            if len(statuses) > 1:
                self._schedules[key] = _Schedule(list(statuses), every)
            else:
                self._schedules.pop(key, None)

    def _apply(self, key: tuple[str, Any], status: str) -> None:
        if key[0] == "nft":
            self.set_nft_status(key[1], status)
        else:
            self.set_collection_status(key[1], status)

    def note_served(self, nft_datas: frozenset[str], collection_ids: frozenset[int]) -> None:
        """Count one response that showed these NFTs and collections; advance schedules.

        :param nft_datas: the ``nftData`` of every NFT the response showed.
        :param collection_ids: the id of every collection it showed.
        """
        if not self._schedules:
            return
        with self._lock:
            for key, schedule in list(self._schedules.items()):
                shown = nft_datas if key[0] == "nft" else collection_ids
                if key[1] not in shown:
                    continue
                schedule.served += 1
                if schedule.served % schedule.every == 0:
                    schedule.position += 1
                    self._apply(key, schedule.statuses[schedule.position])
                if schedule.position == len(schedule.statuses) - 1:
                    del self._schedules[key]  # the last status sticks

    # -- copies for tests --

    def snapshot_balances(
        self, account_id: int, non_zero: bool = False, metadata: bool = True
    ) -> list[dict[str, Any]]:
        """A deep copy of the account's balances, as the API would list them.

        :param account_id: the account.
        :param non_zero: drop zero balances, as ``nonZero=true`` does.
        :param metadata: keep each balance's ``metadata``, as ``metadata=true`` does.
        """
        with self._lock:
            balances = [
                balance if metadata else without_metadata(balance)
                for balance in self.balances(account_id)
                if not (non_zero and is_zero(balance))
            ]
            return copy.deepcopy(balances)

    def snapshot_collections(self, account_id: int, non_zero: bool = True) -> list[dict[str, Any]]:
        """A deep copy of the account's collections: ``[{"collection": {...}, "count": n}]``.

        :param account_id: the account.
        :param non_zero: leave out collections the account holds nothing of.
        """
        with self._lock:
            counts = self.collection_counts(account_id, non_zero)
            return copy.deepcopy([{"collection": c, "count": n} for c, n in counts])
