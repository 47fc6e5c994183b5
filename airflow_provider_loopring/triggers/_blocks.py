"""Block mode of the holdings watcher: one poll of the chain for every watcher of a connection.

Every holdings watcher with ``block_stream=True`` on a connection and interval has the same
shared-stream key, so the triggerer runs one :func:`poll_blocks` for all of them. Each interval
it reads the finalized head and the blocks since the last one it read (one request each; the
head block comes with the head), names the accounts they touch
(:func:`~airflow_provider_loopring.models.touched_accounts`: ids, and addresses with no id,
resolved to an id once each), and lists the balances of the watched accounts among them, and of
those whose watchers asked for a listing. Every watcher hears every :class:`Tick` and decides
for itself (:func:`follow`): its account listed, compare; named but not listed, or a gap it
cannot account for, ask for a listing next interval; neither, nothing moved.

The poll learns which accounts are watched from :func:`watched`, a registry in this process:
a watcher enters its account when its filter starts and leaves when it ends. A gap in block
ids, or a head behind what was read (:class:`LoopringBlockError`), is never skipped: that
interval lists every watched account, as polling mode would, and reading goes on from the head.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_loopring.exceptions import LoopringBlockError, LoopringNotFoundError
from airflow_provider_loopring.triggers._polls import WatcherState, every

log = logging.getLogger(__name__)

# How many ticks' names are kept: a watcher that joins (or rejoins) with a saved block inside
# this window knows what it missed without a listing. Each tick keeps the ids its blocks name.
HISTORY = 100
LISTINGS_AT_ONCE = 8  # listings in flight; the connection's budget paces them anyway


@dataclass(frozen=True)
class Tick:
    """What one interval of the block poll found.

    :param after: the last block read before this interval.
    :param through: the last block read now: the finalized head.
    :param records: the holdings listed this interval (``nftData -> Holding``, compact: a
        first interval may list every watched account), by account id.
    """

    after: int
    through: int
    records: Mapping[int, Mapping[str, Any]]


@dataclass
class Watched:
    """The accounts watched on one shared-stream key in this process, the listings their
    watchers asked for, and the accounts the last :data:`HISTORY` ticks named."""

    watchers: Counter[int] = field(default_factory=Counter)
    wanted: set[int] = field(default_factory=set)
    _named: deque[tuple[int, int, frozenset[int]]] = field(
        default_factory=lambda: deque(maxlen=HISTORY)
    )

    def enter(self, account_id: int) -> None:
        """A watcher of ``account_id`` starts.

        :param account_id: its account.
        """
        self.watchers[account_id] += 1

    def leave(self, account_id: int) -> None:
        """A watcher of ``account_id`` ends.

        :param account_id: its account.
        """
        self.watchers[account_id] -= 1
        if self.watchers[account_id] <= 0:
            del self.watchers[account_id]
            self.wanted.discard(account_id)
        if not self.watchers:  # the group stops: its history is of a poll that ends
            self._named.clear()

    def newest(self) -> int | None:
        """The last block the history reaches, or None when it is empty."""
        return self._named[-1][1] if self._named else None

    def record(self, after: int, through: int, named: frozenset[int] | None) -> None:
        """Keep which accounts blocks ``after + 1 .. through`` named; None: not known (the
        history starts again at ``through``).

        :param after: the last block read before.
        :param through: the last block read now.
        :param named: the account ids the blocks named.
        """
        if named is None or (self._named and self._named[-1][1] != after):
            self._named.clear()
            self._named.append((through, through, frozenset()))
        else:
            self._named.append((after, through, named))

    def named_between(self, since: int, until: int) -> frozenset[int] | None:
        """The accounts blocks ``since + 1 .. until`` named, or None when the history does not
        reach back to ``since``. A block inside a tick counts the whole tick (more, never less).

        :param since: the last block already accounted for.
        :param until: the last block to account for.
        """
        if since == until:
            return frozenset()
        if not self._named or self._named[0][0] > since or self._named[-1][1] < until:
            return None
        found: set[int] = set()
        for after, through, named in reversed(self._named):
            if through <= since:
                break
            if after < until:
                found |= named
        return frozenset(found)


_WATCHED: dict[Hashable, Watched] = {}


def watched(key: Hashable) -> Watched:
    """The registry of one shared-stream key in this process (made on first use).

    :param key: the watchers' ``shared_stream_key()``.
    """
    return _WATCHED.setdefault(key, Watched())


class _Chain:
    """Where the poll is in the chain, and the names read since the last tick."""

    def __init__(self) -> None:
        self.after: int | None = None  # the last block of the last tick
        self.cursor: int | None = None  # the last block read
        self.ids: set[int] = set()
        self.addresses: set[str] = set()

    async def read(self, hook: Any) -> None:
        """The head, then every block after the cursor up to it, in order (none skipped)."""
        if self.cursor is None:
            head = await hook.aget_block()
            self.after = self.cursor = head.block_id
            return
        async for block in hook.aiter_blocks(self.cursor + 1):
            for tx in block.transactions:
                ids, addresses = tx.accounts()
                self.ids |= ids
                self.addresses |= addresses
            self.cursor = block.block_id  # read, and its names kept, even if a later one fails

    async def restart(self, hook: Any) -> None:
        """Start again at the head (after a gap): nothing before it will be read."""
        head = await hook.aget_block()
        self.cursor = head.block_id
        self.ids.clear()
        self.addresses.clear()

    async def named(self, hook: Any) -> frozenset[int]:
        """The ids read since the last tick, each address with no id resolved once."""
        for address in sorted(self.addresses):
            try:
                account = await hook.aget_account(address=address)  # cached by the hook
            except LoopringNotFoundError:  # no layer-2 account: nothing anyone watches
                pass
            else:
                self.ids.add(account.account_id)
            self.addresses.discard(address)
        return frozenset(self.ids)

    def done(self) -> None:
        self.after = self.cursor
        self.ids.clear()


async def poll_blocks(key: Hashable, conn_id: str, interval: float) -> AsyncIterator[Tick]:
    """Yield a :class:`Tick` every ``interval`` seconds, forever, for every block watcher of
    ``key``. The first tick reads only the head; a failed interval keeps what it read and goes
    on from there the next; any error is logged and waited out as in polling mode.

    :param key: the watchers' shared-stream key (their registry).
    :param conn_id: the Loopring connection.
    :param interval: seconds between ticks.
    :return: an endless iterator of ticks.
    """
    from airflow_provider_loopring.hooks.loopring import LoopringHook

    hook = LoopringHook(loopring_conn_id=conn_id)
    registry, chain = watched(key), _Chain()
    registry.record(0, 0, None)  # a new poll: what an earlier one read is not continued
    try:
        async for tick in every(
            interval, f"Following the blocks of {conn_id}", lambda: _tick(hook, registry, chain)
        ):
            yield tick
    finally:
        await hook.aclose()


async def _tick(hook: Any, registry: Watched, chain: _Chain) -> Tick:
    everyone = False
    try:
        await chain.read(hook)
    except LoopringBlockError as error:
        log.warning(
            "The blocks after %s cannot be read in order (%s): listing every watched account "
            "this interval, then following the chain from its head.",
            chain.cursor,
            error,
        )
        await chain.restart(hook)
        everyone = True
    assert chain.after is not None and chain.cursor is not None
    named = await chain.named(hook)
    after, through = chain.after, chain.cursor
    registry.record(after, through, None if everyone else named)
    accounts = set(registry.watchers)
    if not everyone:
        accounts &= named | registry.wanted
    records = await _list(hook, sorted(accounts))
    registry.wanted -= records.keys()
    chain.done()
    return Tick(after, through, records)


async def _list(hook: Any, accounts: list[int]) -> dict[int, Mapping[str, Any]]:
    """Each account's holdings; one that fails is left out (its watchers ask again)."""
    from airflow_provider_loopring._core.holdings import holdings
    from airflow_provider_loopring._core.selections import NftSelection
    from airflow_provider_loopring.hooks.selections import afetch

    found: dict[int, Mapping[str, Any]] = {}
    gate = asyncio.Semaphore(LISTINGS_AT_ONCE)

    async def one(account_id: int) -> None:
        async with gate:
            try:
                listed = await afetch(hook, NftSelection(account_id=account_id))
                found[account_id] = holdings(record.to_dict(copy=False) for record in listed)
            except Exception as error:
                log.warning(
                    "Listing the balances of account %d failed (%s); next interval.",
                    account_id,
                    error,
                )

    await asyncio.gather(*(one(account_id) for account_id in accounts))
    return found


def split_state(value: Any) -> tuple[Any, Any]:
    """(the holdings, the block they were listed at) of a holdings watcher's saved state.

    Block mode saves ``{"block": n, "holdings": {...}}``, polling mode the holdings alone;
    each mode reads both, so switching modes keeps what was seen.

    :param value: the state as read from the store (untrusted).
    """
    if isinstance(value, dict) and value.keys() == {"block", "holdings"}:
        return value["holdings"], value["block"]
    return value, None


async def follow(trigger: Any, ticks: AsyncIterator[Tick]) -> AsyncIterator[dict[str, Any]]:
    """One block watcher's payloads from the shared ticks (module docstring).

    :param trigger: the holdings watcher (its account, ``_compare_holdings``, state key, log).
    :param ticks: what :func:`poll_blocks` yields.
    :return: the payloads of its events, in order.
    """
    account, registry = trigger.account_id, watched(trigger.shared_stream_key())
    state = WatcherState(trigger, trigger._state_key())
    registry.enter(account)
    try:
        through = await _start(trigger, state, registry)  # its holdings are known at this block
        async for tick in ticks:
            known, before = await state.load()
            if not known:
                continue
            records = tick.records.get(account)
            if records is None:
                if before is None or not _quiet(registry, account, through, tick):
                    registry.wanted.add(account)  # the poll lists it next interval
                else:
                    through = tick.through
                continue
            payloads, after = trigger._compare_holdings(records, before)
            for payload in payloads:
                yield payload
            through = tick.through
            if {"block": through, "holdings": after} != before:
                await state.save({"block": through, "holdings": after})
    finally:
        registry.leave(account)


async def _start(trigger: Any, state: WatcherState, registry: Watched) -> int | None:
    """The block a starting watcher's saved holdings are known at, if the poll's history
    shows nothing named the account since; else None, and a listing asked for."""
    known, before = await state.load()
    saved, newest = split_state(before)[1] if known else None, registry.newest()
    if saved is not None and (isinstance(saved, bool) or not isinstance(saved, int) or saved < 0):
        trigger.log.warning("Ignoring the saved block %r: not a block id.", saved)
    elif saved is not None and newest is not None and saved > newest:
        trigger.log.warning(
            "Ignoring the saved block %d: past the chain's head %d read here.", saved, newest
        )
    elif saved is not None and newest is not None:
        named = registry.named_between(saved, newest)
        if named is not None and trigger.account_id not in named:
            return newest
    registry.wanted.add(trigger.account_id)
    return None


def _quiet(registry: Watched, account: int, through: int | None, tick: Tick) -> bool:
    """Whether no block since ``through`` named the account (False when that is not known)."""
    if through is None:
        return False
    named = registry.named_between(through, tick.through)
    return named is not None and account not in named
