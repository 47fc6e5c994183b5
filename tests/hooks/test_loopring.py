"""LoopringHook against the sandbox: a real HTTP server on 127.0.0.1, no mocks."""

from __future__ import annotations

import asyncio
import http.server
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_loopring import _core as api
from airflow_provider_loopring.exceptions import (
    LoopringApiError,
    LoopringAuthError,
    LoopringBadResponseError,
    LoopringInvalidParameterError,
    LoopringNotFoundError,
    LoopringServerError,
)
from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.testing import Fault
from tests.conftest import connection_json

FAST = api.BackoffPolicy(max_retries=3, backoff=0.01, max_backoff=0.05)
BALANCES = api.NFT_BALANCES.path


def api_requests(sandbox, path=BALANCES):
    return [r for r in sandbox.requests if r.path == path]


def use_connection(monkeypatch, url, key, **extra):
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", connection_json(url, key, **extra))


@pytest.fixture
def hook(sandbox):
    return LoopringHook(backoff=FAST)


@pytest.fixture
def account(sandbox):
    return sandbox.accounts[0]


@pytest.mark.loopring_sandbox(accounts=2, nfts_per_account=130, collections_per_account=4)
class TestReading:
    def test_every_page_of_a_multi_page_account(self, sandbox, hook, account):
        expected = sandbox.balances(account["accountId"], non_zero=True, metadata=False)
        assert len(expected) > 100  # three pages of 50
        got = list(hook.iter_nft_balances(account_id=account["accountId"]))
        assert [b.to_dict() for b in got] == expected
        offsets = [int(r.query["offset"]) for r in api_requests(sandbox)]
        assert offsets == [0, 50, 100]

    def test_small_pages_and_zero_balances(self, sandbox, hook, account):
        expected = sandbox.balances(account["accountId"], non_zero=False)
        got = list(
            hook.iter_nft_balances(account_id=account["accountId"], non_zero=False, page_size=7)
        )
        assert [b.nft_data for b in got] == [b["nftData"] for b in expected]
        assert any(b.total == 0 for b in got)

    def test_by_address_equals_by_account_id(self, sandbox, hook, account):
        by_id = [b.to_dict() for b in hook.iter_nft_balances(account_id=account["accountId"])]
        by_address = [b.to_dict() for b in hook.iter_nft_balances(address=account["owner"])]
        assert by_id == by_address

    def test_filters(self, sandbox, hook, account):
        held = sandbox.balances(account["accountId"], non_zero=True)
        picked = held[::40]
        by_data = hook.get_nft_balances(
            account_id=account["accountId"], nft_datas=[b["nftData"] for b in picked]
        )
        assert {b.nft_data for b in by_data.items} == {b["nftData"] for b in picked}
        by_ids = hook.get_nft_balances(
            account_id=account["accountId"], token_ids=",".join(str(b["tokenId"]) for b in picked)
        )
        assert {b.token_id for b in by_ids.items} == {b["tokenId"] for b in picked}
        token = held[0]["tokenAddress"]
        by_token = list(
            hook.iter_nft_balances(account_id=account["accountId"], token_addrs=[token.lower()])
        )
        assert by_token and {b.token_address.lower() for b in by_token} == {token.lower()}
        assert len(by_token) == sum(b["tokenAddress"].lower() == token.lower() for b in held)

    def test_metadata_on_request(self, hook, account):
        plain = hook.get_nft_balances(account_id=account["accountId"], limit=5)
        rich = hook.get_nft_balances(account_id=account["accountId"], limit=5, metadata=True)
        assert all(b.metadata is None for b in plain.items)
        assert any(b.metadata is not None for b in rich.items)
        for item in rich.items:
            if item.metadata is not None:
                assert item.metadata.nft_id_hex == item.nft_id

    def test_one_page_with_offset_and_limit(self, sandbox, hook, account):
        page = hook.get_nft_balances(account_id=account["accountId"], offset=10, limit=5)
        expected = sandbox.balances(account["accountId"], non_zero=True, metadata=False)
        assert page.total_num == len(expected)
        assert [b.to_dict() for b in page.items] == expected[10:15]

    def test_collections_by_address_resolve_the_account_once(self, sandbox, hook, account):
        expected = sandbox.collections(account["accountId"])
        got = list(hook.iter_collections(address=account["owner"], page_size=3))
        assert [c.to_dict() for c in got] == expected
        got_again = hook.get_collections(address=account["owner"])
        assert got_again.total_num == len(expected)
        assert len(api_requests(sandbox, api.ACCOUNT.path)) == 1

    def test_collections_filtered_by_token_address(self, sandbox, hook, account):
        first = sandbox.collections(account["accountId"])[0]["collection"]
        page = hook.get_collections(
            account_id=account["accountId"], token_address=first["contractAddress"]
        )
        assert [c.collection.id for c in page.items] == [first["id"]]

    def test_async_twins_see_the_same_data(self, sandbox, hook, account):
        async def read():
            try:
                balances = await hook.aget_nft_balances(account_id=account["accountId"])
                collections = await hook.aget_collections(address=account["owner"])
                every = [b async for b in hook.aiter_nft_balances(address=account["owner"])]
                return balances, collections, every
            finally:
                await hook.aclose()

        balances, collections, every = asyncio.run(read())
        assert (
            balances.to_dict() == hook.get_nft_balances(account_id=account["accountId"]).to_dict()
        )
        assert collections.total_num == len(sandbox.collections(account["accountId"]))
        expected = sandbox.balances(account["accountId"], non_zero=True, metadata=False)
        assert [b.to_dict() for b in every] == expected

    def test_account_is_cached(self, sandbox, hook, account):
        first = hook.get_account(address=account["owner"].lower())
        second = hook.get_account(account_id=account["accountId"])
        assert first is second
        assert first.owner == account["owner"]
        assert len(api_requests(sandbox, api.ACCOUNT.path)) == 1


