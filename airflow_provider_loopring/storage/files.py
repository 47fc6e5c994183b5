"""The files a write is made of: a part filling on local disk, bytes counted and hashed on
their way out, and a small object written so that a reader sees all of it or nothing.

Below both the writer (:mod:`.objects`) and its checkpoints (:mod:`.staging`), which share
them. Standard library only at import time.
"""

from __future__ import annotations

import hashlib
import posixpath
import uuid
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_loopring.storage.confined import move_into_place
from airflow_provider_loopring.storage.formats import Layout, encode

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

COPY_CHUNK = 1 << 20
# fsspec's S3 files buffer 50 MiB before each upload part; 8 MiB is above S3's 5 MiB minimum
# part size and still allows objects of 80 GB (10,000 parts).
UPLOAD_BLOCK = 8 << 20


class FilePart:
    """One account's records, encoded into a local file as they arrive.

    :param path: the local file.
    :param layout: how records are framed (see :mod:`.formats`).
    :param records: records already in the file (a part brought back from a checkpoint).
    """

    def __init__(self, path: str, layout: Layout, records: int = 0) -> None:
        self.path = path
        self.records = records
        self._layout = layout
        self._file: IO[bytes] | None = None

    def write(self, record: dict[str, Any]) -> None:
        """Append one record, framed by the layout (the file is opened on the first one).

        :param record: a record as Loopring sent it.
        """
        if self._file is None:
            self._file = open(self.path, "ab")  # noqa: SIM115 (closed by close())
        if self.records:
            self._file.write(self._layout.between)
        self._file.write(encode(record) + self._layout.line_end)
        self.records += 1

    def close(self) -> None:
        """Close the file; the part keeps its path and count, for the commit."""
        if self._file is not None:
            self._file.close()
            self._file = None


class HashingWriter:
    """Counts and hashes the bytes on their way out: a reference describes them exactly.

    :param out: the binary file the bytes go to.
    """

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        """Hash, count and pass on ``data``.

        :param data: the next bytes.
        :return: how many were written: all of them.
        """
        self.sha256.update(data)
        self.size += len(data)
        self.out.write(data)
        return len(data)

    # What a file-like sink needs besides write (pyarrow's ParquetWriter asks for these).
    closed = False

    def tell(self) -> int:
        """The bytes written so far."""
        return self.size

    def flush(self) -> None:
        """Nothing buffered here; the object's own file flushes when it closes."""

    def close(self) -> None:
        """The caller closes the object's file; a writer closing its sink changes nothing."""


def is_local(fs: AbstractFileSystem) -> bool:
    """Whether ``fs`` is the local disk (where a rename, not one PUT, makes a write whole).

    :param fs: an fsspec filesystem.
    """
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def write_whole(fs: AbstractFileSystem, path: str, data: bytes | bytearray) -> None:
    """Write a small object so that a reader sees all of it or nothing.

    One PUT is atomic on object stores; a local file is written aside and renamed.

    :param fs: the fsspec filesystem of the store.
    :param path: the object's path in it (no scheme).
    :param data: the whole object.
    """
    if not is_local(fs):
        fs.pipe_file(path, data)
        return
    folder, name = posixpath.split(path)
    fs.makedirs(folder, exist_ok=True)
    temp = posixpath.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        fs.pipe_file(temp, data)
        move_into_place(fs, temp, path)
    finally:
        if fs.exists(temp):
            fs.rm(temp)
