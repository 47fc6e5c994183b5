"""Carrying a night's wallets forward: the records of the last complete day, copied.

The plan keeps the ids a night carries in a file for the ``carry`` task (:func:`write_carry`,
:func:`read_carry`: 8 bytes an id, checked by size and SHA-256 when read back), rather than
an XCom list. :func:`carry_forward` streams the last day's files, one at a time, each checked
against its manifest as it is copied to local scratch, and writes the carried wallets'
records into the new day's ``part-carry-NNNN`` files (JSON records as they were; Parquet
batches as they were, with the new ``snapshot_date``), each of at most
:data:`CARRY_FILE_ROWS` records.
"""

from __future__ import annotations

import json
import re
import sys
from array import array
from collections.abc import Collection, Iterator
from typing import Any

from airflow_provider_loopring._core.nights import AccountIds
from airflow_provider_loopring.storage.confined import UntrustedError, unlink_link
from airflow_provider_loopring.storage.nights import LastDay
from airflow_provider_loopring.storage.snapshots import (
    object_path,
    partition,
    verified_files,
    write_file,
)

CARRY = "_carry"  # the plan's carried ids, for the carry task: <root>/_carry/dt=<day>/
CARRY_PART = "part-carry"
CARRY_FILE_ROWS = 250_000  # ~85 row groups of balances with metadata: a ~3 MiB footer read
_DT = re.compile(r"dt=\d{4}-\d{2}-\d{2}")


def write_carry(root: str, day: str, ids: array[int], *, conn_id: str | None) -> dict[str, Any]:
    """Keep the account ids a night carries for its ``carry`` task (8 bytes an id), rather
    than pass them through XCom (a JSON list: ~7 bytes an id in the metadata database, and
    a Python list of them in both tasks).

    :param root: the snapshot root URL.
    :param day: the night's day.
    :param ids: the carried account ids. The files of earlier nights go (their carry is
        done: a DAG of one active run at a time).
    :param conn_id: the Airflow connection with the storage's credentials.
    :return: the file's entry (size and SHA-256), for :func:`read_carry`.
    """
    base = object_path(root, conn_id)
    kept = object_path(f"{root.rstrip('/')}/{CARRY}", conn_id)
    unlink_link(base.fs, base.path, object_path(partition(root, CARRY, day), conn_id).path)
    for folder in kept.iterdir() if kept.exists() else ():  # an earlier night's: done with
        if _DT.fullmatch(folder.name) and folder.name < f"dt={day}":
            base.fs.rm(folder.path, recursive=True)
    data = ids if isinstance(ids, array) and ids.typecode == "q" else array("q", ids)
    if sys.byteorder != "little":
        data = array("q", data)
        data.byteswap()  # a copy swapped: the night's own array stays as it is
    url = f"{partition(root, CARRY, day)}/carry.ids"
    return write_file(url, data.tobytes(), records=len(data), conn_id=conn_id)


def read_carry(root: str, day: str, entry: object, *, conn_id: str | None) -> AccountIds:
    """The ids :func:`write_carry` kept for ``day``, checked against its entry.

    :param root: the snapshot root URL.
    :param day: the night's day.
    :param entry: what :func:`write_carry` returned (through XCom): only its size and SHA-256
        are used; the file is the day's, wherever the entry says it is.
    :param conn_id: the Airflow connection with the storage's credentials.
    :raises UntrustedError: the file is not the one written, or holds no whole ids.
    """
    folder = partition(root, CARRY, day)
    if not (object_path(folder, conn_id) / "carry.ids").exists():
        raise UntrustedError(
            f"{folder}/carry.ids is not there (a later night's plan removes it): run this "
            "night's planning task (batches) again with its carry task"
        )
    given = entry if isinstance(entry, dict) else {}
    manifest = {"files": [{"name": "carry.ids", **{k: given.get(k) for k in ("bytes", "sha256")}}]}
    ids: array[int] = array("q")
    for _, file in verified_files(folder, manifest, conn_id):
        data = file.read()
        if len(data) % ids.itemsize:
            raise UntrustedError(f"{folder}/carry.ids holds no whole account ids")
        ids.frombytes(data)
    if sys.byteorder != "little":
        ids.byteswap()
    return AccountIds(ids)


