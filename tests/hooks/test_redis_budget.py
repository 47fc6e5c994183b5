"""The shared rate budget: hooks against the sandbox, tokens from a real redis-server.

Two ``RedisBudget`` objects on the same connection stand for two processes: each has its own
Redis client and pool, so Redis alone can make them agree. The Celery integration test
(tests/integration/test_celery_budget.py) proves the same across real worker processes.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from airflow_provider_loopring import _core as api
from airflow_provider_loopring.exceptions import (
    LoopringInvalidParameterError,
    LoopringRateBudgetError,
)
from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.hooks.redis_budget import KEY_PREFIX, RedisBudget
from airflow_provider_loopring.testing import Fault
from tests.conftest import REDIS_PASSWORD, connection_json
from tests.hooks.test_loopring import busiest_second_of_25_calls
from tests.redis_server import RedisServer, free_port

BALANCES = api.NFT_BALANCES.path
FAST = api.BackoffPolicy(max_retries=3, backoff=0.01, max_backoff=0.05)
PATIENT = api.BackoffPolicy(max_retries=20, backoff=0.1, max_backoff=0.3)
RATE = 10.0


class Shared:
    """``loopring_default`` with ``rate_limit_conn_id`` naming a Redis connection of its own
    (a fresh id per test: a process keeps one budget, so one Redis client, per connection)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, sandbox, redis_json: str) -> None:
        self.redis_conn_id = f"loopring_budget_{uuid.uuid4().hex[:8]}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{self.redis_conn_id.upper()}", redis_json)
        monkeypatch.setenv(
            "AIRFLOW_CONN_LOOPRING_DEFAULT",
            connection_json(
                sandbox.url,
                sandbox.api_key,
                requests_per_second=RATE,
                rate_limit_conn_id=self.redis_conn_id,
            ),
        )
        self.key = f"loopring_default@{sandbox.url}"

    def budget(self) -> RedisBudget:
        """Another process's budget on the same connection."""
        return RedisBudget(self.key, RATE, self.redis_conn_id)


@pytest.fixture
def shared(monkeypatch, sandbox, redis_server) -> Shared:
    return Shared(monkeypatch, sandbox, redis_server.connection_json())


@pytest.fixture
def account(sandbox):
    return sandbox.accounts[0]


def balances_requests(sandbox):
    return [r for r in sandbox.requests if r.path == BALANCES]


class TestOneBudgetForEveryone:
    def test_threads_of_a_hook_keep_to_the_rate(self, sandbox, shared, redis_server, account):
        assert busiest_second_of_25_calls(sandbox, LoopringHook(), account) <= RATE + 1
        # The tokens came from Redis: the budget's next free slot is kept there.
        import redis

        client = redis.Redis(port=redis_server.port, password=REDIS_PASSWORD)
        assert client.get(KEY_PREFIX + shared.key) is not None
        assert client.pttl(KEY_PREFIX + shared.key) > 0  # it expires when nobody uses it

    def test_two_budgets_book_consecutive_slots(self, shared):
        """Tokens taken from two processes alternately are one interval apart, not in pairs."""
        rate = 2.0  # slots half a second apart: the calls themselves take a few ms
        first, second = (RedisBudget(shared.key, rate, shared.redis_conn_id) for _ in "12")
        request = api.nft_balances_request(account_id=1)
        waits = [(first if i % 2 else second).reserve(request) for i in range(8)]
        interval = 1 / rate
        for i, wait in enumerate(waits):
            # Each wait is the slot minus the time of its own call, a few ms after the first.
            assert i * interval - interval / 2 < wait <= i * interval + 0.001, waits

    def test_the_async_path_shares_the_budget(self, sandbox, shared, redis_server, account):
        hook = LoopringHook()
        shared.budget().reserve(api.nft_balances_request(account_id=1))  # another process
        booked = next_free_slot(redis_server, shared.key)

        async def fetch():
            try:
                return await asyncio.gather(
                    *(hook.aget_nft_balances(account_id=account["accountId"]) for _ in range(5))
                )
            finally:
                await hook.aclose()

        pages = asyncio.run(fetch())
        assert all(page.items for page in pages)
        # The triggers' five tokens came after the other process's, one interval each.
        taken = next_free_slot(redis_server, shared.key) - booked
        assert taken >= 5 * round(1_000_000 / RATE)

    def test_a_429_pauses_every_process(self, sandbox, shared, redis_server, account):
        sandbox.add_fault(Fault("status", status=429, retry_after=2, path=BALANCES))
        hook = LoopringHook(backoff=FAST)
        caller = threading.Thread(
            target=hook.get_nft_balances, kwargs={"account_id": account["accountId"]}
        )
        caller.start()
        try:
            wait_for(lambda: paused_for(redis_server, shared.key) > 1.0, 10)
            wait = shared.budget().reserve(api.nft_balances_request(account_id=1))
        finally:
            caller.join(timeout=30)
        # Another process's next token waits out (most of) the Retry-After as well.
        assert 0.5 < wait <= 2.0 + 0.05, wait
        assert [r.status for r in balances_requests(sandbox)] == [429, 200]


