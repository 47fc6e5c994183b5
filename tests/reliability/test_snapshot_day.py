"""Round 3: a snapshot never labels today's state with another day (docs/reliability.md).

The pure decision (``_core.snapshot_day``) with the ``run_after`` Airflow's own interval
timetable gives a past interval, as a backfill or a catch-up run gets it; and ``run_day``,
through which every snapshot task takes its day, on the task SDK's own ``DagRun``.
"""

from __future__ import annotations

import datetime

import pendulum
import pytest
from airflow.sdk.api.datamodels._generated import DagRun, DagRunState, DagRunType
from airflow.timetables.base import TimeRestriction
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_loopring._core.snapshot_day import (
    SnapshotDayRefused,
    run_day,
    snapshot_day,
)
from airflow_provider_loopring.exceptions import LoopringSnapshotDayError
from airflow_provider_loopring.operators import base

NOW = pendulum.datetime(2026, 12, 6, 4, 30, tz="UTC")
UTC = datetime.timezone.utc


def last_week_run_after() -> datetime.datetime:
    """The run_after Airflow's @daily interval timetable gives the run of a week ago's
    interval, as a backfill over last week (or a catch-up run) gets it: the interval's end."""
    timetable = CronDataIntervalTimetable("@daily", timezone="UTC")
    earliest = NOW.subtract(days=8).start_of("day")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=earliest, latest=None, catchup=True),
    )
    assert info is not None and info.data_interval.end == info.run_after
    return info.run_after


@pytest.mark.parametrize("run_type", ["backfill", "scheduled", DagRunType.BACKFILL])
def test_a_backfill_or_catch_up_run_of_a_past_day_is_refused(run_type):
    run_after = last_week_run_after()
    with pytest.raises(SnapshotDayRefused) as caught:
        snapshot_day(run_type=run_type, run_after=run_after, now=NOW)
    message = str(caught.value)
    assert "This run is for 2026-11-29" in message and "runs on 2026-12-06" in message
    assert "would label 2026-12-06's holdings as 2026-11-29's" in message  # why
    assert "trigger a run now" in message and "catchup=False" in message  # what to do


@pytest.mark.parametrize(
    ("run_type", "run_after"),
    [
        ("scheduled", datetime.datetime(2026, 12, 6, 0, 0, tzinfo=UTC)),  # late on its day
        ("backfill", datetime.datetime(2026, 12, 6, 0, 0, tzinfo=UTC)),  # today's interval
        ("manual", datetime.datetime(2026, 11, 29, 0, 0, tzinfo=UTC)),  # a day asked for
        ("operator_triggered", datetime.datetime(2026, 11, 29, tzinfo=UTC)),
        (None, None),  # outside a run: today
    ],
)
def test_a_run_on_its_own_day_or_a_day_asked_for_runs(run_type, run_after):
    expected = "2026-12-06" if run_after is None else run_after.date().isoformat()
    assert snapshot_day(run_type=run_type, run_after=run_after, now=NOW) == expected


def test_the_day_is_the_utc_day_of_run_after():
    # 23:30 in New York on the 5th is the 6th in UTC: the day partitions are UTC days.
    evening = pendulum.datetime(2026, 12, 5, 23, 30, tz="America/New_York")
    assert run_day(evening, NOW) == "2026-12-06"
    assert snapshot_day(run_type="scheduled", run_after=evening, now=NOW) == "2026-12-06"


def _context(run_type: DagRunType, run_after: datetime.datetime) -> dict:
    run = DagRun(
        dag_id="snapshot",
        run_id="r",
        logical_date=run_after,
        data_interval_start=run_after - datetime.timedelta(days=1),
        data_interval_end=run_after,
        run_after=run_after,
        start_date=NOW,
        end_date=None,
        run_type=run_type,
        state=DagRunState.RUNNING,
        consumed_asset_events=[],
        partition_key=None,
    )
    return {"dag_run": run}


def test_run_day_fails_a_backfill_task_without_retries():
    context = _context(DagRunType.BACKFILL, last_week_run_after())
    with pytest.raises(LoopringSnapshotDayError, match="Snapshots cannot be backfilled"):
        base.run_day(context)


def test_run_day_gives_a_scheduled_run_of_today_its_day():
    today = pendulum.now("UTC").start_of("day")
    context = _context(DagRunType.SCHEDULED, today)
    assert base.run_day(context) == today.date().isoformat()
