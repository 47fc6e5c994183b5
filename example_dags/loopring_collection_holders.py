"""Daily: every holder of Loopring NFT collections, day-partitioned, and what changed."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_provider_loopring.operators.changes import LoopringSnapshotChangesOperator
from airflow_provider_loopring.operators.holders import LoopringNftHoldersOperator

# The default output root: a folder under AIRFLOW_HOME on the machine that runs the tasks.
# Give a shared store (s3://bucket/loopring, ...) when workers run on several machines. The
# folders written here (holders, holder_changes, holder_summary) are not the snapshot DAG's:
# both DAGs may share a root.
AIRFLOW_HOME = os.path.abspath(os.path.expanduser(os.environ.get("AIRFLOW_HOME", "~/airflow")))
DEFAULT_ROOT = f"file://{AIRFLOW_HOME}/loopring/snapshots"
# The Airflow connection with the storage's credentials; None: the store's default credentials.
STORAGE_CONN_ID: str | None = None
# A collection of Loopring's documentation (testnet): replace it with yours.
DEFAULT_COLLECTIONS: list[int | str] = [59]
RETRY_DELAY = timedelta(seconds=float(os.environ.get("LOOPRING_HOLDERS_RETRY_DELAY", "60")))
# The record kinds of a day, each a folder of dt= partitions under the root.
HOLDERS, CHANGES, SUMMARY = "holders", "holder_changes", "holder_summary"

DAY = "{{ dag_run.run_after | ds }}"
ROOT = "{{ params.output_root.rstrip('/') }}"
PART = "part-{{ '%04d' % ti.map_index }}.{{ params.output_format }}"

with DAG(
    dag_id="loopring_collection_holders",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": RETRY_DELAY},
    tags=["loopring", "example"],
    params={
        "collections": Param(
            DEFAULT_COLLECTIONS,
            type="array",
            minItems=1,
            items={"type": ["integer", "string"]},
            description="Collections: Loopring collection ids and/or 0x token contract "
            "addresses; a collection given both ways is read once.",
        ),
        "output_format": Param(
            "jsonl",
            enum=["jsonl", "parquet"],
            description="JSON Lines (Loopring's holder items) or Parquet (declared columns).",
        ),
        "output_root": Param(
            DEFAULT_ROOT,
            type="string",
            pattern="^[a-z0-9+.-]+://",
            description="Where the days go: any ObjectStoragePath URL (file://, s3://, ...).",
        ),
    },
    doc_md="""
### Loopring collection holders

Once a day, for every collection in `collections` (ids or token contract addresses):

1. `selections` checks the collections, looks up each contract address's collection id (a
   collection given both ways is read once), and marks the day incomplete;
2. `holders` lists each collection's NFTs, then every holder of each NFT, into
   `<output_root>/holders/dt=<day>/part-<n>.jsonl`:
   one record per (NFT, holder) with `nftData`, `accountId`, `address`, `amount`,
   `collectionId`, `tokenAddress`;
3. `holders_complete` writes the partition's `_manifest.json` (files, records, bytes,
   SHA-256);
4. `changes` compares the day's holders with the latest earlier complete day into
   `<output_root>/holder_changes/dt=<day>/` (one record per NFT and account that became a
   holder, stopped being one, or holds another amount), with the comparison of the snapshot
   DAG's changes;
5. `summarize` counts holders, NFTs and records per collection, and the day's changes, into
   `<output_root>/holder_summary/dt=<day>/summary.json`.

**Resume.** A failed `holders` is retried (2 retries); its retry fetches the holders only of
the NFTs the failed try did not finish.