class TestRedisDown:
    def test_no_token_no_request_and_an_error_naming_redis(self, sandbox, monkeypatch, account):
        port = free_port()  # nothing listens there
        shared = Shared(monkeypatch, sandbox, down_redis(port))
        hook = LoopringHook(backoff=FAST)
        with pytest.raises(LoopringRateBudgetError) as caught:
            hook.get_nft_balances(account_id=account["accountId"])
        message = str(caught.value)
        assert f"Redis at 127.0.0.1:{port}" in message
        assert shared.redis_conn_id in message
        assert "the request was not sent" in message
        assert sandbox.requests == []
        assert REDIS_PASSWORD not in message + repr(caught.value)

    def test_the_async_path_fails_the_same_way(self, sandbox, monkeypatch, account):
        Shared(monkeypatch, sandbox, down_redis(free_port()))
        hook = LoopringHook(backoff=FAST)

        async def fetch():
            try:
                return await hook.aget_nft_balances(account_id=account["accountId"])
            finally:
                await hook.aclose()

        with pytest.raises(LoopringRateBudgetError, match=r"Redis at 127\.0\.0\.1"):
            asyncio.run(fetch())
        assert sandbox.requests == []

    def test_a_call_waits_for_redis_to_come_back(
        self, sandbox, monkeypatch, tmp_path, capsys, account
    ):
        server = RedisServer(tmp_path / "late", password=REDIS_PASSWORD)
        Shared(monkeypatch, sandbox, server.connection_json())
        hook = LoopringHook(backoff=PATIENT)
        logged = Output(capsys)
        result: list = []
        caller = threading.Thread(
            target=lambda: result.append(hook.get_nft_balances(account_id=account["accountId"]))
        )
        caller.start()
        try:
            wait_for(lambda: "Retrying" in logged.text(), 30)  # no token: Redis is down
            assert sandbox.requests == []
            server.start()
            caller.join(timeout=60)
        finally:
            server.stop()
        assert result and result[0].items
        assert "no token from the shared rate budget in Redis" in logged.text()
        assert len(balances_requests(sandbox)) == 1

    def test_a_wrong_password_is_not_shown(self, sandbox, monkeypatch, redis_server, account):
        wrong = redis_server.connection_json().replace(REDIS_PASSWORD, "Wrong" + REDIS_PASSWORD)
        Shared(monkeypatch, sandbox, wrong)
        with pytest.raises(LoopringRateBudgetError) as caught:
            LoopringHook(backoff=FAST).get_nft_balances(account_id=account["accountId"])
        assert REDIS_PASSWORD not in str(caught.value)
        assert sandbox.requests == []


class TestSetup:
    def test_without_redis_py_a_clear_error_before_any_request(self, sandbox, monkeypatch, account):
        Shared(monkeypatch, sandbox, down_redis(free_port()))
        monkeypatch.setitem(sys.modules, "redis", None)
        monkeypatch.delitem(sys.modules, "airflow_provider_loopring.hooks.redis_budget")
        with pytest.raises(LoopringInvalidParameterError) as caught:
            LoopringHook().get_nft_balances(account_id=account["accountId"])
        assert caught.value.parameter == "connection extra 'rate_limit_conn_id'"
        assert "airflow-provider-loopring[redis]" in str(caught.value)
        assert sandbox.requests == []

    def test_without_rate_limit_conn_id_no_redis_is_needed(self, sandbox, monkeypatch, account):
        monkeypatch.setitem(sys.modules, "redis", None)
        monkeypatch.delitem(sys.modules, "airflow_provider_loopring.hooks.redis_budget")
        assert LoopringHook().get_nft_balances(account_id=account["accountId"]).items

    @pytest.mark.parametrize("value", [5, "has spaces", ["redis_default"], "x" * 251])
    def test_a_bad_rate_limit_conn_id_is_refused(self, value):
        with pytest.raises(LoopringInvalidParameterError) as caught:
            api.connection_settings(None, None, "k" * 64, {"rate_limit_conn_id": value})
        assert caught.value.parameter == "connection extra 'rate_limit_conn_id'"

    def test_rate_limit_conn_id_is_read(self):
        extra = {"rate_limit_conn_id": " redis_default "}
        settings = api.connection_settings(None, None, "k" * 64, extra)
        assert settings.rate_limit_conn_id == "redis_default"
        assert api.connection_settings(None, None, None, {}).rate_limit_conn_id is None

    def test_a_redis_connection_without_host_is_refused(self, sandbox, monkeypatch, account):
        Shared(monkeypatch, sandbox, '{"conn_type": "redis", "port": 6379}')
        with pytest.raises(LoopringInvalidParameterError, match="Redis server's host"):
            LoopringHook().get_nft_balances(account_id=account["accountId"])
        assert sandbox.requests == []

    def test_the_repr_shows_no_password(self, shared):
        budget = shared.budget()
        budget.reserve(api.nft_balances_request(account_id=1))
        assert REDIS_PASSWORD not in repr(budget)


