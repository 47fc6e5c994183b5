"""Deployment statuses and addresses: what a deployment wait compares."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from airflow_provider_loopring.models.fields import NONE, Kind, describe, read_str


class DeploymentStatus(str, Enum):
    """Layer-1 deployment status of an NFT contract (``deploymentStatus`` / ``deployStatus``)."""

    NOT_DEPLOYED = "NOT_DEPLOYED"
    DEPLOYING = "DEPLOYING"
    DEPLOYED = "DEPLOYED"
    DEPLOY_FAILED = "DEPLOY_FAILED"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        """Whether the status will not change any more without someone acting."""
        return self in (DeploymentStatus.DEPLOYED, DeploymentStatus.DEPLOY_FAILED)

    @classmethod
    def parse(cls, value: str) -> DeploymentStatus:
        """Read a status, ignoring case and surrounding whitespace.

        :param value: the status as Loopring or a user spells it.
        :raises ValueError: naming the value and the valid ones.
        """
        if isinstance(value, str):
            member = cls.__members__.get(value.strip().upper())
            if member is not None:
                return member
        valid = ", ".join(member.value for member in cls)
        raise ValueError(f"unknown deployment status {describe(value)}; expected one of {valid}")


_STATUSES = {status.value: status for status in DeploymentStatus}


def same_address(a: str | None, b: str | None) -> bool:
    """Whether two addresses are the same; Loopring mixes their case. ``None`` matches nothing.

    :param a: an address, or None.
    :param b: another, or None.
    """
    return a is not None and b is not None and a.lower() == b.lower()


def _read_status(raw: Mapping[str, Any], key: str) -> DeploymentStatus | str | None:
    value = raw.get(key)
    if type(value) is str and value in _STATUSES:  # Loopring's own spelling: the usual case
        return _STATUSES[value]
    value = read_str(raw, key)
    if value is None:
        return None
    try:
        return DeploymentStatus.parse(value)
    except ValueError:
        return value  # a status we do not know yet: keep Loopring's word, consumers decide


# A string is always read: the known ones become members; null stays None.
STATUS = Kind(frozenset({NONE}), _read_status)
