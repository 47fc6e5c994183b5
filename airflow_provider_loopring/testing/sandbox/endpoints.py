"""The Loopring endpoints the sandbox implements, as plain functions of a request.

Written from Loopring's docs and captured responses, not from our own client code, so that a
client test against the sandbox checks the client against the API and not against itself.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_loopring.testing.sandbox.dataset import is_zero, without_metadata
from airflow_provider_loopring.testing.sandbox.ledger import Ledger

MAX_LIMIT = 50
DEFAULT_LIMIT = 20
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

ACCOUNT_PATH = "/api/v3/account"
BALANCES_PATH = "/api/v3/user/nft/balances"
COLLECTIONS_PATH = "/api/v3/user/collection/details"


class ApiError(Exception):
    """An answer in Loopring's error envelope; Loopring sends most of them as HTTP 400.

    :param code: Loopring's ``resultInfo.code`` (``104002``: invalid API key, ...).
    :param message: its ``resultInfo.message``.
    :param status: the HTTP status.
    """

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class ApiResult:
    """A response body, and which NFTs and collections it showed (status schedules count them).

    :param status: the HTTP status.
    :param body: the JSON body, not yet encoded.
    :param nft_datas: the ``nftData`` of each NFT the body shows.
    :param collection_ids: the id of each collection it shows, also as ``collectionInfo``.
    """

    status: int
    body: Any
    nft_datas: frozenset[str] = frozenset()
    collection_ids: frozenset[int] = frozenset()


def handle(
    dataset: Ledger,
    api_key: str,
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
) -> ApiResult:
    """Answer one API request; errors come back as results in the error envelope.

    :param dataset: the data to answer from.
    :param api_key: the key the endpoints that need one must be sent.
    :param method: the HTTP method; only GET is allowed.
    :param path: the request's path, without the query string.
    :param query: the query parameters.
    :param headers: the request's headers, names lowercase (``x-api-key``).
    """
    try:
        endpoint = ENDPOINTS.get(path)
        if endpoint is None:
            raise ApiError(100000, f"unknown endpoint: {path}", status=404)
        if method != "GET":
            raise ApiError(100000, f"method {method} not allowed", status=405)
        func, needs_key = endpoint
        if needs_key:
            _check_key(headers.get("x-api-key"), api_key)
        return func(dataset, query)
    except ApiError as exc:
        body = {"resultInfo": {"code": exc.code, "message": exc.message}}
        return ApiResult(exc.status, body)


def _check_key(given: str | None, expected: str) -> None:
    if not given:
        raise ApiError(104001, "empty ApiKey")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(104002, "invalid ApiKey")


# -- query parameters --


def _int(query: dict[str, str], name: str, default: int | None = None, minimum: int = 0) -> int:
    raw = query.get(name, "")
    if raw == "":
        if default is None:
            raise ApiError(100001, f"invalid argument: {name} is required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(100001, f"invalid argument: {name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ApiError(100001, f"invalid argument: {name} must be >= {minimum}")
    return value


def _bool(query: dict[str, str], name: str, default: bool) -> bool:
    raw = query.get(name, "").lower()
    if raw == "":
        return default
    if raw not in ("true", "false"):
        raise ApiError(100001, f"invalid argument: {name} must be true or false")
    return raw == "true"


def _address(raw: str, name: str) -> str:
    if not ADDRESS.fullmatch(raw):
        raise ApiError(100001, f"invalid argument: {name}={raw!r} is not an address")
    return raw.lower()


def _list(query: dict[str, str], name: str) -> list[str]:
    return [part.strip() for part in query.get(name, "").split(",") if part.strip()]


def _page(query: dict[str, str]) -> tuple[int, int]:
    """offset and limit; a limit above 50 is cut to 50, as the docs' "max is 50" reads."""
    offset = _int(query, "offset", 0)
    limit = _int(query, "limit", DEFAULT_LIMIT, minimum=1)
    return offset, min(limit, MAX_LIMIT)


def _found(account: dict[str, Any] | None) -> dict[str, Any]:
    if account is None:
        raise ApiError(101002, "account not found")
    return account


# -- endpoints --


def account(dataset: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/account?owner=0x..|accountId=N (no key needed).

    :param dataset: the data to answer from.
    :param query: the query parameters.
    """
    if query.get("accountId"):
        found = dataset.account(_int(query, "accountId"))
    elif query.get("owner"):
        found = dataset.account_by_owner(_address(query["owner"], "owner"))
    else:
        raise ApiError(100001, "invalid argument: owner or accountId is required")
    return ApiResult(200, _found(found))


def nft_balances(dataset: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/user/nft/balances: one page of an account's NFT balances.

    :param dataset: the data to answer from.
    :param query: the query parameters: ``accountId`` or ``address``, ``offset``, ``limit``,
        ``nonZero``, ``metadata`` and the filters ``nftDatas``, ``tokenAddrs``, ``tokenIds``.
    """
    if query.get("accountId"):
        holder = _found(dataset.account(_int(query, "accountId")))
    elif query.get("address"):
        holder = _found(dataset.account_by_owner(_address(query["address"], "address")))
    else:
        raise ApiError(100001, "invalid argument: accountId or address is required")
    offset, limit = _page(query)
    non_zero = _bool(query, "nonZero", True)
    with_metadata = _bool(query, "metadata", False)
    nft_datas = {value.lower() for value in _list(query, "nftDatas")}
    token_addrs = {_address(value, "tokenAddrs") for value in _list(query, "tokenAddrs")}
    try:
        token_ids = {int(value) for value in _list(query, "tokenIds")}
    except ValueError:
        raise ApiError(100001, "invalid argument: tokenIds must be integers") from None
    matching = [
        balance
        for balance in dataset.balances(holder["accountId"])
        if not (non_zero and is_zero(balance))
        and (not nft_datas or balance["nftData"] in nft_datas)
        and (not token_addrs or balance["tokenAddress"].lower() in token_addrs)
        and (not token_ids or balance["tokenId"] in token_ids)
    ]
    page = matching[offset : offset + limit]
    data = [balance if with_metadata else without_metadata(balance) for balance in page]
    return ApiResult(
        200,
        {"totalNum": len(matching), "data": data},
        frozenset(balance["nftData"] for balance in page),
        frozenset(balance["collectionInfo"]["id"] for balance in page),
    )


def collection_details(dataset: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/user/collection/details: an account's NFTs grouped by collection.

    :param dataset: the data to answer from.
    :param query: the query parameters: ``accountId``, ``offset``, ``limit``, ``nonZero`` and
        ``tokenAddress``.
    """
    holder = _found(dataset.account(_int(query, "accountId")))
    offset, limit = _page(query)
    non_zero = _bool(query, "nonZero", True)
    token_address = query.get("tokenAddress", "")
    wanted = _address(token_address, "tokenAddress") if token_address else None
    matching = [
        (collection, count)
        for collection, count in dataset.collection_counts(holder["accountId"], non_zero)
        if wanted is None or collection["contractAddress"].lower() == wanted
    ]
    page = matching[offset : offset + limit]
    return ApiResult(
        200,
        {
            "collections": [{"collection": c, "count": n} for c, n in page],
            "totalNum": len(matching),
        },
        collection_ids=frozenset(collection["id"] for collection, _ in page),
    )


Endpoint = Callable[[Ledger, dict[str, str]], ApiResult]
ENDPOINTS: dict[str, tuple[Endpoint, bool]] = {
    ACCOUNT_PATH: (account, False),
    BALANCES_PATH: (nft_balances, True),
    COLLECTIONS_PATH: (collection_details, True),
}
