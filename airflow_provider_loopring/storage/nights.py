"""What an incremental night reads back from the last complete day, and carries forward.

Everything here is read from a store, so nothing is taken on trust: a day counts only when
its ``summary`` partition (written last) and its ``balances``, ``collections`` and
``watched`` partitions all have their manifests; every file is read through its manifest's
entry (a plain name inside the partition, its size and SHA-256 checked as it is read); the
summary's cursor and days are checked for shape. Any doubt is an :class:`UntrustedError`
whose text the night's summary gives as the reason it scanned in full.

Carrying streams: one file of the last day at a time is copied to local scratch (checked),
and its records of the carried wallets are written into the new day's ``part-carry`` file
(JSON records as they were; Parquet batches as they were, with the new ``snapshot_date``).
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterable
from typing import Any, NamedTuple

from airflow_provider_loopring._core.nights import AccountIds
from airflow_provider_loopring.storage.changes import latest_complete_day
from airflow_provider_loopring.storage.confined import (
    UntrustedError,
    check_entry,
    open_inside,
    verified_chunks,
)
from airflow_provider_loopring.storage.snapshots import (
    MANIFEST,
    object_path,
    partition,
    read_manifest,
    verified_files,
    write_file,
)

WATCHED = "watched"
KINDS = ("balances", "collections", WATCHED, "summary")
MAX_SUMMARY_BYTES = 4 << 20
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEY = re.compile(r"(account_id:[0-9]{1,10}|address:0x[0-9a-f]{40})")


class LastDay(NamedTuple):
    """The last complete day, checked: what the next night builds on.

    :param day: its day.
    :param as_of_block: the finalized block its holdings are as of (its cursor).
    :param last_full_day: the day of the last full scan it builds on (itself when full).
    :param output_format: the format of its files.
    :param manifests: ``kind -> manifest`` of its balances, collections and watched.
    """

    day: str
    as_of_block: int
    last_full_day: str
    output_format: str
    manifests: dict[str, dict[str, Any]]

    def folder(self, root: str, kind: str) -> str:
        """The URL of one of its partitions.

        :param root: the snapshot root URL.
        :param kind: ``balances``, ``collections``, ``watched`` or ``summary``.
        """
        return partition(root, kind, self.day)


def last_day(root: str, day: str, *, conn_id: str | None) -> LastDay | None:
    """The newest complete day before ``day``, checked; None when there is none.

    :param root: the snapshot root URL.
    :param day: the night's day; only earlier days count.
    :param conn_id: the Airflow connection with the storage's credentials.
    :raises UntrustedError: the day is there but cannot be trusted (says why).
    """
    found = latest_complete_day(root, "summary", day, conn_id)
    if found is None:
        return None
    manifests: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        manifest = read_manifest(partition(root, kind, found), conn_id=conn_id)
        if manifest is None:
            raise UntrustedError(f"{found} has no {kind} manifest (a day of an older version?)")
        manifests[kind] = manifest
    summary = _read_summary(partition(root, "summary", found), manifests.pop("summary"), conn_id)
    block, full_day, fmt = (summary.get(k) for k in ("as_of_block", "last_full_day", "format"))
    if type(block) is not int or block < 0:
        raise UntrustedError(f"the summary of {found} has no block cursor (as_of_block)")
    if not isinstance(full_day, str) or not _DAY.fullmatch(full_day) or full_day > found:
        raise UntrustedError(f"the summary of {found} has no valid last_full_day")
    if fmt not in ("jsonl", "json", "parquet"):
        raise UntrustedError(f"the summary of {found} names no output format")
    return LastDay(found, block, full_day, fmt, manifests)


def _read_summary(folder: str, manifest: dict[str, Any], conn_id: str | None) -> dict[str, Any]:
    entries = [check_entry(item, f"{folder}/{MANIFEST}") for item in manifest["files"]]
    entry = next((e for e in entries if e[0] == "summary.json"), None)
    if entry is None or entry[1] > MAX_SUMMARY_BYTES:
        raise UntrustedError(f"{folder} lists no summary.json of at most {MAX_SUMMARY_BYTES} bytes")
    base = object_path(folder, conn_id)
    with open_inside(base.fs, base.path, entry[0]) as source:
        data = b"".join(verified_chunks(source, entry[1], entry[2], f"{folder}/summary.json"))
    summary = json.loads(data)
    if not isinstance(summary, dict):
        raise UntrustedError(f"{folder}/summary.json is not an object")
    return summary


def verify_files(folder: str, manifest: dict[str, Any], *, conn_id: str | None) -> None:
    """Read every file a manifest lists and check its size and SHA-256 (nothing is kept).

    :param folder: the partition's URL.
    :param manifest: its manifest (:func:`~.snapshots.read_manifest`).
    :param conn_id: the Airflow connection with the storage's credentials.
    :raises UntrustedError: a file is not the one its manifest describes.
    """
    base = object_path(folder, conn_id)
    for item in manifest["files"]:
        name, size, digest = check_entry(item, f"{folder}/{MANIFEST}")
        with open_inside(base.fs, base.path, name) as source:
            for _ in verified_chunks(source, size, digest, f"{folder}/{name}"):
                pass


def write_watched(root: str, day: str, keys: Iterable[str], *, conn_id: str | None) -> None:
    """Record the night's watch list (account keys, one a line) as its ``watched`` partition.

    The keys are taken one at a time (a generator will do): only the file's bytes are held.

    :param root: the snapshot root URL.
    :param day: the night's day.
    :param keys: ``account_id:N`` / ``address:0x..`` keys (``operators.arguments.account_key``).
    :param conn_id: the Airflow connection with the storage's credentials.
    """
    from airflow_provider_loopring.storage.snapshots import commit_partition

    folder = partition(root, WATCHED, day)
    data, records = bytearray(), 0
    for key in keys:
        data += f"{key}\n".encode()
        records += 1
    written = write_file(f"{folder}/part-0000.txt", data, records=records, conn_id=conn_id)
    commit_partition(folder, [written], conn_id=conn_id, kind=WATCHED, day=day)


class Watched(NamedTuple):
    """A day's watch list, compact: its account ids sorted (8 bytes each), its addresses.

    :param ids: the ``account_id:N`` keys' ids.
    :param addresses: the ``address:0x..`` keys' addresses (lowercase).
    """

    ids: AccountIds
    addresses: frozenset[str]

    def __contains__(self, key: object) -> bool:
        """Whether the list holds ``key``, an ``account_id:N`` / ``address:0x..`` key.

        :param key: a key as ``operators.arguments.account_key`` makes it.
        """
        if not isinstance(key, str):
            return False
        name, _, value = key.partition(":")
        if name == "address":
            return value in self.addresses
        canonical = name == "account_id" and value.isascii() and value.isdigit()
        return canonical and str(int(value)) == value and int(value) in self.ids


def read_watched(root: str, last: LastDay, *, conn_id: str | None) -> Watched:
    """The watch list of the last complete day, checked line by line.

    :param root: the snapshot root URL.
    :param last: the last complete day.
    :param conn_id: the Airflow connection with the storage's credentials.
    :raises UntrustedError: a file that is not its manifest's, or a line that is no key.
    """
    ids: array[int] = array("q")
    addresses: set[str] = set()
    for _, file in verified_files(last.folder(root, WATCHED), last.manifests[WATCHED], conn_id):
        for line in file:
            key = line.decode("ascii", "replace").strip()
            if not _KEY.fullmatch(key):
                raise UntrustedError(f"the watch list of {last.day} holds {key[:60]!r}")
            name, _, value = key.partition(":")
            if name == "address":
                addresses.add(value)
            elif str(int(value)) == value:  # "account_id:007" is no key an account has
                ids.append(int(value))
    return Watched(AccountIds(ids), frozenset(addresses))
