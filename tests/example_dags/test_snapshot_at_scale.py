"""The example snapshot DAG under dag.test() with 1,500 accounts: Airflow's default config.

1,500 accounts pass Airflow's default ``max_map_length`` (1,024) only as batches; the accounts
come from a file (`accounts_path`), a third of them as owner addresses, plus two addresses
Loopring does not know. A second run of the same day sends no account lookup and replaces the
day with the same data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.example_dags.snapshot_day import check_day, read_day

ACCOUNT, BALANCES = "/api/v3/account", "/api/v3/user/nft/balances"
UNKNOWN = ["0x" + "7a" * 20, "0x" + "7b" * 20]
pytestmark = pytest.mark.loopring_sandbox(
    accounts=1500, nfts_per_account=3, collections_per_account=1
)


def test_1500_accounts_in_batches_resolved_once_and_complete(
    snapshot_dag: Any, sandbox: Any, tmp_path: Path
) -> None:
    ids = [account["accountId"] for account in sandbox.accounts]
    given: list[Any] = [
        account["owner"] if n % 3 == 0 else account["accountId"]
        for n, account in enumerate(sandbox.accounts)
    ]
    accounts_file = tmp_path / "accounts.txt"
    accounts_file.write_text("# ids and addresses\n" + "\n".join(map(str, given[1:])) + "\n")
    root = tmp_path / "snapshots"
    conf = {
        "accounts": [given[0], *UNKNOWN],
        "accounts_path": f"file://{accounts_file}",
        "output_root": f"file://{root}",
    }
    first = snapshot_dag.test(run_conf=conf)
    assert first.state == "success"
    tis = first.get_task_instances()
    # batches, 4 balances, 4 collections, carry, 2 manifests, changes, summarize: whatever
    # the count
    assert len(tis) == 1 + 4 + 4 + 1 + 2 + 1 + 1
    day = first.run_after.strftime("%Y-%m-%d")
    lookups = [r for r in sandbox.requests if r.path == ACCOUNT]
    addresses = {a.lower() for a in given if isinstance(a, str)} | set(UNKNOWN)
    assert {r.query["owner"].lower() for r in lookups} == addresses
    assert len(lookups) == len(addresses) + len(UNKNOWN)  # unknown ones again, by collections
    summary = check_day(root, day, sandbox, ids, skipped=UNKNOWN)
    assert summary["accounts"] == 1500
    before = read_day(root, day)

    sandbox.clear_requests()
    second = snapshot_dag.test(run_conf=conf)
    assert second.state == "success"
    lookups = [r.query["owner"].lower() for r in sandbox.requests if r.path == ACCOUNT]
    assert sorted(lookups) == sorted(UNKNOWN * 2)  # only those Loopring does not know
    assert unstamped(read_day(root, day)) == unstamped(before)  # fetchedAt: when, not what
    assert len([r for r in sandbox.requests if r.path == BALANCES]) == 1500
    cache = {}
    for item in (root / "_accounts").iterdir():
        cache.update(json.loads(item.read_text()))
    assert len(cache) == len(addresses) - len(UNKNOWN)


def unstamped(day: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A day's records without ``fetchedAt``, which says when a record was fetched."""
    return {
        kind: [{k: v for k, v in r.items() if k != "fetchedAt"} for r in records]
        for kind, records in day.items()
    }
