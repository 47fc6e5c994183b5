"""Event triggers for Asset watchers: start a DAG when a collection deploys or holdings change.

DAG files build these at parse time (an ``AssetWatcher`` holds a trigger instance), so only
Airflow's trigger base and the pure core are imported here; the hook comes with the first poll.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Hashable
from typing import Any, ClassVar

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_loopring._core.settings import DEFAULT_CONN_ID
from airflow_provider_loopring._core.validation import check_account_id, finite
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.triggers._polls import (
    POLL_BALANCES,
    POLL_COLLECTIONS,
    WatcherState,
    check_block_stream,
    poll_account,
    stream_key,
)


def _check_interval(value: object) -> float:
    if not finite(value, 0) or value == 0:
        raise LoopringInvalidParameterError("poke_interval", "a number of seconds > 0", value)
    return float(value)  # type: ignore[arg-type]


class _LoopringAccountWatcher(BaseEventTrigger):
    """One account's listing, polled once per interval for every watcher of it.

    The triggerer (Airflow 3.3+) groups watchers by :meth:`shared_stream_key`, runs
    :meth:`open_shared_stream` once per group and feeds each watcher's
    :meth:`filter_shared_stream`; :meth:`run` is the same for one watcher alone. A watcher
    compares each listing with the state it saved last and fires what changed; the very first
    listing, with nothing saved, only sets that state.
    """

    _state_prefix: ClassVar[str]

    def __init__(self, *, account_id: int, poke_interval: float, loopring_conn_id: str) -> None:
        super().__init__()
        self.account_id = check_account_id(account_id)
        self.poke_interval = _check_interval(poke_interval)
        self.loopring_conn_id = loopring_conn_id

    @staticmethod
    def _listing(kwargs: dict[str, Any]) -> str:
        """What the poll lists (POLL_BALANCES or POLL_COLLECTIONS), from serialized kwargs."""
        raise NotImplementedError

    def _identity(self) -> dict[str, Any]:
        """What is watched: the state is kept under it (never the interval or the targets)."""
        return {"conn": self.loopring_conn_id, "account_id": self.account_id}

    def _compare(self, records: tuple[Any, ...], before: Any) -> tuple[list[dict[str, Any]], Any]:
        """(the events' payloads, the state to keep) for one listing; ``before`` None: none."""
        raise NotImplementedError

    def shared_stream_key(self) -> Hashable | None:
        kwargs = self.serialize()[1]
        return stream_key(
            self._listing(kwargs), self.loopring_conn_id, self.account_id, self.poke_interval
        )

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        """Poll the account for a whole group of watchers: its records, every interval.

        :param kwargs: the serialized kwargs of one watcher of the group.
        :return: an endless iterator of the account's records, one tuple per successful poll.
        """
        # Only what the key holds is read: the kwargs are those of one watcher of the group.
        listing = cls._listing(kwargs)
        async for records in poll_account(
            listing, kwargs["loopring_conn_id"], kwargs["account_id"], kwargs["poke_interval"]
        ):
            yield records

    async def filter_shared_stream(
        self, shared_stream: AsyncIterator[Any]
    ) -> AsyncIterator[TriggerEvent]:
        """Fire what changed for this watcher in each listing of the group's poll.

        :param shared_stream: the listings :meth:`open_shared_stream` yields.
        :return: this watcher's events; a listing whose saved state could not be read is
            skipped.
        """
        state = WatcherState(self, self._state_key())
        async for records in shared_stream:
            known, before = await state.load()
            if not known:
                continue
            payloads, after = self._compare(records, before)
            for payload in payloads:
                yield TriggerEvent(payload)
            # After the yields: the triggerer has queued the events (see the README on restarts).
            if after != before:
                await state.save(after)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """One watcher alone (Airflow before 3.3, or no shared streams): the same, unshared."""
        shared = type(self).open_shared_stream(self.serialize()[1])
        async for event in self.filter_shared_stream(shared):
            yield event

    def _state_key(self) -> str:
        identity = json.dumps(self._identity(), sort_keys=True, separators=(",", ":"))
        return f"{self._state_prefix}:{hashlib.sha256(identity.encode()).hexdigest()[:32]}"


class LoopringDeploymentEventTrigger(_LoopringAccountWatcher):
    """Fire one event each time a watched collection or NFT moves into a target status.

    Watches one collection (``collection_id``, or ``token_address``: its contract), some NFTs
    (``nft_datas``) or, with none of them, every collection of the account. A status that stays
    the same never fires again; an item first seen already in a target status fires once
    (``"from": null``), except on the watcher's very first poll, which only records where
    everything is. The statuses are saved in the asset's state store, so a restarted triggerer
    fires what moved while it was down, and nothing twice. Judged by the deployment sensors'
    own code (``_core.verdicts``).

    Payload: ``{"event": "deployment", "account_id", "kind": "collection"|"nft", "key",
    "transition": {"from", "to"}, "record", "message"}``; ``record`` is the collection (or
    ``{"nftData", "tokenAddress", "deploymentStatus"}``) with Loopring's field names.

    :param account_id: the account whose collections or NFTs are watched.
    :param collection_id: watch this collection only.
    :param token_address: watch the collection of this contract only.
    :param nft_datas: watch these NFTs (held by the account) instead of collections.
    :param target_statuses: the statuses whose arrival fires; default ``("DEPLOYED",)``, add
        ``"DEPLOY_FAILED"`` to hear of failures too.
    :param poke_interval: seconds between polls (one request per 50 records of the account).
    :param loopring_conn_id: the Loopring connection.
    """

    _state_prefix = "loopring.deployment"

    def __init__(
        self,
        *,
        account_id: int,
        collection_id: int | None = None,
        token_address: str | None = None,
        nft_datas: list[str] | str | None = None,
        target_statuses: Any = ("DEPLOYED",),
        poke_interval: float = 60.0,
        loopring_conn_id: str = DEFAULT_CONN_ID,
    ) -> None:
        super().__init__(
            account_id=account_id, poke_interval=poke_interval, loopring_conn_id=loopring_conn_id
        )
        from airflow_provider_loopring._core.selections import check_status_sets

        self.selection = _selection(self.account_id, collection_id, token_address, nft_datas)
        self.target_statuses = list(check_status_sets(target_statuses, ())[0])

    def serialize(self) -> tuple[str, dict[str, Any]]:
        selection = self.selection.to_dict()
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "account_id": self.account_id,
                "collection_id": selection.get("collection_id"),
                "token_address": selection.get("contract_address"),
                "nft_datas": selection.get("nft_datas"),
                "target_statuses": self.target_statuses,
                "poke_interval": self.poke_interval,
                "loopring_conn_id": self.loopring_conn_id,
            },
        )

    @staticmethod
    def _listing(kwargs: dict[str, Any]) -> str:
        return POLL_BALANCES if kwargs.get("nft_datas") else POLL_COLLECTIONS

    def _identity(self) -> dict[str, Any]:
        return {**super()._identity(), "selection": self.selection.to_dict()}

    def _compare(self, records: tuple[Any, ...], before: Any) -> tuple[list[dict[str, Any]], Any]:
        from airflow_provider_loopring._core.verdicts import entered, judge

        seen = _saved_statuses(before)
        if seen is None:  # not what this watcher saves: start again from this poll
            self.log.warning(
                "Ignoring the saved state of %s (not a watcher's statuses); this poll is a "
                "first look.",
                self.selection.describe(),
            )
        verdict = judge(self.selection, records, self.target_statuses, (), seen or {})
        for line in verdict.warnings:
            self.log.warning("%s", line)
        # Items no longer listed keep their last status: an NFT sent away and back, still
        # deployed, is no deployment.
        after = {"statuses": {**(seen or {}), **verdict.statuses}}
        if before is None or seen is None:
            self.log.info("Watching %s: first look. %s", self.selection.describe(), verdict.message)
            return [], after
        for line in verdict.transitions:
            self.log.info("%s", line)
        moves = entered(verdict, self.target_statuses, seen)
        return [self._payload(move) for move in moves], after

    def _payload(self, move: Any) -> dict[str, Any]:
        return {
            "event": "deployment",
            "account_id": self.account_id,
            "kind": self.selection.kind,
            "key": move.key,
            "transition": {"from": move.before, "to": move.after},
            "record": move.record,
            "message": move.line(),
        }


