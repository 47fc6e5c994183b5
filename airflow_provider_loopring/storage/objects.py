"""One JSON Lines / JSON object in object storage, written whole or not at all.

The writer hands out one *part* per account, a local file a worker thread fills in the API's
order; :meth:`ObjectStorageWriter.commit` joins the parts in the accounts' order into a hidden
temporary object next to the target, then moves it into place (a rename on a local disk, a
server-side copy and a delete on S3). So memory holds a page and a few buffers however large
the result, and a reader never sees a partial object.

Standard library only at import time; ``airflow.sdk`` (fsspec) is imported when a task
writes, so DAG files that import the operators stay cheap to parse.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from os import close as os_close
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.storage.confined import move_into_place
from airflow_provider_loopring.storage.files import (
    COPY_CHUNK,
    UPLOAD_BLOCK,
    FilePart,
    HashingWriter,
    is_local,
)
from airflow_provider_loopring.storage.formats import (
    LAYOUTS,
    check_output_format,
)
from airflow_provider_loopring.storage.schemas import RowReader

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from airflow_provider_loopring.storage.staging import Checkpoints

log = logging.getLogger(__name__)

_PATH_EXAMPLE = "an object storage URL such as s3://bucket/nfts.jsonl or file:///data/nfts.jsonl"


def _check_url(value: object, name: str, example: str, *, folder: bool) -> str:
    """A ``scheme://...`` URL of one object (or, ``folder``, of a folder)."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if (
        parts is None
        or not parts.scheme
        or "://" not in str(value)
        or (not folder and str(value).endswith("/"))
        or not parts.path.strip("/")
    ):
        raise LoopringInvalidParameterError(name, example, value)
    local = parts.scheme in ("file", "local")
    if local and parts.netloc:
        # file://data/x.jsonl would silently mean ./data/x.jsonl relative to the worker's cwd.
        raise LoopringInvalidParameterError(
            name, "an absolute file URL with three slashes: file:///path", value
        )
    if not local and not parts.netloc:
        raise LoopringInvalidParameterError(name, "a URL naming its bucket", value)
    return str(value)


def check_output_path(value: object, *, filesystem: bool = False) -> str:
    """A URL naming one object: ``scheme://...``, not a folder.

    :param value: the operator's ``output_path``.
    :param filesystem: also ask Airflow whether a filesystem is registered for the scheme.
        That loads every provider's filesystem list, so it is done when a task runs, not
        when a DAG file is parsed.
    """
    url = _check_url(value, "output_path", _PATH_EXAMPLE, folder=False)
    scheme = urlsplit(url).scheme
    if filesystem:
        from airflow.sdk.io import has_fs

        if not has_fs(scheme):
            raise LoopringInvalidParameterError(
                "output_path",
                f"a scheme Airflow has a filesystem for; none is registered for "
                f"{scheme}:// (install its provider, e.g. the amazon provider for s3://)",
                value,
            )
    return url


def check_folder_url(value: object, name: str) -> str:
    """A URL naming a folder in object storage: ``s3://bucket/loopring/``, ``file:///data``.

    :param value: the URL to check.
    :param name: the parameter it came from, named in the error.
    :raises LoopringInvalidParameterError: if it is not such a URL.
    """
    example = "a folder URL such as s3://bucket/loopring/accounts or file:///data/accounts"
    return _check_url(value, name, example, folder=True)


