"""The endpoints the provider reads, and the one request each builds from checked arguments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict

from airflow_provider_loopring._core.validation import (
    MAX_LIMIT,
    check_address,
    check_filter,
    check_flag,
    check_limit,
    check_nft_data,
    check_offset,
    check_selector,
    check_token_id,
)

ACCOUNT = "/api/v3/account"
NFT_BALANCES = "/api/v3/user/nft/balances"
COLLECTIONS = "/api/v3/user/collection/details"


class NftBalancesQuery(TypedDict, total=False):
    """What ``GET /api/v3/user/nft/balances`` selects, declared once for every hook method.

    Give ``account_id`` or ``address`` (exactly one). List filters take a list or "a,b".
    """

    account_id: int | str
    address: str
    nft_datas: str | Sequence[str]  # only these NFTs (nftData values)
    token_addrs: str | Sequence[str]  # only NFTs of these token contracts
    token_ids: int | str | Sequence[int | str]  # only these layer-2 token ids
    non_zero: bool  # leave out NFTs the account no longer holds (default True)
    metadata: bool  # include each NFT's metadata as Loopring caches it (default False)


class CollectionsQuery(TypedDict, total=False):
    """What ``GET /api/v3/user/collection/details`` selects, declared once for every method.

    Give ``account_id`` or ``address`` (exactly one; an address is looked up first: the
    endpoint takes only account ids).
    """

    account_id: int | str
    address: str
    token_address: str  # only the collection of this token contract
    non_zero: bool  # leave out collections the account no longer holds any NFT of


@dataclass(frozen=True)
class ApiRequest:
    """One GET: the path, the query (already validated and rendered), whether it needs the key."""

    path: str
    params: Mapping[str, str]
    needs_key: bool = True

    def with_params(self, **params: object) -> ApiRequest:
        return ApiRequest(self.path, {**self.params, **_query(**params)}, self.needs_key)

    def page(self, offset: int, limit: int) -> ApiRequest:
        return self.with_params(offset=offset, limit=limit)

    def describe(self) -> str:
        """``GET /path k=v ...``: safe for logs and errors (the key is a header, never a param)."""
        query = " ".join(f"{k}={v}" for k, v in self.params.items())
        return f"GET {self.path} {query}".rstrip()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _join(values: Sequence[object] | None) -> str | None:
    return ",".join(str(v) for v in values) if values else None


def _query(**params: object) -> dict[str, str]:
    return {k: str(v) for k, v in params.items() if v is not None}


def _paging(offset: object, limit: object, non_zero: object) -> dict[str, str]:
    """The query parameters both list endpoints share."""
    return _query(
        offset=check_offset(offset),
        limit=check_limit(limit),
        nonZero=_flag(check_flag(non_zero, "non_zero")),
    )


def account_request(*, account_id: object = None, address: object = None) -> ApiRequest:
    """``GET /api/v3/account`` by id or owner address (exactly one); it needs no key."""
    account_id, address = check_selector(account_id, address)
    return ApiRequest(ACCOUNT, _query(accountId=account_id, owner=address), needs_key=False)


def nft_balances_request(
    *,
    account_id: object = None,
    address: object = None,
    nft_datas: object = None,
    token_addrs: object = None,
    token_ids: object = None,
    offset: object = 0,
    limit: object = MAX_LIMIT,
    non_zero: object = True,
    metadata: object = False,
) -> ApiRequest:
    """One page of balances; every argument checked (see :class:`NftBalancesQuery`)."""
    account_id, address = check_selector(account_id, address)
    params = _query(
        accountId=account_id,
        address=address,
        nftDatas=_join(check_filter(nft_datas, "nft_datas", check_nft_data)),
        tokenAddrs=_join(check_filter(token_addrs, "token_addrs", check_address)),
        tokenIds=_join(check_filter(token_ids, "token_ids", check_token_id)),
    )
    params.update(_paging(offset, limit, non_zero))
    params["metadata"] = _flag(check_flag(metadata, "metadata"))
    return ApiRequest(NFT_BALANCES, params)


def collections_request(
    *,
    account_id: object = None,
    address: object = None,
    token_address: object = None,
    offset: object = 0,
    limit: object = MAX_LIMIT,
    non_zero: object = True,
) -> tuple[ApiRequest, str | None]:
    """The request, and the address still to resolve: this endpoint takes only an accountId.

    Everything is validated here, before the caller spends a request on resolving.
    """
    account_id, address = check_selector(account_id, address)
    if token_address is not None:
        token_address = check_address(token_address, "token_address")
    params = _query(accountId=account_id, tokenAddress=token_address)
    params.update(_paging(offset, limit, non_zero))
    return ApiRequest(COLLECTIONS, params), address
