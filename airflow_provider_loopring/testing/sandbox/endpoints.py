"""The Loopring endpoints the sandbox implements, as plain functions of a request.

Written from Loopring's docs and captured responses, not from our own client code, so that a
client test against the sandbox checks the client against the API and not against itself.
"""

from __future__ import annotations

from collections.abc import Callable

import airflow_provider_loopring.testing.sandbox.chain_views as chain_views
import airflow_provider_loopring.testing.sandbox.history as history
import airflow_provider_loopring.testing.sandbox.nft_views as nft_views
from airflow_provider_loopring.testing.sandbox.dataset import is_zero, without_metadata
from airflow_provider_loopring.testing.sandbox.ledger import Ledger
from airflow_provider_loopring.testing.sandbox.params import (
    ApiError,
    ApiResult,
    address,
    check_key,
    comma_list,
    existing,
    flag,
    integer,
    paging,
)

ACCOUNT_PATH = "/api/v3/account"
# Endpoints that look NFTs up by nftData: they need the index, which a request for one
# account's balances must never wait for.
INDEXED = frozenset(
    {
        "/api/v3/nft/info/nftHolders",
        "/api/v3/nft/info/nfts",
        "/api/v3/nft/public/collection",
        "/api/v3/user/nft/transactions",
    }
)
BALANCES_PATH = "/api/v3/user/nft/balances"
COLLECTIONS_PATH = "/api/v3/user/collection/details"


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
            check_key(headers.get("x-api-key"), api_key)
        if path in INDEXED or (
            path in (ACCOUNT_PATH, BALANCES_PATH) and not query.get("accountId")
        ):
            dataset.seeded.build_index()  # before the lock: see Dataset.indexed_lock
        # Under the lock: a mutation from another thread never shows half done. The body's
        # lists are the endpoint's own, so it is encoded after the lock is let go.
        with dataset.lock:
            return func(dataset, query)
    except ApiError as exc:
        body = {"resultInfo": {"code": exc.code, "message": exc.message}}
        return ApiResult(exc.status, body)


# -- endpoints --


def account(dataset: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/account?owner=0x..|accountId=N (no key needed).

    :param dataset: the data to answer from.
    :param query: the query parameters.
    """
    if query.get("accountId"):
        found = dataset.account(integer(query, "accountId"))
    elif query.get("owner"):
        found = dataset.account_by_owner(address(query["owner"], "owner"))
    else:
        raise ApiError(100001, "invalid argument: owner or accountId is required")
    return ApiResult(200, existing(found))


def nft_balances(dataset: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/user/nft/balances: one page of an account's NFT balances.

    :param dataset: the data to answer from.
    :param query: the query parameters: ``accountId`` or ``address``, ``offset``, ``limit``,
        ``nonZero``, ``metadata`` and the filters ``nftDatas``, ``tokenAddrs``, ``tokenIds``.
    """
    if query.get("accountId"):
        holder = existing(dataset.account(integer(query, "accountId")))
    elif query.get("address"):
        holder = existing(dataset.account_by_owner(address(query["address"], "address")))
    else:
        raise ApiError(100001, "invalid argument: accountId or address is required")
    offset, limit = paging(query)
    non_zero = flag(query, "nonZero", True)
    with_metadata = flag(query, "metadata", False)
    nft_datas = {value.lower() for value in comma_list(query, "nftDatas")}
    token_addrs = {address(value, "tokenAddrs") for value in comma_list(query, "tokenAddrs")}
    try:
        token_ids = {int(value) for value in comma_list(query, "tokenIds")}
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
    holder = existing(dataset.account(integer(query, "accountId")))
    offset, limit = paging(query)
    non_zero = flag(query, "nonZero", True)
    token_address = query.get("tokenAddress", "")
    wanted = address(token_address, "tokenAddress") if token_address else None
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
    # Keys as loopring-endpoints.md section 6 finds them: getBlock, NFT info and the public
    # collection endpoints answer without one; holders, pending requests and history need it.
    "/api/v3/block/getBlock": (chain_views.get_block, False),
    "/api/v3/block/getPendingRequests": (chain_views.pending_requests, True),
    "/api/v3/nft/info/nftHolders": (nft_views.nft_holders, True),
    "/api/v3/nft/info/nfts": (nft_views.nfts_info, False),
    "/api/v3/nft/public/collection/items": (nft_views.collection_items, False),
    "/api/v3/nft/public/collection": (nft_views.collection, False),
    "/api/v3/user/nft/transactions": (history.transactions, True),
    "/api/v3/user/nft/transfers": (history.transfers, True),
    "/api/v3/user/nft/mints": (history.mints, True),
    "/api/v3/user/nft/deposits": (history.deposits, True),
    "/api/v3/user/nft/withdrawals": (history.withdrawals, True),
    "/api/v3/user/nft/trades": (history.trades, True),
}