class ObjectStorageWriter:
    """The object-storage sink: one JSON Lines or JSON object at ``url``, whole or not at all.

    Use it as a context manager: leaving it removes every temporary it made (the local part
    files, the temporary object), whether :meth:`commit` ran or the run failed. The target
    is only ever touched by the final move, so a failed run leaves it as it was. Entering
    refuses a target that is an existing folder, before anything is fetched.

    :param url: where the object goes, any URL ``ObjectStoragePath`` supports.
    :param conn_id: the Airflow connection holding the storage's credentials.
    :param output_format: ``"jsonl"`` (one record per line), ``"json"`` (one array) or
        ``"parquet"`` (the declared columns of ``record_kind``, see :mod:`.schemas`).
    :param record_kind: with Parquet, which schema: ``balances``, ``collections``, ``changes``.
    :param snapshot_date: with Parquet, every row's ``snapshot_date`` ("YYYY-MM-DD").
    """

    def __init__(
        self,
        url: str,
        *,
        conn_id: str | None,
        output_format: str,
        record_kind: str | None = None,
        snapshot_date: str | None = None,
    ) -> None:
        from airflow.sdk import ObjectStoragePath

        self.target = ObjectStoragePath(url, conn_id=conn_id)
        # str() of an ObjectStoragePath shows "scheme://conn_id@..."; the reference does not.
        self.url = f"{self.target.protocol}://{self.target.path}"
        self.format = check_output_format(output_format)
        self.layout = LAYOUTS.get(output_format, LAYOUTS["jsonl"])
        self._rows: RowReader | None = None
        if self.format == "parquet":
            if record_kind is None or snapshot_date is None:
                raise ValueError("Parquet output needs record_kind and snapshot_date")
            self._rows = RowReader(record_kind, snapshot_date)
            from airflow_provider_loopring.storage.parquet import use_system_allocator

            use_system_allocator()
        folder, name = posixpath.split(self.target.path)
        self.folder = folder
        # Checkpoints of unfinished runs live here; a successful commit removes all of them.
        self.staging_root = posixpath.join(folder, f".{name}.staging")
        self._scratch: str | None = None
        self._temp: str | None = None

    @property
    def fs(self) -> AbstractFileSystem:
        """The target's fsspec filesystem."""
        return self.target.fs

    def __enter__(self) -> ObjectStorageWriter:
        if self.fs.isdir(self.target.path):
            raise LoopringInvalidParameterError(
                "output_path", "a URL naming an object, not an existing folder", self.url
            )
        self._scratch = tempfile.mkdtemp(prefix="loopring-parts-")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._remove_temporaries()

    @property
    def scratch(self) -> str:
        """The local folder of the part files, made on entering (removed on leaving)."""
        if self._scratch is None:
            raise RuntimeError("use ObjectStorageWriter as a context manager")
        return self._scratch

    def new_part(self) -> Any:
        """A part for one account's records: a FilePart, or an ArrowPart for Parquet."""
        # Thread-safe: each call gets a file of its own, which __exit__ removes with the rest.
        handle, path = tempfile.mkstemp(dir=self.scratch, suffix=".part")
        os_close(handle)
        if self._rows is not None:
            from airflow_provider_loopring.storage.parquet import ArrowPart

            return ArrowPart(path, self._rows)
        return FilePart(path, self.layout)

    def checkpoints(self, task_key: str, fingerprint: str, interval: float) -> Checkpoints:
        """The checkpoints of one task instance's tries, in :attr:`staging_root`.

        :param task_key: the task instance's name there, from
            :func:`~airflow_provider_loopring.storage.staging.task_key`.
        :param fingerprint: what the task fetches: checkpoints of another are not reused.
        :param interval: seconds between two saves; 0 saves after every account.
        """
        from airflow_provider_loopring.storage.staging import Checkpoints

        return Checkpoints(self, posixpath.join(self.staging_root, task_key), fingerprint, interval)

    def commit(self, parts: Sequence[FilePart], *, fetched_at: str) -> dict[str, Any]:
        """Join the parts in order, put the object in place; returns the XCom reference.

        :param parts: every account's part, closed, in the order the object lists them.
        :param fetched_at: when the records were fetched (ISO 8601), for the reference.
        """
        temp = self._temp_path()
        self._temp = temp
        written = self._concatenate(parts, temp)
        move_into_place(self.fs, temp, self.target.path)
        self._temp = None
        self._remove_staging()
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
        if is_local(self.fs):
            # Only on a local disk: makedirs on S3 would create a missing bucket.
            self.fs.makedirs(self.folder, exist_ok=True)
        name = posixpath.basename(self.target.path)
        return posixpath.join(self.folder, f".{name}.{uuid.uuid4().hex}.tmp")

    def _concatenate(self, parts: Sequence[FilePart], temp: str) -> HashingWriter:
        layout = self.layout
        with self.fs.open(temp, "wb", block_size=UPLOAD_BLOCK) as out:
            writer = HashingWriter(out)
            if self._rows is not None:
                from airflow_provider_loopring.storage.parquet import write_parts

                write_parts(self._rows.kind, parts, writer)  # type: ignore[arg-type]
                return writer
            writer.write(layout.start)
            first = True
            for part in parts:
                if not part.records:
                    continue
                if not first:
                    writer.write(layout.between)
                first = False
                with open(part.path, "rb") as source:
                    shutil.copyfileobj(source, writer, COPY_CHUNK)
            writer.write(layout.end)
        return writer

    def _record_lineage(self) -> None:
        # Writing through fs (not ObjectStoragePath.open/move) keeps the temporary object out
        # of lineage; the target is reported once here.
        from airflow_provider_loopring.version_compat import get_hook_lineage_collector

        get_hook_lineage_collector().add_output_asset(context=self.target, uri=self.url)

    def _remove_staging(self) -> None:
        try:
            if self.fs.exists(self.staging_root):
                self.fs.rm(self.staging_root, recursive=True)
        except Exception:  # the object is in place: a leftover checkpoint is no failure
            log.warning("Could not remove the checkpoints in %s.", self.staging_root, exc_info=True)

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
