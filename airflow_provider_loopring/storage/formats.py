"""How records are framed in a file: JSON Lines (one per line) or one JSON array."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

FORMATS = ("jsonl", "json")


@dataclass(frozen=True)
class Layout:
    """How records are framed: ``start``, records joined by ``between``, ``end``."""

    start: bytes
    between: bytes
    line_end: bytes
    end: bytes


LAYOUTS = {
    "jsonl": Layout(start=b"", between=b"", line_end=b"\n", end=b""),
    "json": Layout(start=b"[", between=b",\n", line_end=b"", end=b"]\n"),
}


def check_output_format(value: object) -> str:
    if not isinstance(value, str) or value not in FORMATS:
        raise LoopringInvalidParameterError("output_format", '"jsonl" or "json"', value)
    return value


def encode(record: dict[str, Any]) -> bytes:
    # ASCII escapes: a lone surrogate the API may send cannot break the UTF-8 encoding.
    return json.dumps(record, separators=(",", ":")).encode()
