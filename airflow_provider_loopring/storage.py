"""Where an operator's records go: an XCom list, or one JSON Lines / JSON object in storage.

Both sinks hand out one *part* per account, which a worker thread fills in the API's order;
the sink then joins the parts in the accounts' order. For object storage a part is a local
file, so memory holds a page and a few buffers however large the result, and the object is
written whole or not at all: the parts are concatenated into a temporary object next to the
target, which is then moved into place (a rename on a local disk, a server-side copy and a
delete on S3).

Standard library only at import time; ``airflow.sdk.io`` (fsspec) is imported when a task
writes, so DAG files that import the operators stay cheap to parse.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "json")
_COPY_CHUNK = 1 << 20
# fsspec's S3 files buffer 50 MiB before each upload part; 8 MiB is above S3's 5 MiB minimum
# part size and still allows objects of 80 GB (10,000 parts).
_UPLOAD_BLOCK = 8 << 20
_PATH_EXAMPLE = "an object storage URL such as s3://bucket/nfts.jsonl or file:///data/nfts.jsonl"


def check_output_format(value: object) -> str:
    if not isinstance(value, str) or value not in FORMATS:
        raise LoopringInvalidParameterError("output_format", '"jsonl" or "json"', value)
    return value


def check_output_path(value: object, *, filesystem: bool = False) -> str:
    """A URL naming one object: ``scheme://...``, not a folder.

    :param filesystem: also ask Airflow whether a filesystem is registered for the scheme.
        That loads every provider's filesystem list, so it is done when a task runs, not
        when a DAG file is parsed.
    """
    parts = urlsplit(value) if isinstance(value, str) else None
    if (
        parts is None
        or not parts.scheme
        or "://" not in str(value)
        or str(value).endswith("/")
        or not parts.path.strip("/")
    ):
        raise LoopringInvalidParameterError("output_path", _PATH_EXAMPLE, value)
    local = parts.scheme in ("file", "local")
    if local and parts.netloc:
        # file://data/x.jsonl would silently mean ./data/x.jsonl relative to the worker's cwd.
        raise LoopringInvalidParameterError(
            "output_path", "an absolute file URL with three slashes: file:///path", value
        )
    if not local and not parts.netloc:
        raise LoopringInvalidParameterError("output_path", "a URL naming its bucket", value)
    if filesystem:
        from airflow.sdk.io import has_fs

        if not has_fs(parts.scheme):
            raise LoopringInvalidParameterError(
                "output_path",
                f"a scheme Airflow has a filesystem for; none is registered for "
                f"{parts.scheme}:// (install its provider, e.g. the amazon provider for s3://)",
                value,
            )
    return str(value)


def _encode(record: dict[str, Any]) -> bytes:
    # ASCII escapes: a lone surrogate the API may send cannot break the UTF-8 encoding.
    return json.dumps(record, separators=(",", ":")).encode()


# --- the XCom list ----------------------------------------------------------------------


class ListPart:
    """One account's records, in memory."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    @property
    def records(self) -> int:
        return len(self.items)

    def write(self, record: dict[str, Any]) -> None:
        self.items.append(record)

    def close(self) -> None:
        """Nothing to release; here so both kinds of part are used the same way."""


class XComRecords:
    """The XCom sink: the records themselves, refused beyond ``max_records``.

    :param max_records: the most records the XCom may hold (``max_xcom_records``).
    """

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records

    def check(self, total: int) -> None:
        """Refuse ``total`` records (as reported by the API, or as received) above the cap."""
        if total > self.max_records:
            raise AirflowFailException(
                f"Loopring reports at least {total} records, more than "
                f"max_xcom_records={self.max_records}. Set output_path to write them to object "
                "storage (the XCom then holds a small reference), or raise max_xcom_records."
            )

    def new_part(self) -> ListPart:
        return ListPart()

    def commit(self, parts: Sequence[ListPart]) -> list[dict[str, Any]]:
        records = [record for part in parts for record in part.items]
        self.check(len(records))  # totalNum may have grown while we read
        return records


# --- one object in storage --------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """How records are framed: ``start``, records joined by ``between``, ``end``."""

    start: bytes
    between: bytes
    line_end: bytes
    end: bytes


_LAYOUTS = {
    "jsonl": _Layout(start=b"", between=b"", line_end=b"\n", end=b""),
    "json": _Layout(start=b"[", between=b",\n", line_end=b"", end=b"]\n"),
}


class FilePart:
    """One account's records, encoded into a local file as they arrive."""

    def __init__(self, file: IO[bytes], layout: _Layout) -> None:
        self.path = file.name
        self.records = 0
        self._file = file
        self._layout = layout

    def write(self, record: dict[str, Any]) -> None:
        if self.records:
            self._file.write(self._layout.between)
        self._file.write(_encode(record) + self._layout.line_end)
        self.records += 1

    def close(self) -> None:
        self._file.close()


