"""What changed in an account's NFT holdings between two looks: shared by the snapshot changes
and the holdings watcher, so both say the same thing of the same two states.

A look is a mapping ``nftData -> Holding`` (what the account held: the amount as Loopring's
decimal string, and the deployment status). Pure and small: one account at a time, so memory
holds one account's NFTs (~100 bytes each), never two whole snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

ADDED, REMOVED, AMOUNT, STATUS = "added", "removed", "amount", "status"
CHANGES = (ADDED, REMOVED, AMOUNT, STATUS)


class Holding(NamedTuple):
    """One NFT as an account held it: ``total`` a decimal string, ``status`` its deployment."""

    total: str
    status: str | None = None


@dataclass(frozen=True)
class Change:
    """One NFT whose holding changed.

    :param change: ``added`` (held now, not before), ``removed`` (held before, not now),
        ``amount`` (the total changed; the status may have too) or ``status`` (only the
        deployment status changed).
    """

    nft_data: str
    change: str
    total_before: str | None
    total_after: str | None
    status_before: str | None
    status_after: str | None

    def to_dict(self) -> dict[str, Any]:
        """Loopring's spelling (``nftData``, ``deploymentStatus``) for records and payloads."""
        data = asdict(self)
        return {
            "nftData": data["nft_data"],
            "change": data["change"],
            "totalBefore": data["total_before"],
            "totalAfter": data["total_after"],
            "deploymentStatusBefore": data["status_before"],
            "deploymentStatusAfter": data["status_after"],
        }


def held(total: object) -> bool:
    """Whether an amount means the NFT is held (Loopring lists zero balances too).

    :param total: a balance's ``total``, as Loopring's decimal string or a number.
    """
    return str(total).strip() not in ("", "0")


def holdings(balances: Iterable[Mapping[str, Any]]) -> dict[str, Holding]:
    """An account's holdings from its balance records (Loopring's dicts); zero ones left out."""
    return {
        str(b["nftData"]).lower(): Holding(str(b["total"]), b.get("deploymentStatus"))
        for b in balances
        if b.get("nftData") and held(b.get("total", "0"))
    }


def compare(before: Mapping[str, Holding], after: Mapping[str, Holding]) -> list[Change]:
    """Every NFT whose holding differs, in a stable order (after's order, then removed ones).

    :param before: the earlier look, from :func:`holdings`.
    :param after: the later look, from :func:`holdings`.
    """
    changes = []
    for nft_data, now in after.items():
        was = before.get(nft_data)
        if was is None:
            changes.append(Change(nft_data, ADDED, None, now.total, None, now.status))
        elif was.total != now.total:
            changes.append(Change(nft_data, AMOUNT, was.total, now.total, was.status, now.status))
        elif was.status != now.status:
            changes.append(Change(nft_data, STATUS, was.total, now.total, was.status, now.status))
    for nft_data, was in before.items():
        if nft_data not in after:
            changes.append(Change(nft_data, REMOVED, was.total, None, was.status, None))
    return changes


def counts(changes: Iterable[Change]) -> dict[str, int]:
    """How many changes of each kind (every kind present, zeros included)."""
    found = dict.fromkeys(CHANGES, 0)
    for change in changes:
        found[change.change] += 1
    return found


def to_state(look: Mapping[str, Holding]) -> dict[str, list[str | None]]:
    """A look as JSON primitives (``nftData -> [total, status]``), compact for a state store."""
    return {nft_data: [holding.total, holding.status] for nft_data, holding in look.items()}


def from_state(state: Mapping[str, Any]) -> dict[str, Holding]:
    """The inverse of :func:`to_state`; raises ValueError on anything else."""
    try:
        return {
            str(k): Holding(str(v[0]), None if v[1] is None else str(v[1]))
            for k, v in state.items()
        }
    except (TypeError, IndexError, KeyError, AttributeError) as error:
        raise ValueError(f"not a stored look of holdings: {error}") from None
