"""The process's rate budgets: one token bucket per connection and rate.

Every hook on the same connection in a process takes its tokens from the same bucket, so the
threads of an operator, or the triggers of a triggerer, share the connection's rate. State
that lives as long as the process, kept here in the open rather than inside the core.
"""

from __future__ import annotations

import threading

from airflow_provider_loopring._core.ratelimit import TokenBucket

_buckets: dict[tuple[str, float], TokenBucket] = {}
_lock = threading.Lock()


def shared_bucket(key: str, rate: float) -> TokenBucket:
    """The bucket of connection ``key`` at ``rate`` requests a second in this process."""
    with _lock:
        bucket = _buckets.get((key, rate))
        if bucket is None:
            bucket = _buckets[(key, rate)] = TokenBucket(rate)
        return bucket
