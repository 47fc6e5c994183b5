"""How an accounts operator runs: its accounts over threads, into a sink, with progress.

The machinery under :class:`~.base.LoopringAccountsOperator`: the accounts fan out over threads
sharing one hook, so one rate limit (:mod:`._fanout`); each account's records go to a sink
(:mod:`..storage.sinks`): the XCom list, or one object in storage, where each finished account
is checkpointed so that a retry fetches only the rest (:mod:`._resume`); how far the task is
goes to the log (:mod:`._progress`). What each operator fetches is its own (``_first_page``,
``_iter_records``, ``_filters``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar

import pendulum
from airflow.sdk import BaseOperator

from airflow_provider_loopring import storage
from airflow_provider_loopring.exceptions import LoopringNotFoundError
from airflow_provider_loopring.operators import _resume
from airflow_provider_loopring.operators._fanout import Stopped, fan_out
from airflow_provider_loopring.operators._progress import INTERVAL, Progress
from airflow_provider_loopring.operators.arguments import (
    AccountRef,
    Record,
    account_key,
    label,
    map_index,
    run_day,
)
from airflow_provider_loopring.retry_policy import fail_fast
from airflow_provider_loopring.storage.sinks import Part, Sink

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_loopring._core import Pager
    from airflow_provider_loopring._core.paging import PageCallback
    from airflow_provider_loopring.hooks.loopring import LoopringHook
    from airflow_provider_loopring.storage.accounts import AccountCache
    from airflow_provider_loopring.storage.staging import Done, Skipped

P = TypeVar("P", bound=Part)


class FirstPage(NamedTuple):
    """An account's first page: the API's totalNum for the whole account, and its records."""

    total: int
    records: list[Record]

    @property
    def complete(self) -> bool:
        """Whether the page is all there is: the hook's pager would stop here too."""
        return len(self.records) >= self.total