**Reading a day.** A partition is complete when its `_manifest.json` is there; read the files
it lists. A re-run of a day replaces that day.
""",
) as dag:

    @task
    def selections() -> list[dict[str, Any]]:
        """The collections, checked, each once: a contract address as its collection's id."""
        from airflow.sdk import get_current_context

        from airflow_provider_loopring import _core as core
        from airflow_provider_loopring.hooks.loopring import LoopringHook
        from airflow_provider_loopring.operators.arguments import run_day
        from airflow_provider_loopring.storage import snapshots

        context = get_current_context()
        params = context["params"]
        given = core.check_list(params["collections"], "collections", lambda value, _: value)
        checked = [
            core.check_address(value, "collections")
            if isinstance(value, str) and value.lower().startswith("0x")
            else core.check_collection_id(value, "collections")
            for value in given or []
        ]  # every value checked before any request
        hook = LoopringHook()
        ids = [
            value
            if isinstance(value, int)
            else hook.get_collection(contract_address=value.lower()).id
            for value in checked
        ]
        snapshots.start_day(
            params["output_root"],
            run_day(context),
            (HOLDERS, CHANGES, SUMMARY),
            conn_id=STORAGE_CONN_ID,
        )
        return [{"collection_id": list(dict.fromkeys(ids))}]

    # [START howto_operator_loopring_nft_holders]
    holders = LoopringNftHoldersOperator.partial(
        task_id="holders",
        output_path=f"{ROOT}/{HOLDERS}/dt={DAY}/{PART}",
        output_format="{{ params.output_format }}",
        output_conn_id=STORAGE_CONN_ID,
        max_active_tis_per_dag=1,  # one task at a time: one rate budget
    ).expand_kwargs(selections())
    # [END howto_operator_loopring_nft_holders]

    @task(multiple_outputs=False)
    def holders_complete(files: list[dict[str, Any]]) -> dict[str, Any]:
        """Declare the day's holders complete: its manifest, written last."""
        from airflow.sdk import get_current_context

        from airflow_provider_loopring.operators.arguments import run_day
        from airflow_provider_loopring.storage import snapshots

        context = get_current_context()
        day = run_day(context)
        folder = snapshots.partition(context["params"]["output_root"], HOLDERS, day)
        return snapshots.commit_partition(
            folder, files[:], conn_id=STORAGE_CONN_ID, kind=HOLDERS, day=day
        )

    complete = holders_complete(holders.output)
    changes = LoopringSnapshotChangesOperator(
        task_id="changes",
        kind="holders",
        output_root=ROOT,
        output_format="{{ params.output_format }}",
        output_conn_id=STORAGE_CONN_ID,
    )
    complete >> changes

    @task(multiple_outputs=False)
    def summarize(manifest: dict[str, Any], day_changes: dict[str, Any]) -> dict[str, Any]:
        """Holders, NFTs and records per collection, and what changed; summary.json."""
        import json
        from collections import Counter, defaultdict

        from airflow.sdk import get_current_context

        from airflow_provider_loopring.operators.arguments import run_day
        from airflow_provider_loopring.storage import snapshots

        context = get_current_context()
        root, day = context["params"]["output_root"].rstrip("/"), run_day(context)
        folder = snapshots.partition(root, HOLDERS, day)
        accounts: defaultdict[Any, set[int]] = defaultdict(set)
        nfts: defaultdict[Any, set[str]] = defaultdict(set)
        records: Counter[Any] = Counter()
        for row in snapshots.read_balances(folder, manifest, STORAGE_CONN_ID, kind=HOLDERS):
            accounts[row.collection_id].add(row.account_id)
            nfts[row.collection_id].add(row.nft_data)
            records[row.collection_id] += 1
        summary = {
            "day": day,
            "records": manifest["records"],
            "collections": [
                {
                    "collectionId": collection_id,
                    "holders": len(accounts[collection_id]),
                    "nfts": len(nfts[collection_id]),
                    "records": records[collection_id],
                }
                for collection_id in sorted(records, key=lambda c: (c is None, c))
            ],
            "changes": {
                key: day_changes[key] for key in ("previous_day", "added", "removed", "amount")
            },
        }
        out = snapshots.partition(root, SUMMARY, day)
        data = json.dumps(summary, indent=2).encode()
        written = snapshots.write_file(
            f"{out}/summary.json", data, records=1, conn_id=STORAGE_CONN_ID
        )
        snapshots.commit_partition(out, [written], conn_id=STORAGE_CONN_ID, kind=SUMMARY, day=day)
        return summary

    summarize(complete, changes.output)
