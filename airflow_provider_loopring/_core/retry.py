"""When to try a failed call again and how long to wait first (the hook's HTTP backoff).

Not Airflow's task retry policy (``retry_policy=`` of the operators and sensors, in
:mod:`airflow_provider_loopring.retry_policy`), which decides whether a failed *task* is tried
again: this decides whether one *request* is sent again within a try.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from airflow_provider_loopring._core.validation import (
    check_offset,
    finite,
)
from airflow_provider_loopring.exceptions import (
    LoopringApiError,
    LoopringInvalidParameterError,
)


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in total time.

    :param max_retries: tries after the first one.
    :param backoff: the first wait's ceiling in seconds; it doubles each time.
    :param max_backoff: the largest single wait.
    :param max_elapsed: no retry starts later than this many seconds after the first try.
    """

    max_retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_elapsed: float = 300.0

    def __post_init__(self) -> None:
        # Checked here, not at the first retry (a negative wait makes time.sleep raise).
        check_offset(self.max_retries, "max_retries")
        for name in ("backoff", "max_backoff", "max_elapsed"):
            value = getattr(self, name)
            if not finite(value, 0.0):
                raise LoopringInvalidParameterError(
                    name, "a finite, non-negative number of seconds", value
                )

    def delay(
        self,
        attempt: int,
        error: LoopringApiError,
        elapsed: float,
        rng: random.Random | None = None,
    ) -> float | None:
        """How long to wait before try ``attempt + 1``, or None to give up and raise."""
        if not error.retryable or attempt >= self.max_retries:
            return None
        ceiling = min(self.max_backoff, self.backoff * 2**attempt)
        wait = (rng or random).uniform(0, ceiling)
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            wait = max(wait, retry_after)
        if elapsed + wait > self.max_elapsed:
            return None
        return wait


class Attempts:
    """The retry state of one logical call, shared by the sync and the async transport."""

    def __init__(self, policy: BackoffPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self.started = clock()
        self.count = 0

    def wait_after(self, error: LoopringApiError) -> float:
        """Seconds to wait before trying again; raises ``error`` when the policy says stop."""
        wait = self.policy.delay(self.count, error, self.clock() - self.started)
        if wait is None:
            raise error
        self.count += 1
        return wait
