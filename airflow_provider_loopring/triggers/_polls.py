"""What the event triggers share: one poll of an account per interval, and their saved state.

The triggerer runs :func:`poll_account` once per shared-stream key (connection, what is
listed, account, interval) and hands every snapshot to each watcher of that account, so 100
watchers on 10 accounts cost 10 listings per interval. The poll never ends on an error: a
watcher that died would silently stop starting DAGs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from airflow_provider_loopring.exceptions import LoopringApiError, LoopringInvalidParameterError

log = logging.getLogger(__name__)
T = TypeVar("T")

# What a poll lists: every NFT balance, or every collection (also those the account holds none
# of: a collection may be deploying before the account holds any of it). Each watcher filters
# the whole listing for itself, so all watchers of an account can share one poll.
POLL_BALANCES, POLL_COLLECTIONS = "balances", "collections"
# The longest pause between polls while the API keeps failing; also the pause after an error
# that polling again will not cure soon (a wrong key, a deleted account), so a fixed
# connection starts the watcher again without anyone restarting it.
MAX_ERROR_BACKOFF = 300.0
_MAX_DOUBLINGS = 32  # far beyond any timeout; keeps 2**n a float


def doubled(seconds: float, times: int) -> float:
    """``seconds`` doubled ``times`` times (capped where the float would overflow).

    :param seconds: the pause to start from.
    :param times: how many doublings; 0 or less gives ``seconds``.
    """
    return seconds * 2 ** min(max(times, 0), _MAX_DOUBLINGS)


def error_pause(interval: float, errors: int) -> float:
    """Seconds to the next check after ``errors`` transient errors in a row: the interval
    doubled per error, at most ``max(interval, MAX_ERROR_BACKOFF)``.

    :param interval: the seconds between checks when all is well.
    :param errors: transient errors in a row; 0 gives the interval itself.
    """
    if not errors:
        return interval
    return min(doubled(interval, errors), max(interval, MAX_ERROR_BACKOFF))


def check_block_stream(value: object) -> bool:
    """A watcher's ``block_stream``: True or False, and True only where Airflow's triggerer
    shares one poll between watchers (3.3+); alone, each would read every block itself.

    :param value: the argument given.
    :raises LoopringInvalidParameterError: anything else.
    """
    if not isinstance(value, bool):
        raise LoopringInvalidParameterError("block_stream", "True or False", value)
    if value:
        from airflow_provider_loopring.version_compat import HAS_SHARED_STREAMS

        if not HAS_SHARED_STREAMS:
            raise LoopringInvalidParameterError(
                "block_stream", "False before Airflow 3.3 (it needs shared streams)", value
            )
    return value


def stream_key(kind: str, conn_id: str, account_id: int, interval: float) -> tuple[Any, ...]:
    """Watchers whose keys are equal share one poll (Airflow's ``shared_stream_key``).

    :param kind: what is listed: ``balances`` or ``collections``.
    :param conn_id: the Loopring connection.
    :param account_id: the account polled.
    :param interval: seconds between polls.
    """
    return ("loopring", conn_id, kind, account_id, float(interval))


async def poll_account(
    kind: str, conn_id: str, account_id: int, interval: float
) -> AsyncIterator[tuple[Any, ...]]:
    """Yield the account's records every ``interval`` seconds, forever.

    Transient errors (429, 5xx, network) wait longer each time; any other error is logged and
    tried again after the longest pause. Either way no snapshot is yielded for that poll, so
    watchers compare only complete listings.

    :param kind: what to list: ``balances`` (every NFT balance) or ``collections`` (every
        collection, also those the account holds none of).
    :param conn_id: the Loopring connection.
    :param account_id: the account to poll.
    :param interval: seconds between polls.
    :return: an endless iterator of the account's records, one tuple per successful poll.
    """
    from airflow_provider_loopring._core.selections import CollectionSelection, NftSelection
    from airflow_provider_loopring.hooks.loopring import LoopringHook
    from airflow_provider_loopring.hooks.selections import afetch

    hook = LoopringHook(loopring_conn_id=conn_id)
    selects = {POLL_BALANCES: NftSelection, POLL_COLLECTIONS: CollectionSelection}[kind]
    everything = selects(account_id=account_id)  # the account's every balance or collection

    async def listing() -> tuple[Any, ...]:
        return tuple(await afetch(hook, everything))

    try:
        async for records in every(
            interval, f"Polling the {kind} of account {account_id}", listing
        ):
            yield records
    finally:
        await hook.aclose()


async def every(interval: float, where: str, step: Callable[[], Awaitable[T]]) -> AsyncIterator[T]:
    """``step()``'s result every ``interval`` seconds, forever; a failed step yields nothing.

    Transient errors (429, 5xx, network) wait longer each time; any other error is logged and
    tried again after the longest pause (:func:`after_error`).

    :param interval: seconds between steps.
    :param where: what is polled, for the log.
    :param step: one poll.
    """
    errors = 0
    while True:
        try:
            value = await step()
        except Exception as error:
            errors += 1
            pause = after_error(error, where, interval, errors)
        else:
            errors = 0
            pause = interval
            yield value
        await asyncio.sleep(pause)


def after_error(error: Exception, where: str, interval: float, errors: int) -> float:
    """Log a failed poll and return the pause before the next (see :func:`poll_account`).

    :param error: what the poll raised.
    :param where: what was polled, for the log (``Polling the balances of account 7``).
    :param interval: the seconds between polls when all is well.
    :param errors: errors in a row, this one included.
    """
    if isinstance(error, LoopringApiError) and error.retryable:
        pause = error_pause(interval, errors)
        log.warning("%s failed (%d in a row): %s Next try in %.0f s.", where, errors, error, pause)
        return pause
    pause = max(interval, MAX_ERROR_BACKOFF)
    if isinstance(error, LoopringApiError):
        log.error("%s failed: %s Next try in %.0f s.", where, error, pause)
    else:  # a wrong connection or a bug: keep the traceback
        log.exception("%s failed unexpectedly. Next try in %.0f s.", where, pause)
    return pause


class WatcherState:
    """The last state a watcher saw, kept in Airflow's asset state store (3.3+).

    Falls back to memory, saying so once, where there is no store: Airflow before 3.3, a
    trigger run outside the triggerer, or one trigger watching several assets (the store is
    per asset). A failed read is retried on the next poll rather than taken for "nothing
    seen", which would lose the transitions that happened while the triggerer was down.

    :param trigger: the event trigger (its ``asset_state_store`` and ``log``).
    :param key: the trigger's key in the asset's store.
    """

    def __init__(self, trigger: Any, key: str) -> None:
        self._trigger = trigger
        self.key = key
        self._loaded = False
        self._value: Any = None
        self._in_memory = False

    async def load(self) -> tuple[bool, Any]:
        """(whether the state is known, the state: None when nothing was ever saved)."""
        if self._loaded:
            return True, self._value
        store = getattr(self._trigger, "asset_state_store", None)
        try:
            if store is None:
                raise ValueError("no asset state store")
            self._value = await store.aget(self.key, default=None)
        except ValueError as error:
            self._memory_only(error)
        except Exception as error:
            self._trigger.log.warning("Could not read the watcher's state (%s); next poll.", error)
            return False, None
        self._loaded = True
        return True, self._value

    async def save(self, value: Any) -> None:
        """Keep ``value``; a failed write is logged and leaves it in memory."""
        self._value = value
        if self._in_memory:
            return
        try:
            await self._trigger.asset_state_store.aset(self.key, value)
        except Exception as error:
            self._trigger.log.warning(
                "Could not save the watcher's state (%s): a triggerer restart before the next "
                "save may fire these changes again.",
                error,
            )

    def _memory_only(self, error: Exception) -> None:
        self._in_memory = True
        self._trigger.log.warning(
            "The watcher keeps what it saw in memory only (%s): a triggerer restart starts it "
            "afresh, so changes while it is down are not reported.",
            error,
        )