class TestErrors:
    def test_wrong_key(self, sandbox, monkeypatch, account):
        key = "WrongKey" + "x" * 56
        use_connection(monkeypatch, sandbox.url, key)
        with pytest.raises(LoopringAuthError) as caught:
            LoopringHook(backoff=FAST).get_nft_balances(account_id=account["accountId"])
        assert caught.value.code == 104002
        assert "Check the API key" in str(caught.value)
        assert key not in str(caught.value) and key not in repr(caught.value)
        assert len(api_requests(sandbox)) == 1  # not retried

    def test_missing_key_is_caught_before_sending(self, sandbox, monkeypatch, account):
        use_connection(monkeypatch, sandbox.url, "")
        with pytest.raises(LoopringInvalidParameterError, match="API key"):
            LoopringHook().get_nft_balances(account_id=account["accountId"])
        assert sandbox.requests == []

    def test_unknown_account(self, sandbox, hook):
        with pytest.raises(LoopringNotFoundError) as caught:
            hook.get_nft_balances(account_id=999_999_999)
        assert caught.value.code == 101002
        assert "accountId=999999999" in str(caught.value)
        with pytest.raises(LoopringNotFoundError):
            hook.get_collections(address="0x" + "ab" * 20)

    def test_flat_error_with_http_200(self, sandbox, hook, account):
        sandbox.add_fault(Fault("error_envelope", code=100001, message="invalid argument"))
        with pytest.raises(LoopringApiError) as caught:
            hook.get_nft_balances(account_id=account["accountId"])
        assert (caught.value.code, caught.value.http_status) == (100001, 200)
        assert "invalid argument" in str(caught.value)
        assert len(api_requests(sandbox)) == 1

    def test_wrong_shape_is_a_bad_response_not_retried(self, sandbox, hook, account):
        sandbox.add_fault(Fault("malformed", path=BALANCES))
        with pytest.raises(LoopringBadResponseError, match="unexpected response shape"):
            hook.get_nft_balances(account_id=account["accountId"])
        assert len(api_requests(sandbox)) == 1

    @pytest.mark.parametrize(
        "fault",
        [
            Fault("status", status=500),
            Fault("status", status=502),
            Fault("status", status=503),
            Fault("status", status=504),
            Fault("html", status=502),
            Fault("truncated"),
            Fault("reset"),
        ],
        ids=["500", "502", "503", "504", "html-502", "truncated", "reset"],
    )
    def test_transient_faults_are_retried(self, sandbox, hook, account, fault):
        fault.path = BALANCES
        sandbox.add_fault(fault)
        page = hook.get_nft_balances(account_id=account["accountId"])
        assert page.total_num == len(sandbox.balances(account["accountId"], non_zero=True))
        assert len(api_requests(sandbox)) == 2

    def test_a_persistent_5xx_gives_up_after_the_retries(self, sandbox, hook, account):
        sandbox.add_fault(Fault("status", status=503, times=None, path=BALANCES))
        with pytest.raises(LoopringServerError) as caught:
            hook.get_nft_balances(account_id=account["accountId"])
        assert caught.value.http_status == 503
        assert len(api_requests(sandbox)) == FAST.max_retries + 1

    def test_a_slow_response_times_out_and_is_retried(self, sandbox, monkeypatch, account):
        # The retry must answer within the timeout too: 1 s, room for a loaded machine.
        use_connection(monkeypatch, sandbox.url, sandbox.api_key, timeout=1.0)
        sandbox.add_fault(Fault("delay", seconds=4.0, path=BALANCES))
        page = LoopringHook(backoff=FAST).get_nft_balances(account_id=account["accountId"])
        assert page.items
        assert len(api_requests(sandbox)) == 2

    def test_retry_after_is_waited_out(self, sandbox, hook, account):
        sandbox.add_fault(Fault("status", status=429, retry_after=1, path=BALANCES))
        hook.get_nft_balances(account_id=account["accountId"])
        first, second = api_requests(sandbox)
        assert (first.status, second.status) == (429, 200)
        assert second.time - first.time >= 0.95  # the server's own clock, not ours

    def test_async_retries_a_transient_fault(self, sandbox, hook, account):
        sandbox.add_fault(Fault("status", status=503, path=BALANCES))

        async def read():
            try:
                return await hook.aget_nft_balances(account_id=account["accountId"])
            finally:
                await hook.aclose()

        assert asyncio.run(read()).items
        assert [r.status for r in api_requests(sandbox)] == [503, 200]


