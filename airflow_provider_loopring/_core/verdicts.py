"""Whether a deployment wait is over: shared by the sensors and the trigger.

The sensor's ``poke`` and the trigger's loop both fetch what the selection names and hand the
records to :func:`judge`, then :func:`log_verdict`: the three modes cannot disagree on success,
failure, what is returned or what is logged. No I/O of its own, no Airflow; the trigger's event
schema lives here too, so the side that writes events and the side that reads them share one
definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_loopring._core.selections import (
    CollectionSelection,
    Selection,
    Watched,
    few,
)

DONE, FAILED, WAITING = "done", "failed", "waiting"


# --- the verdict --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check.

    :param state: DONE, FAILED or WAITING.
    :param message: what to tell the user, naming what is awaited or what failed.
    :param records: on DONE what was awaited; on FAILED what is in a failure status.
    :param statuses: key -> status seen now; pass it as ``last_seen`` to the next check.
    :param transitions: changes since ``last_seen``, as log lines ("NFT 0x.. A -> B").
    :param warnings: statuses we do not know, each reported once when first seen.
    :param watched: what the check saw, for :func:`entered`.
    """

    state: str
    message: str
    records: list[dict[str, Any]]
    statuses: dict[str, str | None]
    transitions: list[str]
    warnings: list[str]
    watched: tuple[Watched, ...] = ()


class _Log(Protocol):
    def info(self, msg: Any, /, *args: Any) -> Any: ...
    def warning(self, msg: Any, /, *args: Any) -> Any: ...


def log_verdict(log: _Log, verdict: Verdict) -> None:
    """What every mode logs of a check: the transitions seen, warnings, where the wait is.

    :param log: the task's or the trigger's logger.
    :param verdict: the check to log.
    """
    for line in verdict.transitions:
        log.info("%s", line)
    for line in verdict.warnings:
        log.warning("%s", line)
    log.info("%s", verdict.message)


def judge(
    selection: Selection,
    fetched: Iterable[Any],
    targets: Sequence[str],
    failures: Sequence[str],
    last_seen: Mapping[str, str | None],
) -> Verdict:
    """Decide a check: any failure status fails it; all selected in a target status ends it.

    A status Loopring sends that we do not know never ends the wait either way.

    :param selection: the NFTs or the collection waited on.
    :param fetched: what the hook returned for ``selection.query()``.
    :param targets: the statuses that end the wait, from :func:`check_status_sets`.
    :param failures: the statuses that fail it, from :func:`check_status_sets`.
    :param last_seen: ``statuses`` of the previous verdict (empty on the first check).
    """
    watched = selection.watched(fetched)
    statuses = {item.key: item.status for item in watched}
    transitions = [
        _move(item.label, last_seen[item.key], item.status)
        for item in watched
        if item.key in last_seen and last_seen[item.key] != item.status
    ]
    warnings = [
        f"{item.label} has a deployment status this provider does not know: "
        f"{_shown(item.status)}; it counts as neither done nor failed, still waiting."
        for item in watched
        if not item.known and (item.key not in last_seen or last_seen[item.key] != item.status)
    ]
    state, message, records = _decide(selection, watched, targets, failures)
    return Verdict(state, message, records, statuses, transitions, warnings, tuple(watched))


@dataclass(frozen=True)
class Transition:
    """One item that moved into a target status: what an event trigger fires on.

    :param before: the status last seen; None when the item was not seen before.
    """

    key: str
    label: str
    before: str | None
    after: str | None
    record: dict[str, Any]

    def line(self) -> str:
        """As the verdict's transitions say it ("collection 7 (0x..) DEPLOYING -> DEPLOYED")."""
        return _move(self.label, self.before, self.after)


def entered(
    verdict: Verdict, targets: Sequence[str], last_seen: Mapping[str, str | None]
) -> list[Transition]:
    """Every watched item now in a target status that was not in it at ``last_seen``.

    An item seen for the first time counts when it arrives in a target status (a collection
    made and deployed between two checks); one whose status stays the same never does.
    """
    return [
        Transition(item.key, item.label, last_seen.get(item.key), item.status, item.record)
        for item in verdict.watched
        if item.status in targets
        and (item.key not in last_seen or last_seen[item.key] != item.status)
    ]


