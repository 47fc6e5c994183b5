"""The decisions of an incremental snapshot night: its params, full or not, the sample.

A night is *full* (every watched wallet fetched) or *incremental* (only the wallets the
blocks since the last complete day name, the others carried forward). Pure: plain values in,
a decision out; the storage and the hook do the reading.
"""

from __future__ import annotations

import bisect
import datetime
import math
import random
from array import array
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_loopring._core.holdings import held
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

MODES = ("incremental", "full")
MAX_FULL_EVERY = 366
MAX_DIFFERED_SHOWN = 100  # wallets a summary names when a verification fails


def check_mode(value: object) -> str:
    """``"incremental"`` or ``"full"``.

    :param value: the DAG's ``mode`` param.
    :raises LoopringInvalidParameterError: anything else.
    """
    if not isinstance(value, str) or value not in MODES:
        raise LoopringInvalidParameterError("mode", '"incremental" or "full"', value)
    return value


def check_full_every(value: object) -> int:
    """Days between two full scans: a whole number from 1 to 366.

    :param value: the DAG's ``full_every`` param.
    :raises LoopringInvalidParameterError: not such a number.
    """
    if type(value) is not int or not 1 <= value <= MAX_FULL_EVERY:
        raise LoopringInvalidParameterError(
            "full_every", f"a whole number of days from 1 to {MAX_FULL_EVERY}", value
        )
    return value


def check_verify_sample(value: object) -> float:
    """The share of carried wallets fetched to verify them: above 0, at most 1.

    :param value: the DAG's ``verify_sample`` param.
    :raises LoopringInvalidParameterError: not such a number.
    """
    number = math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    if not 0 < number <= 1:
        raise LoopringInvalidParameterError(
            "verify_sample", "a share above 0 and at most 1 (0.01: one wallet in a hundred)", value
        )
    return number


def days_between(before: str, after: str) -> int:
    """Whole days from ``before`` to ``after`` ("YYYY-MM-DD" each).

    :param before: the earlier day.
    :param after: the later day.
    """
    return (datetime.date.fromisoformat(after) - datetime.date.fromisoformat(before)).days


def why_full(
    mode: str, day: str, full_every: int, last_day: str | None, last_full_day: str | None
) -> str | None:
    """Why the night must scan in full, or None when it may go incremental.

    :param mode: the checked ``mode``.
    :param day: the night's day.
    :param full_every: the checked ``full_every``.
    :param last_day: the last complete day before ``day``, if any.
    :param last_full_day: the day of the last full scan, as the last day records it.
    """
    if mode == "full":
        return 'mode is "full"'
    if last_day is None or last_full_day is None:
        return "no earlier complete day to carry from"
    age = days_between(last_full_day, day)
    if age >= full_every:
        return f"the last full scan ({last_full_day}) is {age} days old (full_every {full_every})"
    return None


def sample_size(carried: int, share: float) -> int:
    """How many of ``carried`` wallets to verify: ``share`` of them, at least 1 when any.

    :param carried: the wallets the night would carry.
    :param share: the checked ``verify_sample``.
    """
    if carried <= 0:
        return 0
    return min(carried, max(1, round(carried * share)))


def choose_sample(candidates: Sequence[Any], share: float, rng: random.Random) -> list[Any]:
    """A random sample of the wallets the night would carry (:func:`sample_size` of them).

    :param candidates: the wallets, in any order.
    :param share: the checked ``verify_sample``.
    :param rng: the random source.
    """
    # no copy of a list: the same draw, without a second list of every carried wallet
    population = candidates if isinstance(candidates, list) else list(candidates)
    return rng.sample(population, sample_size(len(candidates), share))


def held_totals(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``nftData`` (lowercase) -> ``total`` of the NFTs held (zero balances left out).

    :param records: one wallet's balances (Loopring's records, or the stored ones).
    """
    totals: dict[str, str] = {}
    for record in records:
        total = str(record.get("total", "0"))
        if held(total):
            key = str(record.get("nftData", "")).lower()
            totals[key] = str(int(totals.get(key, "0")) + int(total))
    return totals


def differences(carried: Mapping[str, str], fetched: Mapping[str, str]) -> str | None:
    """How a carried wallet's holdings differ from what Loopring answers now; None if equal.

    :param carried: the holdings the last complete day recorded (:func:`held_totals`).
    :param fetched: the holdings fetched now.
    """
    if carried == fetched:
        return None
    gone = sorted(set(carried) - set(fetched))
    new = sorted(set(fetched) - set(carried))
    moved = sorted(k for k in set(carried) & set(fetched) if carried[k] != fetched[k])
    parts = [
        f"{len(items)} NFT(s) {what} (first {items[0]})"
        for items, what in ((new, "held now, not recorded"), (gone, "recorded, not held"))
        if items
    ]
    parts += [f"{k}: {carried[k]} recorded, {fetched[k]} held" for k in moved[:3]]
    return "; ".join(parts)


class AccountIds(Collection[int]):
    """A set of account ids held as one sorted ``array('q')``: 8 bytes an id.

    A night's carried and watched wallets number as many as the watch list; a Python
    ``set`` of them costs ~70 bytes a wallet (its table and the int objects), this 8.

    :param ids: the account ids, in any order (duplicates kept once).
    """

    def __init__(self, ids: Iterable[int] = ()) -> None:
        values = array("q", ids)
        if any(values[i] >= values[i + 1] for i in range(len(values) - 1)):
            values = array("q", sorted(set(values)))  # not sorted and unique as given
        self.values = values

    def __contains__(self, account: object) -> bool:
        if type(account) is not int:
            return False
        index = bisect.bisect_left(self.values, account)
        return index < len(self.values) and self.values[index] == account

    def __iter__(self) -> Iterator[int]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)
