"""The client-side rate limit: a token bucket both transports wait on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from airflow_provider_loopring._core.validation import (
    finite,
)
from airflow_provider_loopring.exceptions import (
    LoopringInvalidParameterError,
)


class TokenBucket:
    """Requests per second, shared by every thread and coroutine of a process that holds it.

    ``reserve()`` books the next slot and returns how long the caller must wait for it, so
    the same bucket serves ``time.sleep`` and ``asyncio.sleep``. The burst is one request:
    in any one-second window at most ``rate + 1`` requests leave, which is what keeps a
    server-side limiter of the same rate from ever answering 429.

    :param rate: requests per second, a finite positive number.
    :param clock: seconds from a monotonic clock; tests pass a fake one.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not finite(rate, 0.0) or rate <= 0:
            raise LoopringInvalidParameterError(
                "requests_per_second", "a finite, positive number", rate
            )
        self.interval = 1.0 / rate
        self.clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now

    def pause(self, seconds: float) -> None:
        """Hold every caller back: the server told one of them to wait (Retry-After)."""
        with self._lock:
            self._next = max(self._next, self.clock() + seconds)
