"""### Start when what a Loopring account holds changes

Scheduled on the asset `loopring://<host>/account/<id>`, whose watcher
(`LoopringHoldingsEventTrigger`, in the triggerer) lists the account's NFT balances every
`poke_interval` and sends one asset event per poll that found changes: NFTs added or removed,
amounts or deployment statuses changed. The run counts the changes it was sent.

Set `LOOPRING_WATCH_ACCOUNT_ID` (default 11329) and `LOOPRING_HOLDINGS_POKE_INTERVAL`
(seconds, default 300) in the environment of the DAG processor; a watcher polls one request
per 50 NFTs the account holds per interval, shared with every other watcher of it.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_loopring.assets.loopring import asset_uri
from airflow_provider_loopring.triggers.events import LoopringHoldingsEventTrigger

ACCOUNT_ID = int(os.environ.get("LOOPRING_WATCH_ACCOUNT_ID", "11329"))
POKE_INTERVAL = float(os.environ.get("LOOPRING_HOLDINGS_POKE_INTERVAL", "300"))

# [START howto_trigger_loopring_holdings_event]
ACCOUNT_URI = asset_uri(account_id=ACCOUNT_ID)
holdings = Asset(
    name=ACCOUNT_URI,
    uri=ACCOUNT_URI,
    watchers=[
        AssetWatcher(
            name="loopring_holdings_changed",
            trigger=LoopringHoldingsEventTrigger(
                account_id=ACCOUNT_ID, poke_interval=POKE_INTERVAL, max_changes=1000
            ),
        )
    ],
)
# [END howto_trigger_loopring_holdings_event]

with DAG(
    "loopring_on_holdings_change",
    schedule=[holdings],
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["loopring", "example"],
):

    @task
    def count_changes(triggering_asset_events: Any = None) -> dict[str, int]:
        """How many NFTs were added, removed, or changed in amount or status, over the events."""
        counts = {"added": 0, "removed": 0, "amount": 0, "status": 0}
        for event in triggering_asset_events[holdings]:
            for change, count in event.extra["payload"]["counts"].items():
                counts[change] += count
        print(f"Account {ACCOUNT_ID}: {counts}")
        return counts

    count_changes()
