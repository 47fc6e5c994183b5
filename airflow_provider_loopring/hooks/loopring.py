"""LoopringHook: the connection, the two transports, and thin public methods over ``api``."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

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

    from airflow_provider_loopring.hooks._cutoff import Exchange

T = TypeVar("T")
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
PageCallback = Callable[["api.Pager[Any]"], None]


class LoopringHook(BaseHook):
    """Talks to Loopring's REST API through an Airflow connection.

    The connection's host is the API's base URL (default ``https://api3.loopring.io``), its
    password the API key. Extras: ``requests_per_second`` (default 5; the client-side limit,
    shared by every hook on this connection in the process), ``max_retries`` (default 5),
    ``timeout`` (seconds for a whole request, body included, default 30),
    ``max_response_bytes`` (the largest decoded body, default 32 MiB) and ``max_pages``
    (the most pages of one listing, default 10,000).

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
        self._in_flight: set[Exchange] = set()
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

    def _settings_from(self, conn: Any) -> api.ConnectionSettings:
        return api.connection_settings(
            conn.host, conn.port, conn.password, conn.extra_dejson, conn_id=self.loopring_conn_id
        )

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
        headers = {
            "User-Agent": f"airflow-provider-loopring/{__version__}",
            "Accept-Encoding": api.ACCEPT_ENCODING,
        }
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
        trust_env = self.settings.use_environment_proxies
        with self._setup_lock:
            if self._session is None:
                self._session = _new_session(trust_env)
            return self._session

    def get_conn(self) -> requests.Session:
        return self.session

    def call(self, request: api.ApiRequest, parse: Callable[[Any], T] | None = None) -> Any:
        """Send one request with rate limit and retries; returns the parsed JSON.

        :param parse: makes the result from the JSON; what it raises is retried as the
            transport's errors are (a page that contradicts its totalNum may be asked again).
        """
        attempts = api.Attempts(self.retry_policy)
        while True:
            time.sleep(self._bucket.reserve())
            try:
                body = self._send(request)
                return body if parse is None else parse(body)
            except LoopringApiError as error:
                time.sleep(self._after_failure(error, attempts))

    def _send(self, request: api.ApiRequest) -> Any:
        import requests
        import urllib3

        from airflow_provider_loopring.hooks._cutoff import deadline

        settings, headers = self.settings, self._headers(request)
        with deadline(settings.timeout, self._in_flight) as exchange:
            try:
                response = self.session.get(
                    settings.base_url + request.path,
                    params=dict(request.params),
                    headers=headers,
                    timeout=settings.timeout,
                    allow_redirects=False,  # a redirect would take the key to another host
                    stream=True,  # read below, chunk by chunk, up to max_response_bytes
                )
                with response:
                    body = _body(request, response.headers, settings)
                    for chunk in response.raw.stream(api.CHUNK, decode_content=False):
                        body.feed(chunk)
                return api.parse_response(
                    request, response.status_code, response.headers, body.read()
                )
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                timed_out = isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError))
                failure = self._failure(request, exc, timed_out or exchange.expired, exchange.cut)
        raise failure  # outside the except: the transport's exception holds our headers

    def _failure(
        self, request: api.ApiRequest, exc: BaseException, expired: bool, cut: bool
    ) -> LoopringApiError:
        """What a transport exception amounts to; its text never carries a header value."""
        if expired:
            return api.transport_failure(
                request, f"no complete response within {self.settings.timeout:g} s"
            )
        if cut:
            return LoopringApiError(
                "stopped: the hook was closed (the task is being killed)",
                endpoint=request.describe(),
            )
        reason = _reason(exc, [self.settings.api_key] if self.settings.api_key else [])
        return api.transport_failure(request, f"connection failed ({reason})")

    def close(self) -> None:
        """Stop every request in flight at once and close the session (an operator's on_kill)."""
        for exchange in list(self._in_flight):
            exchange.cut_off()
        with self._setup_lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    # --- async transport -----------------------------------------------------------------

    async def acall(self, request: api.ApiRequest, parse: Callable[[Any], T] | None = None) -> Any:
        """The async twin of :meth:`call`: same decisions, httpx instead of requests."""
        settings = await self.asettings()
        attempts = api.Attempts(self.retry_policy)
        while True:
            await asyncio.sleep(self._bucket.reserve())
            try:
                body = await self._asend(request, settings)
                return body if parse is None else parse(body)
            except LoopringApiError as error:
                await asyncio.sleep(self._after_failure(error, attempts))

    async def _asend(self, request: api.ApiRequest, settings: api.ConnectionSettings) -> Any:
        import httpx

        try:
            # One deadline for the whole exchange, body included (httpx's bounds each read).
            status, headers, body = await asyncio.wait_for(
                self._aexchange(request, settings), settings.timeout
            )
            return api.parse_response(request, status, headers, body)
        except (asyncio.TimeoutError, httpx.TimeoutException) as exc:
            failure = self._failure(request, exc, expired=True, cut=False)
        except httpx.HTTPError as exc:
            failure = self._failure(request, exc, expired=False, cut=False)
        raise failure  # outside the except: the transport's exception holds our headers

    async def _aexchange(
        self, request: api.ApiRequest, settings: api.ConnectionSettings
    ) -> tuple[int, Mapping[str, str], bytes]:
        import httpx

        if self._async_client is None:
            self._async_client = httpx.AsyncClient(
                timeout=settings.timeout,
                verify=_tls(),
                follow_redirects=False,
                trust_env=settings.use_environment_proxies,
            )
        async with self._async_client.stream(
            "GET",
            settings.base_url + request.path,
            params=dict(request.params),
            headers=self._headers(request),
        ) as response:
            body = _body(request, response.headers, settings)
            async for chunk in response.aiter_raw(api.CHUNK):
                body.feed(chunk)
        return response.status_code, response.headers, body.read()

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
        return self.call(request, _PageReader(BALANCES, request, alone=True))

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
        return await self.acall(request, _PageReader(BALANCES, request, alone=True))

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
        max_pages: int | None = None,
    ) -> Iterator[NftBalance]:
        """Every balance of the account, all pages, each once (see :class:`api.Pager`).

        :param max_pages: fail rather than read more pages (default: the connection's
            ``max_pages``, 10,000): a listing whose ``totalNum`` keeps ahead never ends.
        """
        base = api.nft_balances_request(**_args(locals()), limit=_page_size(page_size))
        return self._iterate(base, BALANCES, on_page, _max_pages(max_pages))

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
        max_pages: int | None = None,
    ) -> AsyncIterator[NftBalance]:
        base = api.nft_balances_request(**_args(locals()), limit=_page_size(page_size))
        return self._aiterate(base, BALANCES, _max_pages(max_pages))

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
        return self.call(request, _PageReader(COLLECTIONS, request, alone=True))

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
        return await self.acall(request, _PageReader(COLLECTIONS, request, alone=True))

    def iter_collections(
        self,
        *,
        account_id: int | None = None,
        address: str | None = None,
        token_address: str | None = None,
        non_zero: bool = True,
        page_size: int = api.MAX_LIMIT,
        on_page: PageCallback | None = None,
        max_pages: int | None = None,
    ) -> Iterator[CollectionBalance]:
        """Every collection the account holds NFTs of, all pages, each once."""
        request = api.collections_request(**_args(locals()), limit=_page_size(page_size))
        base = self._resolved(*request)
        return self._iterate(base, COLLECTIONS, on_page, _max_pages(max_pages))

    def aiter_collections(
        self,
        *,
        account_id: int | None = None,
        address: str | None = None,
        token_address: str | None = None,
        non_zero: bool = True,
        page_size: int = api.MAX_LIMIT,
        max_pages: int | None = None,
    ) -> AsyncIterator[CollectionBalance]:
        request, address = api.collections_request(**_args(locals()), limit=_page_size(page_size))
        return self._aiterate(request, COLLECTIONS, _max_pages(max_pages), address)

    # --- paging --------------------------------------------------------------------------

    def _iterate(
        self,
        base: api.ApiRequest,
        listing: _Listing,
        on_page: PageCallback | None,
        max_pages: int | None,
    ) -> Iterator[Any]:
        pager = self._pager(base, listing, max_pages)
        while not pager.done:
            request = pager.request(base)
            page = self.call(request, _PageReader(listing, request))
            fresh = pager.accept(request, page.total_num, page.items)
            if on_page is not None:
                on_page(pager)  # before the items: a caller may stop before the next request
            yield from fresh

    async def _aiterate(
        self,
        base: api.ApiRequest,
        listing: _Listing,
        max_pages: int | None,
        address: str | None = None,
    ) -> AsyncIterator[Any]:
        base = await self._aresolved(base, address)
        await self.asettings()  # the pager reads the connection's max_pages
        pager = self._pager(base, listing, max_pages)
        while not pager.done:
            request = pager.request(base)
            page = await self.acall(request, _PageReader(listing, request))
            for item in pager.accept(request, page.total_num, page.items):
                yield item

    def _pager(
        self, base: api.ApiRequest, listing: _Listing, max_pages: int | None
    ) -> api.Pager[Any]:
        limit = max_pages if max_pages is not None else self.settings.max_pages
        return api.Pager(int(base.params["limit"]), listing.key, max_pages=limit)

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


