"""The shared rate budget's proof on Celery (tests/integration/test_celery_budget.py).

Balances batches pinned one to each worker's queue (``worker-1``, ``worker-2``) run side by
side, while deferrable collection sensors, queued first, wait in the triggerer: every hook on
one Loopring connection, whose ``rate_limit_conn_id`` names the Redis that is also Celery's
broker. The plan (accounts, collections, output folder) comes from ``LOOPRING_IT_PLAN``.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_loopring.operators.loopring import LoopringNftBalancesOperator
from airflow_provider_loopring.sensors.loopring import LoopringCollectionDeploymentSensor

PLAN = json.loads(os.environ.get("LOOPRING_IT_PLAN", '{"batches": [], "waits": [], "root": ""}'))

with DAG(
    dag_id="loopring_shared_budget",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
):
    for number, (account_id, collection_id) in enumerate(PLAN["waits"], 1):
        LoopringCollectionDeploymentSensor(
            task_id=f"wait_{number}",
            account_id=account_id,
            collection_id=collection_id,
            deferrable=True,
            poke_interval=1,
            timeout=timedelta(minutes=10),
            priority_weight=100,  # queued before the batches: deferred while they run
            weight_rule="absolute",
        )
    for number, accounts in enumerate(PLAN["batches"], 1):
        LoopringNftBalancesOperator(
            task_id=f"balances_{number}",
            account_id=accounts,
            non_zero=False,
            output_path=f"file://{PLAN['root']}/balances_{number}.jsonl",
            max_workers=4,
            queue=f"worker-{number}",
        )
