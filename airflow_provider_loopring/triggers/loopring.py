"""LoopringDeploymentTrigger: waits in the triggerer for the deployment sensors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_loopring._core.selections import (
    Selection,
    check_status_sets,
    selection_from_dict,
)
from airflow_provider_loopring._core.settings import DEFAULT_CONN_ID
from airflow_provider_loopring._core.verdicts import (
    DONE,
    FAILED,
    Verdict,
    event,
    judge,
    log_verdict,
)
from airflow_provider_loopring.exceptions import LoopringApiError
from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.hooks.selections import afetch
from airflow_provider_loopring.triggers._polls import doubled, error_pause

# A check still in flight at the deadline may finish within this (the hook's own retries can
# take minutes); the sensor's deferral timeout leaves room for it.
LAST_CHECK_GRACE = 30.0


class LoopringDeploymentTrigger(BaseTrigger):
    """Poll Loopring until the selected NFTs or collection reach a target or failure status.

    Serves both deployment sensors. Every check goes through the hook's async methods; the
    decision is ``verdicts.judge``, the very one the sensors' ``poke`` uses. Transient API
    errors (429, 5xx, network) are logged and polling goes on with backoff until the deadline;
    a permanent one ends the wait with an "error" event. ``run()`` only reads, so running it
    again after a triggerer restart is harmless.

    :param selection: ``NftSelection.to_dict()`` or ``CollectionSelection.to_dict()``.
    :param target_statuses: statuses that end the wait.
    :param failure_statuses: statuses that fail it.
    :param deadline: when the wait times out, in seconds since the epoch (absolute, so a
        restarted trigger keeps the sensor's ``timeout``).
    :param poke_interval: seconds between checks.
    :param loopring_conn_id: the Loopring connection.
    :param last_seen: statuses the sensor saw last (key -> status), so transitions are logged
        relative to them.
    :param silent_fail: keep polling after permanent API errors too, as the base sensor's
        ``silent_fail`` does in poke mode.
    :param exponential_backoff: double the wait after each check, as the base sensor's
        ``exponential_backoff`` does (without its jitter).
    :param max_wait: the longest wait between checks, in seconds.
    """

    def __init__(
        self,
        *,
        selection: dict[str, Any],
        target_statuses: list[str],
        failure_statuses: list[str],
        deadline: float,
        poke_interval: float,
        loopring_conn_id: str = DEFAULT_CONN_ID,
        last_seen: dict[str, str | None] | None = None,
        silent_fail: bool = False,
        exponential_backoff: bool = False,
        max_wait: float | None = None,
    ) -> None:
        super().__init__()
        self.selection: Selection = selection_from_dict(selection)
        targets, failures = check_status_sets(target_statuses, failure_statuses)
        self.target_statuses = list(targets)
        self.failure_statuses = list(failures)
        self.deadline = float(deadline)
        self.poke_interval = float(poke_interval)
        self.loopring_conn_id = loopring_conn_id
        self.last_seen = dict(last_seen or {})
        self.silent_fail = silent_fail
        self.exponential_backoff = exponential_backoff
        self.max_wait = None if max_wait is None else float(max_wait)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "selection": self.selection.to_dict(),
                "target_statuses": self.target_statuses,
                "failure_statuses": self.failure_statuses,
                "deadline": self.deadline,
                "poke_interval": self.poke_interval,
                "loopring_conn_id": self.loopring_conn_id,
                "last_seen": self.last_seen,
                "silent_fail": self.silent_fail,
                "exponential_backoff": self.exponential_backoff,
                "max_wait": self.max_wait,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = LoopringHook(loopring_conn_id=self.loopring_conn_id)
        try:
            yield TriggerEvent(await self._wait(hook))
        finally:
            await hook.aclose()

    async def _wait(self, hook: LoopringHook) -> dict[str, Any]:
        """Check until the wait ends; returns the event's payload."""
        seen = dict(self.last_seen)  # run() may run again: never change the kwargs
        transitions: list[str] = []
        last = "no check has succeeded yet"
        checks = 1  # the sensor's own check, before it deferred
        errors = 0
        # That check was just made: the next comes one interval later, as in poke mode. This
        # also keeps a trigger from firing before the scheduler has taken the worker's exit
        # into deferral, which Airflow 3.3 can mistake for a failure (apache/airflow#72716).
        await asyncio.sleep(max(min(self._pause(checks, errors), self.deadline - time.time()), 0))
        while True:
            checks += 1
            try:
                verdict = await self._check(hook, seen)
            except asyncio.TimeoutError:
                last = "the last check did not finish in time"
                return event("timeout", self._timeout_message(last), transitions=transitions)
            except Exception as error:
                if not (_is_transient(error) or self.silent_fail):
                    return self._error(error, transitions)
                errors += 1
                last = f"the last check failed: {error}"
                self.log.warning("%s Still waiting (error %d in a row).", error, errors)
            else:
                errors = 0
                transitions += verdict.transitions
                seen = verdict.statuses
                if verdict.state == DONE:
                    return event("success", verdict.message, verdict.records, transitions)
                if verdict.state == FAILED:
                    return event("failure", verdict.message, verdict.records, transitions)
                last = verdict.message
            remaining = self.deadline - time.time()
            if remaining <= 0:
                return event("timeout", self._timeout_message(last), transitions=transitions)
            await asyncio.sleep(min(self._pause(checks, errors), remaining))

    def _error(self, error: Exception, transitions: list[str]) -> dict[str, Any]:
        """The event for an error polling again would not cure: the task fails and says why."""
        if isinstance(error, LoopringApiError):  # not retryable: polling again did not help
            return event("error", str(error), transitions=transitions, final=True)
        # A wrong connection or a bug: keep the traceback in the trigger's log.
        self.log.exception("The deployment trigger stopped on an unexpected error.")
        return event("error", f"{type(error).__name__}: {error}", transitions=transitions)

    async def _check(self, hook: LoopringHook, seen: dict[str, str | None]) -> Verdict:
        """One fetch and verdict; a fetch still running just after the deadline is cut short."""
        budget = max(self.deadline - time.time(), 0.0) + LAST_CHECK_GRACE
        fetched = await asyncio.wait_for(afetch(hook, self.selection), timeout=budget)
        verdict = judge(self.selection, fetched, self.target_statuses, self.failure_statuses, seen)
        log_verdict(self.log, verdict)
        return verdict

    def _pause(self, checks: int, errors: int) -> float:
        """Seconds to the next check: the poke interval (growing with exponential_backoff),
        doubled per transient error in a row since the API needs a rest, at most max_wait."""
        wait = self.poke_interval
        if self.exponential_backoff:
            wait = doubled(wait, checks - 1)
        wait = error_pause(wait, errors)
        return wait if self.max_wait is None else min(wait, self.max_wait)

    def _timeout_message(self, last: str) -> str:
        return f"Sensor has timed out waiting for {self.selection.describe()}: {last}"


def _is_transient(error: Exception) -> bool:
    return isinstance(error, LoopringApiError) and error.retryable
