"""Wait, in the triggerer, until a Loopring collection is deployed; then fetch its NFTs."""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_loopring.operators.loopring import LoopringNftBalancesOperator
from airflow_provider_loopring.sensors.loopring import LoopringCollectionDeploymentSensor

# Seconds between checks. Deploying to layer 1 takes minutes to hours: checking once a minute
# is plenty, and each check costs one or two API calls. The environment variable lets a test
# or a demo against the sandbox wait less.
POKE_INTERVAL = float(os.environ.get("LOOPRING_DEPLOYMENT_POKE_INTERVAL", "60"))

with DAG(
    dag_id="loopring_await_deployment",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["loopring", "example"],
    params={
        "account_id": Param(type="integer", minimum=1, description="The collection's account."),
        "collection_id": Param(type="integer", minimum=0, description="The collection to await."),
    },
    doc_md="""
### Await a Loopring collection's deployment

Trigger it with `{"account_id": ..., "collection_id": ...}` once you have asked Loopring to
deploy a collection's contract to layer 1.

1. `wait_for_deployment` checks the collection's `deployStatus` once, then defers: the wait
   (up to 12 hours) runs in the triggerer and holds no worker slot. Every transition it sees
   (`NOT_DEPLOYED -> DEPLOYING -> DEPLOYED`) is in the task's log; `DEPLOY_FAILED` fails the
   task at once. It returns the collection record.
2. `deployed_nfts` then fetches the account's NFTs of that collection (`token_addrs` = the
   collection's `contractAddress`) and returns them as XCom.

The Loopring connection is `loopring_default`.
""",
) as dag:
    # [START howto_sensor_loopring_collection_deployment]
    wait_for_deployment = LoopringCollectionDeploymentSensor(
        task_id="wait_for_deployment",
        account_id="{{ params.account_id }}",
        collection_id="{{ params.collection_id }}",
        deferrable=True,
        poke_interval=POKE_INTERVAL,
        timeout=timedelta(hours=12),
    )
    # [END howto_sensor_loopring_collection_deployment]

    # [START howto_operator_loopring_nft_balances_after_deployment]
    deployed_nfts = LoopringNftBalancesOperator(
        task_id="deployed_nfts",
        account_id="{{ params.account_id }}",
        token_addrs="{{ ti.xcom_pull(task_ids='wait_for_deployment')['contractAddress'] }}",
    )
    # [END howto_operator_loopring_nft_balances_after_deployment]

    wait_for_deployment >> deployed_nfts
