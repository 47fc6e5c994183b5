"""Which day a snapshot may be labelled with: the run's day, when that day is today.

A snapshot records the state Loopring reports when it runs, and its day is the DAG run's
``run_after`` (UTC). Airflow gives a backfill run, and a scheduled run the scheduler catches
up after downtime, the ``run_after`` of its past interval (the interval's end; see
``airflow/models/backfill.py`` and the interval timetables), so such a run would write
today's holdings into a past day's partition, over the history recorded then. So a run
whose day is not today is refused here, before anything is fetched, unless someone chose
that day by hand: a manual run (``airflow dags trigger``, the UI, ``dag.test()``), or one
another DAG triggered, takes its ``run_after`` as asked. A run that merely starts late on its
own day still runs.

Pure: plain values in, a day or :class:`SnapshotDayRefused` out; no Airflow import.
"""

from __future__ import annotations

import datetime

# Runs whose run_after the scheduler derives from a timetable (so it may lie in the past),
# as Airflow's DagRunType spells them; manual and operator-triggered runs carry a day
# someone asked for.
DERIVED_RUN_TYPES = ("backfill", "scheduled", "asset_triggered", "asset_materialization")


class SnapshotDayRefused(ValueError):
    """A run would label today's state with another day (the text says why and what to do)."""


def utc_day(when: datetime.datetime) -> str:
    """``when``'s day in UTC, "YYYY-MM-DD" (a naive time is taken as UTC).

    :param when: a point in time.
    """
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc)
    return when.date().isoformat()


def run_day(run_after: datetime.datetime | None, now: datetime.datetime) -> str:
    """The day a DAG run is about: its ``run_after`` in UTC, ``now``'s day outside a run.

    :param run_after: the run's ``run_after`` (every Airflow 3 run has one), or None.
    :param now: the current time.
    """
    return utc_day(now if run_after is None else run_after)


def snapshot_day(
    *, run_type: object, run_after: datetime.datetime | None, now: datetime.datetime
) -> str:
    """The day a snapshot taken ``now`` in this run may be labelled with.

    :param run_type: the run's type (``DagRunType`` or its value: ``"backfill"``,
        ``"scheduled"``, ``"manual"``...); None outside a run.
    :param run_after: the run's ``run_after``; None outside a run.
    :param now: the current time, when the state is read.
    :return: the run's day, "YYYY-MM-DD".
    :raises SnapshotDayRefused: the run's type derives its day from a timetable and that
        day is not today's (UTC): a backfill, a catch-up, or a run delayed past midnight.
    """
    day, today = run_day(run_after, now), utc_day(now)
    kind = str(getattr(run_type, "value", run_type))
    if day == today or kind not in DERIVED_RUN_TYPES:
        return day
    why = {
        "backfill": "a backfill run",
        "scheduled": "a scheduled run caught up after downtime, or started after its day",
    }.get(kind, f"a {kind} run started after its day")
    raise SnapshotDayRefused(
        f"This run is for {day} (its run_after is {run_after}) but it runs on {today} "
        f"({why}). A snapshot records Loopring's state when it runs: it would label "
        f"{today}'s holdings as {day}'s and overwrite that day's partition, history that "
        f"cannot be read again. Snapshots cannot be backfilled: rebuild past days from "
        f"Loopring's history (the history operator), not from today's balances. For "
        f"today's snapshot trigger a run now (airflow dags trigger); to keep the scheduler "
        f"from catching up after downtime, set catchup=False on the DAG."
    )
