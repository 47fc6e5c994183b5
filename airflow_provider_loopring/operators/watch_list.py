"""A watch list of any length, held compactly: 8 bytes an account id.

The snapshot DAG's watch list comes from its ``accounts`` param and a file of ten thousands or
hundred thousands of accounts (``storage.snapshots.iter_accounts``). As a list of
``("account_id", id)`` pairs it costs ~100 bytes a wallet, and checking it for repeats as a set
of keys as much again; :class:`WatchList` keeps the order given in one ``array('q')`` (an id,
or the place of an address among the addresses) and finds repeats through the sorted ids.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from airflow_provider_loopring._core.nights import AccountIds
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.operators.arguments import AccountRef, check_account


class WatchList(Sequence[AccountRef]):
    """Accounts, each once, in the order first given; a ``Sequence`` of ``AccountRef`` pairs.

    :param values: account ids and owner addresses (as ``check_accounts`` takes them), each
        checked; a repeat (an address in another case too) is kept once, where first given.
    :param name: the parameter named when a value is not an account.
    :raises LoopringInvalidParameterError: a value is no account id or address, or none given.
    """

    def __init__(self, values: Iterable[object], name: str = "accounts") -> None:
        order: array[int] = array("q")  # an id (>= 0), or -1 - the address's place
        self.addresses: list[str] = []
        places: dict[str, int] = {}  # lowercase address -> its place (addresses are few)
        for value in values:
            kind, checked = check_account(value, name)
            if kind == "account_id":
                order.append(checked)
            elif (key := checked.lower()) not in places:
                places[key] = len(self.addresses)
                self.addresses.append(checked)
                order.append(-1 - places[key])
        if not order:
            raise LoopringInvalidParameterError(name, "at least one account", [])
        self.ids = AccountIds(value for value in order if value >= 0)
        first = bytearray(len(self.ids))  # whether each id was met already
        self._order: array[int] = array("q")
        for value in order:
            if value < 0:
                self._order.append(value)
            elif not first[at := self.ids.index(value)]:
                first[at] = 1
                self._order.append(value)

    def _ref(self, value: int) -> AccountRef:
        return ("account_id", value) if value >= 0 else ("address", self.addresses[-1 - value])

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[AccountRef]:
        return map(self._ref, self._order)

    @overload
    def __getitem__(self, index: int) -> AccountRef: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[AccountRef]: ...

    def __getitem__(self, index: int | slice) -> AccountRef | Sequence[AccountRef]:
        if isinstance(index, slice):
            return [self._ref(value) for value in self._order[index]]
        return self._ref(self._order[index])
