"""Where a hook's tokens come from: the process's bucket, or a budget shared through Redis.

Every hook on the same connection in a process takes its tokens from the same budget, so the
threads of an operator, or the triggers of a triggerer, share the connection's rate. With the
connection extra ``rate_limit_conn_id`` that budget lives in Redis (:mod:`.redis_budget`) and
every process on every machine shares it. State that lives as long as the process, kept here
in the open rather than inside the core.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from airflow_provider_loopring._core.ratelimit import TokenBucket
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

if TYPE_CHECKING:
    from airflow_provider_loopring import _core as core

_buckets: dict[tuple[str, float], TokenBucket] = {}
_budgets: dict[tuple[str, float, str], RateBudget] = {}
_lock = threading.Lock()


class RateBudget(Protocol):
    """Tokens for one connection's requests; sync for tasks, async for triggers.

    ``reserve`` books the next slot and returns the seconds to wait for it; ``pause`` holds
    every caller back (a 429's Retry-After). ``request`` is the call that waits, for errors.
    """

    def reserve(self, request: core.ApiRequest) -> float:
        """Book the next slot for ``request``.

        :param request: the call that will wait, named in errors.
        :return: the seconds to wait before sending it.
        """

    async def areserve(self, request: core.ApiRequest) -> float:
        """:meth:`reserve` for the async hook.

        :param request: the call that will wait, named in errors.
        :return: the seconds to wait before sending it.
        """

    def pause(self, seconds: float) -> None:
        """Hold every caller back, as a 429's Retry-After asks.

        :param seconds: how long from now no request may leave.
        """

    async def apause(self, seconds: float) -> None:
        """:meth:`pause` for the async hook.

        :param seconds: how long from now no request may leave.
        """


class ProcessBudget:
    """The connection's token bucket in this process (the default: nothing to reach).

    :param bucket: the bucket, shared by the process's hooks on the connection
        (:func:`shared_bucket`).
    """

    def __init__(self, bucket: TokenBucket) -> None:
        self.bucket = bucket

    def reserve(self, request: core.ApiRequest) -> float:
        """Book the bucket's next slot.

        :param request: the call that will wait (not used: the bucket never fails).
        :return: the seconds to wait before sending it.
        """
        return self.bucket.reserve()

    async def areserve(self, request: core.ApiRequest) -> float:
        """:meth:`reserve`, for the async hook: the bucket is never awaited.

        :param request: the call that will wait (not used).
        :return: the seconds to wait before sending it.
        """
        return self.bucket.reserve()

    def pause(self, seconds: float) -> None:
        """Hold every caller of the bucket back.

        :param seconds: how long from now no request may leave.
        """
        self.bucket.pause(seconds)

    async def apause(self, seconds: float) -> None:
        """:meth:`pause`, for the async hook.

        :param seconds: how long from now no request may leave.
        """
        self.bucket.pause(seconds)


def shared_bucket(key: str, rate: float) -> TokenBucket:
    """The bucket of connection ``key`` at ``rate`` requests a second in this process.

    :param key: the connection and where it points: ``conn_id@base_url``.
    :param rate: requests per second; each rate of a connection has its own bucket.
    """
    with _lock:
        bucket = _buckets.get((key, rate))
        if bucket is None:
            bucket = _buckets[(key, rate)] = TokenBucket(rate)
        return bucket


def connection_budget(key: str, settings: core.ConnectionSettings) -> RateBudget:
    """The budget of connection ``key``: in Redis when its settings name a Redis connection.

    :param key: the connection and where it points: ``conn_id@base_url``.
    :param settings: the connection's settings: ``requests_per_second`` and
        ``rate_limit_conn_id``.
    :raises LoopringInvalidParameterError: ``rate_limit_conn_id`` is set but redis-py is not
        installed (the ``[redis]`` extra); raised before any request.
    """
    rate, redis_conn_id = settings.requests_per_second, settings.rate_limit_conn_id
    if redis_conn_id is None:
        return ProcessBudget(shared_bucket(key, rate))
    try:
        from airflow_provider_loopring.hooks.redis_budget import RedisBudget
    except ModuleNotFoundError as exc:
        if exc.name != "redis":
            raise
        raise LoopringInvalidParameterError(
            "connection extra 'rate_limit_conn_id'",
            "redis-py installed to share the rate budget through Redis: "
            "pip install 'airflow-provider-loopring[redis]'",
            redis_conn_id,
        ) from None
    with _lock:  # one budget, so one Redis connection pool, per connection and process
        budget = _budgets.get((key, rate, redis_conn_id))
        if budget is None:
            budget = _budgets[(key, rate, redis_conn_id)] = RedisBudget(key, rate, redis_conn_id)
        return budget
