"""What a deployment wait or a watcher selects, fetched: the I/O under the core's selections.

One ``fetch`` for the sensors (poke and reschedule mode) and one ``afetch`` for the deployment
trigger and the event triggers: a selection names its endpoint and arguments
(:mod:`airflow_provider_loopring._core.selections`), the hook lists every page of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_loopring._core.selections import Selection
    from airflow_provider_loopring.hooks._client import LoopringClient


def fetch(hook: LoopringClient, selection: Selection) -> list[Any]:
    """Every record of what ``selection`` names, with the hook's sync transport.

    :param hook: the hook to list with.
    :param selection: the NFTs or collections of one account.
    """
    return list(hook.iterate(selection.endpoint, **selection.query()))


async def afetch(hook: LoopringClient, selection: Selection) -> list[Any]:
    """The async twin of :func:`fetch` (the triggerer).

    :param hook: the hook to list with.
    :param selection: the NFTs or collections of one account.
    """
    return [item async for item in hook.aiterate(selection.endpoint, **selection.query())]
