"""LoopringHook: the connection, the two transports, and thin public methods over ``api``."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseHook

from airflow_provider_loopring import __version__, api
from airflow_provider_loopring.exceptions import (
    LoopringApiError,
    LoopringInvalidParameterError,
    LoopringRateLimitError,
)
from airflow_provider_loopring.models import (
    Account,
    CollectionBalance,
    CollectionsPage,
    NftBalance,
    NftBalancesPage,
)

if TYPE_CHECKING:
    import ssl

    import httpx
    import requests

T = TypeVar("T")
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
PageCallback = Callable[["api.Pager[Any]"], None]


class LoopringHook(BaseHook):
    """Talks to Loopring's REST API through an Airflow connection.

    The connection's host is the API's base URL (default ``https://api3.loopring.io``), its
    password the API key. Extras: ``requests_per_second`` (default 5; the client-side limit,
    shared by every hook on this connection in the process), ``max_retries`` (default 5) and
    ``timeout`` (seconds per request, default 30).

    :param loopring_conn_id: the Airflow connection to use.
    :param retry_policy: overrides the backoff of retried calls (429, 5xx, network errors).
    """

    conn_name_attr = "loopring_conn_id"
    default_conn_name = "loopring_default"
    conn_type = "loopring"
    hook_name = "Loopring"

    def __init__(
        self,
        loopring_conn_id: str = default_conn_name,
        *,
        retry_policy: api.RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if retry_policy is not None and not isinstance(retry_policy, api.RetryPolicy):
            raise LoopringInvalidParameterError("retry_policy", "an api.RetryPolicy", retry_policy)
        self.loopring_conn_id = loopring_conn_id
        self._retry_policy = retry_policy
        self._settings: api.ConnectionSettings | None = None
        self._accounts: dict[tuple[str, object], Account] = {}
        self._async_client: httpx.AsyncClient | None = None
        self._session: requests.Session | None = None
        self._setup_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(loopring_conn_id={self.loopring_conn_id!r})"

    # --- connection ----------------------------------------------------------------------

    @property
    def settings(self) -> api.ConnectionSettings:
        with self._setup_lock:  # threads of an operator may ask first at the same time
            if self._settings is None:
                self._settings = self._settings_from(self.get_connection(self.loopring_conn_id))
            return self._settings

    async def asettings(self) -> api.ConnectionSettings:
        """The settings, read with the async connection API (safe inside the triggerer)."""
        if self._settings is None:
            self._settings = self._settings_from(await self.aget_connection(self.loopring_conn_id))
        return self._settings

    @staticmethod
    def _settings_from(conn: Any) -> api.ConnectionSettings:
        return api.connection_settings(conn.host, conn.port, conn.password, conn.extra_dejson)

    @property
    def retry_policy(self) -> api.RetryPolicy:
        if self._retry_policy is None:
            self._retry_policy = api.RetryPolicy(max_retries=self.settings.max_retries)
        return self._retry_policy

    @cached_property
    def _bucket(self) -> api.TokenBucket:
        key = f"{self.loopring_conn_id}@{self.settings.base_url}"
        return api.shared_bucket(key, self.settings.requests_per_second)

    def _headers(self, request: api.ApiRequest) -> dict[str, str]:
        headers = {"User-Agent": f"airflow-provider-loopring/{__version__}"}
        if request.needs_key:
            if not self.settings.api_key:
                raise LoopringInvalidParameterError(
                    f"password of connection {self.loopring_conn_id!r}",
                    "the Loopring API key",
                    "nothing",
                )
            headers["X-API-KEY"] = self.settings.api_key
        return headers

    def _after_failure(self, error: LoopringApiError, attempts: api.Attempts) -> float:
        wait = attempts.wait_after(error)
        if isinstance(error, LoopringRateLimitError):
            self._bucket.pause(wait)  # every caller on this connection backs off, not just us
        self.log.warning(
            "%s Retrying (try %d of %d) in %.2f s.",
            error,
            attempts.count + 1,
            self.retry_policy.max_retries + 1,
            wait,
        )
        return wait

    # --- sync transport ------------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        """One pooled session per hook, shared by the threads of an operator."""
        with self._setup_lock:
            if self._session is None:
                self._session = _new_session()
            return self._session

    def get_conn(self) -> requests.Session:
        return self.session

    def call(self, request: api.ApiRequest) -> Any:
        """Send one request with rate limit and retries; returns the parsed JSON."""
        attempts = api.Attempts(self.retry_policy)
        while True:
            time.sleep(self._bucket.reserve())
            try:
                return self._send(request)
            except LoopringApiError as error:
                time.sleep(self._after_failure(error, attempts))

    def _send(self, request: api.ApiRequest) -> Any:
        import requests

        try:
            response = self.session.get(
                self.settings.base_url + request.path,
                params=dict(request.params),
                headers=self._headers(request),
                timeout=self.settings.timeout,
                allow_redirects=False,  # a redirect would take the key to another host
            )
        except requests.Timeout:
            raise api.transport_failure(
                request, f"no response within {self.settings.timeout:g} s"
            ) from None
        except requests.RequestException as exc:
            raise api.transport_failure(request, f"connection failed ({_reason(exc)})") from None
        return api.parse_response(request, response.status_code, response.headers, response.content)

    # --- async transport -----------------------------------------------------------------

    async def acall(self, request: api.ApiRequest) -> Any:
        """The async twin of :meth:`call`: same decisions, httpx instead of requests."""
        settings = await self.asettings()
        attempts = api.Attempts(self.retry_policy)
        while True:
            await asyncio.sleep(self._bucket.reserve())
            try:
                return await self._asend(request, settings)
            except LoopringApiError as error:
                await asyncio.sleep(self._after_failure(error, attempts))

    async def _asend(self, request: api.ApiRequest, settings: api.ConnectionSettings) -> Any:
        import httpx

        if self._async_client is None:
            self._async_client = httpx.AsyncClient(
                timeout=settings.timeout, verify=_tls(), follow_redirects=False
            )
        try:
            response = await self._async_client.get(
                settings.base_url + request.path,
                params=dict(request.params),
                headers=self._headers(request),
            )
        except httpx.TimeoutException:
            raise api.transport_failure(
                request, f"no response within {settings.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise api.transport_failure(request, f"connection failed ({_reason(exc)})") from None
        return api.parse_response(request, response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        """Close the async client (triggers call this when they finish)."""
        if self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None

    # --- accounts ------------------------------------------------------------------------

    def get_account(self, *, address: str | None = None, account_id: int | None = None) -> Account:
        """The layer-2 account of an address or id (cached per hook)."""
        request = api.account_request(account_id=account_id, address=address)
        cached = self._cached_account(request)
        if cached is None:
            cached = self._remember(api.parse_model(request, self.call(request), Account.from_api))
        return cached

    async def aget_account(
        self, *, address: str | None = None, account_id: int | None = None
    ) -> Account:
        request = api.account_request(account_id=account_id, address=address)
        cached = self._cached_account(request)
        if cached is None:
            body = await self.acall(request)
            cached = self._remember(api.parse_model(request, body, Account.from_api))
        return cached

    def _cached_account(self, request: api.ApiRequest) -> Account | None:
        ((name, value),) = request.params.items()
        return self._accounts.get((name, value.lower()))

    def _remember(self, account: Account) -> Account:
        self._accounts[("accountId", str(account.account_id))] = account
        self._accounts[("owner", str(account.owner).lower())] = account
        return account

    def _resolved(self, request: api.ApiRequest, address: str | None) -> api.ApiRequest:
        if address is None:
            return request
        return request.with_params(accountId=self.get_account(address=address).account_id)

    async def _aresolved(self, request: api.ApiRequest, address: str | None) -> api.ApiRequest:
        if address is None:
            return request
        account = await self.aget_account(address=address)
        return request.with_params(accountId=account.account_id)

    # --- NFT balances --------------------------------------------------------------------

    def get_nft_balances(
        self,
        *,
        account_id: int | None = None,
        address: str | None = None,
        nft_datas: Any = None,
        token_addrs: Any = None,
        token_ids: Any = None,
        offset: int = 0,
        limit: int = api.MAX_LIMIT,
        non_zero: bool = True,
        metadata: bool = False,
    ) -> NftBalancesPage:
        """One page of ``GET /api/v3/user/nft/balances``; list filters take lists or "a,b"."""
        request = api.nft_balances_request(**_args(locals()))
        return api.parse_model(request, self.call(request), NftBalancesPage.from_api)

    async def aget_nft_balances(
        self,
        *,
        account_id: int | None = None,
        address: str | None = None,
        nft_datas: Any = None,
        token_addrs: Any = None,
        token_ids: Any = None,
        offset: int = 0,
        limit: int = api.MAX_LIMIT,
        non_zero: bool = True,
        metadata: bool = False,
    ) -> NftBalancesPage:
        request = api.nft_balances_request(**_args(locals()))
        return api.parse_model(request, await self.acall(request), NftBalancesPage.from_api)

    def iter_nft_balances(
        self,
        *,
        account_id: int | None = None,
        address: str | None = None,
        nft_datas: Any = None,
        token_addrs: Any = None,
        token_ids: Any = None,
        non_zero: bool = True,
        metadata: bool = False,
        page_size: int = api.MAX_LIMIT,
        on_page: PageCallback | None = None,
    ) -> Iterator[NftBalance]:
        """Every balance of the account, all pages, each once (see :class:`api.Pager`)."""
        base = api.nft_balances_request(**_args(locals()), limit=_page_size(page_size))
        return self._iterate(base, NftBalancesPage.from_api, _balance_key, on_page)

    def aiter_nft_balances(
        self,
        *,
        account_id: int | None = None,
        address: str | None = None,
        nft_datas: Any = None,
        token_addrs: Any = None,
        token_ids: Any = None,
        non_zero: bool = True,
        metadata: bool = False,
        page_size: int = api.MAX_LIMIT,
    ) -> AsyncIterator[NftBalance]:
        base = api.nft_balances_request(**_args(locals()), limit=_page_size(page_size))
        return self._aiterate(base, NftBalancesPage.from_api, _balance_key)

    # --- collections ---------------------------------------------------------------------

    def get_collections(
        self,
        *,
        account_id: int | None = None,
        address: str | None = None,
        token_address: str | None = None,
        offset: int = 0,
        limit: int = api.MAX_LIMIT,
        non_zero: bool = True,
    ) -> CollectionsPage:
        """One page of ``GET /api/v3/user/collection/details``; an address is resolved first."""
        request = self._resolved(*api.collections_request(**_args(locals())))
        return api.parse_model(request, self.call(request), CollectionsPage.from_api)

    async def aget_collections(
        self,
        *,
        account_id: int | None = None,
        address: str | None = None,
        token_address: str | None = None,
        offset: int = 0,
        limit: int = api.MAX_LIMIT,
        non_zero: bool = True,
    ) -> CollectionsPage:
        request = await self._aresolved(*api.collections_request(**_args(locals())))
        return api.parse_model(request, await self.acall(request), CollectionsPage.from_api)

    def iter_collections(
        self,
        *,
        account_id: int | None = None,
        address: str | None = None,
        token_address: str | None = None,
        non_zero: bool = True,
        page_size: int = api.MAX_LIMIT,
        on_page: PageCallback | None = None,
    ) -> Iterator[CollectionBalance]:
        """Every collection the account holds NFTs of, all pages, each once."""
        request = api.collections_request(**_args(locals()), limit=_page_size(page_size))
        base = self._resolved(*request)
        return self._iterate(base, CollectionsPage.from_api, _collection_key, on_page)

    def aiter_collections(
        self,
        *,
        account_id: int | None = None,
        address: str | None = None,
        token_address: str | None = None,
        non_zero: bool = True,
        page_size: int = api.MAX_LIMIT,
    ) -> AsyncIterator[CollectionBalance]:
        request, address = api.collections_request(**_args(locals()), limit=_page_size(page_size))
        return self._aiterate(request, CollectionsPage.from_api, _collection_key, address)

    # --- paging --------------------------------------------------------------------------

    def _iterate(
        self,
        base: api.ApiRequest,
        parse: Callable[[Any], Any],
        key: Callable[[Any], object],
        on_page: PageCallback | None,
    ) -> Iterator[Any]:
        pager: api.Pager[Any] = api.Pager(int(base.params["limit"]), key)
        while not pager.done:
            request = pager.request(base)
            page = api.parse_model(request, self.call(request), parse)
            fresh = pager.accept(request, page.total_num, page.items)
            if on_page is not None:
                on_page(pager)  # before the items: a caller may stop before the next request
            yield from fresh

    async def _aiterate(
        self,
        base: api.ApiRequest,
        parse: Callable[[Any], Any],
        key: Callable[[Any], object],
        address: str | None = None,
    ) -> AsyncIterator[Any]:
        base = await self._aresolved(base, address)
        pager: api.Pager[Any] = api.Pager(int(base.params["limit"]), key)
        while not pager.done:
            request = pager.request(base)
            page = api.parse_model(request, await self.acall(request), parse)
            for item in pager.accept(request, page.total_num, page.items):
                yield item

    # --- connection test -----------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Tell a wrong host (no Loopring API there) from a wrong key."""
        probe = api.account_request(account_id=1)
        try:
            self._send(probe)
        except LoopringInvalidParameterError as exc:
            return False, str(exc)
        except LoopringApiError as exc:
            if exc.code is None:
                return False, f"No Loopring API at {self.settings.base_url}: {exc}"
        try:
            self._send(api.nft_balances_request(account_id=1, limit=1))
        except LoopringInvalidParameterError as exc:
            return False, str(exc)
        except LoopringApiError as exc:
            if exc.code in (104001, 104002) or exc.http_status in (401, 403):
                return False, f"The API key was rejected by {self.settings.base_url}: {exc}"
            if exc.code is None:
                return False, str(exc)
        return True, f"Connected to the Loopring API at {self.settings.base_url}; the key works."


def _new_session() -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter

    _fix_mmap_threshold()
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=32, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@cache
def _fix_mmap_threshold() -> None:
    """Keep glibc from raising its mmap threshold, once per process (glibc only).

    A page of balances with metadata is ~150 kB of JSON and up to four times that once
    decoded. glibc serves blocks that large with mmap until the first is freed, then raises
    its threshold and serves them from the calling thread's heap, where, with an operator's
    threads each reading pages, free space fragments and RSS grows with every page: +70 MiB
    for 100,000 balances, against +6 MiB with the threshold held (benchmarks/memory.py).
    128 KiB is glibc's own default; setting it only stops it from moving.
    """
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
    except (AttributeError, ValueError, OSError):  # not glibc: nothing to do
        return
    import ctypes

    ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every async client of the process, as httpx would make it.

    Each ``httpx.AsyncClient`` otherwise builds its own and loads the CA bundle into it:
    about 0.8 MiB and 20 ms of CPU per client, and the triggerer runs a hook, so a client,
    per deferred sensor. A context is safe to share between clients and event loops.
    """
    import httpx

    return httpx.create_ssl_context()


def _args(scope: dict[str, Any]) -> dict[str, Any]:
    """A public method's own arguments, to pass on to the request builder (which checks them)."""
    return {k: v for k, v in scope.items() if k not in {"self", "on_page", "page_size"}}


def _page_size(value: object) -> int:
    return api.check_limit(value, "page_size")


def _balance_key(item: NftBalance) -> object:
    return item.nft_data or item.token_id


def _collection_key(item: CollectionBalance) -> object:
    return item.collection.id


def _reason(exc: BaseException) -> str:
    """The innermost cause of a transport error, short ("Connection refused")."""
    while exc.__cause__ or exc.__context__:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).split(":")[-1].strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]