def busiest_second_of_25_calls(sandbox, hook, account) -> int:
    """25 one-item pages from 4 threads: the most requests the sandbox read in one second."""

    def fetch(_):
        return hook.get_nft_balances(account_id=account["accountId"], limit=1)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(fetch, range(25)))
    times = sorted(r.time for r in api_requests(sandbox))
    assert len(times) == 25
    return max(sum(t <= u < t + 1.0 for u in times) for t in times)


class TestRateLimit:
    def test_no_one_second_window_exceeds_the_limit(self, sandbox, monkeypatch, account):
        use_connection(monkeypatch, sandbox.url, sandbox.api_key, requests_per_second=10)
        assert busiest_second_of_25_calls(sandbox, LoopringHook(), account) <= 10 + 1


class TestValidationSendsNothing:
    @pytest.mark.parametrize(
        ("call", "parameter"),
        [
            (lambda h: h.get_nft_balances(), "account_id/address"),
            (lambda h: h.get_nft_balances(account_id=1, address="0x" + "1" * 40),
             "account_id/address"),
            (lambda h: h.get_nft_balances(account_id=-1), "account_id"),
            (lambda h: h.get_nft_balances(address="0xnothex"), "address"),
            (lambda h: h.get_nft_balances(account_id=1, limit=51), "limit"),
            (lambda h: h.get_nft_balances(account_id=1, limit=0), "limit"),
            (lambda h: h.get_nft_balances(account_id=1, nft_datas="0x1,0x2"), "nft_datas"),
            (lambda h: h.get_nft_balances(account_id=1, token_ids=["one"]), "token_ids"),
            (lambda h: list(h.iter_nft_balances(account_id=1, page_size=60)), "page_size"),
            (lambda h: h.get_collections(address="0x" + "1" * 40, limit=99), "limit"),
            (lambda h: h.get_collections(address="0x" + "1" * 40, token_address="x"),
             "token_address"),
            (lambda h: list(h.iter_collections(account_id=0)), "account_id"),
            (lambda h: h.get_account(), "account_id/address"),
        ],
    )  # fmt: skip
    def test_bad_input(self, sandbox, hook, call, parameter):
        with pytest.raises(LoopringInvalidParameterError) as caught:
            call(hook)
        assert caught.value.parameter == parameter
        assert sandbox.requests == []

    def test_plain_http_to_a_remote_host_is_refused(self, monkeypatch):
        use_connection(monkeypatch, "http://api3.loopring.io", "k" * 64)
        with pytest.raises(LoopringInvalidParameterError, match="clear text"):
            LoopringHook().get_nft_balances(account_id=1)


class TestSecretHygiene:
    def test_key_in_no_log_exception_or_repr(self, sandbox, caplog, capsys, account):
        hook = LoopringHook(backoff=FAST)
        sandbox.add_fault(Fault("status", status=503, path=BALANCES))
        sandbox.add_fault(
            Fault("status", status=404, times=None, path=api.COLLECTION_BALANCES.path)
        )
        with caplog.at_level(logging.DEBUG):
            hook.get_nft_balances(account_id=account["accountId"])
            with pytest.raises(LoopringApiError) as caught:
                hook.get_collections(account_id=account["accountId"])
        logged = caplog.text + capsys.readouterr().out  # Airflow's structlog prints to stdout
        assert "(try 2 of 4)" in logged  # the retry was logged
        texts = [
            logged,
            str(caught.value),
            repr(caught.value),
            repr(hook),
            repr(hook.settings),
            str(hook.__dict__),
        ]
        assert all(sandbox.api_key not in text for text in texts)
        assert all(sandbox.api_key not in str(r.to_dict()) for r in sandbox.requests)


class TestConnectionCheck:
    def test_good(self, sandbox):
        ok, message = LoopringHook().test_connection()
        assert ok, message

    def test_wrong_key(self, sandbox, monkeypatch):
        use_connection(monkeypatch, sandbox.url, "NotTheKey" * 6)
        ok, message = LoopringHook().test_connection()
        assert not ok
        assert "API key was rejected" in message

    def test_nothing_listening(self, monkeypatch):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        use_connection(monkeypatch, f"http://127.0.0.1:{port}", "k" * 64)
        ok, message = LoopringHook().test_connection()
        assert not ok
        assert "No Loopring API" in message and "connection failed" in message

    def test_a_web_server_that_is_not_loopring(self, monkeypatch):
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler
        )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            use_connection(monkeypatch, f"http://127.0.0.1:{server.server_port}", "k" * 64)
            ok, message = LoopringHook().test_connection()
        finally:
            server.shutdown()
            server.server_close()
        assert not ok
        assert "No Loopring API" in message
