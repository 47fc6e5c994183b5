"""The hook's reads of what moved: an account's NFT transactions and NFT trades.

One line each over the generic ``iterate`` on a declared endpoint (see
:mod:`airflow_provider_loopring._core.endpoints`); :class:`LoopringHook` has them all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from airflow_provider_loopring import _core as core
from airflow_provider_loopring.hooks._client import LoopringClient
from airflow_provider_loopring.models import NftTrade, NftTransaction

if TYPE_CHECKING:
    from typing_extensions import Unpack


class HistoryReads(LoopringClient):
    """``/api/v3/user/nft/transactions`` and ``/api/v3/user/nft/trades``."""

    def iter_nft_transactions(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.NftTransactionsQuery],
    ) -> Iterator[NftTransaction]:
        """Every NFT transaction of an account, all pages, each once (by its hash).

        :param page_size: transactions per request, 1 to 50.
        :param on_page: called with the pager after each page (see ``iterate``).
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``account_id`` or ``address``; ``start`` / ``end`` (aware datetimes or
            epoch ms; Loopring includes both ends); ``types`` (of ``core.TRANSACTION_TYPES``);
            ``nft_datas``. See :class:`~airflow_provider_loopring._core.NftTransactionsQuery`.
        """
        return self.iterate(
            core.NFT_TRANSACTIONS,
            page_size=page_size,
            on_page=on_page,
            max_pages=max_pages,
            **query,
        )

    def aiter_nft_transactions(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.NftTransactionsQuery],
    ) -> AsyncIterator[NftTransaction]:
        """The async twin of :meth:`iter_nft_transactions` (the same parameters).

        :param page_size: transactions per request, 1 to 50.
        :param on_page: called with the pager after each page.
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: see :meth:`iter_nft_transactions`.
        """
        return self.aiterate(
            core.NFT_TRANSACTIONS,
            page_size=page_size,
            on_page=on_page,
            max_pages=max_pages,
            **query,
        )

    def iter_nft_trades(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.NftTradesQuery],
    ) -> Iterator[NftTrade]:
        """Every NFT trade of an account (``GET /api/v3/user/nft/trades``), positions named.

        The newer ``/api/v3/new/user/nft/trades`` is undocumented and not read.

        :param page_size: trades per request, 1 to 50.
        :param on_page: called with the pager after each page (see ``iterate``).
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``account_id`` or ``address``; ``nft_data``, ``order_hash``,
            ``trade_hash``, ``start``, ``end``, ``ascending``. See
            :class:`~airflow_provider_loopring._core.NftTradesQuery`.
        """
        return self.iterate(
            core.NFT_TRADES, page_size=page_size, on_page=on_page, max_pages=max_pages, **query
        )

    def aiter_nft_trades(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.NftTradesQuery],
    ) -> AsyncIterator[NftTrade]:
        """The async twin of :meth:`iter_nft_trades` (the same parameters).

        :param page_size: trades per request, 1 to 50.
        :param on_page: called with the pager after each page.
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: see :meth:`iter_nft_trades`.
        """
        return self.aiterate(
            core.NFT_TRADES, page_size=page_size, on_page=on_page, max_pages=max_pages, **query
        )
