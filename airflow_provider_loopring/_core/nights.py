"""The decisions of an incremental snapshot night: its params, full or not, the sample.

A night is *full* (every watched wallet fetched) or *incremental* (only the wallets the
blocks since the last complete day name, the others carried forward). Pure: plain values in,
a decision out; the storage and the hook do the reading.
"""

from __future__ import annotations

import bisect
import datetime
import heapq
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
    return rng.sample(candidates, sample_size(len(candidates), share))  # no copy made


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
    ``set`` of them costs ~70 bytes a wallet (its table and the int objects), this 8; ids
    given out of order are sorted a chunk at a time (:func:`sorted_unique`), so no list or
    set of them all is made on the way.

    :param ids: the account ids, in any order (duplicates kept once).
    """

    def __init__(self, ids: Iterable[int] = ()) -> None:
        values = ids if isinstance(ids, array) and ids.typecode == "q" else array("q", ids)
        if any(values[i] >= values[i + 1] for i in range(len(values) - 1)):
            values = sorted_unique(values)  # not sorted and unique as given
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

    def index(self, account: int) -> int:
        """Where ``account`` is in the sorted ids (it must be there).

        :param account: an account id the set holds.
        """
        return bisect.bisect_left(self.values, account)


SORT_CHUNK = 8_192  # ids sorted as Python ints at a time: ~300 KiB of objects


def sorted_unique(values: array[int]) -> array[int]:
    """``values`` sorted, each once, as a new ``array('q')``: chunks sorted, then merged.

    Memory: the chunks' arrays and the result, 8 bytes an id each, and one chunk of Python
    ints; ``sorted(set(values))`` would hold ~100 bytes an id.

    :param values: the ids, in any order.
    """
    chunks = [
        array("q", sorted(values[start : start + SORT_CHUNK]))
        for start in range(0, len(values), SORT_CHUNK)
    ]
    merged: array[int] = array("q")
    for value in heapq.merge(*chunks):
        if not merged or merged[-1] != value:
            merged.append(value)
    return merged
