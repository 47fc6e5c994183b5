"""The hook's reads of NFTs themselves: holders, NFT info, a collection and its NFTs.

One line each over the generic ``get`` / ``iterate`` on a declared endpoint (see
:mod:`airflow_provider_loopring._core.endpoints`); :class:`LoopringHook` has them all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING

from airflow_provider_loopring import _core as core
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.hooks._client import LoopringClient
from airflow_provider_loopring.models import Collection, CollectionNft, NftHolder, NftInfo

if TYPE_CHECKING:
    from typing_extensions import Unpack


def _info_batches(nft_datas: str | Sequence[str]) -> list[list[str]]:
    """Every nftData checked before any request, in requests of at most 50."""
    checked = core.check_filter(nft_datas, "nft_datas", core.check_nft_data)
    if checked is None:
        raise LoopringInvalidParameterError("nft_datas", "at least one nftData", nft_datas)
    unique = list(dict.fromkeys(checked))
    size = core.MAX_NFT_INFOS
    return [unique[i : i + size] for i in range(0, len(unique), size)]


class NftReads(LoopringClient):
    """Who holds an NFT, what NFTs are, and a collection with its NFTs."""

    def iter_nft_holders(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.NftHoldersQuery],
    ) -> Iterator[NftHolder]:
        """Every account holding an NFT (``GET /api/v3/nft/info/nftHolders``), each once.

        Pages until an empty page: what Loopring's ``totalNum`` counts there is not settled.

        :param page_size: holders per request, 1 to 50.
        :param on_page: called with the pager after each page (see ``iterate``).
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``nft_data``, the NFT (required).
        """
        return self.iterate(
            core.NFT_HOLDERS, page_size=page_size, on_page=on_page, max_pages=max_pages, **query
        )

    def aiter_nft_holders(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.NftHoldersQuery],
    ) -> AsyncIterator[NftHolder]:
        """The async twin of :meth:`iter_nft_holders` (the same parameters).

        :param page_size: holders per request, 1 to 50.
        :param on_page: called with the pager after each page.
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``nft_data``, the NFT (required).
        """
        return self.aiterate(
            core.NFT_HOLDERS, page_size=page_size, on_page=on_page, max_pages=max_pages, **query
        )

    def get_nft_infos(self, *, nft_datas: str | Sequence[str]) -> list[NftInfo]:
        """What NFTs are (``GET /api/v3/nft/info/nfts``): 50 a request, more split.

        Every nftData is checked before the first request; repeats are asked once. NFTs
        Loopring does not know are left out of its answer, so of the result too.

        :param nft_datas: the NFTs: a list or "a,b".
        """
        return [
            info
            for batch in _info_batches(nft_datas)
            for info in self.get(core.NFT_INFOS, nft_datas=batch).items
        ]

    async def aget_nft_infos(self, *, nft_datas: str | Sequence[str]) -> list[NftInfo]:
        """The async twin of :meth:`get_nft_infos`.

        :param nft_datas: the NFTs: a list or "a,b".
        """
        found: list[NftInfo] = []
        for batch in _info_batches(nft_datas):
            found.extend((await self.aget(core.NFT_INFOS, nft_datas=batch)).items)
        return found

    def iter_collection_nfts(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.CollectionNftsQuery],
    ) -> Iterator[CollectionNft]:
        """Every NFT of a collection (``GET /api/v3/nft/public/collection/items``), each once.

        :param page_size: NFTs per request, 1 to 50.
        :param on_page: called with the pager after each page (see ``iterate``).
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``collection_id`` (required) and ``metadata`` (default False).
        """
        return self.iterate(
            core.COLLECTION_NFTS, page_size=page_size, on_page=on_page, max_pages=max_pages, **query
        )

    def aiter_collection_nfts(
        self,
        *,
        page_size: int = core.MAX_LIMIT,
        on_page: core.PageCallback | None = None,
        max_pages: int | None = None,
        **query: Unpack[core.CollectionNftsQuery],
    ) -> AsyncIterator[CollectionNft]:
        """The async twin of :meth:`iter_collection_nfts` (the same parameters).

        :param page_size: NFTs per request, 1 to 50.
        :param on_page: called with the pager after each page.
        :param max_pages: fail rather than read more pages (default: the connection's).
        :param query: ``collection_id`` (required) and ``metadata`` (default False).
        """
        return self.aiterate(
            core.COLLECTION_NFTS, page_size=page_size, on_page=on_page, max_pages=max_pages, **query
        )

    def get_collection(self, **query: Unpack[core.CollectionQuery]) -> Collection:
        """One collection (``GET /api/v3/nft/public/collection``).

        :param query: exactly one of ``collection_id``, ``contract_address`` (its token
            contract, sent as Loopring's ``collectionAddress``, as Loopring's explorer does:
            a legacy import's ``collectionAddress`` is ``<contract>-0x...``, so look such a
            collection up by id or by one of its NFTs) and ``nft_data`` (an NFT of it).
        :raises LoopringInvalidParameterError: none or several given, before any request.
        """
        collection: Collection = self.get(core.COLLECTION, **query)
        return collection

    async def aget_collection(self, **query: Unpack[core.CollectionQuery]) -> Collection:
        """The async twin of :meth:`get_collection`.

        :param query: exactly one of ``collection_id``, ``contract_address``, ``nft_data``.
        """
        collection: Collection = await self.aget(core.COLLECTION, **query)
        return collection
