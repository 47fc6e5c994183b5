"""The hook's reads of what accounts hold: NFT balances and collections, one line each.

Each named method is one call of the generic ``get`` / ``iterate`` (and their async twins) of
:class:`~airflow_provider_loopring.hooks._client.LoopringClient` on a declared endpoint; they
exist so IDEs and ``help()`` show every parameter. :class:`LoopringHook` has them all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from airflow_provider_loopring import _core as core
from airflow_provider_loopring.hooks._client import LoopringClient
from airflow_provider_loopring.models import (
    CollectionBalance,
    CollectionsPage,
    NftBalance,
    NftBalancesPage,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack


class BalanceReads(LoopringClient):
    """What accounts hold: ``/api/v3/user/nft/balances`` and ``/user/collection/details``."""

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