def _new_session(trust_env: bool) -> requests.Session:
    """A session whose requests a deadline or ``close()`` can cut off (see ``_cutoff``).

    :param trust_env: whether to read proxies (and .netrc) from the environment: only for
        https, where a proxy sees no header.
    """
    import requests

    from airflow_provider_loopring.hooks._cutoff import CutOffAdapter

    _fix_mmap_threshold()
    session = requests.Session()
    session.trust_env = trust_env
    adapter = CutOffAdapter(pool_connections=1, pool_maxsize=32, max_retries=0)
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
    hook_only = {"self", "on_page", "page_size", "max_pages"}
    return {k: v for k, v in scope.items() if k not in hook_only}


def _max_pages(value: object) -> int | None:
    """Checked when the method is called, before any request."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LoopringInvalidParameterError("max_pages", "a positive integer", value)
    return value


def _page_size(value: object) -> int:
    return api.check_limit(value, "page_size")


class _Listing(NamedTuple):
    """What the hook needs to know of a list endpoint's pages."""

    model: type[NftBalancesPage] | type[CollectionsPage]
    key: Callable[[Any], object]  # what makes an item the same item on another page
    owner: Callable[[Any], object] | None  # an item's account id, where items carry one


BALANCES = _Listing(
    NftBalancesPage, lambda item: item.nft_data or item.token_id, lambda item: item.account_id
)
COLLECTIONS = _Listing(CollectionsPage, lambda item: item.collection.id, None)


