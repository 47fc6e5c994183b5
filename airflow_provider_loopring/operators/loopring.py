"""Operators that fetch the NFT balances or collections of one Loopring account or of thousands.

The hook does the HTTP (paging, retries, the shared rate limit); these operators check their
arguments, fan the accounts out over threads and hand the records to a sink from
:mod:`airflow_provider_loopring.storage`. DAG files import this module at parse time, so only
``airflow.sdk`` is imported at the top: the hook, models, storage and requests come in when a
task runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_loopring.api import Pager
    from airflow_provider_loopring.hooks.loopring import LoopringHook

A = TypeVar("A")
R = TypeVar("R")
Record = dict[str, Any]
# ("account_id", 10001) or ("address", "0x..."): the hook's keyword and its value.
Account = tuple[str, Any]
PageCallback = Callable[["Pager[Any]"], None]


class _Part(Protocol):
    @property
    def records(self) -> int: ...

    def write(self, record: Record) -> None: ...
    def close(self) -> None: ...


P = TypeVar("P", bound=_Part)
P_co = TypeVar("P_co", bound=_Part, covariant=True)


class _Sink(Protocol[P_co]):
    def new_part(self) -> P_co: ...


class _FirstPage(NamedTuple):
    """An account's first page: the API's totalNum for the whole account, and its records."""

    total: int
    records: list[Record]

    @property
    def complete(self) -> bool:
        """Whether the page is all there is: the hook's pager would stop here too."""
        return len(self.records) >= self.total


class _Stopped(Exception):
    """Raised in a worker when the run is already lost (another account failed, or a kill)."""


def _check_positive(value: object, name: str) -> int:
    from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LoopringInvalidParameterError(name, "a positive integer", value)
    return value


def _check_accounts(account_id: object, address: object) -> list[Account]:
    """The accounts to fetch, each checked, duplicates dropped, in the order given."""
    from airflow_provider_loopring import api
    from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

    if (account_id is None) == (address is None):
        api.check_selector(account_id, address)  # raises: exactly one of the two is required
    check: Callable[[object, str], object]
    if account_id is not None:
        name, value, check = "account_id", account_id, api.check_account_id
    else:
        name, value, check = "address", address, api.check_address
    # check_list takes lists and comma-separated strings, which a template may render.
    values = api.check_list(value, name, check)
    if not values:
        raise LoopringInvalidParameterError(name, "at least one account", value)
    unique: dict[str, Any] = {}
    for item in values:
        unique.setdefault(str(item).lower(), item)  # Loopring mixes the case of addresses
    return [(name, item) for item in unique.values()]


def _label(account: Account) -> str:
    return f"account {account[1]}"


