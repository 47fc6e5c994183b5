"""### Start the moment a Loopring collection reaches layer 1

No one triggers this DAG: it is scheduled on the asset `loopring://<host>/account/<id>`,
whose watcher (`LoopringDeploymentEventTrigger`, in the triggerer) polls the account's
collections and sends one asset event each time one of them becomes `DEPLOYED`. The run reads
`triggering_asset_events` to know which collections deployed (several, when they deployed
between two scheduler loops) and lists the NFTs the account holds of each.

Set `LOOPRING_WATCH_ACCOUNT_ID` (default 11329) and `LOOPRING_DEPLOYMENT_POKE_INTERVAL`
(seconds, default 60) in the environment of the DAG processor; a watcher polls one request
per 50 collections of the account per interval, shared with every other watcher of it.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_loopring.assets.loopring import asset_uri
from airflow_provider_loopring.triggers.events import LoopringDeploymentEventTrigger

ACCOUNT_ID = int(os.environ.get("LOOPRING_WATCH_ACCOUNT_ID", "11329"))
POKE_INTERVAL = float(os.environ.get("LOOPRING_DEPLOYMENT_POKE_INTERVAL", "60"))

# [START howto_trigger_loopring_deployment_event]
# Named by its URI, so every DAG that spells this account's URI differently still means it.
ACCOUNT_URI = asset_uri(account_id=ACCOUNT_ID)
deployments = Asset(
    name=ACCOUNT_URI,
    uri=ACCOUNT_URI,
    watchers=[
        AssetWatcher(
            name="loopring_collection_deployed",
            trigger=LoopringDeploymentEventTrigger(
                account_id=ACCOUNT_ID, poke_interval=POKE_INTERVAL
            ),
        )
    ],
)
# [END howto_trigger_loopring_deployment_event]

with DAG(
    "loopring_on_deployment",
    schedule=[deployments],
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["loopring", "example"],
):

    @task
    def deployed_nfts(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """For each collection that deployed: its id, contract, and the account's NFTs of it."""
        from airflow_provider_loopring.hooks.loopring import LoopringHook

        hook, found = LoopringHook(), []
        try:
            for event in triggering_asset_events[deployments]:
                payload = event.extra["payload"]
                record = payload["record"]
                nfts = hook.iter_nft_balances(
                    account_id=payload["account_id"], token_addrs=[record["contractAddress"]]
                )
                found.append(
                    {
                        "collection_id": record["id"],
                        "contract_address": record["contractAddress"],
                        "transition": payload["transition"],
                        "nft_datas": [nft.nft_data for nft in nfts],
                    }
                )
        finally:
            hook.close()
        return found

    deployed_nfts()
