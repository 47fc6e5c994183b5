"""What an operator hands each account's records to: a sink, and the part of it per account.

Two sinks implement these: :class:`~.xcom.XComRecords` (parts in memory, the records become
the XCom) and :class:`~.objects.ObjectStorageWriter` (parts are local files, committed as one
object). The operators are written against these protocols, not against either sink.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar


class Part(Protocol):
    """One account's records in a sink: written one by one, closed when the account is done."""

    @property
    def records(self) -> int:
        """How many records the part holds."""
        ...

    def write(self, record: dict[str, Any]) -> None:
        """Add one record.

        :param record: a record as Loopring sent it.
        """
        ...

    def close(self) -> None:
        """Release what the part holds open; it keeps its records for the commit."""
        ...


P_co = TypeVar("P_co", bound=Part, covariant=True)


class Sink(Protocol[P_co]):
    """Where an operator's records go: a new part per account, committed together."""

    def new_part(self) -> P_co:
        """An empty part for one account's records."""
        ...
