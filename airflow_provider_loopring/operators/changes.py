"""LoopringSnapshotChangesOperator: what each wallet gained or lost since the last snapshot.

DAG files import this at parse time: what the snapshots' comparison needs comes in when the
task runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import BaseOperator

from airflow_provider_loopring._core.snapshot_day import run_day as stored_day
from airflow_provider_loopring.operators.arguments import check_choice, check_day, check_format
from airflow_provider_loopring.storage.formats import EXTENSIONS
from airflow_provider_loopring.storage.objects import ObjectStorageWriter, check_folder_url
from airflow_provider_loopring.templates import unrendered

if TYPE_CHECKING:
    from airflow.sdk import Context


class LoopringSnapshotChangesOperator(BaseOperator):
    """Compare a day's NFT balances with the latest earlier complete day of the same snapshot.

    Reads ``<output_root>/balances/dt=<day>/`` (it must be complete: its ``_manifest.json``)
    and the newest earlier ``dt=`` partition that is complete, and writes
    ``<output_root>/changes/dt=<day>/part-0000.<format>`` and its ``_manifest.json``: one
    record per (accountId, nftData) whose holding changed, with ``change`` = ``added`` |
    ``removed`` | ``amount`` | ``status``, the values before and after (``total``,
    ``deploymentStatus``) and both days, sorted by account. Memory holds one bucket of
    holdings, never two days. The first day has no previous one: no changes file, a manifest
    listing none, and the XCom says so (``previous_day`` None). A re-run of a day replaces
    its changes.

    Returns (XCom) ``{"day", "previous_day", "added", "removed", "amount", "status"}`` and,
    when written, the file's ``path``, ``records``, ``bytes``, ``sha256``.

    :param output_root: the snapshot root (an ``ObjectStoragePath`` URL). (templated)
    :param day: the day to compare, "YYYY-MM-DD" (templated); default: the DAG run's
        ``run_after`` day, UTC.
    :param output_format: ``"jsonl"`` (default), ``"json"`` or ``"parquet"``. (templated)
    :param output_conn_id: the Airflow connection with the storage's credentials.
    :param kind: what is compared: ``"balances"`` (default, the snapshot's, as above) or
        ``"holders"``: ``<output_root>/holders/dt=<day>/`` as
        :class:`~airflow_provider_loopring.operators.holders.LoopringNftHoldersOperator`
        writes it (each holder's ``amount`` as the total, no status), into
        ``<output_root>/holder_changes/dt=<day>/``.
    """

    template_fields: Sequence[str] = ("output_root", "day", "output_format")

    def __init__(
        self,
        *,
        output_root: str,
        day: str | None = None,
        output_format: str = "jsonl",
        output_conn_id: str | None = None,
        kind: str = "balances",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kind = check_choice(kind, "kind", ("balances", "holders"))
        self.output_root = output_root
        self.day = day
        self.output_format = output_format
        self.output_conn_id = output_conn_id
        self._check(rendered=False)

    def _check(self, rendered: bool) -> None:
        if rendered or not unrendered(self.output_format):
            check_format(self.output_format, rendered)
        if rendered or not unrendered(self.output_root):
            check_folder_url(self.output_root, "output_root")
        if self.day is not None and (rendered or not unrendered(self.day)):
            check_day(self.day, "day")

    def execute(self, context: Context) -> dict[str, Any]:
        """Compare the day with the previous complete one and write the changes.

        :param context: the task's context, for the run's day when ``day`` is not given.
        :return: the counts and, when a file was written, its reference (see above).
        """
        from airflow_provider_loopring.storage import snapshots
        from airflow_provider_loopring.storage.changes import CHANGES_FOLDERS, compare_days

        self._check(rendered=True)
        # Stored days are compared, nothing is read from Loopring: any run's day will do,
        # a backfill's too.
        dag_run = context.get("dag_run") if context else None
        day = self.day or stored_day(getattr(dag_run, "run_after", None), pendulum.now("UTC"))
        root, conn_id = self.output_root.rstrip("/"), self.output_conn_id
        changes = CHANGES_FOLDERS[self.kind]
        folder = snapshots.partition(root, changes, day)
        snapshots.start_day(root, day, (changes,), conn_id=conn_id)
        url = f"{folder}/part-0000.{EXTENSIONS[self.output_format]}"
        with ObjectStorageWriter(
            url,
            conn_id=conn_id,
            output_format=self.output_format,
            record_kind="changes",
            snapshot_date=day,
        ) as writer:
            part = writer.new_part()
            try:
                counts = compare_days(root, day, conn_id=conn_id, sink=part, kind=self.kind)
            finally:
                part.close()
            files = []
            if counts["previous_day"] is not None:
                files = [writer.commit([part], fetched_at=pendulum.now("UTC").isoformat())]
        # The first day: a manifest listing no file says "complete, nothing to compare".
        snapshots.commit_partition(folder, files, conn_id=conn_id, kind=changes, **counts)
        if not files:
            self.log.info("%s is the first complete day: nothing to compare it with.", day)
            return counts
        keep = ("path", "records", "bytes", "sha256")
        return {**counts, **{key: files[0][key] for key in keep}}
