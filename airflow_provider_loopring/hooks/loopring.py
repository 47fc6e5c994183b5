"""LoopringHook: the connection, the two transports, and thin public methods over the core.

Every decision (what a request is, what a response means, when to retry, how to page) is
the core's (:mod:`airflow_provider_loopring._core`); the hook adds the I/O: requests for tasks,
httpx for triggers. Each endpoint's query is declared once (``NftBalancesQuery``,
``CollectionsQuery``) and taken by its sync and async methods alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from airflow_provider_loopring import _core as core
from airflow_provider_loopring._core.retry import BackoffPolicy
from airflow_provider_loopring.exceptions import LoopringApiError, LoopringInvalidParameterError
from airflow_provider_loopring.hooks import _form
from airflow_provider_loopring.hooks._client import LoopringClient, _deprecated
from airflow_provider_loopring.models import (
    CollectionBalance,
    CollectionsPage,
    NftBalance,
    NftBalancesPage,
)
from airflow_provider_loopring.version_compat import HAS_PROVIDER_CONN_FIELDS

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["BackoffPolicy", "LoopringHook"]


class LoopringHook(LoopringClient):
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
    :param backoff: overrides how failed requests (429, 5xx, network errors) are sent again
        within a try: a :class:`BackoffPolicy` (importable from this module). Not Airflow's
        task ``retry_policy``, which the operators and sensors take.
    :param retry_policy: the old name of ``backoff`` (deprecated; gone in 0.3).
    """

    conn_type = "loopring"
    hook_name = "Loopring"
    if not HAS_PROVIDER_CONN_FIELDS:  # Airflow 3.1 asks the hook for its connection form

        @classmethod
        def get_ui_field_behaviour(cls) -> dict[str, Any]:
            """The provider info's ``ui-field-behaviour``, for Airflow 3.1's connection form."""
            return _form.ui_field_behaviour()

        @classmethod
        def get_connection_form_widgets(cls) -> dict[str, Any]:
            """The provider info's ``conn-fields``, for Airflow 3.1's connection form."""
            return _form.connection_form_widgets()
    # --- named methods: one line each over get / iterate, for IDEs and help() ------------

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
        return self.get(core.NFT_BALANCES, offset=offset, limit=limit, **query)

    async def aget_nft_balances(
        self,
        *,
        offset: int = 0,
        limit: int = core.MAX_LIMIT,
        **query: Unpack[core.NftBalancesQuery],
    ) -> NftBalancesPage:
        """The async twin of :meth:`get_nft_balances` (the same parameters).

        :param offset: the first item, 0-based.
        :param limit: items per page, 1 to 50.
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.NftBalancesQuery`.
        """
        return await self.aget(core.NFT_BALANCES, offset=offset, limit=limit, **query)

    def iter_nft_balances(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.NftBalancesQuery],
    ) -> Iterator[NftBalance]:
        """Every balance of the account, all pages, each once (see :meth:`iterate`).

        :param page_size: items per request, 1 to 50.
        :param on_page: called with the pager after each page, before its items are handed
            out (progress; raising there stops the listing before the next request).
        :param max_pages: fail rather than read more pages (default: the connection's
            ``max_pages``, 10,000).
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.NftBalancesQuery`.
        """
        return self.iterate(
            core.NFT_BALANCES, page_size=page_size, on_page=on_page, max_pages=max_pages, **query
        )

    def aiter_nft_balances(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.NftBalancesQuery],
    ) -> AsyncIterator[NftBalance]:
        """The async twin of :meth:`iter_nft_balances` (the same parameters).

        :param page_size: items per request, 1 to 50.
        :param on_page: called with the pager after each page, before its items are handed out.
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.NftBalancesQuery`.
        """
        return self.aiterate(
            core.NFT_BALANCES, page_size=page_size, on_page=on_page, max_pages=max_pages, **query
        )

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
        return self.get(core.COLLECTION_BALANCES, offset=offset, limit=limit, **query)

    async def aget_collections(
        self,
        *,
        offset: int = 0,
        limit: int = core.MAX_LIMIT,
        **query: Unpack[core.CollectionsQuery],
    ) -> CollectionsPage:
        """The async twin of :meth:`get_collections` (the same parameters).

        :param offset: the first item, 0-based.
        :param limit: items per page, 1 to 50.
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.CollectionsQuery`.
        """
        return await self.aget(core.COLLECTION_BALANCES, offset=offset, limit=limit, **query)

    def iter_collections(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.CollectionsQuery],
    ) -> Iterator[CollectionBalance]:
        """Every collection the account holds NFTs of, all pages, each once.

        :param page_size: items per request, 1 to 50.
        :param on_page: called with the pager after each page (see :meth:`iterate`).
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.CollectionsQuery`.
        """
        listing = core.COLLECTION_BALANCES
        return self.iterate(
            listing, page_size=page_size, on_page=on_page, max_pages=max_pages, **query
        )

    def aiter_collections(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.CollectionsQuery],
    ) -> AsyncIterator[CollectionBalance]:
        """The async twin of :meth:`iter_collections` (the same parameters).

        :param page_size: items per request, 1 to 50.
        :param on_page: called with the pager after each page (see :meth:`iterate`).
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``account_id`` or ``address`` and the filters of
            :class:`~airflow_provider_loopring._core.CollectionsQuery`.
        """
        listing = core.COLLECTION_BALANCES
        return self.aiterate(
            listing, page_size=page_size, on_page=on_page, max_pages=max_pages, **query
        )

    # --- connection test -----------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Tell a wrong host (no Loopring API there) from a wrong key."""
        probe = core.account_request(account_id=1)
        try:
            self._sync.send(probe, self.settings, self._headers(probe))
        except LoopringInvalidParameterError as exc:
            return False, str(exc)
        except LoopringApiError as exc:
            if exc.code is None:
                return False, f"No Loopring API at {self.settings.base_url}: {exc}"
        try:
            keyed = core.nft_balances_request(account_id=1, limit=1)
            self._sync.send(keyed, self.settings, self._headers(keyed))
        except LoopringInvalidParameterError as exc:
            return False, str(exc)
        except LoopringApiError as exc:
            if exc.code in (104001, 104002) or exc.http_status in (401, 403):
                return False, f"The API key was rejected by {self.settings.base_url}: {exc}"
            if exc.code is None:
                return False, str(exc)
        return True, f"Connected to the Loopring API at {self.settings.base_url}; the key works."


def __getattr__(name: str) -> object:
    """``RetryPolicy``, the HTTP backoff's old name here, for one release."""
    if name == "RetryPolicy":
        _deprecated("airflow_provider_loopring.hooks.loopring.RetryPolicy", "BackoffPolicy")
        return BackoffPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
