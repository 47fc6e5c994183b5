"""The two list endpoints as the hook pages them: their models, item keys and page checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

from airflow_provider_loopring import _core as core
from airflow_provider_loopring.models import CollectionsPage, NftBalancesPage


class Listing(NamedTuple):
    """What the hook needs to know of a list endpoint's pages."""

    model: type[NftBalancesPage] | type[CollectionsPage]
    key: Callable[[Any], object]  # what makes an item the same item on another page
    owner: Callable[[Any], object] | None  # an item's account id, where items carry one


BALANCES = Listing(
    NftBalancesPage, lambda item: item.nft_data or item.token_id, lambda item: item.account_id
)
COLLECTIONS = Listing(CollectionsPage, lambda item: item.collection.id, None)


class PageReader:
    """Reads one page of a listing, checked (``core.check_page``), inside the retry loop.

    :param listing: the endpoint: :data:`BALANCES` or :data:`COLLECTIONS`.
    :param request: the page's request, named in errors.
    :param alone: a one-page call: its items are handed out each once, as the pager does.
    """

    def __init__(self, listing: Listing, request: core.ApiRequest, alone: bool = False) -> None:
        self.listing, self.request, self.alone = listing, request, alone

    def __call__(self, body: Any) -> Any:
        page = core.parse_model(self.request, body, self.listing.model.from_api)
        total = core.check_page(self.request, page.total_num, page.items, self.listing.owner)
        # The pager needs every item as sent, to move its offset on; a page alone does not.
        items = core.unique(page.items, self.listing.key) if self.alone else page.items
        if total == page.total_num and items is page.items:
            return page
        return dataclasses.replace(page, total_num=total, items=items)
