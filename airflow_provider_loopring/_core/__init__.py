"""The sans-IO core: what a request is, what a response means, when to retry, how to page.

Both transports of the hook (requests for tasks, httpx for triggers) drive this package and
nothing else decides. Split by concern, as h11 splits its own, each module small and with no
state of its own beyond what its objects hold (the process's rate budgets live with the hook):

- :mod:`.validation`: argument checks, each naming its parameter;
- :mod:`.endpoint`: what a declaration is, and the request a call builds;
- :mod:`.endpoints`: each endpoint declared once;
- :mod:`.responses`: a body as it arrives (decoded here, capped), Loopring's JSON, or the
  error a response amounts to;
- :mod:`.retry`: when to send a request again and how long to wait (the HTTP backoff);
- :mod:`.ratelimit`: the token bucket both transports wait on;
- :mod:`.paging`: pages checked, repeats dropped, when a listing ends;
- :mod:`.settings`: what a hook takes from its connection;
- :mod:`.selections`: what a deployment wait or a watcher selects (plain data);
- :mod:`.verdicts`: whether a wait is over, and the trigger's event schema.

No socket, no sleeping, and no Airflow import of its own: the errors it raises are the
package's exceptions, which derive from Airflow's so that tasks fail and retry as Airflow
expects. Standard library only. The names below are imported on first use (PEP 562), so a DAG file
that imports one module of the core (``_core.settings``) does not load them all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_loopring._core.endpoint import ApiRequest, Endpoint, Param
    from airflow_provider_loopring._core.endpoints import (
        ACCOUNT,
        BLOCK,
        COLLECTION,
        COLLECTION_BALANCES,
        COLLECTION_NFTS,
        MAX_NFT_INFOS,
        NFT_BALANCES,
        NFT_HOLDERS,
        NFT_INFOS,
        NFT_TRADES,
        NFT_TRANSACTIONS,
        TRANSACTION_TYPES,
        AccountQuery,
        BlockQuery,
        CollectionNftsQuery,
        CollectionQuery,
        CollectionsQuery,
        NftBalancesQuery,
        NftHoldersQuery,
        NftTradesQuery,
        NftTransactionsQuery,
        account_request,
        collections_request,
        nft_balances_request,
    )
    from airflow_provider_loopring._core.paging import (
        PageCallback,
        Pager,
        PageReader,
        check_page,
        unique,
    )
    from airflow_provider_loopring._core.ratelimit import (
        TokenBucket,
    )
    from airflow_provider_loopring._core.responses import (
        ACCEPT_ENCODING,
        CHUNK,
        ResponseBody,
        bad_body,
        bad_shape,
        error_for,
        parse_model,
        parse_response,
        parse_retry_after,
        transport_failure,
    )
    from airflow_provider_loopring._core.retry import (
        Attempts,
        BackoffPolicy,
    )
    from airflow_provider_loopring._core.settings import (
        DEFAULT_CONN_ID,
        DEFAULT_HOST,
        DEFAULT_MAX_PAGES,
        DEFAULT_MAX_RESPONSE_BYTES,
        ConnectionSettings,
        base_url,
        check_api_key,
        connection_settings,
    )
    from airflow_provider_loopring._core.validation import (
        DIGITS,
        MAX_ID,
        MAX_LIMIT,
        check_account_id,
        check_address,
        check_collection_id,
        check_filter,
        check_flag,
        check_limit,
        check_list,
        check_max_pages,
        check_nft_data,
        check_offset,
        check_selector,
        check_token_id,
        finite,
    )

# Each public name and the module that defines it.
_EXPORTS = {
    "ACCOUNT": "endpoints",
    "COLLECTION_BALANCES": "endpoints",
    "NFT_BALANCES": "endpoints",
    "AccountQuery": "endpoints",
    "ApiRequest": "endpoint",
    "CollectionsQuery": "endpoints",
    "Endpoint": "endpoint",
    "NftBalancesQuery": "endpoints",
    "Param": "endpoint",
    "BLOCK": "endpoints",
    "COLLECTION": "endpoints",
    "COLLECTION_NFTS": "endpoints",
    "NFT_HOLDERS": "endpoints",
    "NFT_INFOS": "endpoints",
    "NFT_TRADES": "endpoints",
    "NFT_TRANSACTIONS": "endpoints",
    "MAX_NFT_INFOS": "endpoints",
    "TRANSACTION_TYPES": "endpoints",
    "BlockQuery": "endpoints",
    "CollectionNftsQuery": "endpoints",
    "CollectionQuery": "endpoints",
    "NftHoldersQuery": "endpoints",
    "NftTradesQuery": "endpoints",
    "NftTransactionsQuery": "endpoints",
    "account_request": "endpoints",
    "collections_request": "endpoints",
    "nft_balances_request": "endpoints",
    "DEFAULT_MAX_PAGES": "settings",
    "PageCallback": "paging",
    "Pager": "paging",
    "PageReader": "paging",
    "check_page": "paging",
    "unique": "paging",
    "TokenBucket": "ratelimit",
    "ACCEPT_ENCODING": "responses",
    "CHUNK": "responses",
    "ResponseBody": "responses",
    "bad_body": "responses",
    "bad_shape": "responses",
    "error_for": "responses",
    "parse_model": "responses",
    "parse_response": "responses",
    "parse_retry_after": "responses",
    "transport_failure": "responses",
    "Attempts": "retry",
    "BackoffPolicy": "retry",
    "DEFAULT_CONN_ID": "settings",
    "DEFAULT_HOST": "settings",
    "DEFAULT_MAX_RESPONSE_BYTES": "settings",
    "ConnectionSettings": "settings",
    "base_url": "settings",
    "check_api_key": "settings",
    "connection_settings": "settings",
    "DIGITS": "validation",
    "MAX_ID": "validation",
    "MAX_LIMIT": "validation",
    "check_account_id": "validation",
    "check_address": "validation",
    "check_collection_id": "validation",
    "check_filter": "validation",
    "check_flag": "validation",
    "check_limit": "validation",
    "check_list": "validation",
    "check_max_pages": "validation",
    "check_nft_data": "validation",
    "check_offset": "validation",
    "check_selector": "validation",
    "check_token_id": "validation",
    "finite": "validation",
}
__all__ = [
    "ACCEPT_ENCODING",
    "ACCOUNT",
    "BLOCK",
    "CHUNK",
    "COLLECTION",
    "COLLECTION_BALANCES",
    "COLLECTION_NFTS",
    "DEFAULT_CONN_ID",
    "DEFAULT_HOST",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DIGITS",
    "MAX_ID",
    "MAX_LIMIT",
    "MAX_NFT_INFOS",
    "NFT_BALANCES",
    "NFT_HOLDERS",
    "NFT_INFOS",
    "NFT_TRADES",
    "NFT_TRANSACTIONS",
    "TRANSACTION_TYPES",
    "AccountQuery",
    "ApiRequest",
    "Attempts",
    "BackoffPolicy",
    "BlockQuery",
    "CollectionNftsQuery",
    "CollectionQuery",
    "CollectionsQuery",
    "ConnectionSettings",
    "Endpoint",
    "NftBalancesQuery",
    "NftHoldersQuery",
    "NftTradesQuery",
    "NftTransactionsQuery",
    "PageCallback",
    "PageReader",
    "Pager",
    "Param",
    "ResponseBody",
    "TokenBucket",
    "account_request",
    "bad_body",
    "bad_shape",
    "base_url",
    "check_account_id",
    "check_address",
    "check_api_key",
    "check_collection_id",
    "check_filter",
    "check_flag",
    "check_limit",
    "check_list",
    "check_max_pages",
    "check_nft_data",
    "check_offset",
    "check_page",
    "check_selector",
    "check_token_id",
    "collections_request",
    "connection_settings",
    "error_for",
    "finite",
    "nft_balances_request",
    "parse_model",
    "parse_response",
    "parse_retry_after",
    "transport_failure",
    "unique",
]


def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use; ``RetryPolicy`` for one release."""
    if name == "RetryPolicy":
        import warnings

        warnings.warn(
            "airflow_provider_loopring._core.RetryPolicy is now BackoffPolicy (the name "
            "RetryPolicy is Airflow's task retry policy's); the old name goes in 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        name = "BackoffPolicy"
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    if name in _EXPORTS:
        globals()[name] = value
    return value
