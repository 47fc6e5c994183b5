"""How a blocks task runs: the cursor, the ranges taken back, the blocks read, the commit.

Under :class:`~.blocks.LoopringBlocksOperator`: the cursor and the ranges are the store's
(:mod:`..storage.activity`), which records a block moves is the core's
(:mod:`.._core.activity`), which accounts it names the models'
(:func:`~airflow_provider_loopring.models.block.touched_accounts`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pendulum

from airflow_provider_loopring._core.activity import KNOWN_TYPES, ActivityError, block_moves
from airflow_provider_loopring._core.snapshot_day import run_day
from airflow_provider_loopring.exceptions import (
    LoopringBadResponseError,
    LoopringBlockError,
    LoopringInvalidParameterError,
)
from airflow_provider_loopring.storage import activity, snapshots
from airflow_provider_loopring.storage.confined import UntrustedError
from airflow_provider_loopring.storage.formats import EXTENSIONS
from airflow_provider_loopring.storage.objects import ObjectStorageWriter

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_loopring.hooks.loopring import LoopringHook
    from airflow_provider_loopring.models import Block


class BlocksTask(Protocol):
    """What a run needs of its task (a :class:`~.blocks.LoopringBlocksOperator`, rendered)."""

    output_root: str
    start_block: int | None
    end_block: int | None
    day: str | None
    output_format: str
    blocks_per_range: int
    output_conn_id: str | None

    @property
    def log(self) -> Any:
        """The task's logger."""

    @property
    def hook(self) -> LoopringHook:
        """The task's hook."""


