"""What one day of `loopring_nft_snapshot` must hold, checked the way a reader would read it.

Shared by the DAG tests, the integration test and the snapshot benchmark: a partition is read
only through its `_manifest.json`, each file checked against it, nothing else in the folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

KINDS = ("balances", "collections", "summary")


def read_partition(root: Path, kind: str, day: str) -> tuple[dict[str, Any], list[Any]]:
    """The manifest of `<root>/<kind>/dt=<day>` and the records of the files it lists."""
    folder = root / kind / f"dt={day}"
    manifest = json.loads((folder / "_manifest.json").read_text())
    names = [item["name"] for item in manifest["files"]]
    assert sorted(p.name for p in folder.iterdir()) == sorted([*names, "_manifest.json"])
    records: list[Any] = []
    for item in manifest["files"]:
        data = (folder / item["name"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (item["bytes"], item["sha256"])
        found = _records(item["name"], data)
        assert len(found) == item["records"]
        records += found
    assert manifest["records"] == len(records)
    return manifest, records


def _records(name: str, data: bytes) -> list[Any]:
    if name.endswith(".parquet"):
        import io

        import pyarrow.parquet as pq

        return list(pq.read_table(io.BytesIO(data)).to_pylist())
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in data.splitlines()]
    return [json.loads(data)]


def read_day(root: Path, day: str) -> dict[str, list[Any]]:
    return {kind: read_partition(root, kind, day)[1] for kind in KINDS}


def check_day(
    root: Path, day: str, sandbox: Any, account_ids: list[int], skipped: list[str]
) -> dict[str, Any]:
    """The day holds exactly the sandbox's records of these accounts, in their order."""
    day_records = read_day(root, day)
    expected = [b for a in account_ids for b in sandbox.balances(a, non_zero=True)]
    assert [(r["accountId"], r["nftData"]) for r in day_records["balances"]] == [
        (b["accountId"], b["nftData"]) for b in expected
    ]
    assert [(r["accountId"], r["collection"]["id"]) for r in day_records["collections"]] == [
        (a, held["collection"]["id"]) for a in account_ids for held in sandbox.collections(a)
    ]
    (summary,) = day_records["summary"]
    assert summary["day"] == day
    assert (summary["accounts"], summary["nfts"]) == (len(account_ids), len(expected))
    assert sum(summary["nfts_per_deployment_status"].values()) == len(expected)
    assert (summary["skipped_accounts"], summary["skipped"]) == (len(skipped), sorted(skipped))
    return dict(summary)
