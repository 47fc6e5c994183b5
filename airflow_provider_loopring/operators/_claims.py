"""Which account of a task wrote each record that several accounts list: kept on local disk.

A transaction between two watched accounts is in both accounts' lists; the first to claim it
writes it. The claims grow with the records, so they live in a small SQLite file in a
scratch folder (a page cache of 256 KiB), not in memory: a task of 100,000 transactions holds
as much memory as one of 20,000. Standard library only, imported when a task runs.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Hashable


class Claims:
    """Claims of record keys by owners (account keys); thread-safe. Close it when done."""

    def __init__(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="loopring-claims-")
        path = os.path.join(self._folder, "claims.sqlite")
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-256"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE claims (key TEXT PRIMARY KEY, owner TEXT) WITHOUT ROWID")
        self._lock = threading.Lock()

    def claim(self, key: Hashable, owner: str) -> bool:
        """Whether ``owner`` writes the record of ``key``: it is the first to claim it, or
        claimed it before (an account's listing may be read twice).

        :param key: the record's key (a transaction's hash, else its id).
        :param owner: who claims it (an account key).
        """
        text = str(key)
        with self._lock:
            added = self._db.execute(
                "INSERT OR IGNORE INTO claims VALUES (?, ?)", (text, owner)
            ).rowcount
            if added:
                return True
            (holder,) = self._db.execute(
                "SELECT owner FROM claims WHERE key = ?", (text,)
            ).fetchone()
            return bool(holder == owner)

    def close(self) -> None:
        """Forget every claim: the file and its folder go."""
        with self._lock:
            self._db.close()
        shutil.rmtree(self._folder, ignore_errors=True)
