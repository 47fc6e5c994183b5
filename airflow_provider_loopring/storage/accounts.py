"""Addresses resolved to account ids, kept across runs: a Loopring address never changes account.

A folder of small JSON objects (``{"0xaddress": account_id, ...}``), one per writer (a task,
or a map index of one), so that tasks running side by side never overwrite each other's
findings: every reader merges them all. A writer's object holds what it held before and every
address the task used, so it only grows, by the addresses the task was given.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
import threading
from collections.abc import Iterable
from typing import Any

from airflow_provider_loopring.storage.confined import open_inside
from airflow_provider_loopring.storage.files import write_whole

log = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
MAX_ACCOUNT_ID = 2**32 - 1  # Loopring's account ids are 32-bit


class AccountCache:
    """Address -> account id, read from and saved to a folder in object storage.

    :param url: the folder (any ``ObjectStoragePath`` URL).
    :param conn_id: the Airflow connection with the storage's credentials.
    :param writer: this task's name in the folder (its object is ``<writer>.json``).
    """

    def __init__(self, url: str, *, conn_id: str | None, writer: str) -> None:
        from airflow.sdk import ObjectStoragePath

        self.folder = ObjectStoragePath(url.rstrip("/"), conn_id=conn_id)
        self.name = _SAFE.sub("_", writer) + ".json"
        self._known: dict[str, int] = {}
        self._mine: dict[str, int] = {}
        self._saved: dict[str, int] = {}
        self._lock = threading.Lock()
        self.looked_up = 0

    @property
    def fs(self) -> Any:
        """The folder's fsspec filesystem."""
        return self.folder.fs

    def load(self) -> AccountCache:
        """Read every writer's object in the folder (none yet: an empty cache).

        Only well-formed entries are used: a 0x address of 40 hex digits and an account id
        in Loopring's range (1 to 2**32 - 1). An address two entries give different ids (two
        writers, or two spellings in one object) is dropped. A dropped or refused entry is
        looked up again, as if it were not there.
        """
        path = self.folder.path
        if not self.fs.exists(path):
            return self
        found: dict[str, dict[str, int]] = {}
        for item in self.fs.ls(path, detail=False):
            name = posixpath.basename(item)
            if not name.endswith(".json"):
                continue
            try:
                with open_inside(self.fs, path, name) as source:
                    entries = json.loads(source.read())
            except (OSError, ValueError):
                log.warning("Account cache %s cannot be read; ignored.", item)
                continue
            if not isinstance(entries, dict):
                log.warning("Account cache %s is not an object of addresses; ignored.", item)
                continue
            found[name] = _well_formed(entries, item)
        conflicts = _conflicts(found.values())
        for name, known in found.items():
            known = {key: value for key, value in known.items() if key not in conflicts}
            self._known.update(known)
            if name == self.name:
                self._mine.update(known)
                self._saved.update(known)
        if conflicts:
            log.warning(
                "Account cache %s: %d addresses have two account ids; looked up again.",
                path,
                len(conflicts),
            )
        log.info("Account cache %s: %d addresses known.", path, len(self._known))
        return self

    def get(self, address: str) -> int | None:
        """The account id of ``address``, if any writer found it; kept in this task's object.

        :param address: an owner address, in any case.
        :return: the account id, or None when the address must be looked up.
        """
        key = address.lower()
        with self._lock:
            account_id = self._known.get(key)
            if account_id is not None:
                self._mine[key] = account_id
            return account_id

    def put(self, address: str, account_id: int) -> None:
        """Remember an address the task looked up (saved by :meth:`save`).

        :param address: the owner address, in any case.
        :param account_id: its account id, as Loopring answered.
        """
        key = address.lower()
        with self._lock:
            self._known[key] = self._mine[key] = account_id
            self.looked_up += 1

    @property
    def changed(self) -> bool:
        """Whether this task's object would hold more than it does: worth a save."""
        with self._lock:
            return self._mine != self._saved

    def save(self) -> None:
        """Write this task's object (what it held and what it used), whole."""
        with self._lock:
            mine = dict(sorted(self._mine.items()))
        write_whole(self.fs, posixpath.join(self.folder.path, self.name), json.dumps(mine).encode())
        with self._lock:
            self._saved = mine


def _well_formed(entries: dict[Any, Any], where: str) -> dict[str, int]:
    """The entries of one object that are an address and an account id; two spellings of
    one address that disagree are both left out."""
    known: dict[str, int] = {}
    disagree: set[str] = set()
    refused = 0
    for address, account_id in entries.items():
        if not (
            isinstance(address, str)
            and _ADDRESS.fullmatch(address)
            and type(account_id) is int
            and 0 < account_id <= MAX_ACCOUNT_ID
        ):
            refused += 1
            continue
        key = address.lower()
        if known.setdefault(key, account_id) != account_id:
            disagree.add(key)
    if refused or disagree:
        log.warning(
            "Account cache %s: %d entries refused, %d addresses with two ids; looked up again.",
            where,
            refused,
            len(disagree),
        )
    return {key: value for key, value in known.items() if key not in disagree}


def _conflicts(objects: Iterable[dict[str, int]]) -> set[str]:
    """The addresses two writers' objects give different account ids."""
    first: dict[str, int] = {}
    conflicts: set[str] = set()
    for known in objects:
        for key, account_id in known.items():
            if first.setdefault(key, account_id) != account_id:
                conflicts.add(key)
    return conflicts