class _PageReader:
    """Reads one page of a listing, checked (``api.check_page``), inside the retry loop.

    :param alone: a one-page call: its items are handed out each once, as the pager does.
    """

    def __init__(self, listing: _Listing, request: api.ApiRequest, alone: bool = False) -> None:
        self.listing, self.request, self.alone = listing, request, alone

    def __call__(self, body: Any) -> Any:
        page = api.parse_model(self.request, body, self.listing.model.from_api)
        total = api.check_page(self.request, page.total_num, page.items, self.listing.owner)
        # The pager needs every item as sent, to move its offset on; a page alone does not.
        items = api.unique(page.items, self.listing.key) if self.alone else page.items
        if total == page.total_num and items is page.items:
            return page
        return dataclasses.replace(page, total_num=total, items=items)


def _body(
    request: api.ApiRequest, headers: Mapping[str, str], settings: api.ConnectionSettings
) -> api.ResponseBody:
    """An empty body for a response whose headers just arrived, capped by the connection."""
    body = api.ResponseBody(request, headers.get("Content-Encoding"), settings.max_response_bytes)
    body.check_length(headers.get("Content-Length"))
    return body


def _reason(exc: BaseException, secrets: list[str]) -> str:
    """The innermost cause of a transport error, short ("Connection refused").

    :param secrets: header values sent (the key): masked, should a transport's text hold one.
    """
    while exc.__cause__ or exc.__context__:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).split(":")[-1].strip() or type(exc).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    return f"{type(exc).__name__}: {text}"[:200]
