"""The day-partitioned snapshot layout, its manifests, and the accounts a snapshot is of.

A snapshot root holds one folder per record kind, partitioned by day::

    <root>/balances/dt=2026-12-01/part-0000.jsonl ... _manifest.json
    <root>/collections/dt=2026-12-01/part-0000.jsonl ... _manifest.json
    <root>/summary/dt=2026-12-01/summary.json _manifest.json

A partition is complete when its ``_manifest.json`` is there: it is written last and names
every file of the partition with its records, bytes and SHA-256. A run of a day first
removes that day's manifests (the day is incomplete from then on) and, as it commits a
partition, removes the files of an earlier run that it did not write again.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, NamedTuple, TypeVar

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.storage.confined import (
    UntrustedError,
    check_entry,
    copy_verified,
    open_inside,
    unlink_link,
)
from airflow_provider_loopring.storage.files import write_whole

MANIFEST = "_manifest.json"
VERSION = 1
_LINE_END = re.compile(r"\r\n|\r|\n")  # the ends of lines an accounts file may use
T = TypeVar("T")


def partition(root: str, kind: str, day: str) -> str:
    """``<root>/<kind>/dt=<day>``: the folder of one record kind on one day.

    :param root: the snapshot root URL.
    :param kind: the record kind: ``balances``, ``collections``, ``summary``, ``changes``.
    :param day: the day, "YYYY-MM-DD".
    """
    return f"{root.rstrip('/')}/{kind}/dt={day}"


def object_path(url: str, conn_id: str | None) -> Any:
    """The ``ObjectStoragePath`` of ``url`` (a trailing slash dropped), with the connection.

    :param url: a file's or a folder's URL.
    :param conn_id: the Airflow connection with the storage's credentials.
    """
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(url.rstrip("/"), conn_id=conn_id)


def start_day(root: str, day: str, kinds: Iterable[str], *, conn_id: str | None) -> None:
    """Mark a day incomplete before its files are written again: remove its manifests.

    :param root: the snapshot root URL.
    :param day: the day, "YYYY-MM-DD".
    :param kinds: the record kinds the run writes again.
    :param conn_id: the Airflow connection with the storage's credentials.
    """
    base = object_path(root, conn_id)
    for kind in kinds:
        folder = object_path(partition(root, kind, day), conn_id)
        # A link standing for the kind's or the day's folder would take the day's files
        # outside the snapshot root: the link goes (it is inside the root), not its target.
        unlink_link(base.fs, base.path, folder.path)
        manifest = folder / MANIFEST
        if manifest.exists():
            manifest.unlink()


def commit_partition(
    folder: str, files: Sequence[dict[str, Any]], *, conn_id: str | None, **about: Any
) -> dict[str, Any]:
    """Declare a partition complete: drop files it no longer holds, then write its manifest.

    :param folder: the partition's URL.
    :param files: what the run wrote there, each ``{"path", "records", "bytes", "sha256"}``
        (the operators' XCom references have these keys).
    :param conn_id: the Airflow connection with the storage's credentials.
    :param about: more to say in the manifest (``kind``, ``day``, counts).
    :return: the manifest.
    """
    base = object_path(folder, conn_id)
    names = []
    for item in files:
        name = posixpath.basename(item["path"])
        if posixpath.dirname(item["path"]).rstrip("/") != folder.rstrip("/"):
            raise ValueError(f"{item['path']} is not in the partition {folder}")
        names.append(name)
    if base.exists():
        for stale in base.iterdir():
            if stale.name not in names and stale.name != MANIFEST and stale.is_file():
                stale.unlink()  # an earlier run's file that this run did not write again
    manifest = {
        "version": VERSION,
        **about,
        "files": [
            {"name": name, **{key: item[key] for key in ("records", "bytes", "sha256")}}
            for name, item in zip(names, files, strict=True)
        ],
        "records": sum(item["records"] for item in files),
        "bytes": sum(item["bytes"] for item in files),
    }
    write_whole(base.fs, f"{base.path}/{MANIFEST}", json.dumps(manifest, indent=1).encode())
    return manifest


def write_file(
    url: str, data: bytes | bytearray, *, records: int, conn_id: str | None
) -> dict[str, Any]:
    """Write one small file of a partition whole; returns its entry for the manifest.

    :param url: the file's URL, in the partition's folder.
    :param data: the file's bytes.
    :param records: how many records it holds, for the manifest.
    :param conn_id: the Airflow connection with the storage's credentials.
    """
    import hashlib

    target = object_path(url, conn_id)
    write_whole(target.fs, target.path, data)
    return {
        "path": url,
        "records": records,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def read_manifest(folder: str, *, conn_id: str | None = None) -> dict[str, Any] | None:
    """A partition's manifest, its files checked; None while the partition is incomplete.

    :param folder: the partition's URL (:func:`partition`).
    :param conn_id: the Airflow connection with the storage's credentials.
    :raises UntrustedError: the manifest is not what :func:`commit_partition` writes: not an
        object, or a file entry whose name is not a plain name in the partition, or without
        its size or SHA-256.
    """
    base = object_path(folder, conn_id)
    if not (base / MANIFEST).exists():
        return None
    with open_inside(base.fs, base.path, MANIFEST) as source:
        manifest = json.loads(source.read())
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list):
        raise UntrustedError(f"{folder}/{MANIFEST} lists no files")
    for item in files:
        check_entry(item, f"{folder}/{MANIFEST}")
        if type(item.get("records")) is not int:
            raise UntrustedError(f"{folder}/{MANIFEST}: {item['name']} has no record count")
    manifest["records"] = sum(item["records"] for item in files)
    return dict(manifest)


class Balance(NamedTuple):
    """What the snapshot's readers need of a balance, from JSON Lines or Parquet alike."""

    account_id: int
    nft_data: str
    total: str  # a decimal string, as Loopring sends it
    status: str | None
    collection_id: int | None


# The field each record kind holds its amount in: a holder's is Loopring's ``amount``.
AMOUNT_FIELDS = {"balances": "total", "holders": "amount"}


def read_balances(
    folder: str, manifest: dict[str, Any], conn_id: str | None = None, kind: str = "balances"
) -> Iterator[Balance]:
    """Every balance of the files a partition's manifest lists, file by file, streamed.

    Each file is copied to a local scratch file, its size and SHA-256 checked against the
    manifest while it is read (never past its size), and only then read.

    :param folder: the partition's URL (:func:`partition`).
    :param manifest: its manifest, from :func:`read_manifest`.
    :param conn_id: the Airflow connection with the storage's credentials.
    :param kind: ``balances``, or ``holders`` (one per NFT and holder: a balance too, with
        its ``amount`` as the total and no status).
    :raises UntrustedError: a file is not the one its manifest describes: the partition is
        damaged, its day must be written again.
    """
    amount = AMOUNT_FIELDS[kind]
    for name, file in verified_files(folder, manifest, conn_id):
        if name.endswith(".parquet"):
            yield from _parquet_balances(file, amount)
        elif name.endswith(".json"):
            yield from (_balance(record, amount) for record in json.load(file))
        else:
            yield from (_balance(json.loads(line), amount) for line in file)


def verified_files(
    folder: str, manifest: dict[str, Any], conn_id: str | None = None
) -> Iterator[tuple[str, IO[bytes]]]:
    """Each file a manifest lists, opened, one at a time: a local copy, checked first.

    The file is copied to local scratch while its size and SHA-256 are checked against the
    manifest (never read past its size); it is handed out only when it matched.

    :param folder: the partition's URL (:func:`partition`).
    :param manifest: its manifest, from :func:`read_manifest`.
    :param conn_id: the Airflow connection with the storage's credentials.
    :raises UntrustedError: a file is not the one its manifest describes.
    """
    base = object_path(folder, conn_id)
    where = f"{folder.rstrip('/')}/{MANIFEST}"
    for item in manifest["files"]:
        entry = check_entry(item, where)
        with tempfile.TemporaryDirectory(prefix="loopring-read-") as scratch:
            local = os.path.join(scratch, "file")
            copy_verified(base.fs, base.path, entry, local, where)
            with open(local, "rb") as file:
                yield entry[0], file


def _balance(record: dict[str, Any], amount: str) -> Balance:
    collection = record.get("collectionInfo") or {}
    return Balance(
        record["accountId"],
        record["nftData"],
        str(record.get(amount, "0")),
        record.get("deploymentStatus"),
        collection.get("id", record.get("collectionId")),
    )


def _parquet_balances(file: Any, amount: str) -> Iterator[Balance]:
    import pyarrow.parquet as pq

    from airflow_provider_loopring.storage.parquet import read_batches

    parquet = pq.ParquetFile(file)
    wanted = ["accountId", "nftData", amount, "deploymentStatus", "collectionId"]
    columns = [name for name in wanted if name in parquet.schema_arrow.names]
    for batch in read_batches(parquet, columns):
        read = {name: batch.column(name).to_pylist() for name in columns}
        none = [None] * batch.num_rows
        values = [read.get(name, none) for name in wanted]
        for account, nft, total, status, collection in zip(*values, strict=True):
            yield Balance(account, nft, "0" if total is None else str(total), status, collection)


def read_accounts(url: str, *, conn_id: str | None = None) -> list[int | str]:
    """The accounts listed in a file: one account id or owner address a line, or a JSON array.

    Blank lines and lines starting with ``#`` are passed over. Every entry is checked: a bad
    one fails naming its line, before anything is fetched. :func:`iter_accounts` gives them
    one at a time (for a watch list of any length).

    :param url: the file's URL (the example DAG's ``accounts_path`` param).
    :param conn_id: the Airflow connection with the storage's credentials.
    """
    return list(iter_accounts(url, conn_id=conn_id))


def iter_accounts(url: str, *, conn_id: str | None = None) -> Iterator[int | str]:
    """The accounts listed in a file, as :func:`read_accounts` reads them, one at a time:
    the file's text is held (a few bytes an account), not a list of its lines or accounts
    (a JSON array is read whole).

    :param url: the file's URL (the example DAG's ``accounts_path`` param).
    :param conn_id: the Airflow connection with the storage's credentials.
    :raises LoopringInvalidParameterError: an entry that is no account, naming its line.
    """
    from airflow_provider_loopring import _core as core

    def checked(value: object, where: str) -> int | str:
        if isinstance(value, str) and value.lower().startswith("0x"):
            return core.check_address(value, where)
        return core.check_account_id(value, where)

    text = _accounts_text(object_path(url, conn_id).read_bytes())
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise LoopringInvalidParameterError(
                f"accounts_path line {error.lineno}", "a JSON array of accounts", error.msg
            ) from None
        for number, value in enumerate(items, 1):
            yield checked(value, f"accounts_path item {number}")
        return
    for number, line in enumerate(_lines(text), 1):
        value = line.strip()
        if value and not value.startswith("#"):
            yield checked(value, f"accounts_path line {number}")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` (ended by \\n, \\r\\n or \\r), each sliced when it is reached:
    no list of them, nor a copy of the text."""
    start = 0
    for end in _LINE_END.finditer(text):
        yield text[start : end.start()]
        start = end.end()
    if start < len(text):
        yield text[start:]


def _accounts_text(data: bytes) -> str:
    """An accounts file's text: UTF-8, a byte order mark (as some editors write) skipped."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise LoopringInvalidParameterError(
            f"accounts_path line {line}",
            "UTF-8 text",
            f"the byte {data[error.start : error.start + 1]!r} (not UTF-8)",
            shown=f"the byte {data[error.start : error.start + 1]!r} (not UTF-8)",
        ) from None


def split(items: Sequence[T], batches: int) -> list[list[T]]:
    """``items`` in at most ``batches`` contiguous, even batches (none empty).

    :param items: what to split, in order.
    :param batches: the most batches, a positive integer.
    :raises LoopringInvalidParameterError: ``batches`` is below 1.
    """
    if batches < 1:
        raise LoopringInvalidParameterError("batches", "a positive integer", batches)
    count = min(batches, len(items))
    size, extra = divmod(len(items), count) if count else (0, 0)
    out, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out
