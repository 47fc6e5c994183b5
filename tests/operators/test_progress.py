"""How far a task is: one INFO line every 30 s (here: on a clock driven by the requests) and
one at the end; the pages themselves only at DEBUG."""

from __future__ import annotations

import pytest

from airflow_provider_loopring.operators._progress import Progress, duration
from airflow_provider_loopring.operators.loopring import LoopringNftBalancesOperator

pytestmark = pytest.mark.loopring_sandbox(accounts=3, nfts_per_account=60)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45.4, "45s"), (59.6, "1m 00s"), (185, "3m 05s"), (9960, "2h 46m")],
)
def test_a_time_left_is_told_to_the_unit_that_matters(seconds, text):
    assert duration(seconds) == text


def test_one_line_every_interval_and_one_at_the_end(sandbox, tmp_path, monkeypatch):
    a, b, c = (account["accountId"] for account in sandbox.accounts)
    per_account = len(sandbox.balances(a, non_zero=True, metadata=False))
    assert per_account > 50  # two pages each
    operator = LoopringNftBalancesOperator(
        task_id="t", account_id=[a, b, c], max_workers=1, output_path=f"file://{tmp_path}/b.jsonl"
    )
    # Each request answered moves the clock 10 s on: a line after every third one.
    before = len(sandbox.requests)
    monkeypatch.setattr(operator, "_clock", lambda: 10.0 * (len(sandbox.requests) - before))
    info, debug = [], []
    monkeypatch.setattr(operator.log, "info", lambda message, *args: info.append(message % args))
    monkeypatch.setattr(operator.log, "debug", lambda message, *args: debug.append(message % args))

    operator.execute({})

    rate = "(0.1/s of the connection's 500/s)"
    assert info == [
        # 30 s: the second account's first page; one account done of three, in 30 s.
        f"1 of 3 accounts done, {per_account} records, 3 requests {rate}, about 1m 00s left",
        # 60 s: the third account's last page, before it is counted done.
        f"2 of 3 accounts done, {2 * per_account} records, 6 requests {rate}, about 30s left",
        f"3 of 3 accounts done, {3 * per_account} records, 6 requests {rate}, none left",
    ]
    assert f"account {a}: page 2, {per_account} of {per_account} records" in debug
    assert len(debug) == 6


def test_before_any_account_is_done_the_time_left_is_unknown():
    now = [100.0]
    lines: list[str] = []

    class Log:
        def info(self, message: str, *args: object) -> None:
            lines.append(message % args)

    sent = [3]  # requests the hook had sent before: not this progress's
    progress = Progress(Log(), 4, 2.5, interval=0, clock=lambda: now[0], sent=lambda: sent[0])
    progress.add_resumed([7, 0])  # an earlier try's: done, but not this try's pace
    now[0] = 104.0
    sent[0] += 1
    progress.tick()
    progress.account_done(5)
    progress.finish()
    assert lines == [
        "2 of 4 accounts done, 7 records, 1 requests (0.2/s of the connection's 2.5/s), "
        "time left unknown",
        "3 of 4 accounts done, 12 records, 1 requests (0.2/s of the connection's 2.5/s), "
        "about 4s left",
        "3 of 4 accounts done, 12 records, 1 requests (0.2/s of the connection's 2.5/s), "
        "about 4s left",
    ]
