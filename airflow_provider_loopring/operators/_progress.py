"""How far an accounts task is, in one INFO line every 30 seconds and one at the end.

``12 of 10000 accounts done, 3456 records, 40 requests (2.0/s of the connection's 5/s),
about 2h 46m left``: accounts finished of all the task's, the records they held, the HTTP
requests sent so far (retries included) and their rate against the connection's
``requests_per_second``, and the time the accounts left would take at this try's pace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

#: Seconds between two progress lines.
INTERVAL = 30.0


def duration(seconds: float) -> str:
    """``45s``, ``3m 05s``, ``2h 46m``: a time left, to the unit that still matters.

    :param seconds: the time, not negative.
    """
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


class Progress:
    """A task's progress, fed by its worker threads, told in INFO lines at most every
    ``interval`` seconds and once by :meth:`finish`.

    :param log: the task's logger (anything with ``info``).
    :param accounts: the accounts of the task, all of them.
    :param rate: the connection's ``requests_per_second``.
    :param interval: seconds between two lines.
    :param clock: the time in seconds, monotonic.
    :param sent: how many requests the task's hook has sent so far (retries included); the
        line counts those sent since the progress began.
    :param unit: what the task's parts are, in the line (``accounts``; ``NFTs``).
    """

    def __init__(
        self,
        log: Any,
        accounts: int,
        rate: float,
        *,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sent: Callable[[], int] = lambda: 0,
        unit: str = "accounts",
    ) -> None:
        self._log = log
        self._unit = unit
        self._sent, self._sent_before = sent, sent()
        self.accounts = accounts
        self.rate = rate
        self._resumed = 0
        self.done = 0
        self.records = 0
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._next = self._start + interval
        self._lock = threading.Lock()

    @property
    def requests(self) -> int:
        """Requests sent since the progress began."""
        return self._sent() - self._sent_before

    def add_resumed(self, records: list[int]) -> None:
        """Accounts an earlier try finished: done, but not part of this try's pace.

        :param records: the records of each (0 for one skipped).
        """
        with self._lock:
            self._resumed += len(records)
            self.done += len(records)
            self.records += sum(records)

    def account_done(self, records: int) -> None:
        """One account finished.

        :param records: the records it held.
        """
        with self._lock:
            self.done += 1
            self.records += records
        self.tick()

    def tick(self) -> None:
        """Log the line if ``interval`` has passed since the last one (called at each page)."""
        now = self._clock()
        with self._lock:
            if now < self._next:
                return
            self._next = now + self._interval
            line = self._line(now)
        self._log.info("%s", line)

    def finish(self) -> None:
        """Log the line once more, at the end of the task's try."""
        with self._lock:
            line = self._line(self._clock())
        self._log.info("%s", line)

    def _line(self, now: float) -> str:
        elapsed = now - self._start
        per_second = self.requests / elapsed if elapsed > 0 else 0.0
        fetched, left = self.done - self._resumed, self.accounts - self.done
        if left == 0:
            eta = "none left"
        elif fetched == 0:
            eta = "time left unknown"
        else:
            eta = f"about {duration(elapsed / fetched * left)} left"
        return (
            f"{self.done} of {self.accounts} {self._unit} done, {self.records} records, "
            f"{self.requests} requests ({per_second:.1f}/s of the connection's {self.rate:g}/s), "
            f"{eta}"
        )
