"""The base of the operators that fetch something for each of many accounts.

An operator is given accounts (ids, owner addresses, or both mixed in ``accounts``; see
:mod:`.arguments`) and where their records go; this class holds the arguments and their
checks, and what OpenLineage is told; how a task runs (threads, sinks, resume, progress) is
in :mod:`._run`.

DAG files import the operators at parse time: the hook, requests, storage's writers and
pyarrow come in when a task runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_loopring import _core as core
from airflow_provider_loopring import storage
from airflow_provider_loopring._core.settings import DEFAULT_CONN_ID
from airflow_provider_loopring.links.loopring import EXTRA_LINKS
from airflow_provider_loopring.operators._run import AccountsRun, FirstPage
from airflow_provider_loopring.operators.arguments import (
    MISSING_ACCOUNT_CHOICES,
    AccountRef,
    check_accounts,
    check_choice,
    check_day,
    check_format,
    check_positive,
    check_seconds,
    run_day,
)
from airflow_provider_loopring.retry_policy import with_retry_policy
from airflow_provider_loopring.storage import schemas
from airflow_provider_loopring.storage.objects import check_folder_url
from airflow_provider_loopring.templates import unrendered

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

# Still importable from here: the example DAGs and users' code took them from this module.
__all__ = ["FirstPage", "LoopringAccountsOperator", "check_accounts", "run_day"]


class LoopringAccountsOperator(AccountsRun):
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
    :param record_fetched_at: add ``fetchedAt`` (epoch ms: when its page arrived) to every
        record, as the example snapshot DAG does (its incremental nights carry records
        fetched on earlier days).
    :param kwargs: ``BaseOperator``'s. ``retry_policy`` defaults to
        :class:`~airflow_provider_loopring.retry_policy.LoopringRetryPolicy` (Airflow 3.3+):
        a rejected key, an unknown account or a misshaped response fails the task without
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
        record_fetched_at: bool = False,
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
        self.record_fetched_at = record_fetched_at

    # --- arguments -------------------------------------------------------------------------

    def _checks(self, rendered: bool) -> dict[str, Callable[[Any], object]]:
        """Argument name -> its check from the core or ``storage``; subclasses add their filters.

        :param rendered: the task is running: also ask Airflow whether it has a filesystem
            for ``output_path``'s scheme (too costly at DAG parse time).
        """
        return {
            "non_zero": lambda value: core.check_flag(value, "non_zero"),
            "output_path": lambda value: (
                value is None or storage.check_output_path(value, filesystem=rendered)
            ),
            "output_format": lambda value: check_format(value, rendered),
            "snapshot_date": lambda value: value is None or check_day(value, "snapshot_date"),
            "max_xcom_records": lambda value: check_positive(value, "max_xcom_records"),
            "max_workers": lambda value: check_positive(value, "max_workers"),
            "on_missing_account": lambda value: check_choice(
                value, "on_missing_account", MISSING_ACCOUNT_CHOICES
            ),
            "account_cache_path": lambda value: (
                value is None or check_folder_url(value, "account_cache_path")
            ),
            "checkpoint_interval": lambda value: check_seconds(value, "checkpoint_interval"),
        }

    def _validate(self, *, rendered: bool) -> list[AccountRef]:
        """Check every argument; before rendering, templates and XComArgs are left for later."""
        for name, check in self._checks(rendered).items():
            value = getattr(self, name)
            if rendered or not unrendered(value):
                check(value)
        selectors = (self.account_id, self.address, self.accounts)
        if not rendered and any(unrendered(value) for value in selectors):
            return []
        return check_accounts(*selectors)

    # --- OpenLineage (called by the OpenLineage provider only, when it is installed) --------

    # The endpoint the operator reads: the name of its declaration in the core, looked up when
    # lineage is asked for (declarations load the models, which a DAG parse does not need).
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

        accounts = check_accounts(self.account_id, self.address, self.accounts)
        # Parquet files have the declared schema's columns; JSON records Loopring's own.
        parquet = self.output_format == "parquet"
        kind = self.record_kind
        return _lineage.operator_lineage(
            base_url=self.hook.settings.base_url,
            endpoint=getattr(core, self._endpoint).path,
            accounts=[value for _, value in accounts],
            filters=self._filters(),
            output_path=self.output_path,
            columns=schemas.lineage_fields(kind) if parquet else json_columns(kind),
        )
