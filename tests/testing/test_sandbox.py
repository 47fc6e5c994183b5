"""The sandbox against Loopring's documented behaviour, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from airflow_provider_loopring.testing import (
    DEFAULT_API_KEY,
    Fault,
    LoopringSandbox,
    RequestRecord,
    SandboxClient,
    SandboxError,
)

DATA = Path(__file__).parent / "test_data"
ACCOUNT = "/api/v3/account"
BALANCES = "/api/v3/user/nft/balances"
COLLECTIONS = "/api/v3/user/collection/details"
REPO = Path(__file__).resolve().parents[2]


def fixture(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text())


class Api:
    """A requests session against one sandbox; proxies from the environment are ignored."""

    def __init__(self, sandbox: LoopringSandbox) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.trust_env = False

    def get(self, path: str, key: str | None = "default", **params: Any) -> requests.Response:
        headers = {}
        if key is not None:
            headers["X-API-KEY"] = self.sandbox.api_key if key == "default" else key
        return self.session.get(self.sandbox.url + path, params=params, headers=headers, timeout=10)

    def ok(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def error(self, path: str, status: int = 400, **params: Any) -> int:
        """The Loopring error code of a request that must fail."""
        response = self.get(path, **params)
        assert response.status_code == status, response.text
        return int(response.json()["resultInfo"]["code"])


@pytest.fixture
def api(loopring_sandbox: LoopringSandbox) -> Iterator[Api]:
    client = Api(loopring_sandbox)
    yield client
    client.session.close()


def first_id(sandbox: LoopringSandbox) -> int:
    return int(sandbox.accounts[0]["accountId"])


def all_pages(
    api: Api, path: str, key: str, limit: int, **params: Any
) -> tuple[list[Any], set[int]]:
    """Every item of a paged endpoint, and the set of totalNum values seen on the way."""
    items: list[Any] = []
    totals = set()
    while True:
        page = api.ok(path, offset=len(items), limit=limit, **params)
        totals.add(page["totalNum"])
        items += page[key]
        if not page[key]:
            return items, totals


# -- GET /api/v3/account --


def test_account_by_id_and_by_owner_in_any_case(api: Api) -> None:
    account = api.sandbox.accounts[0]
    assert api.ok(ACCOUNT, key=None, accountId=account["accountId"]) == account
    assert api.ok(ACCOUNT, key=None, owner=account["owner"].lower()) == account
    assert api.ok(ACCOUNT, key=None, owner="0x" + account["owner"][2:].upper()) == account
    assert list(account) == list(fixture("account__uat2__docs-get-account-info"))
    assert account["owner"] != account["owner"].lower()  # checksum-looking mixed case


def test_account_not_found_is_the_documented_envelope(api: Api) -> None:
    expected = fixture("account__uat2__error-101002-account-not-found")
    for params in ({"accountId": 1}, {"owner": "0x" + "ab" * 20}):
        response = api.get(ACCOUNT, key=None, **params)
        assert (response.status_code, response.json()) == (400, expected)


@pytest.mark.parametrize("params", [{}, {"owner": "0x123"}, {"accountId": "abc"}])
def test_account_rejects_bad_arguments(api: Api, params: dict[str, Any]) -> None:
    assert api.error(ACCOUNT, key=None, **params) == 100001


# -- GET /api/v3/user/nft/balances --


def test_balance_items_are_shaped_like_the_captured_ones(api: Api) -> None:
    account_id = first_id(api.sandbox)
    plain = api.ok(BALANCES, accountId=account_id)
    documented = fixture("user_nft_balances__uat2__docs-get-nft-assets")
    assert list(plain) == list(documented) == ["totalNum", "data"]
    assert set(documented["data"][0]) <= set(plain["data"][0])
    assert "metadata" not in plain["data"][0]

    rich = api.ok(BALANCES, accountId=account_id, metadata="true")["data"]
    captured = fixture("user_nft_collection_balances__uat2__metadata-true__docs")["data"][0]
    item = next(i for i in rich if i["metadata"] is not None)
    assert [k for k in item if k != "balanceUpdatedAt"] == list(captured)
    for part in ("base", "imageSize", "extra"):
        assert list(item["metadata"][part]) == list(captured["metadata"][part])
    assert list(item["metadata"]) == list(captured["metadata"])
    assert list(item["collectionInfo"]) == list(captured["collectionInfo"])
    assert isinstance(item["total"], str) and isinstance(item["pending"]["deposit"], str)


def test_balances_hold_the_real_apis_quirks(api: Api) -> None:
    items = api.ok(BALANCES, accountId=first_id(api.sandbox), metadata="true", limit=50)["data"]
    assert any(i["metadata"] is None for i in items)
    with_metadata = [i for i in items if i["metadata"]]
    for item in with_metadata:
        # metadata.nftId is "0x" + DECIMAL digits of the item's hex nftId
        assert int(item["metadata"]["nftId"][2:]) == int(item["nftId"], 16)
    assert any(len(i["nftId"]) < 66 for i in items)  # leading zeros dropped
    assert all(len(i["nftId"]) <= 66 and int(i["nftId"], 16) >= 0 for i in items)
    for item in items:
        assert item["tokenAddress"].lower() == item["collectionInfo"]["contractAddress"].lower()
    assert any(i["tokenAddress"] != i["tokenAddress"].lower() for i in items)


def test_paging_walks_every_non_zero_balance_in_order(api: Api) -> None:
    account_id = first_id(api.sandbox)
    items, totals = all_pages(api, BALANCES, "data", 7, accountId=account_id, metadata="true")
    expected = api.sandbox.balances(account_id, non_zero=True)
    assert items == expected and totals == {len(expected)}
    assert len(expected) < len(api.sandbox.balances(account_id))  # some totals are "0"
    plain, _ = all_pages(api, BALANCES, "data", 50, accountId=account_id)
    assert plain == api.sandbox.balances(account_id, non_zero=True, metadata=False)


def test_limit_defaults_to_20_and_is_cut_to_50(api: Api) -> None:
    account_id = first_id(api.sandbox)
    everything = api.sandbox.balances(account_id)
    assert len(api.ok(BALANCES, accountId=account_id, nonZero="false")["data"]) == 20
    for asked in (50, 51, 1000):
        page = api.ok(BALANCES, accountId=account_id, nonZero="false", limit=asked)
        assert len(page["data"]) == min(50, len(everything))
        assert page["totalNum"] == len(everything)
    beyond = api.ok(BALANCES, accountId=account_id, offset=10_000)
    assert beyond["data"] == [] and beyond["totalNum"] > 0


def test_non_zero_hides_zero_balances_unless_false(api: Api) -> None:
    account_id = first_id(api.sandbox)
    default = api.ok(BALANCES, accountId=account_id, limit=50)
    everything = api.ok(BALANCES, accountId=account_id, limit=50, nonZero="false")
    assert all(i["total"] != "0" for i in default["data"])
    assert any(i["total"] == "0" for i in everything["data"])
    assert everything["totalNum"] == len(api.sandbox.balances(account_id))
    assert default["totalNum"] == len(api.sandbox.balances(account_id, non_zero=True))


def test_filters_select_by_nft_data_token_address_and_token_id(api: Api) -> None:
    account_id = first_id(api.sandbox)
    held = api.sandbox.balances(account_id)
    wanted = [held[1]["nftData"], held[3]["nftData"].upper().replace("0X", "0x")]
    by_data = api.ok(BALANCES, accountId=account_id, nonZero="false", nftDatas=",".join(wanted))
    assert [i["nftData"] for i in by_data["data"]] == [held[1]["nftData"], held[3]["nftData"]]

    token = held[0]["tokenAddress"]
    same_token = [i for i in held if i["tokenAddress"] == token]
    for spelling in (token, token.lower()):
        page = api.ok(
            BALANCES, accountId=account_id, nonZero="false", tokenAddrs=spelling, limit=50
        )
        assert page["totalNum"] == len(same_token)

    ids = f"{held[0]['tokenId']},{held[2]['tokenId']}"
    by_id = api.ok(BALANCES, accountId=account_id, nonZero="false", tokenIds=ids)
    assert {i["tokenId"] for i in by_id["data"]} == {held[0]["tokenId"], held[2]["tokenId"]}

    by_address = api.ok(BALANCES, address=api.sandbox.accounts[0]["owner"].lower())
    assert by_address == api.ok(BALANCES, accountId=account_id)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"offset": "abc"},
        {"offset": "-1"},
        {"limit": "0"},
        {"nonZero": "maybe"},
        {"metadata": "yes"},
        {"tokenAddrs": "0xnothex"},
        {"tokenIds": "abc"},
        {"address": "0x12"},
    ],
)
def test_balances_reject_invalid_arguments(api: Api, params: dict[str, Any]) -> None:
    if params and "address" not in params:
        params = {"accountId": str(first_id(api.sandbox)), **params}
    assert api.error(BALANCES, **params) == 100001


def test_balances_of_unknown_accounts_are_101002(api: Api) -> None:
    assert api.error(BALANCES, accountId=1) == 101002
    assert api.error(BALANCES, address="0x" + "cd" * 20) == 101002


@pytest.mark.parametrize("path", [BALANCES, COLLECTIONS])
def test_key_missing_or_wrong_is_refused(api: Api, path: str) -> None:
    account_id = first_id(api.sandbox)
    assert api.error(path, key=None, accountId=account_id) == 104001
    assert api.error(path, key="", accountId=account_id) == 104001
    assert api.error(path, key="x" * 64, accountId=account_id) == 104002


# -- GET /api/v3/user/collection/details --


def test_collections_are_shaped_like_the_captured_ones(api: Api) -> None:
    page = api.ok(COLLECTIONS, accountId=first_id(api.sandbox))
    captured = fixture(
        "user_collection_details__uat2__docs-list-users-nft-balances-group-by-collection-id"
    )
    assert list(page) == list(captured) == ["collections", "totalNum"]
    entry, documented = page["collections"][0], captured["collections"][0]
    assert list(entry) == list(documented)
    assert list(entry["collection"]) == list(documented["collection"])
    assert list(entry["collection"]["extra"]["properties"]) == list(
        documented["collection"]["extra"]["properties"]
    )


def test_collection_counts_agree_with_balances(api: Api) -> None:
    account_id = first_id(api.sandbox)
    for non_zero in ("true", "false"):
        entries, totals = all_pages(
            api, COLLECTIONS, "collections", 2, accountId=account_id, nonZero=non_zero
        )
        balances = api.ok(BALANCES, accountId=account_id, nonZero=non_zero)
        assert sum(e["count"] for e in entries) == balances["totalNum"]
        assert totals == {len(entries)}
        assert entries == api.sandbox.collections(account_id, non_zero=non_zero == "true")
    held = api.sandbox.balances(account_id)
    contracts = {e["collection"]["contractAddress"] for e in entries}
    assert contracts == {i["collectionInfo"]["contractAddress"] for i in held}
    owners = {e["collection"]["owner"].lower() for e in entries}
    assert len(owners) == 2  # NFTs from the neighbouring account's collections too


def test_collection_addresses_come_in_every_documented_form(api: Api) -> None:
    entries = api.ok(COLLECTIONS, accountId=first_id(api.sandbox), limit=50)["collections"]
    addresses = [e["collection"]["collectionAddress"] for e in entries]
    assert any(a.startswith("https://") for a in addresses)
    assert any(len(a) == 42 for a in addresses)  # a plain 0x address
    assert any("-0x" in a for a in addresses)  # legacy "0x..-0x.."


def test_collection_filter_paging_and_errors(api: Api) -> None:
    account_id = first_id(api.sandbox)
    entries = api.ok(COLLECTIONS, accountId=account_id, limit=50)["collections"]
    contract = entries[1]["collection"]["contractAddress"]
    only = api.ok(
        COLLECTIONS, accountId=account_id, tokenAddress=contract.upper().replace("0X", "0x")
    )
    assert only["totalNum"] == 1 and only["collections"] == [entries[1]]
    assert len(api.ok(COLLECTIONS, accountId=account_id, limit=1, offset=1)["collections"]) == 1
    owner = api.sandbox.accounts[0]["owner"]
    assert api.error(COLLECTIONS, address=owner) == 100001  # this endpoint takes no address
    assert api.error(COLLECTIONS, accountId=account_id, tokenAddress="nope") == 100001
    assert api.error(COLLECTIONS, accountId=1) == 101002


def test_unknown_paths_and_methods(api: Api) -> None:
    assert api.error("/api/v3/nope", status=404) == 100000
    response = api.session.post(api.sandbox.url + ACCOUNT, timeout=10)
    assert response.status_code == 405


# -- data --


def test_same_seed_same_data_in_any_order() -> None:
    one = LoopringSandbox(accounts=3, nfts_per_account=25, seed=5)
    two = LoopringSandbox(accounts=3, nfts_per_account=25, seed=5)
    ids = [a["accountId"] for a in one.accounts]
    assert one.accounts == two.accounts
    reversed_first = [two.balances(i) for i in reversed(ids)][::-1]
    assert [one.balances(i) for i in ids] == reversed_first
    other = LoopringSandbox(accounts=3, nfts_per_account=25, seed=6)
    assert other.accounts != one.accounts and other.api_key != one.api_key
    assert LoopringSandbox().api_key == DEFAULT_API_KEY
    assert len(DEFAULT_API_KEY) == 64 and DEFAULT_API_KEY.isalnum()


def test_statuses_are_mostly_deployed_and_consistent() -> None:
    sandbox = LoopringSandbox(accounts=4, nfts_per_account=40)
    items = [i for a in sandbox.accounts for i in sandbox.balances(a["accountId"])]
    statuses = [i["deploymentStatus"] for i in items]
    assert statuses.count("DEPLOYED") > len(items) / 2
    assert {"NOT_DEPLOYED", "DEPLOYING"} <= set(statuses)
    assert all(i["deploymentStatus"] == i["collectionInfo"]["deployStatus"] for i in items)


def test_accessors_return_copies(loopring_sandbox: LoopringSandbox) -> None:
    account_id = first_id(loopring_sandbox)
    loopring_sandbox.balances(account_id)[0]["collectionInfo"]["name"] = "changed"
    loopring_sandbox.accounts[0]["owner"] = "changed"
    assert loopring_sandbox.balances(account_id)[0]["collectionInfo"]["name"] != "changed"
    assert loopring_sandbox.accounts[0]["owner"] != "changed"


def test_big_data_sets_start_fast() -> None:
    started = time.monotonic()
    sandbox = LoopringSandbox(accounts=100, nfts_per_account=1000)
    sandbox.balances(sandbox.accounts[50]["accountId"])
    assert time.monotonic() - started < 2.0  # accounts are made lazily, one at a time


# -- statuses --


def shared_nft(sandbox: LoopringSandbox) -> str:
    """An nftData held by the first two accounts."""
    first, second = (a["accountId"] for a in sandbox.accounts[:2])
    seconds = {i["nftData"] for i in sandbox.balances(second)}
    return next(i["nftData"] for i in sandbox.balances(first) if i["nftData"] in seconds)


def test_set_nft_status_changes_every_holder(api: Api) -> None:
    sandbox = api.sandbox
    nft_data = shared_nft(sandbox)
    sandbox.set_nft_status(nft_data, "DEPLOYING")
    for account in sandbox.accounts[:2]:
        page = api.ok(BALANCES, accountId=account["accountId"], nftDatas=nft_data, nonZero="false")
        assert [i["deploymentStatus"] for i in page["data"]] == ["DEPLOYING"]
    with pytest.raises(KeyError):
        sandbox.set_nft_status("0x" + "0" * 64, "DEPLOYED")


def test_set_collection_status_changes_the_collection_and_its_nfts(api: Api) -> None:
    account_id = first_id(api.sandbox)
    collection = api.sandbox.collections(account_id)[0]["collection"]
    api.sandbox.set_collection_status(collection["id"], "DEPLOY_FAILED")
    entries = api.ok(COLLECTIONS, accountId=account_id, tokenAddress=collection["contractAddress"])
    assert entries["collections"][0]["collection"]["deployStatus"] == "DEPLOY_FAILED"
    items = api.ok(BALANCES, accountId=account_id, tokenAddrs=collection["contractAddress"])["data"]
    assert items and all(i["deploymentStatus"] == "DEPLOY_FAILED" for i in items)
    assert all(i["collectionInfo"]["deployStatus"] == "DEPLOY_FAILED" for i in items)
    with pytest.raises(KeyError):
        api.sandbox.set_collection_status(-1, "DEPLOYED")


def test_nft_schedule_advances_per_response_that_shows_the_nft(api: Api) -> None:
    account_id = first_id(api.sandbox)
    held = api.sandbox.balances(account_id, non_zero=True)
    watched, other = held[0]["nftData"], held[1]["nftData"]
    api.sandbox.schedule_nft_status(watched, ["NOT_DEPLOYED", "DEPLOYING", "DEPLOYED"], every=2)

    def poll() -> str:
        api.ok(BALANCES, accountId=account_id, nftDatas=other)  # does not show it: no step
        api.sandbox.add_fault(Fault("status", status=503))  # nor does a failed response
        api.get(BALANCES, accountId=account_id, nftDatas=watched)
        return str(
            api.ok(BALANCES, accountId=account_id, nftDatas=watched)["data"][0]["deploymentStatus"]
        )

    seen = [poll() for _ in range(7)]
    assert seen == ["NOT_DEPLOYED"] * 2 + ["DEPLOYING"] * 2 + ["DEPLOYED"] * 3


def test_collection_schedule_advances_and_carries_its_nfts(api: Api) -> None:
    account_id = first_id(api.sandbox)
    collection = api.sandbox.collections(account_id)[0]["collection"]
    contract = collection["contractAddress"]
    api.sandbox.schedule_collection_status(collection["id"], ["DEPLOYING", "DEPLOYED"], every=1)

    def status() -> str:
        page = api.ok(COLLECTIONS, accountId=account_id, tokenAddress=contract)
        return str(page["collections"][0]["collection"]["deployStatus"])

    assert [status(), status(), status()] == ["DEPLOYING", "DEPLOYED", "DEPLOYED"]
    items = api.ok(BALANCES, accountId=account_id, tokenAddrs=contract)["data"]
    assert {i["deploymentStatus"] for i in items} == {"DEPLOYED"}
    with pytest.raises(ValueError):
        api.sandbox.schedule_collection_status(collection["id"], [], every=1)


# -- faults --


def test_status_fault_with_retry_after(api: Api) -> None:
    api.sandbox.add_fault(Fault("status", status=503, retry_after=7, code=100000, message="busy"))
    response = api.get(ACCOUNT, accountId=first_id(api.sandbox))
    assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    assert response.json() == {"resultInfo": {"code": 100000, "message": "busy"}}
    assert api.get(ACCOUNT, accountId=first_id(api.sandbox)).status_code == 200  # used up


def test_html_fault_is_a_cdn_page(api: Api) -> None:
    api.sandbox.add_fault(Fault("html"))
    response = api.get(BALANCES, accountId=first_id(api.sandbox))
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text and "502 Bad Gateway" in response.text


def test_truncated_fault_cuts_the_real_body(api: Api) -> None:
    account_id = first_id(api.sandbox)
    real = api.get(BALANCES, accountId=account_id).content
    api.sandbox.add_fault(Fault("truncated"))
    response = api.get(BALANCES, accountId=account_id)
    assert response.status_code == 200 and response.content == real[: len(real) // 2]
    with pytest.raises(ValueError):
        response.json()


@pytest.mark.parametrize("body", [None, {"totalNum": 3, "data": "oops"}])
def test_malformed_fault_is_valid_json_of_the_wrong_shape(api: Api, body: Any) -> None:
    api.sandbox.add_fault(Fault("malformed", body=body))
    got = api.ok(BALANCES, accountId=first_id(api.sandbox))
    assert got == (body if body is not None else {"unexpected": []})


def test_error_envelope_fault_is_flat_with_http_200(api: Api) -> None:
    api.sandbox.add_fault(Fault("error_envelope", code=104002, message="invalid apiKey"))
    assert api.ok(BALANCES, accountId=first_id(api.sandbox)) == {
        "code": 104002,
        "msg": "invalid apiKey",
    }
    api.sandbox.add_fault(Fault("error_envelope"))
    assert api.ok(BALANCES, accountId=first_id(api.sandbox))["code"] == 100000


def test_reset_fault_drops_the_connection(api: Api) -> None:
    api.sandbox.add_fault(Fault("reset"))
    with pytest.raises(requests.ConnectionError):
        api.get(ACCOUNT, accountId=first_id(api.sandbox))
    assert api.get(ACCOUNT, accountId=first_id(api.sandbox)).status_code == 200
    assert [(r.status, r.fault) for r in api.sandbox.requests] == [(0, "reset"), (200, None)]


def test_delay_fault_answers_late_or_times_the_client_out(api: Api) -> None:
    account_id = first_id(api.sandbox)
    api.sandbox.add_fault(Fault("delay", seconds=0.2))
    started = time.monotonic()
    assert api.ok(ACCOUNT, accountId=account_id)["accountId"] == account_id
    assert time.monotonic() - started >= 0.2
    api.sandbox.add_fault(Fault("delay", seconds=30))  # stop() cancels the sleeping answer
    with pytest.raises(requests.Timeout):
        api.session.get(api.sandbox.url + ACCOUNT, params={"accountId": account_id}, timeout=0.2)
    # Logged on arrival: the timed-out request is there, its answer still pending.
    assert [(r.status, r.fault) for r in api.sandbox.requests] == [(200, "delay"), (0, "delay")]


def test_raw_fault_sends_its_body_as_is(api: Api) -> None:
    api.sandbox.add_fault(Fault("raw", body='{"totalNum": NaN, "data": []}'))
    response = api.get(BALANCES, accountId=first_id(api.sandbox))
    assert response.status_code == 200 and response.text == '{"totalNum": NaN, "data": []}'


def test_status_fault_sends_any_retry_after_text(api: Api) -> None:
    when = "Fri, 01 Jan 99999 00:00:00 GMT"
    api.sandbox.add_fault(Fault("status", status=429, retry_after=when))
    assert api.get(ACCOUNT, accountId=first_id(api.sandbox)).headers["Retry-After"] == when


def test_drip_fault_sends_the_real_answer_a_byte_at_a_time(api: Api) -> None:
    account_id = first_id(api.sandbox)
    real = api.get(ACCOUNT, accountId=account_id).content
    api.sandbox.add_fault(Fault("drip", seconds=0.001))
    api.sandbox.add_fault(Fault("drip_head", seconds=0.001))
    for _ in range(2):
        response = api.get(ACCOUNT, accountId=account_id)
        assert response.status_code == 200 and response.content == real
    assert [r.cut for r in api.sandbox.requests] == [False, False, False]


@pytest.mark.parametrize(
    ("fault", "encoding"),
    [
        (Fault("huge", size=8 << 20), None),
        (Fault("endless"), None),
        (Fault("gzip_bomb", size=64 << 20), "gzip"),
    ],
    ids=["huge", "endless", "gzip-bomb"],
)
def test_hostile_bodies_stream_until_the_client_hangs_up(
    api: Api, fault: Fault, encoding: str | None
) -> None:
    api.sandbox.add_fault(fault)
    url = f"{api.sandbox.url}{BALANCES}?accountId={first_id(api.sandbox)}"
    with requests.get(url, stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers.get("Content-Encoding") == encoding
        if fault.kind == "huge":
            assert response.headers["Content-Length"] == str(fault.size)
        else:
            assert response.headers["Transfer-Encoding"] == "chunked"
    assert api.sandbox.wait_for_requests(lambda records: records[0].cut)


def test_a_hostile_body_read_to_its_end_is_not_cut(api: Api) -> None:
    api.sandbox.add_fault(Fault("huge", size=3 << 20))
    response = api.get(BALANCES, accountId=first_id(api.sandbox))
    assert len(response.content) == 3 << 20 and response.json()["totalNum"] == 0
    api.sandbox.add_fault(Fault("gzip_bomb", size=3 << 20))
    assert len(api.get(BALANCES, accountId=first_id(api.sandbox)).content) == 3 << 20
    assert [r.cut for r in api.sandbox.requests] == [False, False]


def test_transform_fault_reshapes_the_real_body(api: Api) -> None:
    account_id = first_id(api.sandbox)
    seen_queries = []

    def repeat_first_item(body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        seen_queries.append(query)
        body["data"][1] = body["data"][0]
        body["totalNum"] -= 5
        return body

    real = api.ok(BALANCES, accountId=account_id, limit=3)
    api.sandbox.add_fault(Fault("transform", path=BALANCES, transform=repeat_first_item))
    changed = api.ok(BALANCES, accountId=account_id, limit=3)
    assert changed["data"][1] == changed["data"][0] == real["data"][0]
    assert changed["totalNum"] == real["totalNum"] - 5
    assert seen_queries == [{"accountId": str(account_id), "limit": "3"}]
    assert api.ok(BALANCES, accountId=account_id, limit=3) == real  # the live data is untouched


def test_faults_match_paths_and_are_used_up_in_order(api: Api) -> None:
    account_id = first_id(api.sandbox)
    api.sandbox.add_fault(Fault("status", path=BALANCES, status=500, times=2))
    api.sandbox.add_fault(Fault("status", status=504))
    assert api.get(ACCOUNT, accountId=account_id).status_code == 504  # first matching
    statuses = [api.get(BALANCES, accountId=account_id).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    api.sandbox.add_fault(Fault("status", status=429, times=None))
    assert [api.get(ACCOUNT, accountId=account_id).status_code for _ in range(3)] == [429] * 3
    api.sandbox.clear_faults()
    assert api.get(ACCOUNT, accountId=account_id).status_code == 200


def test_fault_validation() -> None:
    with pytest.raises(ValueError):
        Fault("explode")
    with pytest.raises(ValueError):
        Fault("transform")
    with pytest.raises(ValueError):
        Fault("status", times=0)
    assert Fault.from_dict(Fault("html", path=ACCOUNT).to_dict()) == Fault("html", path=ACCOUNT)


# -- rate limit and latency --


@pytest.mark.loopring_sandbox(rate_limit=3)
def test_rate_limit_answers_429_with_retry_after(api: Api) -> None:
    account_id = first_id(api.sandbox)
    responses = [api.get(ACCOUNT, accountId=account_id) for _ in range(8)]
    statuses = [r.status_code for r in responses]
    assert statuses[:3] == [200] * 3 and 429 in statuses
    limited = next(r for r in responses if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["resultInfo"]["code"] == 100000
    assert "rate_limit" in {r.fault for r in api.sandbox.requests}
    assert SandboxClient(api.sandbox.url).accounts  # admin requests are never limited
    api.sandbox.set_rate_limit(None)
    assert all(api.get(ACCOUNT, accountId=account_id).ok for _ in range(5))


def test_latency_delays_answers_without_blocking_other_clients(
    loopring_sandbox: LoopringSandbox,
) -> None:
    loopring_sandbox.set_latency(0.5)
    url = f"{loopring_sandbox.url}{ACCOUNT}?accountId={first_id(loopring_sandbox)}"

    async def ten_clients() -> tuple[float, list[float]]:
        async with httpx.AsyncClient(trust_env=False) as client:

            async def answered_at() -> float:
                (await client.get(url)).raise_for_status()
                return time.monotonic()

            started = time.monotonic()
            return started, list(await asyncio.gather(*(answered_at() for _ in range(10))))

    started, answered = asyncio.run(ten_clients())
    assert min(answered) - started >= 0.5
    read = [record.time for record in loopring_sandbox.requests]
    assert len(read) == 10
    # Every request was read before the first answer left: one sleeping answer holds no other.
    assert max(read) < min(answered)


# -- request log --


def test_request_log_records_api_requests_but_never_the_key(api: Api) -> None:
    account_id = first_id(api.sandbox)
    api.ok(BALANCES, accountId=account_id, limit=2)
    api.get(BALANCES, key="wrong-key-" + "y" * 54, accountId=account_id)
    api.sandbox.add_fault(Fault("html"))
    api.get(ACCOUNT, accountId=account_id, apiKey=api.sandbox.api_key)  # a careless client
    assert SandboxClient(api.sandbox.url).accounts  # admin: not recorded
    records = api.sandbox.requests
    assert [(r.method, r.path, r.status, r.fault) for r in records] == [
        ("GET", BALANCES, 200, None),
        ("GET", BALANCES, 400, None),
        ("GET", ACCOUNT, 502, "html"),
    ]
    assert records[0].query == {"accountId": str(account_id), "limit": "2"}
    assert records[0].time <= records[1].time <= records[2].time <= time.monotonic()
    assert api.sandbox.api_key not in repr(records)
    api.sandbox.clear_requests()
    assert api.sandbox.requests == []


# -- admin API and SandboxClient --


def test_sandbox_client_mirrors_the_sandbox(api: Api) -> None:
    sandbox, client = api.sandbox, SandboxClient(api.sandbox.url)
    account_id = first_id(sandbox)
    initial = sandbox.collections(account_id)
    assert client.api_key == sandbox.api_key
    assert client.accounts == sandbox.accounts
    assert client.balances(account_id) == sandbox.balances(account_id)
    assert client.balances(account_id, True, False) == sandbox.balances(account_id, True, False)
    assert client.collections(account_id, non_zero=False) == sandbox.collections(account_id, False)

    nft_data = sandbox.balances(account_id, non_zero=True)[0]["nftData"]
    client.set_nft_status(nft_data, "DEPLOYING")
    assert (
        api.ok(BALANCES, accountId=account_id, nftDatas=nft_data)["data"][0]["deploymentStatus"]
        == "DEPLOYING"
    )
    collection_id = sandbox.collections(account_id)[0]["collection"]["id"]
    client.set_collection_status(collection_id, "NOT_DEPLOYED")
    assert sandbox.collections(account_id)[0]["collection"]["deployStatus"] == "NOT_DEPLOYED"
    client.schedule_nft_status(nft_data, ["NOT_DEPLOYED", "DEPLOYED"], every=1)
    statuses = [
        api.ok(BALANCES, accountId=account_id, nftDatas=nft_data)["data"][0]["deploymentStatus"]
        for _ in range(2)
    ]
    assert statuses == ["NOT_DEPLOYED", "DEPLOYED"]
    client.schedule_collection_status(collection_id, ["DEPLOYING", "DEPLOYED"], every=3)
    assert sandbox.collections(account_id)[0]["collection"]["deployStatus"] == "DEPLOYING"

    client.add_fault(Fault("status", status=502, path=ACCOUNT))
    client.add_fault({"kind": "html", "times": 2})
    assert [f["kind"] for f in client.faults] == ["status", "html"]
    assert api.get(ACCOUNT, accountId=account_id).status_code == 502
    client.clear_faults()
    assert client.faults == [] and api.get(ACCOUNT, accountId=account_id).ok
    with pytest.raises(ValueError):
        client.add_fault(Fault("transform", transform=lambda body, query: body))

    client.set_latency(0.01)
    client.set_rate_limit(1000)
    assert (sandbox.latency, sandbox.rate_limit) == (0.01, 1000)
    records = client.requests
    assert records and all(isinstance(r, RequestRecord) for r in records)
    assert records == sandbox.requests
    client.clear_requests()
    assert sandbox.requests == []

    client.add_fault(Fault("html"))
    client.reset()
    assert (sandbox.latency, sandbox.rate_limit) == (0.0, None)
    assert sandbox.collections(account_id) == initial and sandbox.faults == []


def test_admin_api_reports_bad_requests(loopring_sandbox: LoopringSandbox) -> None:
    client = SandboxClient(loopring_sandbox.url)
    with pytest.raises(SandboxError, match="400"):
        client.set_collection_status(-1, "DEPLOYED")
    with pytest.raises(SandboxError, match="400"):
        client.add_fault({"kind": "status", "colour": "red"})
    with pytest.raises(SandboxError, match="404"):
        client._call("GET", "nothing-here")
    with pytest.raises(SandboxError, match="405"):
        client._call("PUT", "faults")


# -- HTTP details --


def test_keep_alive_and_connection_close(loopring_sandbox: LoopringSandbox) -> None:
    port = int(loopring_sandbox.url.rsplit(":", 1)[1])
    path = f"{ACCOUNT}?accountId={first_id(loopring_sandbox)}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(3):  # one connection, three answers
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Connection") == "keep-alive"
        response.read()
    conn.request("GET", path, headers={"Connection": "close"})
    response = conn.getresponse()
    assert response.getheader("Connection") == "close"
    response.read()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := raw.recv(65536):  # the server closes after the answer: recv gets b""
            received += chunk
        assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"NONSENSE\r\n\r\n")
        assert raw.recv(65536).startswith(b"HTTP/1.1 400 ")


def test_lifecycle() -> None:
    sandbox = LoopringSandbox(accounts=1, nfts_per_account=3)
    with pytest.raises(RuntimeError):
        sandbox.url  # noqa: B018 - not started yet
    sandbox.start()
    url = sandbox.url
    assert url.startswith("http://127.0.0.1:")
    sandbox.stop()
    sandbox.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + ACCOUNT, timeout=2)


# -- CLI, pytest plugin, independence --


def test_cli_serve_prints_its_url_and_stops_on_sigterm() -> None:
    command = [sys.executable, "-m", "airflow_provider_loopring.testing", "serve", "--port", "0"]
    command += ["--accounts", "1", "--nfts-per-account", "5", "--seed", "9"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO) as process:
        try:
            assert process.stdout is not None
            line = json.loads(process.stdout.readline())
            assert line["url"].startswith("http://127.0.0.1:")
            assert line["api_key"] == LoopringSandbox(seed=9).api_key
            account_id = SandboxClient(line["url"]).accounts[0]["accountId"]
            response = requests.get(
                f"{line['url']}{ACCOUNT}", params={"accountId": account_id}, timeout=10
            )
            assert response.json()["accountId"] == account_id
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert process.returncode == 0


def test_fixture_defaults_are_small(loopring_sandbox: LoopringSandbox) -> None:
    assert len(loopring_sandbox.accounts) == 2
    assert len(loopring_sandbox.balances(first_id(loopring_sandbox))) == 30


@pytest.mark.loopring_sandbox(accounts=1, nfts_per_account=4, seed=3, api_key="k" * 64)
def test_marker_configures_the_fixture(loopring_sandbox: LoopringSandbox) -> None:
    assert len(loopring_sandbox.accounts) == 1
    assert len(loopring_sandbox.balances(first_id(loopring_sandbox))) == 4
    assert loopring_sandbox.api_key == "k" * 64


def test_sandbox_and_plugin_import_no_airflow() -> None:
    code = (
        "import sys, airflow_provider_loopring.testing.pytest_plugin;"
        "assert 'airflow_provider_loopring.testing.sandbox' not in sys.modules;"
        "from airflow_provider_loopring.testing import LoopringSandbox, SandboxClient;"
        "ours = [m for m in sys.modules if m.startswith('airflow_provider_loopring.')];"
        "assert all(m.startswith('airflow_provider_loopring.testing') for m in ours), ours;"
        "assert 'airflow' not in sys.modules"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=env)
