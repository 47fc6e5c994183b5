"""The XCom sink: an operator's records themselves, refused beyond ``max_xcom_records``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_loopring.version_compat import AirflowFailException


class ListPart:
    """One account's records, in memory."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    @property
    def records(self) -> int:
        """How many records the part holds."""
        return len(self.items)

    def write(self, record: dict[str, Any]) -> None:
        """Keep one record.

        :param record: a record as Loopring sent it.
        """
        self.items.append(record)

    def close(self) -> None:
        """Nothing to release; here so both kinds of part are used the same way."""


class XComRecords:
    """The XCom sink: the records themselves, refused beyond ``max_records``.

    :param max_records: the most records the XCom may hold (``max_xcom_records``).
    """

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records

    def check(self, total: int) -> None:
        """Refuse ``total`` records (as reported by the API, or as received) above the cap.

        :param total: the records there are, or will be.
        :raises AirflowFailException: ``total`` is over ``max_records``; retries cannot help.
        """
        if total > self.max_records:
            raise AirflowFailException(
                f"Loopring reports at least {total} records, more than "
                f"max_xcom_records={self.max_records}. Set output_path to write them to object "
                "storage (the XCom then holds a small reference), or raise max_xcom_records."
            )

    def new_part(self) -> ListPart:
        """An empty part for one account's records."""
        return ListPart()

    def commit(self, parts: Sequence[ListPart]) -> list[dict[str, Any]]:
        """Every part's records, in order: the XCom, checked against the cap once more.

        :param parts: every account's part, in the order the XCom lists them.
        """
        records = [record for part in parts for record in part.items]
        self.check(len(records))  # totalNum may have grown while we read
        return records