def _decide(
    selection: Selection,
    watched: list[Watched],
    targets: Sequence[str],
    failures: Sequence[str],
) -> tuple[str, str, list[dict[str, Any]]]:
    if isinstance(selection, CollectionSelection) and selection.selects_one and len(watched) > 1:
        ids = ", ".join(item.key for item in watched)
        message = (
            f"{selection.describe()} is ambiguous: collections {ids} share that contract. "
            "Select the collection by collection_id instead."
        )
        return FAILED, message, []
    failed = [item for item in watched if item.status in failures]
    if failed:
        what = few([f"{item.label} is {item.status}" for item in failed], sep="; ")
        message = (
            f"Deployment failed: {what}, a failure status ({', '.join(failures)}) "
            f"for {selection.describe()}. Not retrying: the deployment must be started again."
        )
        return FAILED, message, [item.record for item in failed]
    missing = selection.missing(watched)
    pending = [item for item in watched if item.status not in targets]
    if watched and not missing and not pending:
        if len(watched) == 1:
            message = f"{watched[0].label} of {selection.holder} is {watched[0].status}."
        else:
            message = f"All {len(watched)} {selection.describe()} are in {', '.join(targets)}."
        return DONE, message, [item.record for item in watched]
    return WAITING, _waiting_message(selection, watched, missing, pending, targets), []


def _waiting_message(
    selection: Selection,
    watched: list[Watched],
    missing: list[str],
    pending: list[Watched],
    targets: Sequence[str],
) -> str:
    wanted = " or ".join(targets)
    if not watched:
        return f"Nothing matches {selection.describe()} yet; waiting for it to appear."
    if len(watched) == 1 and not missing:
        item = watched[0]
        return (
            f"Waiting for {item.label} of {selection.holder} to be {wanted}; "
            f"it is {_shown(item.status)}."
        )
    counts: dict[str, int] = {}
    for item in pending:
        counts[_shown(item.status)] = counts.get(_shown(item.status), 0) + 1
    parts = [f"{n} {status}" for status, n in counts.items()]
    if missing:
        parts.append(f"{len(missing)} not held yet: {few(missing)}")
    waiting_on = len(pending) + len(missing)
    total = len(watched) + len(missing)
    return (
        f"Waiting for {waiting_on} of {total} ({selection.describe()}) to be {wanted}: "
        f"{', '.join(parts)}."
    )


def _move(label: str, before: str | None, after: str | None) -> str:
    return f"{label} {_shown(before)} -> {_shown(after)}"


def _shown(status: str | None) -> str:
    return "no status" if status is None else status


# --- trigger events -----------------------------------------------------------------------

EVENT_STATUSES = ("success", "failure", "timeout", "error")


def event(
    status: str,
    message: str,
    records: list[dict[str, Any]] | None = None,
    transitions: list[str] | None = None,
    final: bool = False,
) -> dict[str, Any]:
    """A trigger event's payload: plain JSON, read back by :func:`check_event`.

    :param status: "success" (``records`` is what was awaited), "failure" (``records`` is what
        is in a failure status), "timeout" or "error" (a permanent API error).
    :param message: what to tell the user; the sensor raises or logs it.
    :param records: the NFT or collection records, as described for ``status``; None for none.
    :param transitions: every status change the trigger saw, in order.
    :param final: for "error": another try of the task would get the same answer (a rejected
        key, an unknown account, a misshaped response), so it fails without its retries.
    """
    return {
        "status": status,
        "message": message,
        "records": records or [],
        "transitions": transitions or [],
        "final": final,
    }


def check_event(payload: object) -> dict[str, Any]:
    """A trigger event, checked; raises ValueError saying what is wrong with it."""
    where = "The Loopring deployment trigger"
    if payload is None:
        raise ValueError(f"{where} sent no event; the task cannot tell how the wait ended.")
    if not isinstance(payload, dict):
        raise ValueError(f"{where} sent {type(payload).__name__} {payload!r:.80}, not an event.")
    if payload.get("status") not in EVENT_STATUSES:
        raise ValueError(
            f"{where} sent an event with status {payload.get('status')!r}; "
            f"expected one of {', '.join(EVENT_STATUSES)}."
        )
    kinds = {"message": str, "records": list, "transitions": list}
    for name, kind in kinds.items():
        if not isinstance(payload.get(name), kind):
            raise ValueError(
                f"{where} sent a {payload['status']!r} event without a valid {name!r} "
                f"(expected {kind.__name__}, got {payload.get(name)!r:.80})."
            )
    # Events of a trigger that ran before "final" existed (a wait deferred across an upgrade).
    return {**payload, "final": payload.get("final") is True}
