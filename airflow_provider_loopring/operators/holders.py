"""The operator that fetches who holds NFTs: given ones, or every NFT of collections.

It runs on the accounts operators' machinery (:mod:`._run`: threads sharing one hook, the
XCom and object-storage sinks, checkpoints, progress, fail fast), with NFTs where those have
accounts: each NFT is one part of the output, fetched and checkpointed whole, so a retry
fetches only the NFTs an earlier try did not finish.

DAG files import this module at parse time: the hook, models and storage's writers come in
when a task runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_provider_loopring import _core as core
from airflow_provider_loopring.exceptions import (
    LoopringInvalidParameterError,
    LoopringNotFoundError,
)
from airflow_provider_loopring.operators.arguments import AccountRef, Record
from airflow_provider_loopring.operators.base import FirstPage, LoopringAccountsOperator
from airflow_provider_loopring.storage import schemas
from airflow_provider_loopring.templates import unrendered

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_loopring._core.paging import PageCallback

#: The ways to say which NFTs; give exactly one.
SELECTORS = ("nft_datas", "collection_id", "token_address")


class NftPlace(NamedTuple):
    """Where an NFT belongs: its collection (None when Loopring names none yet) and contract."""

    collection_id: int | None
    token_address: str | None


class HoldersFirstPage(FirstPage):
    """An NFT's first page of holders; ``total`` counts its records, the least there are.

    ``totalNum`` may count the page rather than the holders, so the page is all there is only
    when empty (the hook pages until an empty page too), and the XCom's cap is checked
    against what is known to be there, not against a guess one past it. A page with holders
    is kept: the rest of the listing goes on from the next offset (:class:`_Listing`).
    """

    @property
    def complete(self) -> bool:
        """Whether the page is all there is: only an empty one is known to be."""
        return not self.records


class _Listing:
    """One NFT's holders as the hook lists them, read a page at a time: the first page is
    taken whole, and the rest goes on from where it stopped (never from offset 0 again)."""

    def __init__(self, hook: Any, nft_data: str) -> None:
        self.on_page: PageCallback | None = None  # the run's, for the pages after the first
        self._pager: Any = None
        self.holders = hook.iter_nft_holders(nft_data=nft_data, on_page=self._page)

    def _page(self, pager: Any) -> None:
        self._pager = pager
        if self.on_page is not None:
            self.on_page(pager)

    def first_page(self) -> list[Any]:
        """The first page's holders: once the first has come, the rest of its page is in hand."""
        first = next(self.holders, None)
        if first is None:
            return []  # an empty first page: the listing is done
        return [first, *islice(self.holders, self._pager.received - 1)]


