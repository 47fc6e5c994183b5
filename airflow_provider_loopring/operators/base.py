"""What the balances and collections operators share: accounts, sinks, resume, threads.

An operator is given accounts (ids, owner addresses, or both mixed in ``accounts``), fans
them out over threads sharing one hook (so one rate limit), and hands each account's
records to a sink: the XCom list, or one object in storage. Writing to storage, each
finished account is checkpointed next to the target (:mod:`..storage.staging`), so that a
retry of the task instance fetches only the accounts still missing.

DAG files import the operators at parse time, so only ``airflow.sdk`` is imported at the
top: the hook, models, storage and requests come in when a task runs.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol, TypeVar

from airflow.sdk import BaseOperator

from airflow_provider_loopring._core.settings import DEFAULT_CONN_ID
from airflow_provider_loopring.links.loopring import EXTRA_LINKS
from airflow_provider_loopring.retry_policy import fail_fast, with_retry_policy

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

    from airflow_provider_loopring._core import Pager
    from airflow_provider_loopring.hooks.loopring import LoopringHook
    from airflow_provider_loopring.storage.accounts import AccountCache
    from airflow_provider_loopring.storage.objects import ObjectStorageWriter
    from airflow_provider_loopring.storage.staging import Checkpoints, Done, Skipped

A = TypeVar("A")
R = TypeVar("R")
Record = dict[str, Any]
# ("account_id", 10001) or ("address", "0x..."): the hook's keyword and its value.
Account = tuple[str, Any]
PageCallback = Callable[["Pager[Any]"], None]
MISSING_ACCOUNT_CHOICES = ("fail", "skip")
MAX_ACCOUNT_ID = 2**32 - 1
# Template fields every accounts operator has: which accounts, and where their records go.
ACCOUNT_FIELDS = ("account_id", "address", "accounts")
STORAGE_FIELDS = ("output_path", "output_format", "account_cache_path", "snapshot_date")


class _Part(Protocol):
    @property
    def records(self) -> int: ...

    def write(self, record: Record) -> None: ...
    def close(self) -> None: ...


P = TypeVar("P", bound=_Part)
P_co = TypeVar("P_co", bound=_Part, covariant=True)


class _Sink(Protocol[P_co]):
    def new_part(self) -> P_co: ...


class FirstPage(NamedTuple):
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


def _check_seconds(value: object, name: str) -> float:
    from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise LoopringInvalidParameterError(name, "a non-negative number of seconds", value)
    return float(value)


def _check_format(value: object, rendered: bool) -> str:
    from airflow_provider_loopring.storage.formats import check_output_format

    checked = check_output_format(value)
    if checked == "parquet" and rendered:  # the DAG processor may lack what workers have
        from airflow_provider_loopring.storage.parquet import require_pyarrow

        require_pyarrow()
    return checked


def _check_day(value: object, name: str) -> str:
    import datetime

    from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

    if isinstance(value, str):
        try:
            if datetime.date.fromisoformat(value).isoformat() == value:
                return value
        except ValueError:
            pass
    raise LoopringInvalidParameterError(name, "a day as YYYY-MM-DD", value)


def _check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

    if not isinstance(value, str) or value not in choices:
        raise LoopringInvalidParameterError(name, " or ".join(map(repr, choices)), value)
    return value


def _classify(value: object) -> Account:
    """One item of ``accounts``: an account id (int or digits) or an owner address."""
    from airflow_provider_loopring import _core as core

    if isinstance(value, str) and value.strip().lower().startswith("0x"):
        return ("address", core.check_address(value, "accounts"))
    if isinstance(value, int) and value > MAX_ACCOUNT_ID:
        # Jinja's native mode reads "0x…" text as an int; account ids are 32-bit.
        return ("address", core.check_address(value, "accounts"))
    return ("account_id", core.check_account_id(value, "accounts"))


def check_accounts(account_id: object, address: object, accounts: object = None) -> list[Account]:
    """The accounts to fetch, each checked, duplicates dropped, in the order given.

    Give exactly one of the three, each a single value, a list or a comma-separated string.

    :param account_id: account ids.
    :param address: owner addresses (0x + 40 hex digits).
    :param accounts: account ids and owner addresses mixed.
    :return: ``("account_id", id)`` and ``("address", address)`` pairs.
    :raises LoopringInvalidParameterError: not exactly one given, none in it, or an invalid one.
    """
    from airflow_provider_loopring import _core as core
    from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

    if sum(value is not None for value in (account_id, address, accounts)) != 1:
        raise LoopringInvalidParameterError(
            "account_id/address",
            "exactly one of account_id, address and accounts",
            {"account_id": account_id, "address": address, "accounts": accounts},
        )
    values: list[Account]
    if accounts is not None:
        name, value = "accounts", accounts
        values = [_classify(item) for item in core.check_list(accounts, name, _as_is) or []]
    else:
        name, value = ("account_id", account_id) if account_id is not None else ("address", address)
        check = core.check_account_id if account_id is not None else core.check_address
        values = [(name, item) for item in core.check_list(value, name, check) or []]
    if not values:
        raise LoopringInvalidParameterError(name, "at least one account", value)
    unique: dict[str, Account] = {}
    for account in values:
        unique.setdefault(account_key(account), account)  # Loopring mixes addresses' case
    return list(unique.values())


def _as_is(value: object, name: str) -> object:
    return value


def account_key(account: Account) -> str:
    """An account's name in checkpoints and logs: ``account_id:11329``, ``address:0xab..``.

    :param account: an ``("account_id", id)`` or ``("address", address)`` pair; the address
        is lowercased, as Loopring mixes its case.
    """
    return f"{account[0]}:{str(account[1]).lower()}"


def _label(account: Account) -> str:
    return f"account {account[1]}"


class LoopringAccountsOperator(BaseOperator):
    """The base of the operators that fetch something for each of many accounts.

    :param account_id: an account id, or a list of them (or a comma-separated string).
    :param address: an owner address, or a list of them.
    :param accounts: account ids and owner addresses mixed, a list (or "a,b"); give exactly
        one of ``account_id``, ``address`` and ``accounts``.
    :param non_zero: leave out what the account no longer holds.
    :param output_path: an ``ObjectStoragePath`` URL to write the records to.
    :param output_conn_id: the Airflow connection with the storage's credentials.
    :param output_format: ``"jsonl"`` (one record per line), ``"json"`` (one array) or
        ``"parquet"`` (the declared, typed columns of ``storage.schemas``; needs the
        ``parquet`` extra). (templated)
    :param snapshot_date: with Parquet, the ``snapshot_date`` of every row, "YYYY-MM-DD"
        (templated); default: the day of the DAG run's ``run_after``, UTC.
    :param max_xcom_records: without ``output_path``, the most records the XCom may hold.
    :param max_workers: accounts fetched at the same time, under the connection's rate limit.
    :param on_missing_account: ``"fail"`` (default) fails the task when Loopring has no
        account for an id or address; ``"skip"`` logs it once, lists it in the XCom
        reference's ``skipped_accounts`` and goes on with the others.
    :param account_cache_path: a folder URL where addresses resolved to account ids are kept
        across runs (an address's account never changes), so later runs look none up.
        (templated)
    :param checkpoint_interval: with ``output_path``, seconds between two saves of the
        finished accounts (a hard kill loses at most the accounts finished since the last).
    :param loopring_conn_id: the Loopring connection (API key as its password).
    :param kwargs: ``BaseOperator``'s. ``retry_policy`` defaults to
        :class:`~airflow_provider_loopring.retry_policy.LoopringRetryPolicy` (Airflow 3.3+): a
        rejected key, an unknown account or a misshaped response fails the task without
        its ``retries``; 429, 5xx and network errors keep them.
    """

    # Which declared schema Parquet output uses (storage.schemas): set by each operator.
    record_kind: str = ""
    # The account (and collection) in Loopring's explorer, built from the connection's host.
    operator_extra_links = EXTRA_LINKS

    def __init__(
        self,
        *,
        account_id: int | str | Sequence[int | str] | None = None,
        address: str | Sequence[str] | None = None,
        accounts: str | Sequence[int | str] | None = None,
        non_zero: bool = True,
        output_path: str | None = None,
        output_conn_id: str | None = None,
        output_format: str = "jsonl",
        snapshot_date: str | None = None,
        max_xcom_records: int = 1000,
        max_workers: int = 4,
        on_missing_account: str = "fail",
        account_cache_path: str | None = None,
        checkpoint_interval: float = 30.0,
        loopring_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        kwargs, fails_fast = with_retry_policy(kwargs)
        super().__init__(**kwargs)
        self._fail_fast = fails_fast
        self.account_id = account_id
        self.address = address
        self.accounts = accounts
        self.non_zero = non_zero
        self.output_path = output_path
        self.output_conn_id = output_conn_id
        self.output_format = output_format
        self.snapshot_date = snapshot_date
        self.max_xcom_records = max_xcom_records
        self.max_workers = max_workers
        self.on_missing_account = on_missing_account
        self.account_cache_path = account_cache_path
        self.checkpoint_interval = checkpoint_interval
        self.loopring_conn_id = loopring_conn_id
        self._stop: threading.Event | None = None
        self._hook: LoopringHook | None = None

    # --- what each operator fetches --------------------------------------------------------

    def _checks(self, rendered: bool) -> dict[str, Callable[[Any], object]]:
        """Argument name -> its check from the core or ``storage``; subclasses add their filters.

        :param rendered: the task is running: also ask Airflow whether it has a filesystem
            for ``output_path``'s scheme (too costly at DAG parse time).
        """
        from airflow_provider_loopring import _core as core
        from airflow_provider_loopring import storage
        from airflow_provider_loopring.storage.objects import check_folder_url

        return {
            "non_zero": lambda value: core.check_flag(value, "non_zero"),
            "output_path": lambda value: (
                value is None or storage.check_output_path(value, filesystem=rendered)
            ),
            "output_format": lambda value: _check_format(value, rendered),
            "snapshot_date": lambda value: value is None or _check_day(value, "snapshot_date"),
            "max_xcom_records": lambda value: _check_positive(value, "max_xcom_records"),
            "max_workers": lambda value: _check_positive(value, "max_workers"),
            "on_missing_account": lambda value: _check_choice(
                value, "on_missing_account", MISSING_ACCOUNT_CHOICES
            ),
            "account_cache_path": lambda value: (
                value is None or check_folder_url(value, "account_cache_path")
            ),
            "checkpoint_interval": lambda value: _check_seconds(value, "checkpoint_interval"),
        }

    def _filters(self) -> dict[str, Any]:
        """The hook's keyword arguments besides the account: what a checkpoint is valid for."""
        raise NotImplementedError

    def _first_page(self, hook: LoopringHook, account: Account) -> FirstPage:
        raise NotImplementedError

    def _iter_records(
        self, hook: LoopringHook, account: Account, on_page: PageCallback
    ) -> Iterator[Record]:
        raise NotImplementedError

    # --- validation ------------------------------------------------------------------------

    def _validate(self, *, rendered: bool) -> list[Account]:
        """Check every argument; before rendering, templates and XComArgs are left for later."""
        from airflow_provider_loopring.templates import unrendered

        for name, check in self._checks(rendered).items():
            value = getattr(self, name)
            if rendered or not unrendered(value):
                check(value)
        selectors = (self.account_id, self.address, self.accounts)
        if not rendered and any(unrendered(value) for value in selectors):
            return []
        return check_accounts(*selectors)

    # --- running ---------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        """Fetch every account's records, into the XCom or into ``output_path``.

        :param context: the task's context: its task instance (checkpoints, XCom) and run (day).
        :return: the records, or with ``output_path`` a reference to the object written.
        """
        with fail_fast(self._fail_fast):
            return self._execute(context)

    def _execute(self, context: Context) -> Any:
        from airflow_provider_loopring.hooks.loopring import LoopringHook
        from airflow_provider_loopring.hooks.memory import hold_mmap_threshold

        accounts = self._validate(rendered=True)
        hold_mmap_threshold()  # threads reading pages otherwise fragment glibc's heaps
        hook = self._hook = LoopringHook(loopring_conn_id=self.loopring_conn_id)
        # Read the connection once, here: the worker threads then share settled settings.
        _ = hook.settings
        self._stop = threading.Event()
        has_addresses = any(name == "address" for name, _ in accounts)
        cache = self._account_cache(context) if has_addresses else None
        try:
            if self.output_path is None:
                return self._to_xcom(hook, accounts, cache, context)
            return self._to_storage(hook, accounts, cache, context, self.output_path)
        finally:
            if cache is not None and cache.changed:
                cache.save()

    def on_kill(self) -> None:
        if self._stop is not None:
            self._stop.set()  # workers stop at their next page...
        if self._hook is not None:
            self._hook.close()  # ...or at once, when they are waiting for a response

    def _account_cache(self, context: Context) -> AccountCache | None:
        if self.account_cache_path is None:
            return None
        from airflow_provider_loopring.storage.accounts import AccountCache

        writer = f"{self.dag_id}.{self.task_id}.{_map_index(context)}"
        return AccountCache(
            self.account_cache_path, conn_id=self.output_conn_id, writer=writer
        ).load()

    def _resolved(
        self, hook: LoopringHook, account: Account, cache: AccountCache | None
    ) -> Account:
        """An address as its account id, through the cache (a lookup only when not in it)."""
        name, value = account
        if name != "address" or cache is None:
            return account
        account_id = cache.get(value)
        if account_id is None:
            account_id = hook.get_account(address=value).account_id
            cache.put(value, account_id)
        return ("account_id", account_id)

    def _skip_or_raise(self, account: Account, error: Exception) -> Skipped:
        from airflow_provider_loopring.exceptions import LoopringNotFoundError
        from airflow_provider_loopring.storage.staging import Skipped

        if self.on_missing_account != "skip" or not isinstance(error, LoopringNotFoundError):
            raise error
        self.log.warning("%s: skipped, Loopring has no such account (%s).", _label(account), error)
        return Skipped(account_key(account), error.message)

    def _to_xcom(
        self,
        hook: LoopringHook,
        accounts: list[Account],
        cache: AccountCache | None,
        context: Context,
    ) -> list[Record]:
        """First pages of every account, then the check against the cap, then the rest.

        Each account's first page tells its totalNum, so a result too big for XCom fails
        before any further page is spent on it. An account whose first page is all it has
        costs one request; the others are read again from the start by the hook's pager.
        """
        from airflow_provider_loopring.storage.staging import Skipped
        from airflow_provider_loopring.storage.xcom import XComRecords

        sink = XComRecords(self.max_xcom_records)
        reported = 0

        def first(account: Account) -> tuple[Account, FirstPage | Skipped]:
            try:
                resolved = self._resolved(hook, account, cache)
                return resolved, self._first_page(hook, resolved)
            except Exception as error:
                return account, self._skip_or_raise(account, error)

        def count(result: tuple[Account, FirstPage | Skipped]) -> None:
            nonlocal reported
            if isinstance(result[1], FirstPage):
                reported += result[1].total
                sink.check(reported)

        firsts = self._fan_out(first, accounts, count)
        found = [(account, page) for account, page in firsts if isinstance(page, FirstPage)]
        parts = self._fan_out(lambda pair: self._complete(hook, *pair, sink), found)
        if self.on_missing_account == "skip":
            pages = zip(accounts, firsts, strict=True)
            skipped = [given[1] for given, (_, page) in pages if isinstance(page, Skipped)]
            if context and context.get("ti") is not None:
                context["ti"].xcom_push(key="skipped_accounts", value=skipped)
        return sink.commit(parts)

    def _complete(
        self, hook: LoopringHook, account: Account, first: FirstPage, sink: _Sink[P]
    ) -> P:
        if not first.complete:
            return self._stream(hook, account, sink)
        part = sink.new_part()
        for record in first.records:
            part.write(record)
        return part

    def _to_storage(
        self,
        hook: LoopringHook,
        accounts: list[Account],
        cache: AccountCache | None,
        context: Context,
        output_path: str,
    ) -> dict[str, Any]:
        import pendulum

        from airflow_provider_loopring.storage.objects import ObjectStorageWriter
        from airflow_provider_loopring.storage.staging import Skipped

        with ObjectStorageWriter(
            output_path,
            conn_id=self.output_conn_id,
            output_format=self.output_format,
            record_kind=self.record_kind,
            snapshot_date=self._snapshot_date(context),
        ) as writer:
            checkpoints = self._checkpoints(writer, context)
            done = checkpoints.resume() if checkpoints else {}
            todo = [account for account in accounts if account_key(account) not in done]
            if done:
                self.log.info(
                    "Resuming: %d accounts finished by an earlier try, %d left to fetch.",
                    len(done),
                    len(todo),
                )

            def fetch(account: Account) -> Done:
                try:
                    result: Done = self._stream(hook, self._resolved(hook, account, cache), writer)
                except Exception as error:
                    result = self._skip_or_raise(account, error)
                if checkpoints is not None:
                    checkpoints.add(account_key(account), result)
                return result

            try:
                fetched = self._fan_out(fetch, todo)
            except BaseException:
                if checkpoints is not None:
                    self._save_before_failing(checkpoints)
                raise
            fetched_at = pendulum.now("UTC").isoformat()  # when the last page arrived
            results = {**done, **dict(zip(map(account_key, todo), fetched, strict=True))}
            ordered = [(account, results[account_key(account)]) for account in accounts]
            reference = writer.commit(
                [result for _, result in ordered if not isinstance(result, Skipped)],
                fetched_at=fetched_at,
            )
            reference["resumed_accounts"] = len(done)
            reference["skipped_accounts"] = [
                account[1] for account, result in ordered if isinstance(result, Skipped)
            ]
            return reference

    def _checkpoints(self, writer: ObjectStorageWriter, context: Context) -> Checkpoints | None:
        """This task instance's checkpoints; none outside a task run (no task instance)."""
        from airflow_provider_loopring.storage.staging import task_key

        ti = context.get("ti") if context else None
        if ti is None:
            return None
        key = task_key(ti.dag_id, ti.run_id, ti.task_id, _map_index(context))
        fingerprint = json.dumps(
            [
                type(self).__name__,
                self.output_format,
                self._snapshot_date(context),
                self._filters(),
            ],
            sort_keys=True,
            default=str,
        )
        return writer.checkpoints(key, fingerprint, _check_seconds(self.checkpoint_interval, ""))

    def _snapshot_date(self, context: Context) -> str:
        """The day of every Parquet row: as given, else the run's ``run_after`` (UTC)."""
        return self.snapshot_date or run_day(context)

    def _save_before_failing(self, checkpoints: Checkpoints) -> None:
        """Keep every account finished so far for the retry; never hide the real error."""
        try:
            checkpoints.save()
        except Exception:
            self.log.warning("Could not save the finished accounts for a retry.", exc_info=True)

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

    def _log_first_page(self, account: Account, first: FirstPage) -> FirstPage:
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
            try:
                return work(item)
            except BaseException:
                stop.set()  # here, before this thread takes the next account
                raise

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

    # --- OpenLineage (called by the OpenLineage provider only, when it is installed) --------

    # The endpoint the operator reads.
    _endpoint: ClassVar[str]

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """The endpoint read, the accounts (a run facet) and the object to be written."""
        return self._lineage()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """As on start: what was read and written is known from the arguments.

        :param task_instance: the finished task instance (unused).
        """
        return self._lineage()

    def _lineage(self) -> OperatorLineage:
        from airflow_provider_loopring.operators import _lineage
        from airflow_provider_loopring.operators._columns import json_columns
        from airflow_provider_loopring.storage import schemas

        accounts = check_accounts(self.account_id, self.address, self.accounts)
        # Parquet files have the declared schema's columns; JSON records Loopring's own.
        parquet = self.output_format == "parquet"
        return _lineage.operator_lineage(
            base_url=self._loopring_hook().settings.base_url,
            endpoint=self._endpoint,
            accounts=[value for _, value in accounts],
            filters=self._filters(),
            output_path=self.output_path,
            columns=(
                schemas.lineage_fields(self.record_kind)
                if parquet
                else json_columns(self.record_kind)
            ),
        )

    def _loopring_hook(self) -> LoopringHook:
        """The hook of the run, or (before it) one reading the same connection."""
        if self._hook is None:
            from airflow_provider_loopring.hooks.loopring import LoopringHook

            return LoopringHook(loopring_conn_id=self.loopring_conn_id)
        return self._hook


def run_day(context: Context) -> str:
    """The day a DAG run is about, "YYYY-MM-DD": its ``run_after`` in UTC (every run has one;
    a manual run may have no logical date), today outside a run.

    :param context: the task's context; its ``dag_run`` is read, if any.
    """
    import pendulum

    dag_run = context.get("dag_run") if context else None
    when = getattr(dag_run, "run_after", None) or pendulum.now("UTC")
    return str(pendulum.instance(when).in_timezone("UTC").date())


def _map_index(context: Context) -> int:
    ti = context.get("ti") if context else None
    index = getattr(ti, "map_index", -1)
    return index if isinstance(index, int) else -1
