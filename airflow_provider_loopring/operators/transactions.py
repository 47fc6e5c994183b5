"""The operator that fetches what moved: every NFT transaction of many accounts in a window.

Its accounts, threads, sinks, checkpoints and lineage are the accounts operators' (see
:mod:`.base`); what is its own is the window (by default the DAG run's data interval, so each
interval is written once, whole, and a re-run replaces it) and that a transaction naming two
of its accounts is written once. DAG files import this module at parse time: the hook, the
models and storage's writers come in when a task runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_loopring import _core as core
from airflow_provider_loopring._core.validation import check_millis, choice
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.links.loopring import EXTRA_LINKS, LoopringTransactionLink
from airflow_provider_loopring.operators.arguments import (
    ACCOUNT_FIELDS,
    STORAGE_FIELDS,
    AccountRef,
    Record,
    account_key,
)
from airflow_provider_loopring.operators.base import FirstPage, LoopringAccountsOperator
from airflow_provider_loopring.templates import unrendered

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_loopring._core.paging import PageCallback
    from airflow_provider_loopring.models import NftTransaction
    from airflow_provider_loopring.operators._claims import Claims
    from airflow_provider_loopring.storage.staging import Done

#: Where a DAG run's window comes from when ``start`` / ``end`` are not given.
INTERVAL_KEYS = {"start": "data_interval_start", "end": "data_interval_end"}


def _check_types(value: object) -> object:
    # TRANSACTION_TYPES lives with the endpoint's declaration (and its model): loaded only
    # when a DAG gives ``types``.
    if value is None:
        return None
    return core.check_filter(value, "types", choice(core.TRANSACTION_TYPES))


def check_window(start: object, end: object) -> tuple[int, int]:
    """``[start, end)`` as epoch milliseconds, ``start`` before ``end``.

    :param start: an aware datetime or epoch milliseconds (digits as text too).
    :param end: the same; the window's first moment not in it.
    :raises LoopringInvalidParameterError: either is not a moment, or ``start >= end``.
    """
    first, after = check_millis(start, "start"), check_millis(end, "end")
    if first >= after:
        raise LoopringInvalidParameterError(
            "start", f"a moment before end ({after} ms): the window is [start, end)", first
        )
    return first, after


def part_keys(part: Any) -> Iterator[Any]:
    """The keys (hash, else id) of the transactions in a part an earlier try finished.

    :param part: a ``FilePart`` (JSON records, one a line) or an ``ArrowPart`` (Parquet rows).
    """
    if not part.records:
        return
    if type(part).__name__ == "ArrowPart":
        import pyarrow as pa

        with pa.OSFile(part.path, "rb") as source:
            table = pa.ipc.open_stream(source).read_all().select(["hash", "id"])
        for hash_, id_ in zip(*(table.column(n).to_pylist() for n in ("hash", "id")), strict=True):
            yield hash_ or id_
        return
    with open(part.path, "rb") as source:
        for line in source:
            text = line.strip().strip(b",[]")  # JSON arrays put ",\n" between records
            if text:
                record = json.loads(text)
                yield record.get("hash") or record.get("id")


class LoopringNftTransactionsOperator(LoopringAccountsOperator):
    """Fetch every NFT transaction of one or many accounts in ``[start, end)``
    (``GET /api/v3/user/nft/transactions``): mints, transfers, deposits, withdrawals.

    ``start`` and ``end`` default to the DAG run's data interval, so a schedule, a catch-up
    or a backfill writes each interval once: a transaction made exactly at ``end`` belongs to
    the next interval. A transaction naming two of the accounts is written once (by its hash).
    Records are Loopring's own, in the accounts' order and then Loopring's (newest first).
    Without ``output_path`` they are the XCom; with it they are streamed into one object
    there, which appears only when complete and which a re-run replaces, and the XCom is a
    small reference, as for the balances. A retry fetches only the accounts an earlier try
    did not finish. The task's "Loopring transaction" link shows the latest transaction
    written whose block Loopring gave.

    :param account_id: an account id, or a list of them (or a comma-separated string).
        (templated)
    :param address: an owner address, or a list of them. (templated)
    :param accounts: account ids and owner addresses mixed; give exactly one of
        ``account_id``, ``address`` and ``accounts``. (templated)
    :param start: the window's first moment: an aware datetime or epoch milliseconds;
        default: the run's ``data_interval_start``. (templated)
    :param end: the first moment after the window (not in it); default: the run's
        ``data_interval_end``. (templated)
    :param types: only these kinds, of Loopring's ``mint``, ``deposit``, ``transfer``,
        ``deploy``, ``onchain_withdrawal``, ``offchain_withdrawal`` (a list or "a,b");
        default: all. (templated)
    :param nft_datas: only transactions of these NFTs (``nftData`` values). (templated)
    :param output_path: an ``ObjectStoragePath`` URL to write the transactions to.
        (templated)
    :param snapshot_date: with Parquet, every row's ``snapshot_date``; default: the day
        (UTC) ``start`` falls on, the interval's partition. (templated)
    :param kwargs: the parameters every Loopring accounts operator takes: see
        :class:`~airflow_provider_loopring.operators.base.LoopringAccountsOperator`; and
        ``BaseOperator``'s.
    """

    record_kind = "transactions"
    _endpoint = "NFT_TRANSACTIONS"
    # The accounts operators' links, and the transaction's (the base's is a 2-tuple to mypy).
    operator_extra_links = (*EXTRA_LINKS, LoopringTransactionLink())  # type: ignore[assignment]
    template_fields: Sequence[str] = (
        *ACCOUNT_FIELDS,
        "start",
        "end",
        "types",
        "nft_datas",
        *STORAGE_FIELDS,
    )

    def __init__(
        self,
        *,
        start: Any = None,
        end: Any = None,
        types: str | Sequence[str] | None = None,
        nft_datas: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start = start
        self.end = end
        self.types = types
        self.nft_datas = nft_datas
        # Set when the task runs (see _execute): Airflow deep-copies tasks, and a lock or a
        # database connection cannot be copied.
        self._window: tuple[int, int] | None = None
        self._claims: Claims | None = None
        self._latest_lock: threading.Lock | None = None
        self.latest_block: tuple[int, int] | None = None  # for the link: (blockId, index)
        self._latest_at = -1
        self._validate(rendered=False)

    def _checks(self, rendered: bool) -> dict[str, Callable[[Any], object]]:
        return {
            **super()._checks(rendered),
            "start": lambda value: value is None or check_millis(value, "start"),
            "end": lambda value: value is None or check_millis(value, "end"),
            "types": _check_types,
            "nft_datas": lambda value: core.check_filter(value, "nft_datas", core.check_nft_data),
        }

    def _validate(self, *, rendered: bool) -> list[AccountRef]:
        accounts = super()._validate(rendered=rendered)
        given = (self.start, self.end)
        if all(value is not None and not unrendered(value) for value in given):
            check_window(*given)
        return accounts

    def _filters(self) -> dict[str, Any]:
        start, end = self._window or (self.start, self.end)
        return {"start": start, "end": end, "types": self.types, "nft_datas": self.nft_datas}

    # --- the run -----------------------------------------------------------------------------

    def _execute(self, context: Context) -> Any:
        from airflow_provider_loopring.operators._claims import Claims

        self._window = check_window(*(self._moment(name, context) for name in INTERVAL_KEYS))
        self.latest_block, self._latest_at, self._latest_lock = None, -1, threading.Lock()
        self._claims = Claims()
        try:
            return super()._execute(context)
        finally:
            self._claims.close()
            self._claims = None

    def _moment(self, name: str, context: Context) -> object:
        given = getattr(self, name)
        if given is not None:
            return given
        found = context.get(INTERVAL_KEYS[name]) if context else None
        if found is None:
            raise LoopringInvalidParameterError(
                name, f"a moment, or a DAG run with a data interval ({INTERVAL_KEYS[name]})", None
            )
        return found

    def _snapshot_date(self, context: Context) -> str | None:
        if self.output_format != "parquet":
            return None
        if self.snapshot_date:
            return self.snapshot_date
        import pendulum

        start = (self._window or check_window(self.start, self.end))[0]
        return pendulum.from_timestamp(start / 1000, tz="UTC").to_date_string()

    def _resumed(self, done: dict[str, Done]) -> None:
        """What an earlier try wrote stays its: a transaction there is not written again."""
        for key, part in done.items():
            for found in part_keys(part):
                if found is not None and self._claims is not None:
                    self._claims.claim(found, f"resumed {key}")

    def _query(self, account: AccountRef) -> dict[str, Any]:
        name, value = account
        start, end = self._window or check_window(self.start, self.end)
        # Loopring's window includes both ends: the last millisecond before ``end`` is its end.
        query = {"start": start, "end": end - 1, "types": self.types, "nft_datas": self.nft_datas}
        return {name: value, **query}

    def _kept(self, account: AccountRef, transactions: Sequence[NftTransaction]) -> list[Record]:
        """The transactions this account writes: those no other account of the task wrote."""
        owner, kept = account_key(account), []
        claims, lock = self._claims, self._latest_lock or threading.Lock()
        for tx in transactions:
            key = tx.hash or tx.id
            if key is not None and claims is not None and not claims.claim(key, owner):
                continue
            block = tx.block
            if block is not None:
                with lock:
                    if (tx.created_at or 0) >= self._latest_at:
                        self.latest_block, self._latest_at = block, tx.created_at or 0
            kept.append(tx.to_dict(copy=False))
        return kept

    def _first_page(self, account: AccountRef) -> FirstPage:
        page = self.hook.get(core.NFT_TRANSACTIONS, **self._query(account), limit=core.MAX_LIMIT)
        records = self._kept(account, page.items)
        # A whole listing in one page is complete, even when another account kept some of it.
        total = len(records) if len(page.items) >= page.total_num else page.total_num
        return self._log_first_page(account, FirstPage(total, records))

    def _iter_records(self, account: AccountRef, on_page: PageCallback) -> Iterator[Record]:
        listing = self.hook.iter_nft_transactions(**self._query(account), on_page=on_page)
        for tx in listing:
            yield from self._kept(account, (tx,))