class _LoopringAccountsOperator(BaseOperator):
    """What both operators share: the accounts, the sinks, the fan-out over threads."""

    def __init__(
        self,
        *,
        account_id: int | str | Sequence[int | str] | None = None,
        address: str | Sequence[str] | None = None,
        non_zero: bool = True,
        output_path: str | None = None,
        output_conn_id: str | None = None,
        output_format: str = "jsonl",
        max_xcom_records: int = 1000,
        max_workers: int = 4,
        loopring_conn_id: str = "loopring_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.account_id = account_id
        self.address = address
        self.non_zero = non_zero
        self.output_path = output_path
        self.output_conn_id = output_conn_id
        self.output_format = output_format
        self.max_xcom_records = max_xcom_records
        self.max_workers = max_workers
        self.loopring_conn_id = loopring_conn_id
        self._stop: threading.Event | None = None

    # --- what each operator fetches --------------------------------------------------------

    def _checks(self, rendered: bool) -> dict[str, Callable[[Any], object]]:
        """Argument name -> its check from ``api``/``storage``; subclasses add their filters.

        :param rendered: the task is running: also ask Airflow whether it has a filesystem
            for ``output_path``'s scheme (too costly at DAG parse time).
        """
        from airflow_provider_loopring import api, storage

        return {
            "non_zero": lambda value: api.check_flag(value, "non_zero"),
            "output_path": lambda value: (
                value is None or storage.check_output_path(value, filesystem=rendered)
            ),
            "output_format": storage.check_output_format,
            "max_xcom_records": lambda value: _check_positive(value, "max_xcom_records"),
            "max_workers": lambda value: _check_positive(value, "max_workers"),
        }

    def _first_page(self, hook: LoopringHook, account: Account) -> _FirstPage:
        raise NotImplementedError

    def _iter_records(
        self, hook: LoopringHook, account: Account, on_page: PageCallback
    ) -> Iterator[Record]:
        raise NotImplementedError

    # --- validation ------------------------------------------------------------------------

    def _validate(self, *, rendered: bool) -> list[Account]:
        """Check every argument; before rendering, templates and XComArgs are left for later."""
        from airflow_provider_loopring.api import unrendered

        for name, check in self._checks(rendered).items():
            value = getattr(self, name)
            if rendered or not unrendered(value):
                check(value)
        if not rendered and (unrendered(self.account_id) or unrendered(self.address)):
            return []
        return _check_accounts(self.account_id, self.address)

    # --- running ---------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        from airflow_provider_loopring.hooks.loopring import LoopringHook

        accounts = self._validate(rendered=True)
        hook = LoopringHook(loopring_conn_id=self.loopring_conn_id)
        # Read the connection once, here: the worker threads then share settled settings.
        _ = hook.settings
        self._stop = threading.Event()
        if self.output_path is None:
            return self._to_xcom(hook, accounts)
        return self._to_storage(hook, accounts, self.output_path)

    def on_kill(self) -> None:
        if self._stop is not None:
            self._stop.set()  # workers stop at their next page

    def _to_xcom(self, hook: LoopringHook, accounts: list[Account]) -> list[Record]:
        """First pages of every account, then the check against the cap, then the rest.

        Each account's first page tells its totalNum, so a result too big for XCom fails
        before any further page is spent on it. An account whose first page is all it has
        costs one request; the others are read again from the start by the hook's pager.
        """
        from airflow_provider_loopring.storage import XComRecords

        sink = XComRecords(self.max_xcom_records)
        reported = 0

        def count(first: _FirstPage) -> None:
            nonlocal reported
            reported += first.total
            sink.check(reported)

        firsts = self._fan_out(lambda account: self._first_page(hook, account), accounts, count)
        parts = self._fan_out(
            lambda pair: self._complete(hook, pair[0], pair[1], sink),
            list(zip(accounts, firsts, strict=True)),
        )
        return sink.commit(parts)

    def _complete(
        self, hook: LoopringHook, account: Account, first: _FirstPage, sink: _Sink[P]
    ) -> P:
        if not first.complete:
            return self._stream(hook, account, sink)
        part = sink.new_part()
        for record in first.records:
            part.write(record)
        return part

    def _to_storage(
        self, hook: LoopringHook, accounts: list[Account], output_path: str
    ) -> dict[str, Any]:
        import pendulum

        from airflow_provider_loopring.storage import ObjectStorageWriter

        with ObjectStorageWriter(
            output_path, conn_id=self.output_conn_id, output_format=self.output_format
        ) as writer:
            parts = self._fan_out(lambda account: self._stream(hook, account, writer), accounts)
            fetched_at = pendulum.now("UTC").isoformat()  # when the last page arrived
            return writer.commit(parts, fetched_at=fetched_at)

    def _stream(self, hook: LoopringHook, account: Account, sink: _Sink[P]) -> P:
        """Every record of one account into a new part of the sink, page by page."""
        part = sink.new_part()
        try:
            for record in self._iter_records(hook, account, self._progress(account)):
                part.write(record)
        finally:
            part.close()
        return part

    def _progress(self, account: Account) -> PageCallback:
        stop = self._stop

        def on_page(pager: Pager[Any]) -> None:
            if stop is not None and stop.is_set():
                raise _Stopped(f"{_label(account)}: stopped, the task is failing or was killed")
            self.log.info(
                "%s: page %d, %d of %s records",
                _label(account),
                pager.pages,
                pager.received,
                pager.total,
            )

        return on_page

    def _log_first_page(self, account: Account, first: _FirstPage) -> _FirstPage:
        self.log.info(
            "%s: first page, %d of %d records", _label(account), len(first.records), first.total
        )
        return first

    def _fan_out(
        self,
        work: Callable[[A], R],
        items: Sequence[A],
        on_result: Callable[[R], None] | None = None,
    ) -> list[R]:
        """``work`` over ``items`` on up to ``max_workers`` threads; results in ``items``' order.

        One hook is shared by the threads, so they share its rate limit. The first failure
        (or ``on_result`` raising) ends the run: calls not started are cancelled and running
        ones stop at their next page, so a lost run spends no more requests.
        """
        stop = self._stop or threading.Event()

        def guarded(item: A) -> R:
            if stop.is_set():
                raise _Stopped("not started, the task is failing or was killed")
            return work(item)

        workers = min(self.max_workers, len(items)) or 1
        with ThreadPoolExecutor(workers, thread_name_prefix=f"loopring-{self.task_id}") as pool:
            futures = [pool.submit(guarded, item) for item in items]
            try:
                for future in as_completed(futures):
                    result = future.result()
                    if on_result is not None:
                        on_result(result)
            except BaseException:
                stop.set()
                for future in futures:
                    future.cancel()
                raise
        return [future.result() for future in futures]


class LoopringNftBalancesOperator(_LoopringAccountsOperator):
    """Fetch the NFT balances of one or many accounts (``GET /api/v3/user/nft/balances``).

    Without ``output_path`` the task returns the balances as XCom: Loopring's own dicts, each
    with its ``accountId``, in the accounts' order and then the API's. With ``output_path``
    they are streamed into one object there and the XCom is a small reference:
    ``{"path", "format", "records", "accounts", "bytes", "sha256", "fetched_at"}``.

    :param account_id: an account id, or a list of them (or a comma-separated string).
    :param address: an owner address, or a list of them; give exactly one of ``account_id``
        and ``address``.
    :param nft_datas: only these NFTs (``nftData`` values, a list or "a,b").
    :param token_addrs: only NFTs of these token contracts.
    :param token_ids: only these layer-2 token ids.
    :param non_zero: leave out NFTs the account no longer holds.
    :param metadata: include each NFT's ``metadata`` as Loopring caches it.
    :param output_path: an ``ObjectStoragePath`` URL (``s3://bucket/key.jsonl``,
        ``file:///path``, ...) to write the balances to; the object appears only when
        complete, and a re-run overwrites it.
    :param output_conn_id: the Airflow connection with the storage's credentials.
    :param output_format: ``"jsonl"`` (one balance per line) or ``"json"`` (one array).
    :param max_xcom_records: without ``output_path``, fail (before fetching more than each
        account's first page) when Loopring reports more balances than this.
    :param max_workers: accounts fetched at the same time, under the connection's rate limit.
    :param loopring_conn_id: the Loopring connection (API key as its password).
    """

    template_fields: Sequence[str] = (
        "account_id",
        "address",
        "nft_datas",
        "token_addrs",
        "token_ids",
        "output_path",
    )

    def __init__(
        self,
        *,
        account_id: int | str | Sequence[int | str] | None = None,
        address: str | Sequence[str] | None = None,
        nft_datas: str | Sequence[str] | None = None,
        token_addrs: str | Sequence[str] | None = None,
        token_ids: int | str | Sequence[int | str] | None = None,
        non_zero: bool = True,
        metadata: bool = False,
        output_path: str | None = None,
        output_conn_id: str | None = None,
        output_format: str = "jsonl",
        max_xcom_records: int = 1000,
        max_workers: int = 4,
        loopring_conn_id: str = "loopring_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            account_id=account_id,
            address=address,
            non_zero=non_zero,
            output_path=output_path,
            output_conn_id=output_conn_id,
            output_format=output_format,
            max_xcom_records=max_xcom_records,
            max_workers=max_workers,
            loopring_conn_id=loopring_conn_id,
            **kwargs,
        )
        self.nft_datas = nft_datas
        self.token_addrs = token_addrs
        self.token_ids = token_ids
        self.metadata = metadata
        self._validate(rendered=False)

    def _checks(self, rendered: bool) -> dict[str, Callable[[Any], object]]:
        from airflow_provider_loopring import api

        return {
            **super()._checks(rendered),
            "nft_datas": lambda value: api.check_filter(value, "nft_datas", api.check_nft_data),
            "token_addrs": lambda value: api.check_filter(value, "token_addrs", api.check_address),
            "token_ids": lambda value: api.check_filter(value, "token_ids", api.check_token_id),
            "metadata": lambda value: api.check_flag(value, "metadata"),
        }

    def _query(self, account: Account) -> dict[str, Any]:
        name, value = account
        return {
            name: value,
            "nft_datas": self.nft_datas,
            "token_addrs": self.token_addrs,
            "token_ids": self.token_ids,
            "non_zero": self.non_zero,
            "metadata": self.metadata,
        }

    def _first_page(self, hook: LoopringHook, account: Account) -> _FirstPage:
        page = hook.get_nft_balances(**self._query(account))
        first = _FirstPage(page.total_num, [balance.to_dict(copy=False) for balance in page.items])
        return self._log_first_page(account, first)

    def _iter_records(
        self, hook: LoopringHook, account: Account, on_page: PageCallback
    ) -> Iterator[Record]:
        for balance in hook.iter_nft_balances(**self._query(account), on_page=on_page):
            yield balance.to_dict(copy=False)


class LoopringCollectionsOperator(_LoopringAccountsOperator):
    """Fetch the NFT collections one or many accounts hold (``/api/v3/user/collection/details``).

    Each record is ``{"collection": {...}, "count": n, "accountId": ...}``: Loopring's item
    (the collection and how many kinds of its NFTs the account holds) plus the account.
    Without ``output_path`` the task returns the records as XCom, in the accounts' order and
    then the API's; with it they are streamed into one object there and the XCom is a small
    reference: ``{"path", "format", "records", "accounts", "bytes", "sha256", "fetched_at"}``.

    :param account_id: an account id, or a list of them (or a comma-separated string).
    :param address: an owner address, or a list of them (each resolved to its account
        first: the endpoint takes only account ids); exactly one of the two.
    :param token_address: only the collection of this token contract.
    :param non_zero: leave out collections of which the account no longer holds any NFT.
    :param output_path: an ``ObjectStoragePath`` URL to write the records to; the object
        appears only when complete, and a re-run overwrites it.
    :param output_conn_id: the Airflow connection with the storage's credentials.
    :param output_format: ``"jsonl"`` (one record per line) or ``"json"`` (one array).
    :param max_xcom_records: without ``output_path``, fail (before fetching more than each
        account's first page) when Loopring reports more collections than this.
    :param max_workers: accounts fetched at the same time, under the connection's rate limit.
    :param loopring_conn_id: the Loopring connection (API key as its password).
    """

    template_fields: Sequence[str] = ("account_id", "address", "token_address", "output_path")

    def __init__(
        self,
        *,
        account_id: int | str | Sequence[int | str] | None = None,
        address: str | Sequence[str] | None = None,
        token_address: str | None = None,
        non_zero: bool = True,
        output_path: str | None = None,
        output_conn_id: str | None = None,
        output_format: str = "jsonl",
        max_xcom_records: int = 1000,
        max_workers: int = 4,
        loopring_conn_id: str = "loopring_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            account_id=account_id,
            address=address,
            non_zero=non_zero,
            output_path=output_path,
            output_conn_id=output_conn_id,
            output_format=output_format,
            max_xcom_records=max_xcom_records,
            max_workers=max_workers,
            loopring_conn_id=loopring_conn_id,
            **kwargs,
        )
        self.token_address = token_address
        self._validate(rendered=False)

    def _checks(self, rendered: bool) -> dict[str, Callable[[Any], object]]:
        from airflow_provider_loopring import api

        return {
            **super()._checks(rendered),
            "token_address": lambda value: (
                value is None or api.check_address(value, "token_address")
            ),
        }

    def _query(self, hook: LoopringHook, account: Account) -> dict[str, Any]:
        name, value = account
        # Resolved here (the hook caches it) because every record must name its account.
        account_id = value if name == "account_id" else hook.get_account(address=value).account_id
        return {
            "account_id": account_id,
            "token_address": self.token_address,
            "non_zero": self.non_zero,
        }

    def _first_page(self, hook: LoopringHook, account: Account) -> _FirstPage:
        query = self._query(hook, account)
        page = hook.get_collections(**query)
        records = [
            {**item.to_dict(copy=False), "accountId": query["account_id"]} for item in page.items
        ]
        return self._log_first_page(account, _FirstPage(page.total_num, records))

    def _iter_records(
        self, hook: LoopringHook, account: Account, on_page: PageCallback
    ) -> Iterator[Record]:
        query = self._query(hook, account)
        for item in hook.iter_collections(**query, on_page=on_page):
            yield {**item.to_dict(copy=False), "accountId": query["account_id"]}
