"""The output formats: JSON Lines (one record a line), one JSON array, or Parquet.

JSON formats frame Loopring's records as they are (:data:`LAYOUTS`); Parquet writes the
declared columns of :mod:`.schemas` (see :mod:`.parquet`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

FORMATS = ("jsonl", "json", "parquet")
EXTENSIONS = {"jsonl": "jsonl", "json": "json", "parquet": "parquet"}


@dataclass(frozen=True)
class Layout:
    """How records are framed: ``start``, records joined by ``between``, ``end``.

    :param start: written before the first record (``[`` for a JSON array).
    :param between: written between two records.
    :param line_end: written after each record (a newline for JSON Lines).
    :param end: written after the last record.
    """

    start: bytes
    between: bytes
    line_end: bytes
    end: bytes


LAYOUTS = {
    "jsonl": Layout(start=b"", between=b"", line_end=b"\n", end=b""),
    "json": Layout(start=b"[", between=b",\n", line_end=b"", end=b"]\n"),
}


def check_output_format(value: object) -> str:
    """An output format, checked: one of :data:`FORMATS`.

    :param value: the operator's ``output_format``.
    :raises LoopringInvalidParameterError: if it is not one of them.
    """
    if not isinstance(value, str) or value not in FORMATS:
        raise LoopringInvalidParameterError("output_format", '"jsonl", "json" or "parquet"', value)
    return value


def encode(record: dict[str, Any]) -> bytes:
    """A record as compact JSON, ASCII only.

    :param record: a record as Loopring sent it (plain JSON values).
    """
    # ASCII escapes: a lone surrogate the API may send cannot break the UTF-8 encoding.
    return json.dumps(record, separators=(",", ":")).encode()
