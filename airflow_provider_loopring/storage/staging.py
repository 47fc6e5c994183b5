"""Checkpoints: the accounts a task instance has finished, kept next to its target.

A retry of the same task instance (same DAG, run, task and map index; any try) finds them
and fetches only the accounts still missing. They live in a hidden folder beside the target,
``.<name>.staging/<task key>/``, in the same store as the output, so they survive a lost
worker. A checkpoint is two objects: a *chunk* (the finished accounts' encoded records, one
after the other) and then its *manifest* (which accounts, where in the chunk, how many
records, the chunk's size and SHA-256). The manifest is written last and whole (one PUT, or
a rename on a local disk), and the chunk is checked against it when read back, so a
checkpoint cut short by a crash is never taken for complete. The writer's commit removes
the whole staging folder once the target is in place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import posixpath
import re
import shutil
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import IO, Any, Protocol, TypeGuard

from airflow_provider_loopring.storage.confined import (
    UntrustedError,
    check_entry,
    copy_verified,
    is_link,
    open_inside,
    unlink_link,
)
from airflow_provider_loopring.storage.files import (
    COPY_CHUNK,
    UPLOAD_BLOCK,
    FilePart,
    HashingWriter,
    is_local,
    write_whole,
)

log = logging.getLogger(__name__)


class StagingWriter(Protocol):
    """What checkpoints need of the writer they save for (an ``ObjectStorageWriter``)."""

    folder: str  # the target's folder
    staging_root: str  # where every task's checkpoints of this target live

    @property
    def fs(self) -> Any:
        """The target's filesystem."""

    def new_part(self) -> FilePart:
        """A new, empty local part."""


VERSION = 1
_MANIFEST = re.compile(r"checkpoint-(\d{6})\.json")
MAX_MANIFEST = 64 << 20  # a manifest is ~100 bytes an account


