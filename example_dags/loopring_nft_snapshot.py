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
        "mode": Param(
            "incremental",
            enum=["incremental", "full"],
            description="incremental: fetch only the wallets the blocks since the last "
            "complete day name, carry the others; full: fetch every wallet.",
        ),
        "full_every": Param(
            7,
            type="integer",
            minimum=1,
            maximum=366,
            description="Scan in full when the last full scan is this many days old.",
        ),
        "verify_sample": Param(
            0.01,
            type="number",
            exclusiveMinimum=0,
            maximum=1,
            description="The share of carried wallets fetched to verify them (at least 1); "
            "any difference makes the night full.",
        ),
    },
    doc_md="""
### Loopring NFT snapshot

Once a day, for every account in `accounts` and in the file at `accounts_path` (ids or owner
addresses; ten thousand and more):

1. `batches` reads and checks the accounts, marks the day incomplete, plans the night (below)
   and splits the accounts it fetches into at most 4 batches; `carry` copies the records of
   the wallets an incremental night does not fetch from the last complete day;
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

**Incremental nights** (`mode`, default `incremental`): a night reads the layer-2 blocks since
the last complete day's cursor and fetches only the watched wallets they name (and wallets
added to the list); the others are carried forward. A random sample of the carried wallets
(`verify_sample`) is fetched and compared first: any difference, any doubt about the stored
day, no earlier day, `mode` `full`, or a last full scan `full_every` days old (default 7)
makes the night a full scan. `summary.json` says which it was and why. Fields that change
without a transaction (locked, pending, deployment status, metadata) are as fresh as each
record's `fetchedAt`, renewed by the full scans.

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
        """Plan the night (full or incremental); the wallets it fetches, in batches."""
        import itertools

        from airflow.sdk import get_current_context

        from airflow_provider_loopring._core import nights as checks
        from airflow_provider_loopring.hooks.loopring import LoopringHook
        from airflow_provider_loopring.operators import _resume
        from airflow_provider_loopring.operators.arguments import account_key, run_day
        from airflow_provider_loopring.operators.nights import plan_night
        from airflow_provider_loopring.operators.watch_list import WatchList
        from airflow_provider_loopring.storage import nights, snapshots
        from airflow_provider_loopring.storage.carry import write_carry

        context = get_current_context()
        params = context["params"]
        # Checked before anything is read or written (plan_night checks them again).
        checks.check_mode(params["mode"])
        checks.check_full_every(params["full_every"])
        checks.check_verify_sample(params["verify_sample"])
        path = params["accounts_path"]
        listed = snapshots.iter_accounts(path, conn_id=STORAGE_CONN_ID) if path else ()
        watched = WatchList(itertools.chain(params["accounts"], listed))  # 8 bytes an id
        day = run_day(context)
        root = params["output_root"].rstrip("/")
        snapshots.start_day(root, day, (*nights.KINDS, "changes"), conn_id=STORAGE_CONN_ID)
        cache = _resume.account_cache(
            f"{root}/_accounts", conn_id=STORAGE_CONN_ID, writer=f"{dag.dag_id}.batches"
        )
        night = plan_night(
            LoopringHook(),
            root=root,
            day=day,
            accounts=watched,
            mode=params["mode"],
            full_every=params["full_every"],
            verify_sample=params["verify_sample"],
            output_format=params["output_format"],
            cache=cache,
            conn_id=STORAGE_CONN_ID,
        )
        if cache is not None and cache.changed:
            cache.save()
        nights.write_watched(root, day, map(account_key, watched), conn_id=STORAGE_CONN_ID)
        context["ti"].xcom_push(key="night", value=night.about())
        if night.mode == "incremental":  # the ids in a file: XCom holds its size and digest
            carried = write_carry(root, day, night.carry, conn_id=STORAGE_CONN_ID)
            context["ti"].xcom_push(key="carry", value=carried)
        why = f" ({night.why_full})" if night.why_full else ""
        print(
            f"{day}: a {night.mode} night{why}, {len(watched)} accounts: "
            f"{len(night.fetch)} to fetch, {len(night.carry)} carried from {night.last_day}"
        )
        return snapshots.split(night.fetch, BATCHES)

    accounts = batches()
    shared: dict[str, Any] = {
        "output_conn_id": STORAGE_CONN_ID,
        "output_format": FORMAT,
        "account_cache_path": ROOT + "/_accounts",
        "on_missing_account": "skip",
        "max_active_tis_per_dag": 1,
        "record_fetched_at": True,
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
    def carry() -> dict[str, list[dict[str, Any]]]:
        """On an incremental night, the last complete day's records of the carried wallets."""
        from airflow.sdk import get_current_context

        from airflow_provider_loopring.operators.arguments import run_day
        from airflow_provider_loopring.storage import nights
        from airflow_provider_loopring.storage.carry import carry_forward, read_carry

        context = get_current_context()
        night = context["ti"].xcom_pull(task_ids="batches", key="night")
        if night["mode"] != "incremental":
            return {}
        root = context["params"]["output_root"].rstrip("/")
        day = run_day(context)
        last = nights.last_day(root, day, conn_id=STORAGE_CONN_ID)  # checked again
        if last is None or last.day != night["last_day"]:
            raise RuntimeError(f"the last complete day is no longer {night['last_day']}")
        carried = context["ti"].xcom_pull(task_ids="batches", key="carry")
        ids = read_carry(root, day, carried, conn_id=STORAGE_CONN_ID)  # checked
        files = {}
        for kind in ("balances", "collections"):
            files[kind] = carry_forward(root, last, kind, day, ids, conn_id=STORAGE_CONN_ID)
        return files

    carried = carry()
    accounts >> carried

    # none_failed: a night that fetches no wallet maps no balances task (all carried).
    @task(multiple_outputs=False, trigger_rule="none_failed")
    def complete(
        kind: str, files: list[dict[str, Any]] | None, carried: dict[str, Any]
    ) -> dict[str, Any]:
        """Declare a day's partition complete: its manifest, written last."""
        from airflow.sdk import get_current_context

        from airflow_provider_loopring.operators.arguments import run_day
        from airflow_provider_loopring.storage import snapshots

        context = get_current_context()
        root = context["params"]["output_root"].rstrip("/")
        day = run_day(context)
        folder = snapshots.partition(root, kind, day)
        return snapshots.commit_partition(
            folder,
            [*(files or [])[:], *carried.get(kind, [])],
            conn_id=STORAGE_CONN_ID,
            kind=kind,
            day=day,
        )

    balances_complete = complete.override(task_id="balances_complete")(
        "balances", balances.output, carried
    )
    collections_complete = complete.override(task_id="collections_complete")(
        "collections", collections.output, carried
    )
    # [START howto_operator_loopring_snapshot_changes]
    changes = LoopringSnapshotChangesOperator(
        task_id="changes", output_root=ROOT, output_format=FORMAT, output_conn_id=STORAGE_CONN_ID
    )
    # [END howto_operator_loopring_snapshot_changes]
    balances_complete >> changes

    # One XCom, the whole summary (a task returning a dict would also push each key apart).
    @task(outlets=[SNAPSHOTS], multiple_outputs=False, trigger_rule="none_failed")
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
        balance_files = (balance_files or [])[:]  # the mapped tasks' results, in one request
        skipped = sorted({str(a) for ref in balance_files for a in ref["skipped_accounts"]})
        night = context["ti"].xcom_pull(task_ids="batches", key="night")
        fetched = sum(ref["accounts"] for ref in balance_files)
        summary = {
            "day": day,
            "accounts": fetched + night["carried_accounts"],
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
            "format": context["params"]["output_format"],
            **night,
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
