"""What moved, day by day: every NFT transaction of Loopring accounts, one partition a day."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_loopring.operators.transactions import LoopringNftTransactionsOperator

# The default output root: a folder under AIRFLOW_HOME on the machine that runs the tasks.
# Give a shared store (s3://bucket/loopring, gs://..., ...) when workers run on several machines.
AIRFLOW_HOME = os.path.abspath(os.path.expanduser(os.environ.get("AIRFLOW_HOME", "~/airflow")))
DEFAULT_ROOT = f"file://{AIRFLOW_HOME}/loopring/history"
# The Airflow connection with the storage's credentials; None: the store's default credentials.
STORAGE_CONN_ID: str | None = None
# Loopring's documentation uses this account in its examples: replace it with yours.
DEFAULT_ACCOUNTS: list[int | str] = [11329]
RETRY_DELAY = timedelta(seconds=float(os.environ.get("LOOPRING_HISTORY_RETRY_DELAY", "60")))

# The interval's first day names its partition: a run of [Mar 1, Mar 2) writes dt=<Mar 1>.
DAY = "{{ data_interval_start | ds }}"
ROOT = "{{ params.output_root.rstrip('/') }}"
FORMAT = "{{ params.output_format }}"

with DAG(
    dag_id="loopring_nft_history",
    # Data intervals of a day (midnight to midnight, UTC): each run fetches the day before it.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
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
            description="Loopring account ids and/or 0x owner addresses.",
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
            description="Where history goes: any ObjectStoragePath URL (file://, s3://, ...).",
        ),
    },
    doc_md="""
### Loopring NFT history

For each day (a data interval, midnight to midnight UTC), every NFT transaction (mints,
transfers, deposits, withdrawals) of the accounts in `accounts`:

1. `begin` checks the accounts and marks the day's partition incomplete;
2. `nft_transactions` fetches the transactions made in `[data_interval_start,
   data_interval_end)` into `<output_root>/transactions/dt=<interval's first day>/part-0000.jsonl`
   (a transaction between two of the accounts once);
3. `complete` writes the partition's `_manifest.json` (files, records, bytes, SHA-256).

**Catch up and backfill.** An interval's history is the same whenever it is fetched, so past
days are welcome: unpaused, `airflow backfill create --dag-id loopring_nft_history
--from-date 2026-03-01 --to-date 2026-03-07` writes one partition per day, none missing or
doubled at the edges (a transaction made exactly at midnight belongs to the day it starts),
and a re-run of a day replaces that day. A manual run needs a logical date (its interval):
trigger it with one.

**Resume.** A failed try is retried (2 retries); the retry fetches only the accounts the failed
try did not finish.

**Reading a day.** A partition is complete when its `_manifest.json` is there; read the files
it lists.
""",
) as dag:

    @task
    def begin() -> list[int | str]:
        """The accounts, checked and without duplicates; the day's partition is incomplete."""
        from airflow.sdk import get_current_context

        from airflow_provider_loopring.operators.arguments import check_accounts
        from airflow_provider_loopring.storage import snapshots

        context = get_current_context()
        params = context["params"]
        accounts = [value for _, value in check_accounts(None, None, list(params["accounts"]))]
        day = context["data_interval_start"].to_date_string()
        snapshots.start_day(params["output_root"], day, ("transactions",), conn_id=STORAGE_CONN_ID)
        return accounts

    # [START howto_operator_loopring_nft_transactions]
    transactions = LoopringNftTransactionsOperator(
        task_id="nft_transactions",
        accounts=begin(),
        output_path=f"{ROOT}/transactions/dt={DAY}/part-0000.{FORMAT}",
        output_format=FORMAT,
        output_conn_id=STORAGE_CONN_ID,
    )
    # [END howto_operator_loopring_nft_transactions]

    @task(multiple_outputs=False)
    def complete(written: dict[str, Any]) -> dict[str, Any]:
        """Declare the day's partition complete: its manifest, written last."""
        from airflow.sdk import get_current_context

        from airflow_provider_loopring.storage import snapshots

        context = get_current_context()
        root = context["params"]["output_root"].rstrip("/")
        start, end = context["data_interval_start"], context["data_interval_end"]
        day = start.to_date_string()
        return snapshots.commit_partition(
            snapshots.partition(root, "transactions", day),
            [written],
            conn_id=STORAGE_CONN_ID,
            kind="transactions",
            day=day,
            start=start.isoformat(),
            end=end.isoformat(),
        )

    complete(transactions.output)