class TestWhatRedisHolds:
    """Round 3 (docs/reliability.md): a budget key Redis holds is untrusted, and so is the
    connection ``rate_limit_conn_id`` names."""

    def test_a_slot_far_ahead_is_an_error_naming_the_budget(self, sandbox, shared, redis_server):
        import redis

        client = redis.Redis(port=redis_server.port, password=REDIS_PASSWORD)
        seconds, micros = client.time()
        ten_years = (seconds + 10 * 365 * 86400) * 1_000_000 + micros
        client.set(KEY_PREFIX + shared.key, ten_years)
        with pytest.raises(LoopringRateBudgetError) as caught:
            LoopringHook(backoff=FAST).get_nft_balances(account_id=1)
        message = str(caught.value)
        assert KEY_PREFIX + shared.key in message
        assert "over the 900 s a token may be waited for" in message
        assert "DEL the key" in message and "clock" in message
        assert caught.value.retryable is False
        assert int(client.get(KEY_PREFIX + shared.key)) == ten_years  # not booked further
        assert sandbox.requests == []
        client.close()

    def test_a_key_of_the_wrong_type_keeps_redis_own_words(self, sandbox, shared, redis_server):
        import redis

        client = redis.Redis(port=redis_server.port, password=REDIS_PASSWORD)
        client.hset(KEY_PREFIX + shared.key, "slot", "1")
        with pytest.raises(LoopringRateBudgetError) as caught:
            LoopringHook(backoff=FAST).get_nft_balances(account_id=1)
        message = str(caught.value)
        assert "WRONGTYPE Operation against a key holding the wrong kind of value" in message
        assert "Check that Redis is up" not in message
        assert f"Check the key {KEY_PREFIX + shared.key!r}" in message
        assert caught.value.retryable is False
        assert sandbox.requests == []
        client.close()

    @pytest.mark.parametrize("conn_type", ["loopring", "http", "generic"])
    def test_a_connection_not_of_type_redis_is_refused_before_any_socket(
        self, sandbox, monkeypatch, conn_type
    ):
        import json
        import socket

        listener = socket.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        secret = "TheLoopringKey" + "x" * 40
        other = {
            "conn_type": conn_type,
            "host": "127.0.0.1",
            "port": listener.getsockname()[1],
            "password": secret,
        }
        shared = Shared(monkeypatch, sandbox, json.dumps(other))
        try:
            with pytest.raises(LoopringInvalidParameterError) as caught:
                LoopringHook(backoff=FAST).get_nft_balances(account_id=1)
            with pytest.raises(BlockingIOError):
                listener.accept()  # nobody connected: no AUTH was sent
        finally:
            listener.close()
        assert caught.value.parameter == "connection extra 'rate_limit_conn_id'"
        assert f"{shared.redis_conn_id!r}, a connection of type {conn_type!r}" in str(caught.value)
        assert secret not in str(caught.value) + repr(caught.value)
        assert sandbox.requests == []


# --- helpers ------------------------------------------------------------------------------


def down_redis(port: int) -> str:
    """A Redis connection to a port nothing listens on."""
    return RedisServer(Path("unused"), password=REDIS_PASSWORD, port=port).connection_json()


def next_free_slot(redis_server: RedisServer, key: str) -> int:
    """The budget's next free slot as Redis keeps it, in microseconds."""
    import redis

    client = redis.Redis(port=redis_server.port, password=REDIS_PASSWORD)
    free = client.get(KEY_PREFIX + key)
    client.close()
    assert free is not None
    return int(free)


def paused_for(redis_server: RedisServer, key: str) -> float:
    """Seconds until the budget's next free slot, on Redis's clock."""
    import redis

    client = redis.Redis(port=redis_server.port, password=REDIS_PASSWORD)
    seconds, micros = client.time()
    free = client.get(KEY_PREFIX + key)
    client.close()
    return 0.0 if free is None else (int(free) - seconds * 1_000_000 - micros) / 1_000_000


class Output:
    """What was logged so far (Airflow's task logger writes to stdout)."""

    def __init__(self, capsys) -> None:
        self.capsys = capsys
        self.seen = ""

    def text(self) -> str:
        self.seen += self.capsys.readouterr().out
        return self.seen


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.02)