class _HashingWriter:
    """Counts and hashes the bytes on their way into the object: the reference describes them."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        self.out.write(data)
        return len(data)


class ObjectStorageWriter:
    """The object-storage sink: one JSON Lines or JSON object at ``url``, whole or not at all.

    Use it as a context manager: leaving it removes every temporary it made (the local part
    files, the temporary object), whether :meth:`commit` ran or the run failed. The target
    is only ever touched by the final move, so a failed run leaves it as it was.

    :param url: where the object goes, any URL ``ObjectStoragePath`` supports.
    :param conn_id: the Airflow connection holding the storage's credentials.
    :param output_format: ``"jsonl"`` (one record per line) or ``"json"`` (one array).
    """

    def __init__(self, url: str, *, conn_id: str | None, output_format: str) -> None:
        from airflow.sdk import ObjectStoragePath

        self.target = ObjectStoragePath(url, conn_id=conn_id)
        # str() of an ObjectStoragePath shows "scheme://conn_id@..."; the reference does not.
        self.url = f"{self.target.protocol}://{self.target.path}"
        self.format = check_output_format(output_format)
        self._layout = _LAYOUTS[output_format]
        self._scratch: str | None = None
        self._temp: str | None = None

    @property
    def fs(self) -> AbstractFileSystem:
        return self.target.fs

    def __enter__(self) -> ObjectStorageWriter:
        self._scratch = tempfile.mkdtemp(prefix="loopring-parts-")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._remove_temporaries()

    def new_part(self) -> FilePart:
        if self._scratch is None:
            raise RuntimeError("use ObjectStorageWriter as a context manager")
        # Thread-safe: each call gets a file of its own. Not a `with`: the worker that fills
        # the part closes it, and __exit__ removes the whole scratch folder.
        file = tempfile.NamedTemporaryFile(  # noqa: SIM115
            dir=self._scratch, suffix=".part", delete=False
        )
        return FilePart(file, self._layout)

    def commit(self, parts: Sequence[FilePart], *, fetched_at: str) -> dict[str, Any]:
        """Join the parts in order, put the object in place; returns the XCom reference."""
        temp = self._temp_path()
        self._temp = temp
        written = self._concatenate(parts, temp)
        self.fs.mv(temp, self.target.path)
        self._temp = None
        self._record_lineage()
        reference = {
            "path": self.url,
            "format": self.format,
            "records": sum(part.records for part in parts),
            "accounts": len(parts),
            "bytes": written.size,
            "sha256": written.sha256.hexdigest(),
            "fetched_at": fetched_at,
        }
        log.info(
            "Wrote %d records of %d accounts to %s (%d bytes).",
            reference["records"],
            reference["accounts"],
            self.url,
            written.size,
        )
        return reference

    def _temp_path(self) -> str:
        """A hidden sibling of the target: same bucket, so the final move is server-side."""
        from fsspec.implementations.local import LocalFileSystem

        folder, name = posixpath.split(self.target.path)
        if isinstance(self.fs, LocalFileSystem):
            # Only on a local disk: makedirs on S3 would create a missing bucket.
            self.fs.makedirs(folder, exist_ok=True)
        return posixpath.join(folder, f".{name}.{uuid.uuid4().hex}.tmp")

    def _concatenate(self, parts: Sequence[FilePart], temp: str) -> _HashingWriter:
        layout = self._layout
        with self.fs.open(temp, "wb", block_size=_UPLOAD_BLOCK) as out:
            writer = _HashingWriter(out)
            writer.write(layout.start)
            first = True
            for part in parts:
                if not part.records:
                    continue
                if not first:
                    writer.write(layout.between)
                first = False
                with open(part.path, "rb") as source:
                    shutil.copyfileobj(source, writer, _COPY_CHUNK)
            writer.write(layout.end)
        return writer

    def _record_lineage(self) -> None:
        # Writing through fs (not ObjectStoragePath.open/move) keeps the temporary object out
        # of lineage; the target is reported once here.
        from airflow.sdk.lineage import get_hook_lineage_collector

        get_hook_lineage_collector().add_output_asset(context=self.target, uri=self.url)

    def _remove_temporaries(self) -> None:
        if self._temp is not None:
            try:
                if self.fs.exists(self._temp):
                    self.fs.rm(self._temp)
            except Exception:  # never hide the error that brought us here
                log.warning("Could not remove the temporary object %s.", self._temp, exc_info=True)
            self._temp = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
