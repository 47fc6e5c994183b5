"""The sans-IO core: validation, error envelopes, retry decisions, the token bucket, paging."""

from __future__ import annotations

import pickle
import random

import pytest

from airflow_provider_loopring import _core as api
from airflow_provider_loopring.exceptions import (
    LoopringApiError,
    LoopringAuthError,
    LoopringBadResponseError,
    LoopringInvalidParameterError,
    LoopringNotFoundError,
    LoopringRateLimitError,
    LoopringServerError,
)
from airflow_provider_loopring.hooks.budget import shared_bucket

ADDRESS = "0x8656920c85342d646E5286Cb841F90209272ABeb"
NFT_DATA = "0x20807f0870ed096cea763ec3db94f0e4a4cffdbe0ab09187ac9972c6fd6aaecb"
REQUEST = api.ApiRequest(api.NFT_BALANCES.path, {"accountId": "11329"})


class TestRequests:
    def test_balances_request_renders_every_documented_parameter(self):
        request = api.nft_balances_request(
            address=ADDRESS,
            nft_datas=[NFT_DATA],
            token_addrs=f"{ADDRESS}, {ADDRESS}",
            token_ids="32768,32769",
            offset=10,
            limit=30,
            non_zero=False,
            metadata=True,
        )
        assert request.path == "/api/v3/user/nft/balances"
        assert request.params == {
            "address": ADDRESS,
            "nftDatas": NFT_DATA,
            "tokenAddrs": f"{ADDRESS},{ADDRESS}",
            "tokenIds": "32768,32769",
            "offset": "10",
            "limit": "30",
            "nonZero": "false",
            "metadata": "true",
        }
        assert request.needs_key

    def test_account_request_needs_no_key(self):
        request = api.account_request(address=ADDRESS)
        assert request.params == {"owner": ADDRESS}
        assert not request.needs_key

    def test_collections_request_leaves_an_address_to_resolve(self):
        request, address = api.collections_request(address=ADDRESS, token_address=ADDRESS)
        assert address == ADDRESS
        assert "accountId" not in request.params
        assert request.with_params(accountId=7).params["accountId"] == "7"

    def test_describe_is_safe_for_logs(self):
        assert REQUEST.describe() == "GET /api/v3/user/nft/balances accountId=11329"

    @pytest.mark.parametrize(
        ("kwargs", "parameter"),
        [
            ({}, "account_id/address"),
            ({"account_id": 1, "address": ADDRESS}, "account_id/address"),
            ({"account_id": 0}, "account_id"),
            ({"account_id": -3}, "account_id"),
            ({"account_id": True}, "account_id"),
            ({"account_id": "12a"}, "account_id"),
            ({"address": "0x123"}, "address"),
            ({"address": ADDRESS + "0"}, "address"),
            ({"account_id": 1, "limit": 0}, "limit"),
            ({"account_id": 1, "limit": 51}, "limit"),
            ({"account_id": 1, "offset": -1}, "offset"),
            ({"account_id": 1, "nft_datas": ["0x12"]}, "nft_datas"),
            ({"account_id": 1, "nft_datas": {"0x1"}}, "nft_datas"),
            ({"account_id": 1, "token_addrs": ["nope"]}, "token_addrs"),
            ({"account_id": 1, "token_ids": ["x1"]}, "token_ids"),
            ({"account_id": 1, "non_zero": "yes"}, "non_zero"),
            ({"account_id": 1, "metadata": 1}, "metadata"),
        ],
    )
    def test_bad_input_names_the_parameter(self, kwargs, parameter):
        with pytest.raises(LoopringInvalidParameterError) as caught:
            api.nft_balances_request(**kwargs)
        assert caught.value.parameter == parameter
        assert f"Invalid {parameter}: expected" in str(caught.value)
        assert isinstance(caught.value, ValueError)

    def test_account_ids_and_token_ids_accept_digit_strings(self):
        request = api.nft_balances_request(account_id="12", token_ids=[" 5", 6])
        assert request.params["accountId"] == "12"
        assert request.params["tokenIds"] == "5,6"

    def test_native_mode_templates_turn_hex_into_ints_and_we_turn_them_back(self):
        # render_template_as_native_obj runs ast.literal_eval: "0x00ab.." becomes an int,
        # "0xa..,0xb.." a tuple of ints.
        request = api.nft_balances_request(
            address=int(ADDRESS, 16),
            nft_datas=(int(NFT_DATA, 16), int(NFT_DATA, 16)),
            token_ids=32768,
        )
        assert request.params["address"] == ADDRESS.lower()
        assert request.params["nftDatas"] == f"{NFT_DATA},{NFT_DATA}"
        assert request.params["tokenIds"] == "32768"
        with pytest.raises(LoopringInvalidParameterError, match="address"):
            api.check_address(16**40)

    def test_long_bad_values_are_shortened_in_the_message(self):
        with pytest.raises(LoopringInvalidParameterError) as caught:
            api.check_address("z" * 500)
        assert len(str(caught.value)) < 200


