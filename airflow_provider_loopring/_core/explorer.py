"""Where Loopring's explorer shows an account, a collection or a transaction, from a host.

Loopring's explorer (https://explorer.loopring.io) shows mainnet only: ``/account/<id or
0x address>``, ``/collections/<contract address>`` and ``/tx/<blockId>-<indexInBlock>``. We
know of no public explorer of the test net (uat2.loopring.io), so a connection to it, to the
sandbox or to a proxy has no link unless its extra ``explorer_url`` names one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_loopring._core.settings import DEFAULT_HOST, base_url
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

MAINNET_EXPLORER = "https://explorer.loopring.io"
_EXPLORERS = {DEFAULT_HOST: MAINNET_EXPLORER}


def explorer_url(api_url: str, extra: Mapping[str, Any]) -> str | None:
    """The explorer for a connection: its ``explorer_url`` extra, else the one of its host.

    :param api_url: the connection's base URL (:func:`..settings.base_url`).
    :param extra: the connection's extras; ``explorer_url`` is checked as the host is
        (https, or http to a loopback host).
    :return: the explorer's base URL, or None when none is known.
    """
    given = extra.get("explorer_url")
    if not given:
        return _EXPLORERS.get(api_url)
    try:
        return base_url(str(given))
    except LoopringInvalidParameterError as error:  # base_url names the host: not this
        raise LoopringInvalidParameterError(
            "connection extra 'explorer_url'",
            "an https:// URL of the explorer (plain http:// only to a loopback host); "
            f"{error.expected}",
            given,
        ) from None


def account_page(explorer: str, account: object) -> str:
    """:param account: an account id or an owner address."""
    return f"{explorer}/account/{str(account).lower()}"


def collection_page(explorer: str, contract_address: str) -> str:
    """:param contract_address: the collection's contract (token) address."""
    return f"{explorer}/collections/{contract_address.lower()}"


def block_page(explorer: str, block_id: int) -> str:
    """:param block_id: a layer-2 block's id."""
    return f"{explorer}/block/{block_id}"


def transaction_page(explorer: str, block_id: int, index: int) -> str:
    """:param block_id: the transaction's block; :param index: its position in the block."""
    return f"{explorer}/tx/{block_id}-{index}"
