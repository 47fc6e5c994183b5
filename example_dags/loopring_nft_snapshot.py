"""A daily snapshot of the NFTs that Loopring accounts hold: 10,000+ wallets, day-partitioned."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, Param, task

from airflow_provider_loopring.operators.changes import LoopringSnapshotChangesOperator
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
# However many accounts: this many batches, so a bounded number of task instances (Airflow's
# max_map_length is 1,024 and each task instance costs ~2 s of scheduling).
BATCHES = 4
# A failed batch is retried after this long; its retry fetches only the accounts left.
RETRY_DELAY = timedelta(seconds=float(os.environ.get("LOOPRING_SNAPSHOT_RETRY_DELAY", "60")))

# The day of the run: its scheduled time, or when it was triggered (every run has a run_after;
# a manual run may have no logical date in Airflow 3). A re-run of a day replaces that day.
DAY = "{{ dag_run.run_after | ds }}"
ROOT = "{{ params.output_root.rstrip('/') }}"
FORMAT = "{{ params.output_format }}"
PART = "part-{{ '%04d' % ti.map_index }}.{{ params.output_format }}"

# The snapshot root as an Asset: a DAG scheduled on it runs once a day's snapshot is
# complete, and the asset event's extra names the day and its partitions.
SNAPSHOTS = Asset(name="loopring_nft_snapshots", uri=DEFAULT_ROOT)

with DAG(
    dag_id="loopring_nft_snapshot",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": RETRY_DELAY},
    tags=["loopring", "example"],
    params={
        "accounts": Param(
            DEFAULT_ACCOUNTS,
            type="array",
            items={"type": ["integer", "string"]},
            description="Loopring account ids and/or 0x owner addresses (a short list).",
        ),
        "accounts_path": Param(
            None,
            type=["null", "string"],
            description="An ObjectStoragePath URL of a file of accounts (one id or address a "
            "line, or a JSON array), added to `accounts`.",
        ),
        "output_format": Param(
            "jsonl",
            enum=["jsonl", "parquet"],
            description="JSON Lines (Loopring's records) or Parquet (typed, declared columns).",
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

Once a day, for every account in `accounts` and in the file at `accounts_path` (ids or owner
addresses; ten thousand and more):

1. `batches` reads and checks the accounts, marks the day incomplete and splits the accounts
   into at most 4 batches;
2. `nft_balances` fetches each batch's NFT balances into
   `<output_root>/balances/dt=<day>/part-<batch>.jsonl`;
3. `collections` then fetches the collections each batch holds into
   `<output_root>/collections/dt=<day>/part-<batch>.jsonl`;
4. `balances_complete` and `collections_complete` write each partition's `_manifest.json`
   (files, records, bytes, SHA-256);
5. `changes` compares the day's balances with the latest earlier complete day into
   `<output_root>/changes/dt=<day>/` (one record per NFT added, removed, or changed in amount
   or status);
6. `summarize` counts NFTs per collection and per deployment status, and the day's changes,
   into `<output_root>/summary/dt=<day>/summary.json`, and updates the
   `loopring_nft_snapshots` Asset.

`output_format` is `jsonl` (Loopring's own records) or `parquet` (typed, declared columns:
see the README's "Parquet schema").

**One rate budget.** Loopring limits the calls of a key, and the provider's limit
(`requests_per_second` of the connection) is per process. So the Loopring tasks never run side
by side: the batches of a task run one at a time (`max_active_tis_per_dag=1`) and the
collections only after the balances. At every moment one task sends requests, at the whole
rate; N wallets take about N / rate seconds per record kind, plus the first night's address
lookups.

**Resume.** A failed batch is retried (2 retries); its retry fetches only the accounts the
failed try did not finish. Addresses are looked up once: their account ids are kept in
`<output_root>/_accounts/`. Accounts Loopring does not know are skipped, and counted in the
summary.

**Reading a day.** A partition is complete when its `_manifest.json` is there; read the files
it lists. A re-run of a day replaces that day.
""",
) as dag:

    @task
    def batches() -> list[list[int | str]]:
        """The accounts, checked and without duplicates, in at most BATCHES batches."""
        from airflow.sdk import get_current_context

        from airflow_provider_loopring.operators.arguments import check_accounts, run_day
        from airflow_provider_loopring.storage import snapshots

        context = get_current_context()
        params = context["params"]
        accounts = list(params["accounts"])
        if params["accounts_path"]:
            accounts += snapshots.read_accounts(params["accounts_path"], conn_id=STORAGE_CONN_ID)
        unique = [value for _, value in check_accounts(None, None, accounts)]
        day = run_day(context)
        snapshots.start_day(
            params["output_root"],
            day,
            ("balances", "collections", "changes", "summary"),
            conn_id=STORAGE_CONN_ID,
        )
        print(f"{len(unique)} accounts for {day}, in {min(BATCHES, len(unique))} batches")
        return snapshots.split(unique, BATCHES)

    accounts = batches()
    shared: dict[str, Any] = {
        "output_conn_id": STORAGE_CONN_ID,
        "output_format": FORMAT,
        "account_cache_path": ROOT + "/_accounts",
        "on_missing_account": "skip",
        "max_active_tis_per_dag": 1,
    }
    # [START howto_operator_loopring_nft_balances]
    balances = LoopringNftBalancesOperator.partial(
        task_id="nft_balances", output_path=f"{ROOT}/balances/dt={DAY}/{PART}", **shared
    ).expand(accounts=accounts)
    # [END howto_operator_loopring_nft_balances]
    # [START howto_operator_loopring_collections]
    collections = LoopringCollectionsOperator.partial(
        task_id="collections", output_path=f"{ROOT}/collections/dt={DAY}/{PART}", **shared
    ).expand(accounts=accounts)
    # [END howto_operator_loopring_collections]
    balances >> collections

    @task(multiple_outputs=False)
    def complete(kind: str, files: list[dict[str, Any]]) -> dict[str, Any]:
        """Declare a day's partition complete: its manifest, written last."""
        from airflow.sdk import get_current_context

        from airflow_provider_loopring.operators.arguments import run_day
        from airflow_provider_loopring.storage import snapshots

        context = get_current_context()
        root = context["params"]["output_root"].rstrip("/")
        day = run_day(context)
        folder = snapshots.partition(root, kind, day)
        return snapshots.commit_partition(
            folder, files[:], conn_id=STORAGE_CONN_ID, kind=kind, day=day
        )

    balances_complete = complete.override(task_id="balances_complete")("balances", balances.output)
    collections_complete = complete.override(task_id="collections_complete")(
        "collections", collections.output
    )
    # [START howto_operator_loopring_snapshot_changes]
    changes = LoopringSnapshotChangesOperator(
        task_id="changes", output_root=ROOT, output_format=FORMAT, output_conn_id=STORAGE_CONN_ID
    )
    # [END howto_operator_loopring_snapshot_changes]
    balances_complete >> changes

    # One XCom, the whole summary (a task returning a dict would also push each key apart).
    @task(outlets=[SNAPSHOTS], multiple_outputs=False)
    def summarize(
        balance_files: list[dict[str, Any]],
        collections_manifest: dict[str, Any],
        day_changes: dict[str, Any],
    ) -> dict[str, Any]:
        """Count what the day's balances hold and what changed; write summary.json."""
        import json
        from collections import Counter

        from airflow.sdk import get_current_context

        from airflow_provider_loopring.operators.arguments import run_day
        from airflow_provider_loopring.storage import snapshots

        context = get_current_context()
        root = context["params"]["output_root"].rstrip("/")
        day = run_day(context)
        folder = snapshots.partition(root, "balances", day)
        manifest = snapshots.read_manifest(folder, conn_id=STORAGE_CONN_ID) or {"files": []}
        per_collection: Counter[Any] = Counter()
        per_status: Counter[str] = Counter()
        for nft in snapshots.read_balances(folder, manifest, conn_id=STORAGE_CONN_ID):
            per_collection[nft.collection_id] += 1
            per_status[nft.status or "UNKNOWN"] += 1
        balance_files = balance_files[:]  # the mapped tasks' results, read in one request
        skipped = sorted({str(a) for ref in balance_files for a in ref["skipped_accounts"]})
        summary = {
            "day": day,
            "accounts": sum(ref["accounts"] for ref in balance_files),
            "skipped_accounts": len(skipped),
            "skipped": skipped[:100],
            "nfts": sum(per_status.values()),
            "collections": len(per_collection),
            "collection_records": collections_manifest["records"],
            "nfts_per_deployment_status": dict(per_status.most_common()),
            "top_collections": [
                {"id": collection_id, "nfts": count}
                for collection_id, count in per_collection.most_common(20)
            ],
            "changes": {
                "previous_day": day_changes["previous_day"],
                **{kind: day_changes[kind] for kind in ("added", "removed", "amount", "status")},
            },
        }
        folder = snapshots.partition(root, "summary", day)
        data = json.dumps(summary, indent=2, ensure_ascii=False).encode()
        written = snapshots.write_file(
            f"{folder}/summary.json", data, records=1, conn_id=STORAGE_CONN_ID
        )
        snapshots.commit_partition(
            folder, [written], conn_id=STORAGE_CONN_ID, kind="summary", day=day
        )
        context["outlet_events"][SNAPSHOTS].extra = {"root": root, "day": day}
        return summary

    summarize(balances.output, collections_complete, changes.output)