class TestResponses:
    def test_success_is_the_bare_json(self):
        assert api.parse_response(REQUEST, 200, {}, b'{"totalNum": 0, "data": []}') == {
            "totalNum": 0,
            "data": [],
        }

    @pytest.mark.parametrize(
        ("status", "body", "kind", "code", "message"),
        [
            (400, b'{"resultInfo":{"code":104002,"message":"invalid ApiKey"}}',
             LoopringAuthError, 104002, "invalid ApiKey"),
            (400, b'{"resultInfo":{"code":104001,"msg":"empty ApiKey"}}',
             LoopringAuthError, 104001, "empty ApiKey"),
            (400, b'{"resultInfo":{"code":101002,"message":"account not found"}}',
             LoopringNotFoundError, 101002, "account not found"),
            (200, b'{"code":101001,"msg":"address not found"}',
             LoopringNotFoundError, 101001, "address not found"),
            (200, b'{"code":100001,"message":"invalid argument"}',
             LoopringApiError, 100001, "invalid argument"),
            (429, b'{"resultInfo":{"code":100000,"message":"too many"}}',
             LoopringRateLimitError, 100000, "too many"),
            (503, b"Service Unavailable", LoopringServerError, None, "HTTP 503"),
            (502, b"<html><body>502 Bad Gateway</body></html>", LoopringServerError, None,
             "HTTP 502 with an HTML page (41 bytes)"),
            (401, b"", LoopringAuthError, None, "HTTP 401"),
        ],
    )  # fmt: skip
    def test_every_error_envelope(self, status, body, kind, code, message):
        with pytest.raises(LoopringApiError) as caught:
            api.parse_response(REQUEST, status, {}, body)
        error = caught.value
        assert type(error) is kind
        assert (error.code, error.http_status) == (code, status)
        assert message in str(error)
        assert error.endpoint == REQUEST.describe()

    def test_auth_and_not_found_say_what_to_do(self):
        with pytest.raises(LoopringAuthError, match="Check the API key"):
            api.parse_response(REQUEST, 400, {}, b'{"resultInfo":{"code":104002,"message":"x"}}')
        with pytest.raises(LoopringNotFoundError, match="no layer-2 account"):
            api.parse_response(REQUEST, 400, {}, b'{"resultInfo":{"code":101002,"message":"x"}}')

    def test_zero_code_is_success(self):
        body = b'{"resultInfo":{"code":0,"message":"SUCCESS"},"totalNum":0}'
        assert api.parse_response(REQUEST, 200, {}, body)["totalNum"] == 0

    @pytest.mark.parametrize("body", [b'{"totalNum": 3, "da', b"<html>oops</html>", b""])
    def test_unparseable_success_is_a_retryable_bad_response(self, body):
        with pytest.raises(LoopringBadResponseError) as caught:
            api.parse_response(REQUEST, 200, {}, body)
        assert caught.value.retryable
        assert "expected JSON" in str(caught.value)

    def test_wrong_shape_is_not_retried(self):
        def model(body):
            raise ValueError("data: expected a list")

        with pytest.raises(LoopringBadResponseError, match="data: expected a list") as caught:
            api.parse_model(REQUEST, {"data": "x"}, model)
        assert not caught.value.retryable

    def test_retry_after_is_read_from_a_429(self):
        with pytest.raises(LoopringRateLimitError) as caught:
            api.parse_response(REQUEST, 429, {"Retry-After": "2"}, b"{}")
        assert caught.value.retry_after == 2.0

    def test_retry_after_as_http_date(self):
        assert api.parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=4.0) == 6.0
        assert api.parse_retry_after("soon") is None
        assert api.parse_retry_after(None) is None

    def test_errors_survive_pickling(self):
        error = LoopringNotFoundError("gone", endpoint="GET /x", code=101002, http_status=400)
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is LoopringNotFoundError
        assert str(copy) == str(error)
        assert copy.code == 101002


