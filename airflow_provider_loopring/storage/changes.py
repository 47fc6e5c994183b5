"""What each wallet gained or lost between two snapshot days, without holding two days.

Both days' balances are read through their manifests (JSON Lines or Parquet) and spread, by
account, over local bucket files small enough to load one at a time; each bucket compares
its accounts' holdings with the same code as the holdings watcher
(:func:`.._core.holdings.compare`), and the buckets' changes, each sorted by account, are
merged into one file sorted by account. Memory holds one bucket (about
``records_per_bucket`` holdings) whatever the size of the days.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import os
import re
import tempfile
from collections.abc import Iterator
from typing import Any

from airflow_provider_loopring._core.holdings import CHANGES, Holding, compare, held
from airflow_provider_loopring.storage.snapshots import (
    MANIFEST,
    Balance,
    partition,
    read_balances,
    read_manifest,
)

log = logging.getLogger(__name__)

RECORDS_PER_BUCKET = 200_000  # ~50 MiB of holdings in memory at once
#: Where the changes of each compared kind go: a snapshot's balances, or NFTs' holders.
CHANGES_FOLDERS = {"balances": "changes", "holders": "holder_changes"}
_DAY = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")


def latest_complete_day(root: str, kind: str, before: str, conn_id: str | None) -> str | None:
    """The newest day before ``before`` whose ``kind`` partition has its manifest.

    :param root: the snapshot root URL.
    :param kind: the snapshot's record kind: ``balances``, ``collections`` or ``changes``.
    :param before: the day, "YYYY-MM-DD"; only days strictly before it count.
    :param conn_id: the Airflow connection with the storage's credentials.
    :return: that day, or None when there is none.
    """
    from airflow.sdk import ObjectStoragePath

    folder = ObjectStoragePath(f"{root.rstrip('/')}/{kind}", conn_id=conn_id)
    if not folder.exists():
        return None
    # Only folders named as partition() names them: a name from the store is not trusted.
    named = (_DAY.fullmatch(p.name) for p in folder.iterdir())
    days = sorted((match.group(1) for match in named if match), reverse=True)
    for day in days:
        if day < before and (folder / f"dt={day}" / MANIFEST).exists():
            return day
    return None


def compare_days(
    root: str,
    day: str,
    *,
    conn_id: str | None,
    sink: Any,
    records_per_bucket: int = RECORDS_PER_BUCKET,
    kind: str = "balances",
) -> dict[str, Any]:
    """Write the changes of ``day`` against the latest earlier complete day into ``sink``.

    :param root: the snapshot root URL (``<root>/<kind>/dt=<day>/``).
    :param day: the day to compare, "YYYY-MM-DD".
    :param conn_id: the Airflow connection with the storage's credentials.
    :param sink: a part of an ObjectStorageWriter (record kind ``changes``).
    :param records_per_bucket: about how many holdings each local bucket holds, so how much
        memory the comparison takes (about 250 bytes each).
    :param kind: what is compared: ``balances`` (a snapshot's) or ``holders`` (each NFT's
        holders and amounts, as ``LoopringNftHoldersOperator`` writes them).
    :return: ``{"day", "previous_day", "added", "removed", "amount", "status"}``;
        ``previous_day`` None (and nothing written) when there is no earlier complete day.
    :raises ValueError: ``day``'s balances are not complete (no manifest).
    """
    today_folder = partition(root, kind, day)
    today = read_manifest(today_folder, conn_id=conn_id)
    if today is None:
        raise ValueError(f"{today_folder} is not complete (no {MANIFEST}): run its snapshot first")
    counts: dict[str, Any] = {"day": day, "previous_day": None, **dict.fromkeys(CHANGES, 0)}
    previous = latest_complete_day(root, kind, day, conn_id)
    if previous is None:
        return counts
    counts["previous_day"] = previous
    before_folder = partition(root, kind, previous)
    before = read_manifest(before_folder, conn_id=conn_id) or {"files": [], "records": 0}
    buckets = max(1, math.ceil((today["records"] + before["records"]) / records_per_bucket))
    with tempfile.TemporaryDirectory(prefix="loopring-changes-") as scratch:
        sides = (
            read_balances(before_folder, before, conn_id, kind),
            read_balances(today_folder, today, conn_id, kind),
        )
        paths = _spread(scratch, buckets, *sides)
        sorted_files = [_compare_bucket(path, previous, day) for path in paths]
        for record in heapq.merge(*(_lines(p) for p in sorted_files), key=_account):
            counts[record["change"]] += 1
            sink.write(record)
    log.info("Changes %s -> %s: %s", previous, day, {c: counts[c] for c in CHANGES})
    return counts


def _spread(
    scratch: str, buckets: int, before: Iterator[Balance], after: Iterator[Balance]
) -> list[str]:
    """Both days' rows into ``buckets`` files by account, each line marked with its day.

    One JSON array a line: whatever a value holds (a tab, a newline in a status the server
    sent), it is escaped, so it can end neither its field nor its line.
    """
    paths = [os.path.join(scratch, f"bucket-{n:04d}.jsonl") for n in range(buckets)]
    files = [open(path, "w") for path in paths]  # noqa: SIM115 (closed below)
    try:
        for side, rows in ((0, before), (1, after)):
            for row in rows:
                if not held(row.total):
                    continue
                account = row.account_id
                line = [side, account, row.nft_data.lower(), row.total, row.status]
                files[account % buckets].write(json.dumps(line) + "\n")
    finally:
        for file in files:
            file.close()
    return paths


def _compare_bucket(path: str, day_before: str, day_after: str) -> str:
    """One bucket's changes, sorted by account, as JSON lines in a file next to it."""
    accounts: dict[int, tuple[dict[str, Holding], dict[str, Holding]]] = {}
    with open(path) as file:
        for line in file:
            side, account_id, nft, total, status = json.loads(line)
            looks = accounts.setdefault(account_id, ({}, {}))
            looks[side][nft] = Holding(total, status or None)
    os.unlink(path)
    out = path + ".changes"
    with open(out, "w") as file:
        for account in sorted(accounts):
            before, after = accounts[account]
            for change in compare(before, after):
                record = {"accountId": account, **change.to_dict()}
                record["dayBefore"], record["dayAfter"] = day_before, day_after
                file.write(json.dumps(record) + "\n")
    return out


def _lines(path: str) -> Iterator[dict[str, Any]]:
    with open(path) as file:
        for line in file:
            yield json.loads(line)


def _account(record: dict[str, Any]) -> int:
    return int(record["accountId"])
