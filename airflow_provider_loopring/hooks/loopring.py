"""LoopringHook: the connection, the two transports, and thin public methods over the core.

Every decision (what a request is, what a response means, when to retry, how to page) is
the core's (:mod:`airflow_provider_loopring._core`); the hook adds the I/O: requests for tasks,
httpx for triggers. Each endpoint's query is declared once (``NftBalancesQuery``,
``CollectionsQuery``) and taken by its sync and async methods alike.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseHook

from airflow_provider_loopring import __version__
from airflow_provider_loopring import _core as core
from airflow_provider_loopring._core.retry import RetryPolicy
from airflow_provider_loopring.exceptions import (
    LoopringApiError,
    LoopringInvalidParameterError,
    LoopringRateLimitError,
)
from airflow_provider_loopring.hooks import _form
from airflow_provider_loopring.hooks.budget import RateBudget, connection_budget
from airflow_provider_loopring.hooks.listings import BALANCES, COLLECTIONS, Listing, PageReader
from airflow_provider_loopring.hooks.transport import new_session, reason, response_body, tls
from airflow_provider_loopring.models import (
    Account,
    CollectionBalance,
    CollectionsPage,
    NftBalance,
    NftBalancesPage,
)
from airflow_provider_loopring.version_compat import HAS_PROVIDER_CONN_FIELDS

if TYPE_CHECKING:
    import httpx
    import requests
    from typing_extensions import Unpack

    from airflow_provider_loopring.hooks._cutoff import Exchange

__all__ = ["LoopringHook", "RetryPolicy"]

T = TypeVar("T")
PageCallback = Callable[["core.Pager[Any]"], None]


class LoopringHook(BaseHook):
    """Talks to Loopring's REST API through an Airflow connection.

    The connection's host is the API's base URL (default ``https://api3.loopring.io``; a port
    goes in the URL, as the form has no port field), its password the API key. Extras:
    ``requests_per_second`` (default 5; the client-side limit, shared by every hook on this
    connection in the process), ``rate_limit_conn_id`` (an Airflow connection to Redis: then
    that limit is one budget for every process on every machine; needs the ``[redis]``
    extra), ``max_retries`` (default 5), ``timeout`` (seconds for a whole request, body
    included, default 30), ``max_response_bytes`` (the largest decoded body, default 32 MiB),
    ``max_pages`` (the most pages of one listing, default 10,000) and ``explorer_url`` (where
    the tasks' extra links point; default Loopring's explorer for the mainnet host, no link
    for others).

    :param loopring_conn_id: the Airflow connection to use.
    :param retry_policy: overrides the backoff of retried calls (429, 5xx, network errors):
        a :class:`RetryPolicy` (importable from this module).
    """

    conn_name_attr = "loopring_conn_id"
    default_conn_name = core.DEFAULT_CONN_ID
    conn_type = "loopring"
    hook_name = "Loopring"

    def __init__(
        self,
        loopring_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise LoopringInvalidParameterError("retry_policy", "a RetryPolicy", retry_policy)
        self.loopring_conn_id = loopring_conn_id
        self._retry_policy = retry_policy
        self._settings: core.ConnectionSettings | None = None
        self._accounts: dict[tuple[str, object], Account] = {}
        self._async_client: httpx.AsyncClient | None = None
        self._session: requests.Session | None = None
        self._in_flight: set[Exchange] = set()
        self._setup_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(loopring_conn_id={self.loopring_conn_id!r})"

    if not HAS_PROVIDER_CONN_FIELDS:  # Airflow 3.1 asks the hook for its connection form

        @classmethod
        def get_ui_field_behaviour(cls) -> dict[str, Any]:
            """The provider info's ``ui-field-behaviour``, for Airflow 3.1's connection form."""
            return _form.ui_field_behaviour()

        @classmethod
        def get_connection_form_widgets(cls) -> dict[str, Any]:
            """The provider info's ``conn-fields``, for Airflow 3.1's connection form."""
            return _form.connection_form_widgets()

    # --- connection ----------------------------------------------------------------------

    @property
    def settings(self) -> core.ConnectionSettings:
        """The connection's settings, read once (thread-safe: an operator's threads share it)."""
        with self._setup_lock:  # threads of an operator may ask first at the same time
            if self._settings is None:
                self._settings = self._settings_from(self.get_connection(self.loopring_conn_id))
            return self._settings

    async def asettings(self) -> core.ConnectionSettings:
        """The settings, read with the async connection API (safe inside the triggerer)."""
        if self._settings is None:
            self._settings = self._settings_from(await self.aget_connection(self.loopring_conn_id))
        return self._settings

    def _settings_from(self, conn: Any) -> core.ConnectionSettings:
        return core.connection_settings(
            conn.host, conn.port, conn.password, conn.extra_dejson, conn_id=self.loopring_conn_id
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        """How failed calls are retried: as given, else with the connection's ``max_retries``."""
        if self._retry_policy is None:
            self._retry_policy = RetryPolicy(max_retries=self.settings.max_retries)
        return self._retry_policy

    @cached_property
    def _budget(self) -> RateBudget:
        """Where tokens come from: this process's bucket, or Redis (``rate_limit_conn_id``)."""
        return connection_budget(f"{self.loopring_conn_id}@{self.settings.base_url}", self.settings)

    def _headers(self, request: core.ApiRequest) -> dict[str, str]:
        headers = {
            "User-Agent": f"airflow-provider-loopring/{__version__}",
            "Accept-Encoding": core.ACCEPT_ENCODING,
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

    def _after_failure(self, error: LoopringApiError, attempts: core.Attempts) -> float:
        wait = attempts.wait_after(error)
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
                self._session = new_session(trust_env)
            return self._session

    def get_conn(self) -> requests.Session:
        """The sync transport's session (Airflow's name for a hook's client)."""
        return self.session

    def call(self, request: core.ApiRequest, parse: Callable[[Any], T] | None = None) -> Any:
        """Send one request with rate limit and retries; returns the parsed JSON.

        :param request: the call, built by one of ``core``'s ``*_request`` functions.
        :param parse: makes the result from the JSON; what it raises is retried as the
            transport's errors are (a page that contradicts its totalNum may be asked again).
        """
        attempts = core.Attempts(self.retry_policy)
        _ = self.session  # imports and set-up before the first token: a slot waits for nothing
        while True:
            try:
                time.sleep(self._budget.reserve(request))  # no token, no request
                body = self._send(request)
                return body if parse is None else parse(body)
            except LoopringApiError as error:
                wait = self._after_failure(error, attempts)
                if isinstance(error, LoopringRateLimitError):
                    self._budget.pause(wait)  # every caller on this connection backs off
                time.sleep(wait)

    def _send(self, request: core.ApiRequest) -> Any:
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
                    body = response_body(request, response.headers, settings)
                    for chunk in response.raw.stream(core.CHUNK, decode_content=False):
                        body.feed(chunk)
                return core.parse_response(
                    request, response.status_code, response.headers, body.read()
                )
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                timed_out = isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError))
                failure = self._failure(request, exc, timed_out or exchange.expired, exchange.cut)
        raise failure  # outside the except: the transport's exception holds our headers

    def _failure(
        self, request: core.ApiRequest, exc: BaseException, expired: bool, cut: bool
    ) -> LoopringApiError:
        """What a transport exception amounts to; its text never carries a header value."""
        if expired:
            return core.transport_failure(
                request, f"no complete response within {self.settings.timeout:g} s"
            )
        if cut:
            return LoopringApiError(
                "stopped: the hook was closed (the task is being killed)",
                endpoint=request.describe(),
            )
        why = reason(exc, [self.settings.api_key] if self.settings.api_key else [])
        return core.transport_failure(request, f"connection failed ({why})")

    def close(self) -> None:
        """Stop every request in flight at once and close the session (an operator's on_kill)."""
        for exchange in list(self._in_flight):
            exchange.cut_off()
        with self._setup_lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    # --- async transport -----------------------------------------------------------------

    async def acall(self, request: core.ApiRequest, parse: Callable[[Any], T] | None = None) -> Any:
        """The async twin of :meth:`call`: same decisions, httpx instead of requests.

        :param request: the call, built by one of ``core``'s ``*_request`` functions.
        :param parse: makes the result from the JSON; retried on what it raises, as in
            :meth:`call`.
        """
        settings = await self.asettings()
        attempts = core.Attempts(self.retry_policy)
        self._client(settings)  # as in call(): set up before the first token
        while True:
            try:
                await asyncio.sleep(await self._budget.areserve(request))
                body = await self._asend(request, settings)
                return body if parse is None else parse(body)
            except LoopringApiError as error:
                wait = self._after_failure(error, attempts)
                if isinstance(error, LoopringRateLimitError):
                    await self._budget.apause(wait)
                await asyncio.sleep(wait)

    async def _asend(self, request: core.ApiRequest, settings: core.ConnectionSettings) -> Any:
        import httpx

        try:
            # One deadline for the whole exchange, body included (httpx's bounds each read).
            status, headers, body = await asyncio.wait_for(
                self._aexchange(request, settings), settings.timeout
            )
            return core.parse_response(request, status, headers, body)
        except (asyncio.TimeoutError, httpx.TimeoutException) as exc:
            failure = self._failure(request, exc, expired=True, cut=False)
        except httpx.HTTPError as exc:
            failure = self._failure(request, exc, expired=False, cut=False)
        raise failure  # outside the except: the transport's exception holds our headers

    async def _aexchange(
        self, request: core.ApiRequest, settings: core.ConnectionSettings
    ) -> tuple[int, Mapping[str, str], bytes]:
        async with self._client(settings).stream(
            "GET",
            settings.base_url + request.path,
            params=dict(request.params),
            headers=self._headers(request),
        ) as response:
            body = response_body(request, response.headers, settings)
            async for chunk in response.aiter_raw(core.CHUNK):
                body.feed(chunk)
        return response.status_code, response.headers, body.read()

    def _client(self, settings: core.ConnectionSettings) -> httpx.AsyncClient:
        """The hook's async client, made on first use (httpx and TLS set-up take time)."""
        import httpx

        if self._async_client is None:
            self._async_client = httpx.AsyncClient(
                timeout=settings.timeout,
                verify=tls(),
                follow_redirects=False,
                trust_env=settings.use_environment_proxies,
            )
        return self._async_client

    async def aclose(self) -> None:
        """Close the async client (triggers call this when they finish)."""
        if self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None

    # --- accounts ------------------------------------------------------------------------

    def get_account(self, *, address: str | None = None, account_id: int | None = None) -> Account:
        """The layer-2 account of an address or id (``GET /api/v3/account``; cached per hook).

        :param address: the owner's layer-1 address (or ``account_id``; exactly one).
        :param account_id: the account id.
        :raises LoopringNotFoundError: Loopring has no layer-2 account for it.
        """
        request = core.account_request(account_id=account_id, address=address)
        cached = self._cached_account(request)
        if cached is None:
            cached = self._remember(core.parse_model(request, self.call(request), Account.from_api))
        return cached

    async def aget_account(
        self, *, address: str | None = None, account_id: int | None = None
    ) -> Account:
        """The async twin of :meth:`get_account`.

        :param address: the owner's layer-1 address (or ``account_id``; exactly one).
        :param account_id: the account id.
        :raises LoopringNotFoundError: Loopring has no layer-2 account for it.
        """
        request = core.account_request(account_id=account_id, address=address)
        cached = self._cached_account(request)
        if cached is None:
            body = await self.acall(request)
            cached = self._remember(core.parse_model(request, body, Account.from_api))
        return cached

    def _cached_account(self, request: core.ApiRequest) -> Account | None:
        ((name, value),) = request.params.items()
        return self._accounts.get((name, value.lower()))

    def _remember(self, account: Account) -> Account:
        self._accounts[("accountId", str(account.account_id))] = account
        self._accounts[("owner", str(account.owner).lower())] = account
        return account

    def _resolved(self, request: core.ApiRequest, address: str | None) -> core.ApiRequest:
        if address is None:
            return request
        return request.with_params(accountId=self.get_account(address=address).account_id)

    async def _aresolved(self, request: core.ApiRequest, address: str | None) -> core.ApiRequest:
        if address is None:
            return request
        account = await self.aget_account(address=address)
        return request.with_params(accountId=account.account_id)

    # --- NFT balances: the query is NftBalancesQuery (account, filters) ---------------------

    def get_nft_balances(
        self,
        *,
        offset: int = 0,
        limit: int = core.MAX_LIMIT,
        **query: Unpack[core.NftBalancesQuery],
    ) -> NftBalancesPage:
        """One page of ``GET /api/v3/user/nft/balances``, each NFT once.

        :param offset: the first item, 0-based.
        :param limit: items per page, 1 to 50.
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.NftBalancesQuery`.
        :raises LoopringInvalidParameterError: a wrong argument, before any request.
        :raises LoopringApiError: what Loopring or the network answered, after the retries.
        """
        request = core.nft_balances_request(offset=offset, limit=limit, **query)
        return self.call(request, PageReader(BALANCES, request, alone=True))

    async def aget_nft_balances(
        self,
        *,
        offset: int = 0,
        limit: int = core.MAX_LIMIT,
        **query: Unpack[core.NftBalancesQuery],
    ) -> NftBalancesPage:
        """The async twin of :meth:`get_nft_balances`.

        :param offset: the first item, 0-based.
        :param limit: items per page, 1 to 50.
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.NftBalancesQuery`.
        """
        request = core.nft_balances_request(offset=offset, limit=limit, **query)
        return await self.acall(request, PageReader(BALANCES, request, alone=True))

    def iter_nft_balances(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.NftBalancesQuery],
    ) -> Iterator[NftBalance]:
        """Every balance of the account, all pages, each once (see :class:`core.Pager`).

        :param page_size: items per request, 1 to 50.
        :param on_page: called with the pager after each page, before its items are handed
            out (progress; raising there stops the listing before the next request).
        :param max_pages: fail rather than read more pages (default: the connection's
            ``max_pages``, 10,000): a listing whose ``totalNum`` keeps ahead never ends.
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.NftBalancesQuery`.
        """
        base = core.nft_balances_request(limit=_page_size(page_size), **query)
        return self._iterate(base, None, BALANCES, on_page, _max_pages(max_pages))

    def aiter_nft_balances(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.NftBalancesQuery],
    ) -> AsyncIterator[NftBalance]:
        """The async twin of :meth:`iter_nft_balances`.

        :param page_size: items per request, 1 to 50.
        :param on_page: called with the pager after each page, before its items are handed out.
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.NftBalancesQuery`.
        """
        base = core.nft_balances_request(limit=_page_size(page_size), **query)
        return self._aiterate(base, None, BALANCES, on_page, _max_pages(max_pages))

    # --- collections: the query is CollectionsQuery (account, token_address) ----------------

    def get_collections(
        self,
        *,
        offset: int = 0,
        limit: int = core.MAX_LIMIT,
        **query: Unpack[core.CollectionsQuery],
    ) -> CollectionsPage:
        """One page of ``GET /api/v3/user/collection/details``; an address is resolved first.

        :param offset: the first item, 0-based.
        :param limit: items per page, 1 to 50.
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.CollectionsQuery`.
        :raises LoopringInvalidParameterError: a wrong argument, before any request.
        :raises LoopringApiError: what Loopring or the network answered, after the retries.
        """
        request = self._resolved(*core.collections_request(offset=offset, limit=limit, **query))
        return self.call(request, PageReader(COLLECTIONS, request, alone=True))

    async def aget_collections(
        self,
        *,
        offset: int = 0,
        limit: int = core.MAX_LIMIT,
        **query: Unpack[core.CollectionsQuery],
    ) -> CollectionsPage:
        """The async twin of :meth:`get_collections`.

        :param offset: the first item, 0-based.
        :param limit: items per page, 1 to 50.
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.CollectionsQuery`.
        """
        request, address = core.collections_request(offset=offset, limit=limit, **query)
        request = await self._aresolved(request, address)
        return await self.acall(request, PageReader(COLLECTIONS, request, alone=True))

    def iter_collections(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.CollectionsQuery],
    ) -> Iterator[CollectionBalance]:
        """Every collection the account holds NFTs of, all pages, each once.

        Arguments are checked when called; an address is looked up on the first iteration.

        :param page_size: items per request, 1 to 50.
        :param on_page: called with the pager after each page (see :meth:`iter_nft_balances`).
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.CollectionsQuery`.
        """
        base, address = core.collections_request(limit=_page_size(page_size), **query)
        return self._iterate(base, address, COLLECTIONS, on_page, _max_pages(max_pages))

    def aiter_collections(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.CollectionsQuery],
    ) -> AsyncIterator[CollectionBalance]:
        """The async twin of :meth:`iter_collections`.

        :param page_size: items per request, 1 to 50.
        :param on_page: called with the pager after each page (see :meth:`iter_nft_balances`).
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.CollectionsQuery`.
        """
        base, address = core.collections_request(limit=_page_size(page_size), **query)
        return self._aiterate(base, address, COLLECTIONS, on_page, _max_pages(max_pages))

    # --- paging --------------------------------------------------------------------------

    def _iterate(
        self,
        base: core.ApiRequest,
        address: str | None,
        listing: Listing,
        on_page: PageCallback | None,
        max_pages: int | None,
    ) -> Iterator[Any]:
        base = self._resolved(base, address)
        pager = self._pager(base, listing, max_pages)
        while not pager.done:
            request = pager.request(base)
            page = self.call(request, PageReader(listing, request))
            fresh = pager.accept(request, page.total_num, page.items)
            if on_page is not None:
                on_page(pager)  # before the items: a caller may stop before the next request
            yield from fresh

    async def _aiterate(
        self,
        base: core.ApiRequest,
        address: str | None,
        listing: Listing,
        on_page: PageCallback | None,
        max_pages: int | None,
    ) -> AsyncIterator[Any]:
        base = await self._aresolved(base, address)
        await self.asettings()  # the pager reads the connection's max_pages
        pager = self._pager(base, listing, max_pages)
        while not pager.done:
            request = pager.request(base)
            page = await self.acall(request, PageReader(listing, request))
            fresh = pager.accept(request, page.total_num, page.items)
            if on_page is not None:
                on_page(pager)
            for item in fresh:
                yield item

    def _pager(
        self, base: core.ApiRequest, listing: Listing, max_pages: int | None
    ) -> core.Pager[Any]:
        limit = max_pages if max_pages is not None else self.settings.max_pages
        return core.Pager(int(base.params["limit"]), listing.key, max_pages=limit)

    # --- connection test -----------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Tell a wrong host (no Loopring API there) from a wrong key."""
        probe = core.account_request(account_id=1)
        try:
            self._send(probe)
        except LoopringInvalidParameterError as exc:
            return False, str(exc)
        except LoopringApiError as exc:
            if exc.code is None:
                return False, f"No Loopring API at {self.settings.base_url}: {exc}"
        try:
            self._send(core.nft_balances_request(account_id=1, limit=1))
        except LoopringInvalidParameterError as exc:
            return False, str(exc)
        except LoopringApiError as exc:
            if exc.code in (104001, 104002) or exc.http_status in (401, 403):
                return False, f"The API key was rejected by {self.settings.base_url}: {exc}"
            if exc.code is None:
                return False, str(exc)
        return True, f"Connected to the Loopring API at {self.settings.base_url}; the key works."


def _max_pages(value: object) -> int | None:
    """Checked when the method is called, before any request."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LoopringInvalidParameterError("max_pages", "a positive integer", value)
    return value


def _page_size(value: object) -> int:
    return core.check_limit(value, "page_size")