class TestRetryPolicy:
    def error(self, kind=LoopringServerError, **kwargs):
        return kind("boom", endpoint="GET /x", **kwargs)

    def test_only_transient_errors_are_retried(self):
        policy = api.BackoffPolicy()
        assert policy.delay(0, self.error(), 0.0) is not None
        assert policy.delay(0, self.error(LoopringRateLimitError), 0.0) is not None
        assert policy.delay(0, self.error(LoopringAuthError), 0.0) is None
        assert policy.delay(0, self.error(LoopringApiError, code=100001), 0.0) is None

    def test_backoff_grows_and_is_jittered_within_bounds(self):
        policy = api.BackoffPolicy(backoff=1.0, max_backoff=5.0)
        rng = random.Random(3)
        waits = [policy.delay(n, self.error(), 0.0, rng) for n in range(5)]
        ceilings = [1, 2, 4, 5, 5]
        assert all(0 <= w <= c for w, c in zip(waits, ceilings, strict=True))
        assert len(set(waits)) == len(waits)

    def test_retry_after_is_honoured(self):
        error = self.error(LoopringRateLimitError)
        error.retry_after = 7.0
        assert api.BackoffPolicy(max_backoff=1.0).delay(0, error, 0.0) == 7.0

    def test_attempts_and_total_time_are_bounded(self):
        policy = api.BackoffPolicy(max_retries=2, max_elapsed=10.0)
        assert policy.delay(2, self.error(), 0.0) is None
        error = self.error(LoopringRateLimitError)
        error.retry_after = 5.0
        assert policy.delay(0, error, 6.0) is None

    def test_attempts_raise_the_error_when_done(self):
        clock = iter(range(100)).__next__
        attempts = api.Attempts(api.BackoffPolicy(max_retries=1), clock=clock)
        attempts.wait_after(self.error())
        with pytest.raises(LoopringServerError):
            attempts.wait_after(self.error())


class TestTokenBucket:
    def test_spaces_requests_at_the_rate(self):
        now = [0.0]
        bucket = api.TokenBucket(4.0, clock=lambda: now[0])
        assert [bucket.reserve() for _ in range(3)] == [0.0, 0.25, 0.5]
        now[0] = 10.0
        assert bucket.reserve() == 0.0

    def test_pause_holds_every_caller(self):
        now = [0.0]
        bucket = api.TokenBucket(10.0, clock=lambda: now[0])
        bucket.pause(2.0)
        assert bucket.reserve() == 2.0

    def test_shared_per_connection_and_rate(self):
        assert shared_bucket("a@h", 5) is shared_bucket("a@h", 5)
        assert shared_bucket("a@h", 5) is not shared_bucket("b@h", 5)

    def test_rate_must_be_positive(self):
        with pytest.raises(LoopringInvalidParameterError, match="requests_per_second"):
            api.TokenBucket(0)


