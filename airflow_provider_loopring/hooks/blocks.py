"""The hook's reads of the chain: layer-2 blocks, one request each.

``getBlock`` answers one block by id, or the newest ``finalized`` (the default) or
``confirmed`` one. :meth:`BlockReads.iter_blocks` reads a range in order and checks that each
block is the one asked for and none is past the finalized head. :class:`LoopringHook` has them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from airflow_provider_loopring import _core as core
from airflow_provider_loopring._core.validation import check_block_id
from airflow_provider_loopring.exceptions import LoopringBlockError, LoopringInvalidParameterError
from airflow_provider_loopring.hooks._client import LoopringClient
from airflow_provider_loopring.models import Block


def _first(start: object) -> int:
    first = check_block_id(start, "start")
    if not isinstance(first, int):
        raise LoopringInvalidParameterError("start", "a block id (a non-negative integer)", start)
    return first


def _last(end: object, head: Block) -> int:
    """The last block to read: ``end`` or the head; past the finalized head is refused."""
    if end is None:
        return head.block_id
    last = check_block_id(end, "end")
    if not isinstance(last, int):
        raise LoopringInvalidParameterError("end", "a block id, or None for the head", end)
    if last > head.block_id:
        raise LoopringBlockError(
            f"Block {last} is not finalized yet: the finalized head is {head.block_id}."
        )
    return last


def _checked(block: Block, wanted: int) -> Block:
    if block.block_id != wanted:
        raise LoopringBlockError(
            f"Asked Loopring for block {wanted}, got block {block.block_id}: the chain would "
            "have a gap or a repeat; not read on."
        )
    return block


def _range(first: int, last: int) -> range:
    if first > last + 1:
        raise LoopringBlockError(
            f"start {first} is ahead of the finalized head {last}: nothing there to read."
        )
    return range(first, last + 1)


class BlockReads(LoopringClient):
    """``/api/v3/block/getBlock``: one block, or a range of them in order."""

    def get_block(self, *, block_id: int | str = "finalized") -> Block:
        """One block (``GET /api/v3/block/getBlock``); no key is needed.

        :param block_id: the block's id, ``"finalized"`` (default: the newest finalized
            block, the chain's head) or ``"confirmed"``.
        """
        block: Block = self.get(core.BLOCK, block_id=block_id)
        return block

    async def aget_block(self, *, block_id: int | str = "finalized") -> Block:
        """The async twin of :meth:`get_block`.

        :param block_id: the block's id, ``"finalized"`` or ``"confirmed"``.
        """
        block: Block = await self.aget(core.BLOCK, block_id=block_id)
        return block

    def iter_blocks(self, start: int, end: int | None = None) -> Iterator[Block]:
        """Blocks ``start`` to ``end``, both included, in order: one request each, and one for
        the finalized head first.

        :param start: the first block to read.
        :param end: the last block to read (default: the finalized head). A block past the
            finalized head is never read: ``end`` beyond it raises, before any block.
        :raises LoopringBlockError: ``end`` past the head, ``start`` beyond ``head + 1``, or
            a block answered for another id (a gap); nothing is skipped in silence.
        """
        first = _first(start)
        if end is not None:
            check_block_id(end, "end")
        return self._iter_blocks(first, end)

    def _iter_blocks(self, first: int, end: int | None) -> Iterator[Block]:
        head = self.get_block()
        last = _last(end, head)
        for block_id in _range(first, last):
            block = head if block_id == head.block_id else self.get_block(block_id=block_id)
            yield _checked(block, block_id)

    async def aiter_blocks(self, start: int, end: int | None = None) -> AsyncIterator[Block]:
        """The async twin of :meth:`iter_blocks`.

        :param start: the first block to read.
        :param end: the last block to read (default: the finalized head).
        """
        first = _first(start)
        head = await self.aget_block()
        last = _last(end, head)
        for block_id in _range(first, last):
            block = head if block_id == head.block_id else await self.aget_block(block_id=block_id)
            yield _checked(block, block_id)