class LoopringNftHoldersOperator(LoopringAccountsOperator):
    """Fetch every holder of NFTs (``GET /api/v3/nft/info/nftHolders``), NFT by NFT.

    Give exactly one of ``nft_datas``, ``collection_id`` and ``token_address``. For a
    collection the task lists its NFTs first (``/api/v3/nft/public/collection/items``), then
    fetches each NFT's holders; a ``token_address`` is first looked up as its collection
    (``/api/v3/nft/public/collection?collectionAddress=``). For ``nft_datas`` each NFT's
    ``tokenAddress`` comes from ``/api/v3/nft/info/nfts`` (50 NFTs a request) and its
    ``collectionId`` from ``/api/v3/nft/public/collection?nftHash=`` (one request per NFT,
    null when Loopring names no collection); an nftData Loopring does not know fails the task.

    Each record is one (NFT, holder): Loopring's holder item (``accountId``, ``address``
    where Loopring sends it, ``tokenId``, the holder's slot, and ``amount``, Loopring's
    decimal string) with the NFT's ``nftData``, ``collectionId`` and ``tokenAddress``.
    Without ``output_path`` the task returns the records as XCom, in the NFTs' order and then
    the API's; with it they are streamed into one object there (Parquet: the declared schema
    ``holders``) and the XCom is a small reference, as for
    :class:`~airflow_provider_loopring.operators.loopring.LoopringNftBalancesOperator`, whose
    ``resumed_accounts`` counts the NFTs an earlier try finished. A retry lists a collection
    again but fetches the holders only of the NFTs an earlier try did not finish.

    :param nft_datas: the NFTs (``nftData`` values: 0x and 64 hex digits), a list or "a,b".
        (templated)
    :param collection_id: a collection id, or a list of them. (templated)
    :param token_address: a collection's token contract address, or a list of them.
        (templated)
    :param output_path: an ``ObjectStoragePath`` URL to write the records to; the object
        appears only when complete, and a re-run overwrites it. (templated)
    :param kwargs: the storage and run parameters every Loopring accounts operator takes
        (``output_conn_id``, ``output_format``, ``snapshot_date``, ``max_xcom_records``,
        ``max_workers``, ``checkpoint_interval``, ``loopring_conn_id``): see
        :class:`~airflow_provider_loopring.operators.base.LoopringAccountsOperator`; and
        ``BaseOperator``'s.
    """

    record_kind = "holders"
    progress_unit = "NFTs"
    _endpoint = "NFT_HOLDERS"
    template_fields: Sequence[str] = (
        *SELECTORS,
        "output_path",
        "output_format",
        "snapshot_date",
    )

    def __init__(
        self,
        *,
        nft_datas: str | Sequence[str] | None = None,
        collection_id: int | str | Sequence[int | str] | None = None,
        token_address: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.nft_datas = nft_datas
        self.collection_id = collection_id
        self.token_address = token_address
        # Filled when the task runs: each NFT's collection and contract (see _items, _place).
        self._places: dict[str, NftPlace] = {}
        self._contracts: dict[str, str | None] = {}
        # An NFT's first page (its records) and its listing, until the rest of it is read.
        self._listings: dict[str, tuple[list[Record], _Listing]] = {}
        self._validate(rendered=False)

    # --- arguments -------------------------------------------------------------------------

    def _checks(self, rendered: bool) -> dict[str, Callable[[Any], object]]:
        return {
            **super()._checks(rendered),
            "nft_datas": lambda value: core.check_filter(value, "nft_datas", core.check_nft_data),
            "collection_id": lambda value: core.check_filter(
                value, "collection_id", core.check_collection_id
            ),
            "token_address": lambda value: core.check_filter(
                value, "token_address", core.check_address
            ),
        }

    def _selection(self) -> tuple[str, list[Any]]:
        """The one selector given and its values, checked (duplicates dropped)."""
        given = {name: getattr(self, name) for name in SELECTORS}
        accounts = (self.account_id, self.address, self.accounts)
        chosen = [name for name, value in given.items() if value is not None]
        if len(chosen) != 1 or any(value is not None for value in accounts):
            raise LoopringInvalidParameterError(
                "nft_datas/collection_id/token_address",
                "exactly one of nft_datas, collection_id and token_address (and no accounts)",
                given,
            )
        name = chosen[0]
        values: list[Any] = self._checks(True)[name](given[name])  # type: ignore[assignment]
        if name != "collection_id":
            values = [value.lower() for value in values]
        return name, list(dict.fromkeys(values))

    def _validate(self, *, rendered: bool) -> list[AccountRef]:
        """Check every argument; the NFTs of collections are known only when the task runs."""
        for name, check in super()._checks(rendered).items():
            value = getattr(self, name)
            if rendered or not unrendered(value):
                check(value)
        if not rendered and any(unrendered(getattr(self, name)) for name in SELECTORS):
            return []
        name, values = self._selection()
        return [(name, value) for value in values]

    def _filters(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SELECTORS}

    # --- which NFTs ------------------------------------------------------------------------

    def _items(self) -> list[AccountRef]:
        """Every NFT selected, each once, with its place noted: ``("nft_data", nftData)``."""
        selection = self._validate(rendered=True)
        name = selection[0][0]
        if name == "nft_datas":
            return self._given_nfts([value for _, value in selection])
        ids = [value for _, value in selection]
        if name == "token_address":
            ids = [self.hook.get_collection(contract_address=value).id for _, value in selection]
        for collection_id in dict.fromkeys(ids):
            for nft in self.hook.iter_collection_nfts(collection_id=collection_id):
                if nft.nft_data is not None:
                    place = NftPlace(collection_id, nft.token_address)
                    self._places.setdefault(nft.nft_data.lower(), place)
        self.log.info("%d NFTs in %d collections.", len(self._places), len(set(ids)))
        return [("nft_data", nft_data) for nft_data in self._places]

    def _given_nfts(self, nft_datas: list[str]) -> list[AccountRef]:
        infos = {
            info.nft_data.lower(): info.token_address
            for info in self.hook.get_nft_infos(nft_datas=nft_datas)
            if info.nft_data is not None
        }
        unknown = [nft_data for nft_data in nft_datas if nft_data not in infos]
        if unknown:
            raise LoopringNotFoundError(
                f"Loopring knows no NFT {', '.join(unknown[:5])}"
                + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""),
                endpoint=f"GET {core.NFT_INFOS.path}",
            )
        self._contracts.update(infos)
        return [("nft_data", nft_data) for nft_data in nft_datas]

    def _place(self, nft_data: str) -> NftPlace:
        """The NFT's collection and contract; a given NFT's collection is asked for here, once."""
        place = self._places.get(nft_data)
        if place is None:
            try:
                collection_id: int | None = self.hook.get_collection(nft_data=nft_data).id
            except LoopringNotFoundError:
                collection_id = None
            place = self._places[nft_data] = NftPlace(collection_id, self._contracts[nft_data])
        return place

    # --- what each NFT gives ---------------------------------------------------------------

    def _records(self, nft_data: str, holders: Iterator[Any]) -> Iterator[Record]:
        place = self._place(nft_data)
        for holder in holders:
            yield {
                "nftData": nft_data,
                **holder.to_dict(copy=False),
                "collectionId": place.collection_id,
                "tokenAddress": place.token_address,
            }

    def _first_page(self, account: AccountRef) -> FirstPage:
        listing = _Listing(self.hook, account[1])
        records = list(self._records(account[1], iter(listing.first_page())))
        if records:  # not known to be all: the rest goes on from the next offset
            self._listings[account[1]] = (records, listing)
        first = HoldersFirstPage(len(records), records)
        return self._log_first_page(account, first)

    def _iter_records(self, account: AccountRef, on_page: PageCallback) -> Iterator[Record]:
        started = self._listings.pop(account[1], None)
        if started is None:  # no first page read (to storage): the whole listing
            holders = self.hook.iter_nft_holders(nft_data=account[1], on_page=on_page)
            return self._records(account[1], holders)
        records, listing = started
        listing.on_page = on_page
        return chain(records, self._records(account[1], listing.holders))

    # --- OpenLineage -----------------------------------------------------------------------

    def _lineage(self) -> OperatorLineage:
        from airflow_provider_loopring.operators import _lineage
        from airflow_provider_loopring.operators._columns import json_columns

        parquet = self.output_format == "parquet"
        return _lineage.operator_lineage(
            base_url=self.hook.settings.base_url,
            endpoint=core.NFT_HOLDERS.path,
            accounts=[],
            filters=self._filters(),
            output_path=self.output_path,
            columns=schemas.lineage_fields("holders") if parquet else json_columns("holders"),
        )