class TestPager:
    def walk(self, pages, page_size=2):
        """Feed the pager scripted pages: each (totalNum, items); returns what it yields."""
        pager = api.Pager(page_size, key=lambda item: item)
        got, offsets = [], []
        for total, items in pages:
            offsets.append(pager.offset)
            got += pager.accept(REQUEST, total, items)
            if pager.done:
                break
        return got, offsets, pager

    def test_all_pages_until_total(self):
        got, offsets, pager = self.walk([(5, [1, 2]), (5, [3, 4]), (5, [5])])
        assert got == [1, 2, 3, 4, 5]
        assert offsets == [0, 2, 4]
        assert pager.done

    def test_exact_multiple_ends_without_an_extra_request(self):
        got, offsets, pager = self.walk([(4, [1, 2]), (4, [3, 4]), (4, [])])
        assert pager.done
        assert offsets == [0, 2]
        assert got == [1, 2, 3, 4]

    def test_duplicates_from_shifting_items_are_dropped(self):
        # Item 0 is inserted at the front after the first page: everything shifts by one.
        got, offsets, _ = self.walk([(5, [1, 2]), (6, [2, 3]), (6, [4, 5])])
        assert got == [1, 2, 3, 4, 5]
        assert offsets == [0, 2, 4]

    def test_shrinking_total_steps_back(self):
        # Items 1 and 2 are removed after the first page: 3 and 4 move into offsets 0 and 1.
        got, offsets, pager = self.walk([(5, [1, 2]), (3, [5]), (3, [3, 4]), (3, [5])])
        assert got == [1, 2, 5, 3, 4]
        assert offsets == [0, 2, 0, 2]
        assert pager.done

    def test_growing_total_is_followed(self):
        got, _, _ = self.walk([(3, [1, 2]), (5, [3, 4]), (5, [5])])
        assert got == [1, 2, 3, 4, 5]

    def test_a_transient_empty_page_is_asked_again(self):
        got, offsets, pager = self.walk([(4, [1, 2]), (4, []), (4, [3, 4])])
        assert got == [1, 2, 3, 4]
        assert offsets == [0, 2, 2]
        assert pager.done

    def test_a_persistent_short_page_is_an_error_not_a_partial_result(self):
        with pytest.raises(LoopringBadResponseError, match="totalNum is 9") as caught:
            self.walk([(9, [1, 2]), (9, [3]), (9, [3])])
        assert caught.value.retryable

    def test_a_server_ignoring_offset_is_an_error_not_a_loop(self):
        with pytest.raises(LoopringBadResponseError, match="same items"):
            self.walk([(10, [1, 2])] * 10)


class TestConnectionSettings:
    def test_defaults(self):
        settings = api.connection_settings(None, None, "k" * 64, {})
        assert settings.base_url == "https://api3.loopring.io"
        assert (settings.requests_per_second, settings.max_retries, settings.timeout) == (5, 5, 30)

    def test_extras_from_strings_and_numbers(self):
        extra = {"requests_per_second": "20", "max_retries": 2, "timeout": "1.5"}
        settings = api.connection_settings("uat2.loopring.io/", None, "k", extra)
        assert settings.base_url == "https://uat2.loopring.io"
        assert (settings.requests_per_second, settings.max_retries, settings.timeout) == (
            20.0, 2, 1.5,
        )  # fmt: skip

    def test_key_is_not_in_repr(self):
        key = "SECRETKEY" * 7
        assert key not in repr(api.connection_settings(None, None, key, {}))

    @pytest.mark.parametrize(
        "host",
        [
            "http://api3.loopring.io",
            "http://10.0.0.5:8080",
            "http://127.0.0.1.nip.io",  # looks like loopback, resolves anywhere
            "http://localhost.example.com",
        ],
    )
    def test_plain_http_to_a_remote_host_is_refused(self, host):
        with pytest.raises(LoopringInvalidParameterError, match="clear text"):
            api.connection_settings(host, None, "k", {})

    @pytest.mark.parametrize(
        "host", ["http://127.0.0.1:8080", "http://127.0.0.2", "http://localhost", "http://[::1]:9"]
    )
    def test_plain_http_to_loopback_is_allowed(self, host):
        assert api.connection_settings(host, None, "k", {}).base_url.startswith("http://")

    @pytest.mark.parametrize(
        ("extra", "name"),
        [
            ({"requests_per_second": 0}, "requests_per_second"),
            ({"requests_per_second": "fast"}, "requests_per_second"),
            ({"max_retries": 1.5}, "max_retries"),
            ({"max_retries": -1}, "max_retries"),
            ({"timeout": True}, "timeout"),
        ],
    )
    def test_bad_extras_are_named(self, extra, name):
        with pytest.raises(LoopringInvalidParameterError, match=name):
            api.connection_settings(None, None, "k", extra)