def carry_forward(
    root: str,
    last: LastDay,
    kind: str,
    day: str,
    accounts: Collection[int],
    *,
    conn_id: str | None,
) -> list[dict[str, Any]]:
    """Write the last day's records of ``accounts`` into ``day``'s ``part-carry-NNNN`` files.

    A file holds at most :data:`CARRY_FILE_ROWS` records: a Parquet reader parses a file's
    footer whole on opening, ~1.3 KiB for each row group's column, so one file of every
    carried wallet would cost the next night's tasks memory in proportion to the watch list.

    :param root: the snapshot root URL.
    :param last: the last complete day (its format is the night's).
    :param kind: ``balances`` or ``collections``.
    :param day: the night's day.
    :param accounts: the account ids whose records are carried (any collection: they are
        held here as one sorted array, 8 bytes an id).
    :param conn_id: the Airflow connection with the storage's credentials.
    :return: the files' entries for the partition's manifest (none when nothing is carried).
    :raises UntrustedError: a file of the last day is not its manifest's, or a record names
        no account.
    """
    from airflow_provider_loopring.hooks.memory import hold_mmap_threshold

    # Row groups of ~4 MiB are read and written one after another: with glibc's threshold
    # free to rise they come from the heap and fragment it (+44 MiB at 200,000 wallets).
    hold_mmap_threshold()
    carried = accounts if isinstance(accounts, AccountIds) else AccountIds(accounts)
    out = _CarryFiles(partition(root, kind, day), last.output_format, kind, day, conn_id)
    try:
        for name, file in verified_files(last.folder(root, kind), last.manifests[kind], conn_id):
            if name.endswith(".parquet"):
                for batch in _parquet_batches(file, kind, day, carried):
                    out.write_batch(batch)
                continue
            for record in _json_records(name, file):
                account = record.get("accountId") if isinstance(record, dict) else None
                if type(account) is not int:
                    raise UntrustedError(f"{name} of {last.day}: a record names no account")
                if account in carried:
                    out.write(record)
        return out.commit()
    finally:
        out.close()


class _CarryFiles:
    """The carried records, in files of at most CARRY_FILE_ROWS records. Each file's records
    wait in local scratch until the last day is read whole: then the files are committed one
    after another (a commit while a row group of the last day is held would add its peak)."""

    def __init__(self, folder: str, fmt: str, kind: str, day: str, conn_id: str | None) -> None:
        self.folder, self.fmt, self.kind, self.day, self.conn_id = folder, fmt, kind, day, conn_id
        self._files: list[tuple[Any, Any]] = []  # (writer, part): all closed but the last
        self._open = False  # whether the last part is still being written

    def write(self, record: dict[str, Any]) -> None:
        self._next().write(record)

    def write_batch(self, batch: Any) -> None:
        self._next().write_batch(batch)

    def _next(self) -> Any:
        if self._open and self._files[-1][1].records >= CARRY_FILE_ROWS:
            self._close_last()
        if not self._open:
            from airflow_provider_loopring.storage.formats import EXTENSIONS
            from airflow_provider_loopring.storage.objects import ObjectStorageWriter

            name = f"{CARRY_PART}-{len(self._files):04d}.{EXTENSIONS[self.fmt]}"
            writer = ObjectStorageWriter(
                f"{self.folder}/{name}", conn_id=self.conn_id, output_format=self.fmt,
                record_kind=self.kind, snapshot_date=self.day,
            ).__enter__()  # fmt: skip
            self._files.append((writer, writer.new_part()))
            self._open = True
        return self._files[-1][1]

    def _close_last(self) -> None:
        if self._open:
            self._open = False  # a part is closed once: closing again would start it anew
            self._files[-1][1].close()

    def commit(self) -> list[dict[str, Any]]:
        """Every file with records put in place; their manifest entries."""
        import pendulum

        self._close_last()
        fetched_at = pendulum.now("UTC").isoformat()
        return [
            writer.commit([part], fetched_at=fetched_at)
            for writer, part in self._files
            if part.records
        ]

    def close(self) -> None:
        """The writers' scratch goes; what was not committed is dropped (a failure)."""
        self._close_last()
        for writer, _ in self._files:
            writer.__exit__(None, None, None)
        self._files = []


def _json_records(name: str, file: Any) -> Iterator[Any]:
    if name.endswith(".json"):
        yield from json.load(file)
    else:
        yield from (json.loads(line) for line in file if line.strip())


def _parquet_batches(file: Any, kind: str, day: str, accounts: AccountIds) -> Iterator[Any]:
    """The rows of ``accounts``, as batches of the current schema, dated ``day``.

    A version-1 file has no ``fetchedAt``: its rows carry it empty (when they were fetched
    is not known). Which rows: each row's id searched in the sorted ``accounts``.
    """
    import pyarrow as pa

    from airflow_provider_loopring.storage.parquet import read_batches, record_batch
    from airflow_provider_loopring.storage.schemas import arrow_schema

    schema = arrow_schema(kind)
    for batch in read_batches(file):
        ids = batch.column(batch.schema.get_field_index("accountId"))
        if not pa.types.is_integer(ids.type):  # as before: no row of such a column is kept
            continue
        # The sorted ids, searched (a row group's few thousand): Arrow's is_in would hash
        # every carried id again for each row group (14 ms and ~6 MiB at 200,000).
        keep = [account in accounts for account in ids.to_pylist()]
        if not any(keep):
            continue
        chosen = batch.filter(pa.array(keep, pa.bool_()))
        columns = []
        for field in schema:
            index = chosen.schema.get_field_index(field.name)
            if field.name == "snapshot_date":
                columns.append(record_batch(pa.schema([field]), [[day]] * chosen.num_rows)[0])
            elif index < 0:
                columns.append(pa.nulls(chosen.num_rows, field.type))
            else:
                columns.append(chosen.column(index).cast(field.type))
        yield pa.RecordBatch.from_arrays(columns, schema=schema)
