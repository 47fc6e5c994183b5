"""Wait until given Loopring NFTs are deployed to layer 1, checking every few minutes."""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_loopring.sensors.loopring import LoopringNftDeploymentSensor

# Seconds between checks; the environment variable lets a test against the sandbox wait less.
POKE_INTERVAL = float(os.environ.get("LOOPRING_DEPLOYMENT_POKE_INTERVAL", "300"))

with DAG(
    dag_id="loopring_await_nft_deployment",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["loopring", "example"],
    params={
        "account_id": Param(type="integer", minimum=1, description="The account holding them."),
        "nft_datas": Param(
            type="string", minLength=1, description="The NFTs' nftData, comma-separated."
        ),
    },
    doc_md="""
### Await the layer-1 deployment of some NFTs

Trigger it with `{"account_id": ..., "nft_datas": "0x...,0x..."}`. `wait_for_nfts` checks
the NFTs' `deploymentStatus` every `poke_interval` in reschedule mode: between two checks it
holds no worker slot and needs no triggerer. It succeeds once every NFT is `DEPLOYED` and
returns their records; one `DEPLOY_FAILED` fails it at once. The statuses it saw are in its
log (Airflow 3.3+, whose task state store keeps them between checks).

The Loopring connection is `loopring_default`.
""",
) as dag:
    # [START howto_sensor_loopring_nft_deployment]
    wait_for_nfts = LoopringNftDeploymentSensor(
        task_id="wait_for_nfts",
        account_id="{{ params.account_id }}",
        nft_datas="{{ params.nft_datas }}",
        mode="reschedule",
        poke_interval=POKE_INTERVAL,
        timeout=timedelta(hours=6),
    )
    # [END howto_sensor_loopring_nft_deployment]
