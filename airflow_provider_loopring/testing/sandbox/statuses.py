"""Fields that change on Loopring without an L2 transaction: locked, pending, deployment.

Deployment statuses can also be scheduled: walked through a list, one step per so many
responses that show the NFT or collection (a sensor's poll sees each step).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from airflow_provider_loopring.testing.sandbox.dataset import Dataset, is_zero, without_metadata


@dataclass
class _Schedule:
    statuses: list[str]
    every: int
    served: int = 0
    position: int = 0


class Statuses(Dataset):
    """A `Dataset` whose statuses can be set, scheduled and copied out for tests.

    Takes `Dataset`'s arguments.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schedules: dict[tuple[str, Any], _Schedule] = {}

    # -- fields that change without a transaction --

    def set_locked(self, account_id: int, nft_data: str, amount: str) -> None:
        """Set how much of an account's NFT is locked (in an open order, ...).

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``, in any case.
        :param amount: a decimal string, at most the balance.
        :raises KeyError: the account holds no such NFT.
        :raises ValueError: not a decimal string, or more than the balance.
        """
        with self.lock:
            row = self._held(account_id, nft_data)
            if not amount.isdigit() or int(amount) > int(row["total"]):
                raise ValueError(f"locked must be a decimal string <= {row['total']}")
            row["locked"] = amount

    def set_pending(
        self,
        account_id: int,
        nft_data: str,
        withdraw: str | None = None,
        deposit: str | None = None,
    ) -> None:
        """Set an account's NFT's pending withdrawal and/or deposit (decimal strings).

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``, in any case.
        :param withdraw: the pending withdrawal; None leaves it.
        :param deposit: the pending deposit; None leaves it.
        :raises KeyError: the account holds no such NFT.
        :raises ValueError: an amount is not a decimal string.
        """
        with self.lock:
            row = self._held(account_id, nft_data)
            for name, value in (("withdraw", withdraw), ("deposit", deposit)):
                if value is not None:
                    if not (isinstance(value, str) and value.isdigit()):
                        raise ValueError(f"{name} must be a decimal string, got {value!r}")
                    row["pending"][name] = value

    def _held(self, account_id: int, nft_data: str) -> dict[str, Any]:
        row = self.row(account_id, nft_data.lower())
        if row is None:
            raise KeyError(f"account {account_id} holds no {nft_data}")
        return row

    def set_nft_status(self, nft_data: str, status: str) -> None:
        """Set `deploymentStatus` of every balance of this NFT, in every account.

        :param nft_data: the NFT's ``nftData``, in any case.
        :param status: the status; any string.
        :raises KeyError: no such NFT.
        """
        with self.indexed_lock():
            nft = self.nft(nft_data)
            if nft is None:
                raise KeyError(f"no NFT with nftData {nft_data}")
            key = nft["nftData"]
            self._nft_status[key] = (nft["collectionInfo"]["id"], status)
            for balance in self._by_nft.get(key, ()):  # rows made later read the override
                balance["deploymentStatus"] = status

    def set_collection_status(self, collection_id: int, status: str) -> None:
        """Set the collection's `deployStatus` and the `deploymentStatus` of its NFTs.

        :param collection_id: the collection's id.
        :param status: the status; any string.
        :raises KeyError: there is no such collection.
        """
        with self.lock:
            collection = self.collection(collection_id)
            if collection is None:
                raise KeyError(f"no collection with id {collection_id}")
            collection["deployStatus"] = status
            # Rows made later copy the collection's status; only made ones need updating.
            for balance in self._by_collection.get(collection_id, ()):
                balance["deploymentStatus"] = status
            for key, (owner, _) in list(self._nft_status.items()):
                if owner == collection_id:
                    del self._nft_status[key]

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
        with self.lock:
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
        with self.lock:
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
        with self.lock:
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
        with self.lock:
            counts = self.collection_counts(account_id, non_zero)
            return copy.deepcopy([{"collection": c, "count": n} for c, n in counts])