def _saved_statuses(before: Any) -> dict[str, str | None] | None:
    """The statuses a deployment watcher saved: ``{"statuses": {key: status or null}}``;
    empty when nothing was saved, None when what was saved is not of that shape."""
    if before is None:
        return {}
    statuses = before.get("statuses") if isinstance(before, dict) else None
    if not isinstance(statuses, dict) or not all(
        isinstance(key, str) and (status is None or isinstance(status, str))
        for key, status in statuses.items()
    ):
        return None
    return dict(statuses)


def _selection(
    account_id: int, collection_id: object, token_address: object, nft_datas: object
) -> Any:
    from airflow_provider_loopring._core.selections import CollectionSelection, NftSelection

    if nft_datas is not None:
        if collection_id is not None or token_address is not None:
            raise LoopringInvalidParameterError(
                "nft_datas/collection_id/token_address",
                "NFTs (nft_datas) or a collection (collection_id or token_address), not both",
                (nft_datas, collection_id, token_address),
            )
        return NftSelection.build(account_id=account_id, nft_datas=nft_datas)
    return CollectionSelection.build(
        account_id=account_id,
        collection_id=collection_id,
        contract_address=token_address,
        every=True,
    )


class LoopringHoldingsEventTrigger(_LoopringAccountWatcher):
    """Fire when an account's NFT holdings change: added, removed, amount or status changed.

    One event per poll that saw changes, compared by ``_core.holdings`` (the snapshot changes'
    own comparison). The first poll only records the holdings. The holdings are saved in the
    asset's state store (about 90 bytes per NFT held), so a restarted triggerer reports what
    changed while it was down, and nothing twice.

    Payload: ``{"event": "holdings", "account_id", "changes": [...], "counts": {"added",
    "removed", "amount", "status"}, "total_changes", "truncated"}``; each change is
    ``{"nftData", "change", "totalBefore", "totalAfter", "deploymentStatusBefore",
    "deploymentStatusAfter"}``. Beyond ``max_changes`` the list is cut (``truncated``: true);
    the counts stay whole.

    With ``block_stream=True`` every watcher of the connection and interval shares one read of
    the chain's new blocks, and an account is listed only when a block names it: the same
    events for what transactions change (``triggers._blocks``; docs/events.md).

    :param account_id: the account whose holdings are watched.
    :param poke_interval: seconds between polls (one request per 50 NFTs held; in block mode
        one for the head, one per new block, and the listings of the accounts they name).
    :param max_changes: the most changes one event lists.
    :param block_stream: follow the chain's blocks instead of listing the account each
        interval (default False: polling); Airflow 3.3+, whose triggerer shares one poll.
    :param loopring_conn_id: the Loopring connection.
    """

    _state_prefix = "loopring.holdings"

    def __init__(
        self,
        *,
        account_id: int,
        poke_interval: float = 300.0,
        max_changes: int = 1000,
        block_stream: bool = False,
        loopring_conn_id: str = DEFAULT_CONN_ID,
    ) -> None:
        super().__init__(
            account_id=account_id, poke_interval=poke_interval, loopring_conn_id=loopring_conn_id
        )
        if isinstance(max_changes, bool) or not isinstance(max_changes, int) or max_changes < 0:
            raise LoopringInvalidParameterError("max_changes", "an integer >= 0", max_changes)
        self.max_changes = max_changes
        self.block_stream = check_block_stream(block_stream)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "account_id": self.account_id,
                "poke_interval": self.poke_interval,
                "max_changes": self.max_changes,
                "block_stream": self.block_stream,
                "loopring_conn_id": self.loopring_conn_id,
            },
        )

    @staticmethod
    def _listing(kwargs: dict[str, Any]) -> str:
        return POLL_BALANCES

    def shared_stream_key(self) -> Hashable | None:
        if not self.block_stream:
            return super().shared_stream_key()
        return ("loopring", self.loopring_conn_id, "blocks", self.poke_interval)

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        """Poll the account, or in block mode the chain for every block watcher of the key.

        :param kwargs: the serialized kwargs of one watcher of the group.
        """
        if not kwargs.get("block_stream"):
            async for records in super().open_shared_stream(kwargs):
                yield records
            return
        from airflow_provider_loopring.triggers._blocks import poll_blocks

        key = cls(**kwargs).shared_stream_key()
        async for tick in poll_blocks(key, kwargs["loopring_conn_id"], kwargs["poke_interval"]):
            yield tick

    async def filter_shared_stream(
        self, shared_stream: AsyncIterator[Any]
    ) -> AsyncIterator[TriggerEvent]:
        """This watcher's events from the group's listings, or block ticks.

        :param shared_stream: what :meth:`open_shared_stream` yields.
        """
        if not self.block_stream:
            async for event in super().filter_shared_stream(shared_stream):
                yield event
            return
        from airflow_provider_loopring.triggers._blocks import follow

        async for payload in follow(self, shared_stream):
            yield TriggerEvent(payload)

    def _compare(self, records: tuple[Any, ...], before: Any) -> tuple[list[dict[str, Any]], Any]:
        from airflow_provider_loopring._core.holdings import holdings

        return self._compare_holdings(holdings(r.to_dict(copy=False) for r in records), before)

    def _compare_holdings(self, now: Any, before: Any) -> tuple[list[dict[str, Any]], Any]:
        """(the payloads, the state to keep) for the holdings ``now``; ``before`` as saved."""
        from airflow_provider_loopring._core import holdings
        from airflow_provider_loopring.triggers._blocks import split_state

        after = holdings.to_state(now)
        before = split_state(before)[0]  # also what block mode saved
        if before is None:
            self.log.info(
                "Watching the holdings of account %d: %d NFTs.", self.account_id, len(now)
            )
            return [], after
        try:
            changes = holdings.compare(holdings.from_state(before), now)
        except ValueError as error:  # written by something else: start again from here
            self.log.warning("Ignoring the saved holdings (%s); starting from this poll.", error)
            return [], after
        if not changes:
            return [], after
        self.log.info("Account %d: %d holdings changed.", self.account_id, len(changes))
        return [self._payload(changes)], after

    def _payload(self, changes: list[Any]) -> dict[str, Any]:
        from airflow_provider_loopring._core.holdings import counts

        return {
            "event": "holdings",
            "account_id": self.account_id,
            "changes": [change.to_dict() for change in changes[: self.max_changes]],
            "counts": counts(changes),
            "total_changes": len(changes),
            "truncated": len(changes) > self.max_changes,
        }
