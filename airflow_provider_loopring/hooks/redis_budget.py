"""One rate budget for a whole deployment, kept in Redis (the ``[redis]`` extra).

The budget is the process bucket's rule (:class:`~airflow_provider_loopring._core.TokenBucket`:
one request every ``1 / rate`` seconds, a burst of one) run as one Lua script inside Redis, on
Redis's clock: each token is one atomic step that books the next free slot and answers how
long to wait for it, so every task, thread and trigger on the connection, on any machine,
queues for the same slots. A 429's Retry-After moves the next free slot for everyone.

Without a token no request is sent: when Redis cannot be reached, taking a token raises
:class:`~airflow_provider_loopring.exceptions.LoopringRateBudgetError`, which the hook retries
within the call's retry policy like a 5xx.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.backoff
import redis.retry
from airflow.sdk import BaseHook

from airflow_provider_loopring import _core as core
from airflow_provider_loopring.exceptions import (
    LoopringInvalidParameterError,
    LoopringRateBudgetError,
)

log = logging.getLogger(__name__)

# KEYS[1]: the microsecond (Redis's clock) from which the next request may leave.
# ARGV[1]: microseconds between two requests. ARGV[2]: 0 to take a token, answering the
# microseconds to wait for it; else hold every caller back for that many microseconds.
# ARGV[3]: the longest wait a token may have: a slot further ahead (a key set by hand, or
# Redis's clock moved back) is answered, not booked, and the caller fails saying so.
# Numbers are written with %d: Lua would write 1.7e+15 and lose the microseconds.
SCRIPT = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local free = tonumber(redis.call('GET', KEYS[1])) or now
local interval, pause, longest = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
if pause > 0 then
  free = math.max(free, now + pause)
else
  local slot = math.max(free, now)
  wait = slot - now
  if wait > longest then
    return wait
  end
  free = slot + interval
end
local ttl = math.ceil((free - now) / 1000) + 60000
redis.call('SET', KEYS[1], string.format('%d', free), 'PX', string.format('%d', ttl))
return wait
"""
KEY_PREFIX = "airflow-provider-loopring:budget:"
# A token from Redis takes well under a millisecond; a Redis that takes seconds is down.
REDIS_TIMEOUT = 5.0
# The longest a token may be waited for. A queue of callers at the budget's rate takes a
# fraction of this; a slot hours ahead is a key set by hand or Redis's clock gone back.
MAX_WAIT = 900.0
# What a Redis connection's extra may hold, as apache-airflow-providers-redis reads it.
SSL_EXTRAS = (
    "ssl",
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_keyfile",
    "ssl_certfile",
    "ssl_check_hostname",
)


