"""A daily snapshot of the NFTs that Loopring accounts hold, as JSON Lines in object storage."""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, Param, task

from airflow_provider_loopring.operators.loopring import (
    LoopringCollectionsOperator,
    LoopringNftBalancesOperator,
)

# The default output root: a folder under AIRFLOW_HOME on the machine that runs the tasks.
# Give a shared store (s3://bucket/loopring, gs://..., ...) when workers run on several machines.
AIRFLOW_HOME = os.path.abspath(os.path.expanduser(os.environ.get("AIRFLOW_HOME", "~/airflow")))
DEFAULT_ROOT = f"file://{AIRFLOW_HOME}/loopring/snapshots"
# The Airflow connection with the storage's credentials; None: the store's default credentials.
STORAGE_CONN_ID: str | None = None
# Loopring's documentation uses this account in its examples: replace it with yours.
DEFAULT_ACCOUNTS: list[int | str] = [11329]

# The day of the run: its scheduled time, or when it was triggered (every run has a run_after;
# a manual run may have no logical date in Airflow 3). A re-run of a day overwrites that day.
DAY = "{{ dag_run.run_after | ds }}"
FOLDER = "{{ params.output_root.rstrip('/') }}/" + DAY

# The snapshot folder as an Asset: a DAG scheduled on it runs once a day's snapshot is
# complete, and the asset event's extra names the folder actually written.
SNAPSHOTS = Asset(name="loopring_nft_snapshots", uri=DEFAULT_ROOT)

with DAG(
    dag_id="loopring_nft_snapshot",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["loopring", "example"],
    params={
        "accounts": Param(
            DEFAULT_ACCOUNTS,
            type="array",
            items={"type": ["integer", "string"]},
            minItems=1,
            description="Loopring account ids and/or 0x owner addresses.",
        ),
        "output_root": Param(
            DEFAULT_ROOT,
            type="string",
            pattern="^[a-z0-9+.-]+://",
            description="Where snapshots go: any ObjectStoragePath URL (file://, s3://, ...).",
        ),
    },
    doc_md="""
### Loopring NFT snapshot

Once a day, for every account in the `accounts` param (ids or owner addresses):

1. `resolve_accounts` turns addresses into account ids (`GET /api/v3/account`);
2. `nft_balances` fetches each account's NFT balances, one mapped task per account, to
   `<output_root>/<day>/balances/account-<id>.jsonl`;
3. `collections` fetches the collections all accounts hold to
   `<output_root>/<day>/collections.jsonl`;
4. `summarize` counts NFTs per collection and per deployment status, writes
   `<output_root>/<day>/summary.json` and returns the same summary as XCom.

The balances and collections are JSON Lines with Loopring's own field names, each file
written whole or not at all; a re-run of a day overwrites that day's files. The Loopring
connection is `loopring_default`. The summary task updates the `loopring_nft_snapshots` Asset
when a day is complete.
""",
) as dag:

    @task
    def resolve_accounts() -> list[int]:
        """The account ids to snapshot: ids as they are, addresses looked up, no duplicates."""
        from airflow.sdk import get_current_context

        from airflow_provider_loopring.hooks.loopring import LoopringHook

        hook = LoopringHook()
        ids: dict[int, None] = {}
        for item in get_current_context()["params"]["accounts"]:
            text = str(item).strip()
            if text.isdigit():
                ids[int(text)] = None
            elif text.lower().startswith("0x"):
                account = hook.get_account(address=text)
                print(f"{text} is account {account.account_id}")
                ids[account.account_id] = None
            else:
                raise ValueError(f"accounts: {item!r} is neither an account id nor a 0x address")
        return list(ids)

    account_ids = resolve_accounts()

    balances = LoopringNftBalancesOperator.partial(
        task_id="nft_balances",
        output_path=FOLDER + "/balances/account-{{ task.account_id }}.jsonl",
        output_conn_id=STORAGE_CONN_ID,
    ).expand(account_id=account_ids)

    collections = LoopringCollectionsOperator(
        task_id="collections",
        account_id=account_ids,
        output_path=FOLDER + "/collections.jsonl",
        output_conn_id=STORAGE_CONN_ID,
    )

    # One XCom, the whole summary (a task returning a dict would also push each key apart).
    @task(outlets=[SNAPSHOTS], multiple_outputs=False)
    def summarize(
        balance_files: list[dict[str, Any]], collection_file: dict[str, Any]
    ) -> dict[str, Any]:
        """Count what the day's files hold; write summary.json next to them and return it."""
        import json
        from collections import Counter

        from airflow.sdk import ObjectStoragePath, get_current_context

        def records(reference: dict[str, Any]) -> Any:
            with ObjectStoragePath(reference["path"], conn_id=STORAGE_CONN_ID).open("r") as f:
                yield from (json.loads(line) for line in f)

        collections: dict[Any, dict[str, Any]] = {}
        for held in records(collection_file):
            collections.setdefault(held["collection"]["id"], held["collection"])
        per_collection: Counter[Any] = Counter()
        per_status: Counter[str] = Counter()
        balance_files = balance_files[:]  # the mapped tasks' results, read in one request
        for reference in balance_files:
            for nft in records(reference):
                info = nft.get("collectionInfo") or {}
                collections.setdefault(info.get("id"), info)  # in case the lists disagree
                per_collection[info.get("id")] += 1
                per_status[nft.get("deploymentStatus") or "UNKNOWN"] += 1

        folder = collection_file["path"].rsplit("/", 1)[0]  # <output_root>/<day>
        summary = {
            "folder": folder,
            "accounts": collection_file["accounts"],
            "nfts": sum(per_status.values()),
            "collections": len(per_collection),
            "nfts_per_deployment_status": dict(per_status.most_common()),
            "nfts_per_collection": [
                {
                    "id": collection_id,
                    "name": collections[collection_id].get("name"),
                    "deployStatus": collections[collection_id].get("deployStatus"),
                    "nfts": count,
                }
                for collection_id, count in per_collection.most_common()
            ],
            "files": [ref["path"] for ref in [*balance_files, collection_file]]
            + [f"{folder}/summary.json"],
        }
        summary_path = ObjectStoragePath(f"{folder}/summary.json", conn_id=STORAGE_CONN_ID)
        summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
        get_current_context()["outlet_events"][SNAPSHOTS].extra = {"folder": folder}
        return summary

    summarize(balances.output, collections.output)