class BlocksRun:
    """One try of a blocks task.

    :param operator: the task (its rendered arguments, its hook and its log).
    :param context: the task's context, for the run's day.
    """

    def __init__(self, operator: BlocksTask, context: Context) -> None:
        self.task = operator
        self.log = operator.log
        self.conn_id = operator.output_conn_id
        self.root = operator.output_root.rstrip("/")
        dag_run = context.get("dag_run") if context else None
        now = pendulum.now("UTC")
        self.day = operator.day or run_day(getattr(dag_run, "run_after", None), now)
        self.folder = snapshots.partition(self.root, activity.KIND, self.day)
        self.extension = EXTENSIONS[operator.output_format]

    def run(self) -> dict[str, Any]:
        """Everything, in order; see the operator."""
        first, cursor_block = self._start()
        end = self.task.end_block
        if end is not None and end < cursor_block:
            raise LoopringInvalidParameterError(
                "end_block",
                f"{cursor_block} or later: the cursor's last block (start_block - 1 at first)",
                end,
            )
        done = activity.finished_ranges(
            self.folder, first, self.extension, end, conn_id=self.conn_id
        )
        resumed = sum(r.last_block - r.first_block + 1 for r in done)
        if done:
            self.log.info(
                "Resuming %s: blocks %d..%d already written; reading on from %d.",
                self.day,
                first,
                done[-1].last_block,
                done[-1].last_block + 1,
            )
        # Listed in the checkpoint before the manifest that may list them goes; written even
        # when none was taken back: a cursor whose day has no manifest is checked against it.
        activity.save_ranges(self.folder, first, done, conn_id=self.conn_id)
        snapshots.start_day(self.root, self.day, (activity.KIND,), conn_id=self.conn_id)
        start = done[-1].last_block + 1 if done else first
        read = 0
        for chunk in self._ranges(self.task.hook.iter_blocks(start, end)):
            done.append(self._write(chunk))
            read += len(chunk)
            activity.save_ranges(self.folder, first, done, conn_id=self.conn_id)
        last = done[-1].last_block if done else first - 1
        return self._commit(first, last, done, read, resumed)

    def _start(self) -> tuple[int, int]:
        """The day's first block, and the cursor's last block (``start_block - 1`` at first)."""
        try:
            cursor = activity.read_cursor(self.root, conn_id=self.conn_id)
        except (OSError, UntrustedError) as error:
            raise LoopringBlockError(
                f"The cursor of {self.root}/{activity.KIND} cannot be trusted: {error}. No block "
                "is read past a cursor that cannot be verified: restore it, or remove it and "
                "give start_block (the last_block + 1 of the newest complete day's manifest)."
            ) from None
        if cursor is None:
            start = self.task.start_block
            if start is None:
                raise LoopringInvalidParameterError(
                    "start_block",
                    f"the first block to read: {self.root}/{activity.KIND} has no cursor yet",
                    None,
                )
            return start, start - 1
        if self.task.start_block is not None:
            self.log.info("A cursor exists: start_block %s is not used.", self.task.start_block)
        if self.day < cursor.day:
            raise LoopringInvalidParameterError(
                "day", f"{cursor.day} or later: the cursor's day (blocks read on from it)", self.day
            )
        if not cursor.complete and self.day != cursor.day:  # reading on would leave it so
            raise LoopringBlockError(
                f"{cursor.day}, the cursor's day, has no {snapshots.MANIFEST}: a run of it "
                f"stopped before it finished, and its blocks {cursor.first_block}.."
                f"{cursor.last_block} are in no complete day. Run {cursor.day} again first (it "
                f"takes back what was written and reads on), then {self.day}."
            )
        first = cursor.first_block if self.day == cursor.day else cursor.last_block + 1
        return first, cursor.last_block

    def _ranges(self, blocks: Iterator[Block]) -> Iterator[list[Block]]:
        size, chunk = self.task.blocks_per_range, []
        for block in blocks:
            chunk.append(block)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def _write(self, blocks: list[Block]) -> activity.BlockRange:
        """One range's records into its file, written whole; the accounts its blocks name."""
        first, last = blocks[0].block_id, blocks[-1].block_id
        name = activity.range_name(first, last, self.extension)
        ids: set[int] = set()
        addresses: set[str] = set()
        unknown: set[str] = set()
        with ObjectStorageWriter(
            f"{self.folder}/{name}",
            conn_id=self.conn_id,
            output_format=self.task.output_format,
            record_kind=activity.KIND,
            snapshot_date=self.day,
        ) as writer:
            part = writer.new_part()
            try:
                for block in blocks:
                    for record in _moves(block):
                        part.write(record)
                    for tx in block.transactions:
                        if tx.tx_type not in KNOWN_TYPES:
                            unknown.add(str(tx.tx_type))
                        named = tx.accounts()
                        ids.update(named[0])
                        addresses.update(named[1])
            finally:
                part.close()
            file = writer.commit([part], fetched_at=pendulum.now("UTC").isoformat())
        self.log.info("Blocks %d..%d: %d NFT moves written.", first, last, file["records"])
        if unknown:
            self.log.warning(
                "Blocks %d..%d hold transaction types Loopring does not document: %s. Their "
                "accounts are named; whether they move NFTs is not known, so no record is made.",
                first,
                last,
                ", ".join(sorted(unknown)),
            )
        return activity.BlockRange(
            name,
            first,
            last,
            file["records"],
            file["bytes"],
            file["sha256"],
            tuple(sorted(ids)),
            tuple(sorted(addresses)),
        )

    def _commit(
        self, first: int, last: int, done: list[activity.BlockRange], read: int, resumed: int
    ) -> dict[str, Any]:
        ids = sorted({i for r in done for i in r.account_ids})
        addresses = sorted({a for r in done for a in r.addresses} - {""})
        records = sum(r.records for r in done)
        snapshots.commit_partition(
            self.folder,
            activity.file_entries(self.folder, done),
            conn_id=self.conn_id,
            kind=activity.KIND,
            day=self.day,
            first_block=first,
            last_block=last,
            ranges=[r.to_json() for r in done],
        )
        activity.write_cursor(
            self.root, activity.Cursor(self.day, first, last), conn_id=self.conn_id
        )
        self.log.info(
            "%s: blocks %d..%d (%d read now, %d taken back), %d NFT moves, %d accounts named.",
            self.day,
            first,
            last,
            read,
            resumed,
            records,
            len(ids) + len(addresses),
        )
        return {
            "day": self.day,
            "path": self.folder,
            "first_block": first,
            "last_block": last,
            "blocks_read": read,
            "resumed_blocks": resumed,
            "records": records,
            "files": len(done),
            "account_ids": ids,
            "addresses": addresses,
        }


def _moves(block: Block) -> Iterator[dict[str, Any]]:
    try:
        yield from block_moves(block.to_dict(copy=False))
    except ActivityError as error:
        raise LoopringBadResponseError(
            str(error), endpoint=f"GET /api/v3/block/getBlock id={block.block_id}"
        ) from None