class AccountsRun(BaseOperator):
    """Runs an accounts operator's task: see the module. Its arguments are
    :class:`~.base.LoopringAccountsOperator`'s, which sets every attribute named here.

    :param kwargs: ``BaseOperator``'s.
    """

    # Set by LoopringAccountsOperator.__init__ (see its parameters).
    account_cache_path: str | None
    checkpoint_interval: float
    loopring_conn_id: str
    max_workers: int
    max_xcom_records: int
    on_missing_account: str
    output_conn_id: str | None
    output_format: str
    output_path: str | None
    record_fetched_at: bool
    record_kind: str
    snapshot_date: str | None
    # Seconds between two progress lines (see _clock for the clock that times them).
    progress_interval: ClassVar[float] = INTERVAL
    # What each part of the task is, in its log lines.
    progress_unit: ClassVar[str] = "accounts"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fail_fast = True
        # Made when the task runs: an Event holds a lock, and Airflow deep-copies tasks.
        self._stop: threading.Event | None = None
        self._progress: Progress | None = None

    @cached_property
    def hook(self) -> LoopringHook:
        """The hook of ``loopring_conn_id``, shared by the task's threads (one rate limit)."""
        from airflow_provider_loopring.hooks.loopring import LoopringHook

        return LoopringHook(loopring_conn_id=self.loopring_conn_id)

    def _clock(self) -> float:
        """The time in seconds the progress lines are timed by (a test gives its own)."""
        return time.monotonic()

    # --- what each operator fetches --------------------------------------------------------

    def _filters(self) -> dict[str, Any]:
        """The hook's keyword arguments besides the account: what a checkpoint is valid for."""
        raise NotImplementedError

    def _first_page(self, account: AccountRef) -> FirstPage:
        raise NotImplementedError

    def _iter_records(self, account: AccountRef, on_page: PageCallback) -> Iterator[Record]:
        raise NotImplementedError

    def _validate(self, *, rendered: bool) -> list[AccountRef]:
        raise NotImplementedError

    def _items(self) -> list[AccountRef]:
        """What the task fetches, one part each: the accounts given (an operator over other
        things, NFTs, lists them here, after the checks and before the first part)."""
        return self._validate(rendered=True)

    def _resumed(self, done: dict[str, Done]) -> None:
        """Told what an earlier try finished (account key -> its part), before the rest is
        fetched; an operator whose accounts share records reads them back here.

        :param done: the finished accounts' parts (or skips), from the checkpoints.
        """

    def execute(self, context: Context) -> Any:
        """Fetch every account's records, into the XCom or into ``output_path``.

        :param context: the task's context: its task instance (checkpoints, XCom) and run (day).
        :return: the records, or with ``output_path`` a reference to the object written.
        """
        with fail_fast(self._fail_fast):
            return self._execute(context)

    def _execute(self, context: Context) -> Any:
        from airflow_provider_loopring.hooks.memory import hold_mmap_threshold

        accounts = self._items()
        hold_mmap_threshold()  # threads reading pages otherwise fragment glibc's heaps
        # Read the connection once, here: the worker threads then share settled settings.
        settings = self.hook.settings
        self._stop = threading.Event()
        has_addresses = any(name == "address" for name, _ in accounts)
        cache = self._account_cache(context) if has_addresses else None
        progress = self._progress = Progress(
            self.log,
            len(accounts),
            settings.requests_per_second,
            interval=self.progress_interval,
            clock=self._clock,
            sent=lambda: self.hook.requests_sent,
            unit=self.progress_unit,
        )
        try:
            if self.output_path is None:
                return self._to_xcom(accounts, cache, context)
            return self._to_storage(accounts, cache, context, self.output_path)
        finally:
            progress.finish()
            if cache is not None and cache.changed:
                cache.save()

    def on_kill(self) -> None:
        if self._stop is not None:
            self._stop.set()  # workers stop at their next page...
        if "hook" in self.__dict__:
            self.hook.close()  # ...or at once, when they are waiting for a response

    def _account_cache(self, context: Context) -> AccountCache | None:
        writer = f"{self.dag_id}.{self.task_id}.{map_index(context)}"
        return _resume.account_cache(
            self.account_cache_path, conn_id=self.output_conn_id, writer=writer
        )

    def _done(self, records: int) -> None:
        if self._progress is not None:
            self._progress.account_done(records)

    def _skip_or_raise(self, account: AccountRef, error: Exception) -> Skipped:
        from airflow_provider_loopring.storage.staging import Skipped

        if self.on_missing_account != "skip" or not isinstance(error, LoopringNotFoundError):
            raise error
        self.log.warning("%s: skipped, Loopring has no such account (%s).", label(account), error)
        self._done(0)
        return Skipped(account_key(account), error.message)

    def _to_xcom(
        self, accounts: list[AccountRef], cache: AccountCache | None, context: Context
    ) -> list[Record]:
        """First pages of every account, then the check against the cap, then the rest.

        Each account's first page tells its totalNum, so a result too big for XCom fails
        before any further page is spent on it. An account whose first page is all it has
        costs one request; the others are read again from the start by the hook's pager.
        """
        from airflow_provider_loopring.storage.staging import Skipped

        sink = storage.XComRecords(self.max_xcom_records)
        reported = 0

        def first(account: AccountRef) -> tuple[AccountRef, FirstPage | Skipped]:
            try:
                resolved = _resume.resolved(self.hook, account, cache)
                return resolved, self._first_page(resolved)
            except Exception as error:
                return account, self._skip_or_raise(account, error)

        def count(result: tuple[AccountRef, FirstPage | Skipped]) -> None:
            nonlocal reported
            if isinstance(result[1], FirstPage):
                reported += result[1].total
                sink.check(reported)

        firsts = self._fan_out(first, accounts, count)
        found = [(account, page) for account, page in firsts if isinstance(page, FirstPage)]
        parts = self._fan_out(lambda pair: self._complete(pair[0], pair[1], sink), found)
        if self.on_missing_account == "skip":
            pages = zip(accounts, firsts, strict=True)
            skipped = [given[1] for given, (_, page) in pages if isinstance(page, Skipped)]
            if context and context.get("ti") is not None:
                context["ti"].xcom_push(key="skipped_accounts", value=skipped)
        return sink.commit(parts)

    def _complete(self, account: AccountRef, first: FirstPage, sink: Sink[P]) -> P:
        if not first.complete:
            return self._stream(account, sink)
        part = sink.new_part()
        for record in self._stamped(first.records):
            part.write(record)
        self._done(part.records)
        return part

    def _to_storage(
        self,
        accounts: list[AccountRef],
        cache: AccountCache | None,
        context: Context,
        output_path: str,
    ) -> dict[str, Any]:
        from airflow_provider_loopring.storage.staging import Skipped

        with storage.ObjectStorageWriter(
            output_path,
            conn_id=self.output_conn_id,
            output_format=self.output_format,
            record_kind=self.record_kind,
            snapshot_date=self._snapshot_date(context),
        ) as writer:
            valid_for = [
                type(self).__name__,
                self.output_format,
                self._snapshot_date(context),
                self._filters(),
            ]
            checkpoints = _resume.task_checkpoints(
                writer, context, valid_for, self.checkpoint_interval
            )
            done = checkpoints.resume(set(map(account_key, accounts))) if checkpoints else {}
            self._resumed(done)
            todo = [account for account in accounts if account_key(account) not in done]
            if done:
                self.log.info(
                    "Resuming: %d %s finished by an earlier try, %d left to fetch.",
                    len(done),
                    self.progress_unit,
                    len(todo),
                )
                if self._progress is not None:
                    self._progress.add_resumed(
                        [getattr(part, "records", 0) for part in done.values()]
                    )

            def fetch(account: AccountRef) -> Done:
                try:
                    resolved = _resume.resolved(self.hook, account, cache)
                    result: Done = self._stream(resolved, writer)
                except Exception as error:
                    result = self._skip_or_raise(account, error)
                if checkpoints is not None:
                    checkpoints.add(account_key(account), result)
                return result

            try:
                fetched = self._fan_out(fetch, todo)
            except BaseException:
                if checkpoints is not None:
                    _resume.save_before_failing(checkpoints, self.log)
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

    def _snapshot_date(self, context: Context) -> str | None:
        """The day of every Parquet row: as given, else the run's ``run_after`` (UTC)."""
        if self.output_format != "parquet":
            return None  # only Parquet rows carry a day: nothing is labelled with it
        return self.snapshot_date or run_day(context)

    def _stream(self, account: AccountRef, sink: Sink[P]) -> P:
        """Every record of one account into a new part of the sink, page by page."""
        part = sink.new_part()
        try:
            for record in self._stamped(self._iter_records(account, self._on_page(account))):
                part.write(record)
        finally:
            part.close()
        self._done(part.records)
        return part

    def _stamped(self, records: Iterable[Record]) -> Iterable[Record]:
        """The records, each with ``fetchedAt`` (epoch ms) when ``record_fetched_at``."""
        if not self.record_fetched_at:
            return records
        return ({**record, "fetchedAt": int(time.time() * 1000)} for record in records)

    def _on_page(self, account: AccountRef) -> PageCallback:
        stop, progress = self._stop or threading.Event(), self._progress

        def on_page(pager: Pager[Any]) -> None:
            if stop.is_set():
                raise Stopped(f"{label(account)}: stopped, the task is failing or was killed")
            self.log.debug(
                "%s: page %d, %d of %s records",
                label(account),
                pager.pages,
                pager.received,
                pager.total,
            )
            if progress is not None:
                progress.tick()

        return on_page

    def _log_first_page(self, account: AccountRef, first: FirstPage) -> FirstPage:
        self.log.debug(
            "%s: first page, %d of %d records", label(account), len(first.records), first.total
        )
        if self._progress is not None:
            self._progress.tick()
        return first

    def _fan_out(
        self,
        work: Callable[[Any], Any],
        items: Sequence[Any],
        on_result: Callable[[Any], None] | None = None,
    ) -> list[Any]:
        """``work`` over ``items`` on ``max_workers`` threads: see :func:`._fanout.fan_out`."""
        return fan_out(
            work,
            items,
            max_workers=self.max_workers,
            stop=self._stop or threading.Event(),
            name=f"loopring-{self.task_id}",
            on_result=on_result,
        )
