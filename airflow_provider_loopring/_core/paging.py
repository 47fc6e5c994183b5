"""How a listing is paged: what each page must be, what is new, and when to stop."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from airflow_provider_loopring._core.endpoint import (
    ApiRequest,
    Endpoint,
)
from airflow_provider_loopring._core.responses import (
    bad_shape,
    parse_model,
)
from airflow_provider_loopring._core.settings import DEFAULT_MAX_PAGES
from airflow_provider_loopring.exceptions import (
    LoopringBadResponseError,
)

T = TypeVar("T")
#: Called with the pager after each page, before its items are handed out (progress; raising
#: there stops the listing before the next request).
PageCallback = Callable[["Pager[Any]"], None]


def check_page(
    request: ApiRequest, total: int, items: Sequence[T], owner: Callable[[T], object] | None
) -> int:
    """Refuse a page that contradicts the request; returns the total to plan the listing with.

    One place for every list call, one page or all. A page showing more items than
    ``totalNum`` leaves room for at its offset (``totalNum`` 0 while items come) is not
    taken as the end: the total is raised to the page's end, plus one when the page is
    full, so the listing is followed until a short page (within ``max_pages``).

    :param owner: an item's account id, for endpoints whose items carry one.
    :raises LoopringBadResponseError: a negative ``totalNum``, more items than ``limit``, or an
        item of another account; not retried: the same answer would come again.
    """
    offset, limit = int(request.params.get("offset", 0)), int(request.params.get("limit", 0))
    if total < 0:
        raise bad_shape(request, f"totalNum is {total}")
    if limit and len(items) > limit:
        raise bad_shape(request, f"{len(items)} items, more than the limit of {limit} asked for")
    account = request.params.get("accountId")
    if owner is not None and account is not None:
        strangers = {str(owner(item)) for item in items} - {account}
        if strangers:
            raise bad_shape(request, f"items of account {min(strangers)} in this listing")
    end = offset + len(items)
    if end <= total:
        return total
    return end + 1 if limit and len(items) >= limit else end


def unique(items: Sequence[T], key: Callable[[T], object]) -> Sequence[T]:
    """The items, each key once (its first), in order; the list itself when none repeats."""
    by_key: dict[object, T] = {}
    for item in items:
        by_key.setdefault(key(item), item)
    return items if len(by_key) == len(items) else list(by_key.values())


class PageReader:
    """Reads one response of an endpoint into its model, a page checked (:func:`check_page`).

    Called inside the hook's retry loop: what it raises is retried as the transport's errors
    are (a page that contradicts its totalNum may be asked again).

    :param endpoint: the declaration: its model, item key and owner.
    :param request: the call, named in errors.
    :param alone: a one-page call: its items are handed out each once, as the pager does.
    """

    def __init__(self, endpoint: Endpoint, request: ApiRequest, alone: bool = False) -> None:
        self.endpoint, self.request, self.alone = endpoint, request, alone

    def __call__(self, body: Any) -> Any:
        endpoint = self.endpoint
        page: Any = parse_model(self.request, body, endpoint.model.from_api)
        if not endpoint.paged:
            return page
        total = check_page(self.request, page.total_num, page.items, endpoint.owner)
        if endpoint.ends == "empty":  # totalNum not trusted: one more page while any come
            offset = int(self.request.params.get("offset", 0))
            total = offset + len(page.items) + (1 if page.items else 0)
        # The pager needs every item as sent, to move its offset on; a page alone does not.
        if self.alone and endpoint.key is not None:
            items = unique(page.items, endpoint.key)
        else:
            items = page.items
        if total == page.total_num and items is page.items:
            return page
        return dataclasses.replace(page, total_num=total, items=items)


@dataclass
class Pager(Generic[T]):
    """Plans offset/limit pages and decides what is new and when to stop.

    Offsets shift when the account changes while we read: items may repeat across pages
    (dropped here: the keys of the whole listing are remembered, ~100 bytes an item),
    ``totalNum`` may grow (we follow it) or shrink (we step back by as much, since items we
    have not read may have moved into offsets we have). A page that comes back short while
    ``totalNum`` says there is more is asked for once more; short again, the listing is
    inconsistent and the read fails rather than return part of the account. So does a
    listing that keeps repeating itself (two full pages with nothing new in a row) and one
    still going after ``max_pages`` pages.

    With ``until_empty`` (an endpoint whose ``totalNum`` is not to be trusted) the offset moves
    on by each page's length and the listing ends at the first empty page.
    """

    page_size: int
    key: Callable[[T], object]
    max_pages: int = DEFAULT_MAX_PAGES
    offset: int = 0
    total: int | None = None
    done: bool = False
    pages: int = 0
    received: int = 0  # distinct items handed out so far
    until_empty: bool = False
    _seen: set[object] = field(default_factory=set)
    _short_retries: int = 0
    _stale_pages: int = 0

    def request(self, base: ApiRequest) -> ApiRequest:
        return base.page(self.offset, self.page_size)

    def accept(self, request: ApiRequest, total: int, items: list[T]) -> list[T]:
        """Take one page; returns the items not seen before and moves the plan on."""
        self.pages += 1
        shrunk = 0 if self.total is None else max(self.total - total, 0)
        self.total = total
        fresh = self._fresh(items)
        end = self.offset + len(items)
        if self.until_empty:
            self._until_empty(request, items, fresh, end)
        elif shrunk and self.offset:
            self.offset = max(self.offset - shrunk, 0)  # repeats are dropped above
            self._short_retries = 0
        elif len(items) >= self.page_size and end < total:
            self._stale_pages = self._stale_pages + 1 if not fresh else 0
            if self._stale_pages >= 2:
                raise bad_shape(request, "the same items came back for different offsets")
            self.offset = end
            self._short_retries = 0
        elif end < total and self._short_retries < 1:
            self._short_retries += 1
        elif end < total:
            raise LoopringBadResponseError(
                f"{len(items)} items at offset {self.offset} twice, although totalNum is "
                f"{total}: the listing is inconsistent and the result would be incomplete",
                endpoint=request.describe(),
                retryable=True,
            )
        else:
            self.done = True
        if not self.done and self.pages >= self.max_pages:
            raise bad_shape(
                request, f"still no end after {self.pages} pages (totalNum {total}; max_pages)"
            )
        return fresh

    def _until_empty(self, request: ApiRequest, items: list[T], fresh: list[T], end: int) -> None:
        if not items:
            self.done = True
            return
        self._stale_pages = self._stale_pages + 1 if not fresh else 0
        if self._stale_pages >= 2:
            raise bad_shape(request, "the same items came back for different offsets")
        self.offset = end

    def _fresh(self, items: list[T]) -> list[T]:
        """Items whose key this listing has not shown yet, a repeat within the page included."""
        seen = self._seen
        fresh = []
        for item in items:
            key = self.key(item)
            if key not in seen:
                seen.add(key)
                fresh.append(item)
        self.received += len(fresh)
        return fresh
