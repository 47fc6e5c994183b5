"""The server-side limit behind the sandbox's 429 answers: Loopring's, not the hook's.

A bucket of ``rate`` tokens, so a burst of ``rate`` requests passes, as a server's limiter
lets it; the hook's own bucket (``_core.TokenBucket``) allows a burst of one, which is what
keeps a server limit of the same rate from ever answering 429.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ServerRateLimit:
    """Capacity `rate` tokens (at least 1), refilled at `rate` tokens per second.

    Used from the server's event loop only, so it needs no lock.

    :param rate: requests per second, above 0.
    :param clock: seconds from a monotonic clock; tests pass a fake one.
    :raises ValueError: ``rate`` is not above 0.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 requests per second")
        self.rate = rate
        # Below 1 request/s a bucket of `rate` tokens would never hold a whole one.
        self.capacity = max(rate, 1.0)
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()

    def take(self) -> float:
        """Take a token: 0.0 when granted, else the seconds until one will be there."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate
