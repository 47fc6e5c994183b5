"""One Parquet file of a declared schema, written whole or not at all, in bounded row groups.

Each account's records become an Arrow batch in a local part file (Arrow's IPC format: the
same bytes the checkpoints keep, so a Parquet run resumes exactly as a JSON Lines one). The
commit streams the parts, in the accounts' order, into row groups of at most
:data:`ROW_GROUP_BYTES` (or :data:`ROW_GROUP_ROWS`), so memory holds one row group however many
records there are. pyarrow comes with the ``parquet`` extra and is imported when a task writes.
"""

from __future__ import annotations

import datetime
import importlib.util
from collections.abc import Sequence
from functools import cache
from typing import IO, Any

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.storage.schemas import (
    RowReader,
    arrow_schema,
    dictionary_columns,
    statistics_columns,
)

# ~1.2 MiB of rows with metadata per worker thread, as Python rows and again as Arrow's
# (1,000 held 8.5 MiB more over the operator's threads: benchmarks/memory.py)
BATCH_ROWS = 500
ROW_GROUP_ROWS = 50_000
ROW_GROUP_BYTES = 4 << 20  # ~4 MiB of Arrow data: ~1,500 balances with metadata
# A row group's batches waiting for it are copied into one every this many (one per account:
# a batch as read keeps its part's schema, ~24 KiB; 3,000 accounts of one collection each
# held ~70 MiB of schemas for 3 MiB of rows).
COMPACT_BATCHES = 128


@cache
def use_system_allocator() -> None:
    """Have Arrow allocate with malloc, once per process (the Parquet writer calls this).

    Arrow's default allocator (mimalloc) keeps freed pages in per-thread heaps; with the
    operator's threads building batches and the writer encoding row groups, that is +45 MiB
    at 100,000 balances, against flat memory with malloc (benchmarks/memory.py), whose large
    blocks the operators return at once (``hooks.memory.hold_mmap_threshold``).
    ``ARROW_DEFAULT_MEMORY_POOL=system`` in a worker's environment does the same.
    """
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def require_pyarrow() -> None:
    """Refuse ``output_format="parquet"`` without pyarrow, naming the extra that brings it."""
    if importlib.util.find_spec("pyarrow") is None:
        raise LoopringInvalidParameterError(
            "output_format",
            'pyarrow for "parquet": pip install "airflow-provider-loopring[parquet]"',
            "parquet",
        )


class ArrowPart:
    """One account's records as rows of the declared columns, in Arrow batches on local disk.

    Rows are written out every :data:`BATCH_ROWS`, so a part of any size holds one batch in
    memory.

    :param path: the local file (an Arrow IPC stream).
    :param reader: turns a record into a row (checks every field).
    :param records: rows already in the file (a part brought back from a checkpoint).
    """

    def __init__(self, path: str, reader: RowReader, records: int = 0) -> None:
        self.path = path
        self.records = records
        self._reader = reader
        self._rows: list[list[Any]] = []
        self._sink: Any = None
        self._stream: Any = None

    def write(self, record: dict[str, Any]) -> None:
        """Add one record as a row; full batches go to the file.

        :param record: a record as Loopring sent it.
        :raises ValueError: a field does not fit its column (named in the message).
        """
        self._rows.append(self._reader.row(record))
        self.records += 1
        if len(self._rows) >= BATCH_ROWS:
            self._flush()

    def write_batch(self, batch: Any) -> None:
        """Add rows already in the declared columns (a carried day's), as one batch.

        :param batch: a pyarrow RecordBatch of :func:`.schemas.arrow_schema`'s schema.
        """
        if self._rows:
            self._flush()
        if self._stream is None:
            self._open()
        self._stream.write_batch(batch)
        self.records += batch.num_rows

    def close(self) -> None:
        """Write the rows still held and close the file (an empty part holds the schema)."""
        if self._stream is None or self._rows:
            self._flush()  # an empty part still holds the schema
        self._stream.close()
        self._sink.close()
        self._stream = self._sink = None

    def _open(self) -> None:
        import pyarrow as pa

        self._sink = pa.OSFile(self.path, "wb")
        self._stream = pa.ipc.new_stream(self._sink, arrow_schema(self._reader.kind))

    def _flush(self) -> None:
        if self._stream is None:
            self._open()
        self._stream.write_batch(record_batch(arrow_schema(self._reader.kind), self._rows))
        self._rows = []


def record_batch(schema: Any, rows: Sequence[Sequence[Any]]) -> Any:
    """Rows (in column order) as a batch of ``schema``; dates arrive as "YYYY-MM-DD" text.

    Dates become ``datetime.date`` here rather than through Arrow's cast, which would load
    Arrow's compute kernels (+12 MiB in every task) for a handful of distinct days.

    :param schema: the pyarrow schema (:func:`.schemas.arrow_schema`).
    :param rows: rows from :meth:`.schemas.RowReader.row`.
    """
    import pyarrow as pa

    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = []
    for field, values in zip(schema, columns, strict=True):
        if pa.types.is_date32(field.type):
            days = [None if value is None else _day(value) for value in values]
            arrays.append(pa.array(days, field.type))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


@cache
def _day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def write_parts(kind: str, parts: Sequence[Any], out: IO[bytes]) -> None:
    """The parts' batches, in order, as one Parquet file written to ``out``.

    Row groups are cut at ``ROW_GROUP_BYTES`` or ``ROW_GROUP_ROWS``, whichever comes first.

    :param kind: the record kind: ``balances``, ``collections`` or ``changes``.
    :param parts: closed :class:`ArrowPart` objects; empty ones are left out.
    :param out: the binary file the Parquet file is written to.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(kind)
    pending: list[Any] = []  # batches copied into one, each group of COMPACT_BATCHES
    fresh: list[Any] = []  # batches as read, each holding its own part's schema
    size = rows = 0
    with pq.ParquetWriter(
        out,
        schema,
        compression="zstd",
        write_statistics=statistics_columns(kind),
        use_dictionary=dictionary_columns(kind),
    ) as writer:
        for part in parts:
            if not part.records:
                continue
            # Read, not memory-mapped: a batch may wait for the next row group.
            with pa.OSFile(part.path, "rb") as source:
                for batch in pa.ipc.open_stream(source):
                    fresh.append(batch)
                    size, rows = size + batch.nbytes, rows + batch.num_rows
                    if len(fresh) >= COMPACT_BATCHES:
                        pending += _compact(pa, fresh, schema)
                        fresh = []
                    if size >= ROW_GROUP_BYTES or rows >= ROW_GROUP_ROWS:
                        writer.write_table(pa.Table.from_batches([*pending, *fresh], schema))
                        pending, fresh, size, rows = [], [], 0, 0
        if pending or fresh:
            writer.write_table(pa.Table.from_batches([*pending, *fresh], schema))


def _compact(pa: Any, batches: list[Any], schema: Any) -> list[Any]:
    """The batches as one (their rows copied): each batch read from a part holds the schema
    read with it, ~24 KiB of a collection's, where its rows may be a few hundred bytes."""
    return list(pa.Table.from_batches(batches, schema).combine_chunks().to_batches())


def read_batches(file: Any, columns: Sequence[str] | None = None) -> Any:
    """The batches of a Parquet file, one row group at a time (at most ~4 MiB each as written).

    Not ``ParquetFile.iter_batches``: with pyarrow 26 its reader keeps memory for every row
    group it passed (+100 MiB over 540,000 balances, measured by the incremental benchmark),
    where reading row group by row group stays flat.

    :param file: a Parquet file (a path, a binary file object, or a ``ParquetFile``).
    :param columns: only these columns (all by default).
    """
    import pyarrow.parquet as pq

    parquet = file if isinstance(file, pq.ParquetFile) else pq.ParquetFile(file)
    for index in range(parquet.num_row_groups):
        table = parquet.read_row_group(index, columns=columns, use_threads=False)
        yield from table.to_batches()
        del table
