"""The engine under :class:`~airflow_provider_loopring.hooks.loopring.LoopringHook`.

The connection and its settings, the rate budget, the two transports and their retry loop,
and any endpoint declared in the core (``get`` / ``iterate`` and their async twins), with
the account lookups an endpoint that takes only account ids needs. The hook adds the named
methods (one line each over these), the connection form and the connection test.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseHook

from airflow_provider_loopring import __version__
from airflow_provider_loopring import _core as core
from airflow_provider_loopring._core.retry import BackoffPolicy
from airflow_provider_loopring.exceptions import (
    LoopringApiError,
    LoopringInvalidParameterError,
    LoopringRateLimitError,
)
from airflow_provider_loopring.hooks.budget import RateBudget, connection_budget
from airflow_provider_loopring.hooks.transport import AsyncTransport, SyncTransport
from airflow_provider_loopring.models import Account

if TYPE_CHECKING:
    import requests

T = TypeVar("T")


class LoopringClient(BaseHook):
    """The connection, the transports and the generic endpoint methods (see the module).

    :param loopring_conn_id: the Airflow connection to use.
    :param backoff: overrides how failed requests (429, 5xx, network errors) are sent again
        within a try: a :class:`BackoffPolicy`.
    :param retry_policy: the old name of ``backoff`` (deprecated; gone in 0.3).
    """

    conn_name_attr = "loopring_conn_id"
    default_conn_name = core.DEFAULT_CONN_ID

    def __init__(
        self,
        loopring_conn_id: str = default_conn_name,
        *,
        backoff: BackoffPolicy | None = None,
        retry_policy: BackoffPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for name, value in (("backoff", backoff), ("retry_policy", retry_policy)):
            if value is not None and not isinstance(value, BackoffPolicy):
                raise LoopringInvalidParameterError(name, "a BackoffPolicy", value)
        if retry_policy is not None:
            _deprecated("LoopringHook(retry_policy=...)", "LoopringHook(backoff=...)")
            backoff = backoff or retry_policy
        self.loopring_conn_id = loopring_conn_id
        self._backoff = backoff
        self._settings: core.ConnectionSettings | None = None
        self._accounts: dict[tuple[str, object], Account] = {}
        self._transport: SyncTransport | None = None
        self._async = AsyncTransport()
        self._setup_lock = threading.Lock()
        self._count_lock = threading.Lock()
        #: Requests this hook has sent (each try counts), for the operators' progress lines.
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(loopring_conn_id={self.loopring_conn_id!r})"

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
    def backoff(self) -> BackoffPolicy:
        """How failed requests are sent again: as given, else per the connection's max_retries."""
        if self._backoff is None:
            self._backoff = BackoffPolicy(max_retries=self.settings.max_retries)
        return self._backoff

    @property
    def retry_policy(self) -> BackoffPolicy:
        """The old name of :attr:`backoff` (deprecated; gone in 0.3)."""
        _deprecated("LoopringHook.retry_policy", "LoopringHook.backoff")
        return self.backoff

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
            self.backoff.max_retries + 1,
            wait,
        )
        return wait

    # --- the two transports: one exchange each, retried here --------------------------------

    @property
    def _sync(self) -> SyncTransport:
        if self._transport is None:
            trust_env = self.settings.use_environment_proxies
            with self._setup_lock:  # one transport, however many threads ask first
                if self._transport is None:
                    self._transport = SyncTransport(trust_env)
        return self._transport

    @property
    def session(self) -> requests.Session:
        """One pooled session per hook, shared by the threads of an operator."""
        return self._sync.session

    def get_conn(self) -> requests.Session:
        """The sync transport's session (Airflow's name for a hook's client)."""
        return self.session

    def call(self, request: core.ApiRequest, parse: Callable[[Any], T] | None = None) -> Any:
        """Send one request with rate limit and retries; returns the parsed JSON.

        :param request: the call, built by an endpoint's ``request()``.
        :param parse: makes the result from the JSON; what it raises is retried as the
            transport's errors are (a page that contradicts its totalNum may be asked again).
        """
        attempts = core.Attempts(self.backoff)
        _ = self.session  # imports and set-up before the first token: a slot waits for nothing
        while True:
            try:
                time.sleep(self._budget.reserve(request))  # no token, no request
                headers = self._headers(request)
                self._count()
                body = self._sync.send(request, self.settings, headers)
                return body if parse is None else parse(body)
            except LoopringApiError as error:
                wait = self._after_failure(error, attempts)
                if isinstance(error, LoopringRateLimitError):
                    self._budget.pause(wait)  # every caller on this connection backs off
                time.sleep(wait)

    def _count(self) -> None:
        with self._count_lock:
            self.requests_sent += 1

    def close(self) -> None:
        """Stop every request in flight at once and close the session (an operator's on_kill)."""
        if self._transport is not None:
            self._transport.close()

    async def acall(self, request: core.ApiRequest, parse: Callable[[Any], T] | None = None) -> Any:
        """The async twin of :meth:`call`: same decisions, httpx instead of requests.

        :param request: the call, built by an endpoint's ``request()``.
        :param parse: makes the result from the JSON; retried on what it raises, as in
            :meth:`call`.
        """
        settings = await self.asettings()
        attempts = core.Attempts(self.backoff)
        self._async.client(settings)  # as in call(): set up before the first token
        while True:
            try:
                await asyncio.sleep(await self._budget.areserve(request))
                headers = self._headers(request)
                self._count()
                body = await self._async.send(request, settings, headers)
                return body if parse is None else parse(body)
            except LoopringApiError as error:
                wait = self._after_failure(error, attempts)
                if isinstance(error, LoopringRateLimitError):
                    await self._budget.apause(wait)
                await asyncio.sleep(wait)

    async def aclose(self) -> None:
        """Close the async client (triggers call this when they finish)."""
        await self._async.aclose()

    # --- any declared endpoint: one response, or every page --------------------------------

    def get(self, endpoint: core.Endpoint, **args: Any) -> Any:
        """One response of a declared endpoint, read into its model (a page, each item once).

        :param endpoint: the declaration (``core.NFT_BALANCES``, ...).
        :param args: its arguments: the account, its parameters, ``offset`` and ``limit``.
        :raises LoopringInvalidParameterError: a wrong argument, before any request.
        :raises LoopringApiError: what Loopring or the network answered, after the retries.
        """
        request = self._resolved(*endpoint.request(**args))
        return self.call(request, core.PageReader(endpoint, request, alone=True))

    async def aget(self, endpoint: core.Endpoint, **args: Any) -> Any:
        """The async twin of :meth:`get`.

        :param endpoint: the declaration.
        :param args: its arguments.
        """
        request, address = endpoint.request(**args)
        request = await self._aresolved(request, address)
        return await self.acall(request, core.PageReader(endpoint, request, alone=True))

    def iterate(
        self,
        endpoint: core.Endpoint,
        *,
        page_size: int | None = None,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **args: Any,
    ) -> Iterator[Any]:
        """Every item of a paged endpoint, all pages, each once (see :class:`core.Pager`).

        Arguments are checked when called; an address is looked up on the first iteration.

        :param endpoint: the declaration.
        :param page_size: items per request, 1 to the endpoint's largest page (its default).
        :param on_page: called with the pager after each page, before its items are handed
            out (progress; raising there stops the listing before the next request).
        :param max_pages: fail rather than read more pages (default: the connection's
            ``max_pages``, 10,000): a listing whose ``totalNum`` keeps ahead never ends.
        :param args: the account and the endpoint's parameters.
        """
        base, address = endpoint.listing(page_size, max_pages, **args)
        return self._iterate(endpoint, base, address, on_page, max_pages)

    def aiterate(
        self,
        endpoint: core.Endpoint,
        *,
        page_size: int | None = None,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **args: Any,
    ) -> AsyncIterator[Any]:
        """The async twin of :meth:`iterate`.

        :param endpoint: the declaration.
        :param page_size: items per request (default: the endpoint's largest page).
        :param on_page: called with the pager after each page, before its items are handed out.
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param args: the account and the endpoint's parameters.
        """
        base, address = endpoint.listing(page_size, max_pages, **args)
        return self._aiterate(endpoint, base, address, on_page, max_pages)

    def _iterate(
        self,
        endpoint: core.Endpoint,
        base: core.ApiRequest,
        address: str | None,
        on_page: core.PageCallback | None,
        max_pages: int | None,
    ) -> Iterator[Any]:
        base = self._resolved(base, address)
        pager = self._pager(endpoint, base, max_pages)
        while not pager.done:
            request = pager.request(base)
            page = self.call(request, core.PageReader(endpoint, request))
            fresh = pager.accept(request, page.total_num, page.items)
            if on_page is not None:
                on_page(pager)  # before the items: a caller may stop before the next request
            yield from fresh

    async def _aiterate(
        self,
        endpoint: core.Endpoint,
        base: core.ApiRequest,
        address: str | None,
        on_page: core.PageCallback | None,
        max_pages: int | None,
    ) -> AsyncIterator[Any]:
        base = await self._aresolved(base, address)
        await self.asettings()  # the pager reads the connection's max_pages
        pager = self._pager(endpoint, base, max_pages)
        while not pager.done:
            request = pager.request(base)
            page = await self.acall(request, core.PageReader(endpoint, request))
            fresh = pager.accept(request, page.total_num, page.items)
            if on_page is not None:
                on_page(pager)
            for item in fresh:
                yield item

    def _pager(
        self, endpoint: core.Endpoint, base: core.ApiRequest, max_pages: int | None
    ) -> core.Pager[Any]:
        limit = max_pages if max_pages is not None else self.settings.max_pages
        key = endpoint.key or (lambda item: item)
        size, empty = int(base.params["limit"]), endpoint.ends == "empty"
        return core.Pager(size, key, max_pages=limit, until_empty=empty)

    # --- accounts: an address an endpoint cannot take is resolved first (cached per hook) ---

    def get_account(self, *, address: str | None = None, account_id: int | None = None) -> Account:
        """The layer-2 account of an address or id (``GET /api/v3/account``; cached per hook).

        :param address: the owner's layer-1 address (or ``account_id``; exactly one).
        :param account_id: the account id.
        :raises LoopringNotFoundError: Loopring has no layer-2 account for it.
        """
        request = core.account_request(account_id=account_id, address=address)
        cached = self._cached_account(request)
        if cached is None:
            cached = self._remember(self.call(request, core.PageReader(core.ACCOUNT, request)))
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
            account = await self.acall(request, core.PageReader(core.ACCOUNT, request))
            cached = self._remember(account)
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


def _deprecated(old: str, new: str) -> None:
    import warnings

    warnings.warn(f"{old} is now {new}; the old name goes in 0.3", DeprecationWarning, stacklevel=3)