class RedisBudget:
    """The rate budget of one Loopring connection, in the Redis of ``redis_conn_id``.

    :param key: the Loopring connection (its id and base URL): the budget's name in Redis.
    :param rate: requests per second for the whole deployment.
    :param redis_conn_id: the Airflow connection to Redis: host, port, login (a Redis ACL
        user), password, and the extras ``db`` and ``ssl``/``ssl_*`` as the Redis provider's
        connection type has them. Read once, when the first token is taken.
    """

    def __init__(self, key: str, rate: float, redis_conn_id: str) -> None:
        core.TokenBucket(rate)  # the same check of the rate as the process budget's
        self.name = KEY_PREFIX + key
        self.interval_us = max(1, round(1_000_000 / rate))
        self.redis_conn_id = redis_conn_id
        self._options: dict[str, Any] | None = None
        self._sync_script: Any = None
        self._ascripts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, redis_conn_id={self.redis_conn_id!r})"

    # --- tokens ------------------------------------------------------------------------

    def reserve(self, request: core.ApiRequest) -> float:
        """Book the next slot; the seconds to wait for it.

        :param request: the call that will wait, named in the error if Redis fails.
        :raises LoopringRateBudgetError: Redis did not answer (nothing was sent).
        """
        return self._run(request, lambda: self._script()(keys=[self.name], args=self._args(0)))

    async def areserve(self, request: core.ApiRequest) -> float:
        """The async twin of :meth:`reserve` (triggers).

        :param request: the call that will wait, named in the error if Redis fails.
        :raises LoopringRateBudgetError: Redis did not answer (nothing was sent).
        """
        script = await self._ascript()
        return await self._arun(request, lambda: script(keys=[self.name], args=self._args(0)))

    def pause(self, seconds: float) -> None:
        """Hold every caller of the budget back for ``seconds`` (a 429's Retry-After).

        Best effort: if Redis cannot be reached, the next token cannot be had either.

        :param seconds: how long from now no request may leave.
        """
        try:
            self._script()(keys=[self.name], args=self._args(seconds))
        except (redis.RedisError, OSError) as exc:
            self._pause_failed(exc)

    async def apause(self, seconds: float) -> None:
        """The async twin of :meth:`pause`.

        :param seconds: how long from now no request may leave.
        """
        try:
            script = await self._ascript()
            await script(keys=[self.name], args=self._args(seconds))
        except (redis.RedisError, OSError) as exc:
            self._pause_failed(exc)

    def _args(self, pause: float) -> list[int]:
        return [self.interval_us, max(0, round(pause * 1_000_000)), round(MAX_WAIT * 1_000_000)]

    def _run(self, request: core.ApiRequest, take: Callable[[], Any]) -> float:
        try:
            waited = int(take())
        except (redis.RedisError, OSError) as exc:
            raise self._no_token(request, exc) from None
        return self._wait(request, waited)

    async def _arun(self, request: core.ApiRequest, take: Callable[[], Awaitable[Any]]) -> float:
        try:
            waited = int(await take())
        except (redis.RedisError, OSError) as exc:
            raise self._no_token(request, exc) from None
        return self._wait(request, waited)

    def _wait(self, request: core.ApiRequest, micros: int) -> float:
        """The seconds to wait for a token, refused beyond :data:`MAX_WAIT` (not retried)."""
        if micros <= MAX_WAIT * 1_000_000:
            return micros / 1_000_000
        raise LoopringRateBudgetError(
            f"the shared rate budget {self.name!r} in Redis at {self._where()} has its next "
            f"free slot {micros / 1_000_000:,.0f} s ahead, over the {MAX_WAIT:.0f} s a token "
            f"may be waited for; the request was not sent",
            endpoint=request.describe(),
            hint="Check the key's value (a slot set by hand; DEL the key to reset the budget) "
            "and Redis's clock (TIME), which the budget runs on.",
            retryable=False,
        )

    def _no_token(self, request: core.ApiRequest, exc: BaseException) -> LoopringRateBudgetError:
        if isinstance(exc, redis.ResponseError):  # Redis answered: it is up, it refused
            return LoopringRateBudgetError(
                f"the shared rate budget {self.name!r} in Redis at {self._where()} refused a "
                f"token ({self._why(exc)}); the request was not sent",
                endpoint=request.describe(),
                hint=f"Check the key {self.name!r} in Redis: the budget keeps one number "
                "there (DEL the key to reset it), and the Redis user may run EVALSHA.",
                retryable=False,
            )
        return LoopringRateBudgetError(
            f"no token from the shared rate budget in Redis at {self._where()} "
            f"({self._why(exc)}); the request was not sent",
            endpoint=request.describe(),
            hint="Check that Redis is up and reachable from every worker and triggerer.",
        )

    def _pause_failed(self, exc: BaseException) -> None:
        log.warning(
            "Could not pause the shared rate budget in Redis at %s (%s).",
            self._where(),
            self._why(exc),
        )

    def _where(self) -> str:
        options = self._options or {}
        where = f"{options.get('host')}:{options.get('port')}"
        return f"{where}, connection {self.redis_conn_id!r}"

    def _why(self, exc: BaseException) -> str:
        """Redis's own text, whole (a script error's line number and all), password masked."""
        text = f"{type(exc).__name__}: {exc}"
        password = (self._options or {}).get("password")
        return text.replace(password, "***") if password else text

    # --- clients -----------------------------------------------------------------------

    def _script(self) -> Any:
        """The script on this process's sync client (thread-safe; one pool per budget)."""
        with self._lock:
            if self._sync_script is None:
                if self._options is None:
                    self._options = redis_options(self.redis_conn_id)
                client = redis.Redis(**self._options, retry=_no_retry())
                self._sync_script = client.register_script(SCRIPT)
            return self._sync_script

    async def _ascript(self) -> Any:
        """The script on an async client of the running event loop: a client cannot move
        between loops, and a triggerer runs one loop for all its triggers."""
        loop = asyncio.get_running_loop()
        script = self._ascripts.get(loop)
        if script is None:
            if self._options is None:
                conn = await BaseHook.aget_connection(self.redis_conn_id)
                self._options = options_from(conn, self.redis_conn_id)
            client = redis.asyncio.Redis(**self._options, retry=_no_async_retry())
            script = self._ascripts[loop] = client.register_script(SCRIPT)
        return script


def _no_retry() -> redis.retry.Retry:
    # The hook's retry policy decides when to ask again, not redis-py.
    return redis.retry.Retry(redis.backoff.NoBackoff(), 0)


def _no_async_retry() -> redis.asyncio.retry.Retry:
    return redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0)


def redis_options(redis_conn_id: str) -> dict[str, Any]:
    """The client options of an Airflow connection to Redis, read through Airflow.

    :param redis_conn_id: the Redis connection (the Loopring connection's
        ``rate_limit_conn_id``).
    :return: keyword arguments for redis-py's clients (see :func:`options_from`).
    """
    return options_from(BaseHook.get_connection(redis_conn_id), redis_conn_id)


def options_from(conn: Any, redis_conn_id: str) -> dict[str, Any]:
    """Client options from a connection's fields; the password stays a connection secret.

    :param conn: the Airflow connection: host, port (default 6379), login, password and the
        extras ``db`` and the ``ssl`` ones (:data:`SSL_EXTRAS`).
    :param redis_conn_id: its id, named in errors.
    :raises LoopringInvalidParameterError: no host, or a ``db`` that is not an integer.
    """
    if conn.conn_type != "redis":
        # Checked before any socket: the password of another connection (the Loopring key,
        # say) would be sent to its host as Redis's AUTH.
        raise LoopringInvalidParameterError(
            "connection extra 'rate_limit_conn_id'",
            "the id of a connection of type 'redis'",
            redis_conn_id,
            shown=f"{redis_conn_id!r}, a connection of type {conn.conn_type!r}",
        )
    if not conn.host:
        raise LoopringInvalidParameterError(
            f"host of connection {redis_conn_id!r}", "the Redis server's host name", conn.host
        )
    extra = conn.extra_dejson
    db = extra.get("db", 0)
    if isinstance(db, bool) or not str(db).isdigit():
        raise LoopringInvalidParameterError(
            f"extra 'db' of connection {redis_conn_id!r}", "a Redis database number", db
        )
    return {
        "host": conn.host,
        "port": int(conn.port or 6379),
        "username": conn.login or None,
        "password": conn.password or None,
        "db": int(db),
        "socket_timeout": REDIS_TIMEOUT,
        "socket_connect_timeout": REDIS_TIMEOUT,
        "client_name": "airflow-provider-loopring",
        **{name: extra[name] for name in SSL_EXTRAS if name in extra},
    }