def task_key(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    """A task instance's name among the checkpoints: the same for each of its tries.

    A hash, since run ids hold characters object stores treat specially (``:``, ``+``).

    :param dag_id: the task instance's DAG.
    :param run_id: its DAG run.
    :param task_id: its task.
    :param map_index: its map index; -1 for a task that is not mapped.
    """
    identity = json.dumps([dag_id, run_id, task_id, map_index])
    return "ti-" + hashlib.sha256(identity.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Skipped:
    """An account Loopring does not know (``on_missing_account="skip"``): nothing to fetch.

    :param account: the account's key (``account_id:11329``, ``address:0xab..``).
    :param reason: Loopring's message, for the XCom's ``skipped_accounts``.
    """

    account: str
    reason: str


# A finished account: its part (FilePart, or ArrowPart for Parquet) or its skip.
Done = FilePart | Skipped


class Checkpoints:
    """Finished accounts of one task instance: taken back on a retry, saved as they finish.

    Thread-safe: the operator's workers call :meth:`add` as each account finishes; one of
    them saves what has finished once ``interval`` seconds have passed since the last save.

    :param writer: the writer of the target (its filesystem, scratch folder and format).
    :param folder: this task instance's staging folder.
    :param fingerprint: what the task fetches (endpoint, filters, format): checkpoints of
        another fingerprint are not reused.
    :param interval: seconds between two saves; 0 saves after every account.
    """

    def __init__(
        self, writer: StagingWriter, folder: str, fingerprint: str, interval: float
    ) -> None:
        self.writer = writer
        self.folder = folder
        self.fingerprint = fingerprint
        self.interval = interval
        self.saved = 0  # checkpoints written by this try
        self._pending: list[tuple[str, Done]] = []
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._last_save = time.monotonic()
        self._next = 1

    @property
    def fs(self) -> Any:
        """The target's filesystem, where the checkpoints are kept."""
        return self.writer.fs

    # --- taking them back ----------------------------------------------------------------

    def resume(self, wanted: Collection[str] | None = None) -> dict[str, Done]:
        """What earlier tries finished: account -> its part (in the scratch folder) or skip.

        A checkpoint that cannot be verified (unreadable, of the wrong shape, naming a chunk
        that is gone, outside its folder or not matching its size and SHA-256) is passed over
        with one warning: its accounts are fetched again.

        :param wanted: the accounts the task fetches; any other a checkpoint holds is not
            taken over (and not counted). None: all of them.
        """
        done: dict[str, Done] = {}
        if is_link(self.fs, self.writer.staging_root) or is_link(self.fs, self.folder):
            log.warning("Checkpoints in %s are behind a link; not read.", self.folder)
            return done
        for number, path in self._manifests():
            self._next = max(self._next, number + 1)
            try:
                manifest = self._read_manifest(posixpath.basename(path))
            except (OSError, ValueError) as error:
                log.warning(
                    "Checkpoint %s not reused (%s); its accounts are fetched again.", path, error
                )
                continue
            if manifest is None:
                log.info("Checkpoint %s is of other arguments; not reused.", path)
                continue
            try:
                loaded = self._load(path, manifest)
            except (OSError, ValueError) as error:
                log.warning(
                    "Checkpoint %s not reused (%s); its accounts are fetched again.", path, error
                )
                continue
            others = [a for a in loaded if wanted is not None and a not in wanted]
            if others:
                log.warning(
                    "Checkpoint %s holds %d accounts this task does not fetch; ignored.",
                    path,
                    len(others),
                )
            done.update((a, result) for a, result in loaded.items() if a not in others)
        return done

    def _manifests(self) -> list[tuple[int, str]]:
        if not self.fs.exists(self.folder):
            return []
        found = []
        for path in self.fs.ls(self.folder, detail=False):
            match = _MANIFEST.fullmatch(posixpath.basename(path))
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def _read_manifest(self, name: str) -> dict[str, Any] | None:
        """A manifest of this task's arguments, its shape checked; None: other arguments."""
        with open_inside(self.fs, self.folder, name) as source:
            text = source.read(MAX_MANIFEST + 1)
        if len(text) > MAX_MANIFEST:
            raise UntrustedError(f"over {MAX_MANIFEST} bytes")
        manifest = json.loads(text)
        if not isinstance(manifest, dict):
            raise UntrustedError("not a JSON object")
        if manifest.get("version") != VERSION or manifest.get("fingerprint") != self.fingerprint:
            return None
        if not isinstance(manifest.get("accounts"), list):
            raise UntrustedError("no list of accounts")
        return manifest

    def _load(self, manifest_path: str, manifest: dict[str, Any]) -> dict[str, Done]:
        """The accounts of one checkpoint, its chunk copied to local parts and checked."""
        chunk = check_entry(manifest, manifest_path)
        entries = [_entry(entry, chunk[1]) for entry in manifest["accounts"]]
        local = self.writer.new_part().path
        copy_verified(self.fs, self.folder, chunk, local, manifest_path)
        done: dict[str, Done] = {}
        with open(local, "rb") as data:
            for account, reason, offset, length, records in entries:
                if reason is not None:
                    done[account] = Skipped(account, reason)
                    continue
                part = self.writer.new_part()
                data.seek(offset)
                with open(part.path, "wb") as out:
                    out.write(data.read(length))
                part.records = records
                done[account] = part
        return done

    # --- saving them ---------------------------------------------------------------------

    def add(self, account: str, result: Done) -> None:
        """One account finished; saves the finished ones if ``interval`` has passed.

        :param account: the account's key (``account_id:11329``, ``address:0xab..``).
        :param result: its part, closed, or its :class:`Skipped`.
        """
        with self._lock:
            self._pending.append((account, result))
            due = time.monotonic() - self._last_save >= self.interval
        if due:
            self.save()

    def save(self) -> None:
        """Save every finished account not saved yet (one chunk, then its manifest)."""
        with self._save_lock:
            with self._lock:
                batch, self._pending = self._pending, []
                self._last_save = time.monotonic()
            if not batch:
                return
            try:
                self._write(batch)
            except BaseException:
                with self._lock:  # not saved: the next save tries them again
                    self._pending[:0] = batch
                raise

    def _write(self, batch: list[tuple[str, Done]]) -> None:
        number = self._next
        chunk_name = f"chunk-{number:06d}.part"
        entries: list[dict[str, Any]] = []
        if is_local(self.fs):  # on S3 makedirs would create a missing bucket
            for link in unlink_link(self.fs, self.writer.folder, self.folder):
                log.warning("Removed %s: a link where the checkpoints' folder goes.", link)
            self.fs.makedirs(self.folder, exist_ok=True)
        with self._open_chunk(posixpath.join(self.folder, chunk_name)) as out:
            chunk = HashingWriter(out)
            for account, result in batch:
                if isinstance(result, Skipped):
                    entries.append({"account": account, "skipped": True, "reason": result.reason})
                    continue
                offset = chunk.size
                with open(result.path, "rb") as source:
                    shutil.copyfileobj(source, chunk, COPY_CHUNK)
                entries.append(
                    {
                        "account": account,
                        "records": result.records,
                        "offset": offset,
                        "length": chunk.size - offset,
                    }
                )
        manifest = {
            "version": VERSION,
            "fingerprint": self.fingerprint,
            "chunk": chunk_name,
            "bytes": chunk.size,
            "sha256": chunk.sha256.hexdigest(),
            "accounts": entries,
        }
        path = posixpath.join(self.folder, f"checkpoint-{number:06d}.json")
        write_whole(self.fs, path, json.dumps(manifest).encode())
        self._next = number + 1
        self.saved += 1
        log.info("Checkpoint %d: %d finished accounts saved in %s.", number, len(batch), path)

    def _open_chunk(self, path: str) -> IO[bytes]:
        """A new chunk to write; on a local disk never through a link left in its place."""
        if not is_local(self.fs):
            return self.fs.open(path, "wb", block_size=UPLOAD_BLOCK)
        local = self.fs._strip_protocol(path)
        if os.path.islink(local):
            os.unlink(local)  # the link goes, not what it points to
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        return os.fdopen(os.open(local, flags, 0o644), "wb")


def _count(value: object) -> TypeGuard[int]:
    return type(value) is int and value >= 0


def _entry(entry: object, size: int) -> tuple[str, str | None, int, int, int]:
    """(account, skip reason or None, offset, length, records) of a manifest's account entry.

    :raises UntrustedError: it is not of the shape :meth:`Checkpoints._write` writes, or its
        bytes lie beyond the chunk's ``size``.
    """
    if not isinstance(entry, dict) or not isinstance(entry.get("account"), str):
        raise UntrustedError("an account entry without its account")
    if entry.get("skipped") is True:
        reason = entry.get("reason")
        if not isinstance(reason, str):
            raise UntrustedError(f"no reason for skipping {entry['account']}")
        return entry["account"], reason, 0, 0, 0
    offset, length, records = (entry.get(key) for key in ("offset", "length", "records"))
    if not (_count(offset) and _count(length) and _count(records)):
        raise UntrustedError(f"no offset, length and records for {entry['account']}")
    if offset + length > size:
        raise UntrustedError(f"{entry['account']} lies beyond the chunk's {size} bytes")
    return entry["account"], None, offset, length, records
