"""LoopringBlocksOperator: the chain's NFT activity, read block by block from a cursor.

DAG files import this at parse time: the hook, storage's writers and the core's reading of
blocks come in when the task runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_loopring._core.settings import DEFAULT_CONN_ID
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.links.loopring import BLOCK_LINKS
from airflow_provider_loopring.operators.arguments import check_day, check_format, check_positive
from airflow_provider_loopring.retry_policy import fail_fast, with_retry_policy
from airflow_provider_loopring.storage.objects import check_folder_url
from airflow_provider_loopring.templates import unrendered

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

    from airflow_provider_loopring.hooks.loopring import LoopringHook

BLOCKS_PER_RANGE = 100
# The JSON type of each key of a record (_core.activity.COLUMNS), for lineage.
_INTEGERS = frozenset(
    {"blockId", "indexInBlock", "createdAt", "accountId", "fromAccountId", "toAccountId"}
    | {"minterAccountId", "tokenId", "feeTokenId"}
)


def check_block(value: object, name: str) -> int:
    """A block id: a whole number, 0 or more (a bool is not one), or its digits as text (what
    a template renders to without native rendering).

    :param value: the argument as given.
    :param name: the argument's name, for the error.
    :raises LoopringInvalidParameterError: anything else.
    """
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LoopringInvalidParameterError(name, "a block id (a whole number, 0 or more)", value)
    return value


class LoopringBlocksOperator(BaseOperator):
    """Read Loopring's layer-2 blocks from a cursor and write the chain's NFT activity.

    Reads every block after the cursor (the last block the previous run read, kept in
    ``<output_root>/nft_activity/_cursor.json``) up to the finalized head, or ``end_block``,
    one request each and one for the head; never a block the relayer has not finalized. Writes
    ``<output_root>/nft_activity/dt=<day>/``: one file per range of ``blocks_per_range``
    blocks, one flat record per NFT-moving transaction (see
    :func:`~airflow_provider_loopring._core.activity.nft_move`), and ``_manifest.json`` last,
    then moves the cursor. Each range is written whole and checkpointed before the next is
    read: a retry reads only the blocks after the last finished range. A later run of the
    same day adds the new blocks to that day. A gap in block ids, a block that does not
    parse, or a cursor ahead of the head fails the task; blocks are never skipped. A run that
    stopped after the manifest and before the cursor is taken as finished (the manifest is the
    newer); one that stopped after marking its day incomplete leaves a cursor only a run of
    that day goes on from.

    Returns (XCom) ``{"day", "path", "first_block", "last_block", "blocks_read",
    "resumed_blocks", "records", "files", "account_ids", "addresses"}``: the day's blocks
    (``first_block`` .. ``last_block``, both included; ``last_block`` is ``first_block - 1``
    when there was nothing new), what this try read, and every account the day's blocks name
    in any role of any transaction (NFT or not): ids, and addresses that came without one.

    :param output_root: the dataset root (an ``ObjectStoragePath`` URL; the snapshot root
        can be shared). (templated)
    :param start_block: the first block to read when there is no cursor yet (the first run);
        ignored once a cursor exists. (templated)
    :param end_block: the last block to read (default: the finalized head); before the
        cursor it is refused. (templated)
    :param day: the day partition to write, "YYYY-MM-DD" (templated); default: the DAG
        run's ``run_after`` day, UTC. A day before the cursor's is refused.
    :param output_format: ``"jsonl"`` (default), ``"json"`` or ``"parquet"``. (templated)
    :param blocks_per_range: blocks in each file, and between two checkpoints.
    :param output_conn_id: the Airflow connection with the storage's credentials.
    :param loopring_conn_id: the Loopring connection.
    :param kwargs: ``BaseOperator``'s; ``retry_policy`` defaults to
        :class:`~airflow_provider_loopring.retry_policy.LoopringRetryPolicy` (Airflow 3.3+).
    """

    template_fields: Sequence[str] = (
        "output_root",
        "start_block",
        "end_block",
        "day",
        "output_format",
    )
    operator_extra_links = BLOCK_LINKS

    def __init__(
        self,
        *,
        output_root: str,
        start_block: int | None = None,
        end_block: int | None = None,
        day: str | None = None,
        output_format: str = "jsonl",
        blocks_per_range: int = BLOCKS_PER_RANGE,
        output_conn_id: str | None = None,
        loopring_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        kwargs, fails_fast = with_retry_policy(kwargs)
        super().__init__(**kwargs)
        self._fail_fast = fails_fast
        self.output_root = output_root
        self.start_block = start_block
        self.end_block = end_block
        self.day = day
        self.output_format = output_format
        self.blocks_per_range = blocks_per_range
        self.output_conn_id = output_conn_id
        self.loopring_conn_id = loopring_conn_id
        self._check(rendered=False)

    def _check(self, rendered: bool) -> None:
        checks = {
            "output_root": lambda value: check_folder_url(value, "output_root"),
            "start_block": lambda value: value is None or check_block(value, "start_block"),
            "end_block": lambda value: value is None or check_block(value, "end_block"),
            "day": lambda value: value is None or check_day(value, "day"),
            "output_format": lambda value: check_format(value, rendered),
            "blocks_per_range": lambda value: check_positive(value, "blocks_per_range"),
        }
        for name, check in checks.items():
            value = getattr(self, name)
            if rendered or not unrendered(value):
                checked = check(value)
                if rendered and name in ("start_block", "end_block") and value is not None:
                    setattr(self, name, checked)  # rendered text "52000" is block 52000

    @cached_property
    def hook(self) -> LoopringHook:
        """The hook of ``loopring_conn_id``."""
        from airflow_provider_loopring.hooks.loopring import LoopringHook

        return LoopringHook(loopring_conn_id=self.loopring_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        """Read the blocks after the cursor and write the day's NFT activity.

        :param context: the task's context, for the run's day when ``day`` is not given.
        :return: the day's blocks, what was read, and the accounts named (see above).
        """
        from airflow_provider_loopring.operators._blocks_run import BlocksRun

        self._check(rendered=True)
        with fail_fast(self._fail_fast):
            return BlocksRun(self, context).run()

    def on_kill(self) -> None:
        if "hook" in self.__dict__:
            self.hook.close()  # a block being read stops at once

    # --- OpenLineage (called by the OpenLineage provider only, when it is installed) --------

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """The blocks endpoint read and the dataset written (``<output_root>/nft_activity``)."""
        return self._lineage()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """As on start: what is read and written is known from the arguments.

        :param task_instance: the finished task instance (unused).
        """
        return self._lineage()

    def _lineage(self) -> OperatorLineage:
        from airflow_provider_loopring import _core as core
        from airflow_provider_loopring._core.activity import COLUMNS
        from airflow_provider_loopring.operators import _lineage
        from airflow_provider_loopring.storage import schemas

        if self.output_format == "parquet":
            columns = schemas.lineage_fields("nft_activity")
        else:
            columns = tuple((c, "integer" if c in _INTEGERS else "string") for c in COLUMNS)
        return _lineage.operator_lineage(
            base_url=self.hook.settings.base_url,
            endpoint=core.BLOCK.path,
            accounts=[],
            filters={"start_block": self.start_block, "end_block": self.end_block},
            output_path=f"{str(self.output_root).rstrip('/')}/nft_activity",
            columns=columns,
        )
