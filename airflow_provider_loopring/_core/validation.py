"""Argument checks: each names its parameter and what was expected, before any request."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeGuard

from airflow_provider_loopring.exceptions import (
    LoopringInvalidParameterError,
)

MAX_LIMIT = 50
NAMED_BLOCKS = ("finalized", "confirmed")  # getBlock's ids besides numbers


MAX_ID = 2**63 - 1  # Loopring's ids are 64-bit; a longer number is garbage, not an id


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


_NFT_DATA = re.compile(r"0x[0-9a-fA-F]{64}")


def finite(value: object, minimum: float) -> bool:
    """A real number (not a bool, NaN or infinity) of at least ``minimum``.

    :param value: what to check.
    :param minimum: the smallest value allowed.
    """
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= minimum
    )


def _hex_text(value: object, digits: int) -> object:
    """Undo Jinja's native mode, which reads "0x…" text as a Python int (ast.literal_eval)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 16**digits:
        return f"0x{value:0{digits}x}"
    return value


def check_address(value: object, name: str = "address") -> str:
    value = _hex_text(value, 40)
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value.strip()):
        raise LoopringInvalidParameterError(name, "an address: 0x followed by 40 hex digits", value)
    return value.strip()


DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: str.isdigit() also takes "²", int() not


def _whole(value: object, name: str, expected: str, minimum: int) -> int:
    """An integer (or its digits as text, as templates render them) of at least ``minimum``."""
    if isinstance(value, str) and DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if not _bounded_int(value, minimum):
        raise LoopringInvalidParameterError(name, expected, value)
    return value


def _bounded_int(value: object, minimum: int, maximum: int = MAX_ID) -> TypeGuard[int]:
    """An int (not a bool) in range: a 5,000-digit int would not even render as a query."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum


def check_account_id(value: object, name: str = "account_id") -> int:
    """A positive account id: an int, or its digits as text (as templates render them).

    :param value: what to check.
    :param name: the parameter to name in the error.
    :raises LoopringInvalidParameterError: if it is not one.
    """
    return _whole(value, name, "a positive integer account id", 1)


def check_collection_id(value: object, name: str = "collection_id") -> int:
    return _whole(value, name, "a collection id (a non-negative integer)", 0)


def check_nft_data(value: object, name: str = "nft_datas") -> str:
    value = _hex_text(value, 64)
    if not isinstance(value, str) or not _NFT_DATA.fullmatch(value.strip()):
        raise LoopringInvalidParameterError(
            name, "nftData values: 0x followed by 64 hex digits", value
        )
    return value.strip()


def check_hash(value: object, name: str) -> str:
    """A layer-2 hash (of a trade, an order): 0x followed by 64 hex digits.

    :param value: what to check.
    :param name: the parameter to name in the error.
    """
    value = _hex_text(value, 64)
    if not isinstance(value, str) or not _NFT_DATA.fullmatch(value.strip()):
        raise LoopringInvalidParameterError(name, "a hash: 0x followed by 64 hex digits", value)
    return value.strip()


def check_token_id(value: object, name: str = "token_ids") -> int:
    return _whole(value, name, "token ids: non-negative integers", 0)


def check_millis(value: object, name: str) -> int:
    """A moment as epoch milliseconds: an aware datetime (pendulum's too), or the milliseconds.

    :param value: a timezone-aware ``datetime``, or a non-negative int of milliseconds (or its
        digits as text, as templates render them).
    :param name: the parameter to name in the error.
    :raises LoopringInvalidParameterError: a naive datetime (which zone?) or anything else.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise LoopringInvalidParameterError(
                name, "a timezone-aware datetime (a naive one names no moment)", value
            )
        return round(value.timestamp() * 1000)
    return _whole(value, name, "an aware datetime or epoch milliseconds", 0)


def check_block_id(value: object, name: str = "block_id") -> int | str:
    """A block: its id (a non-negative integer) or ``"finalized"`` / ``"confirmed"``.

    :param value: what to check.
    :param name: the parameter to name in the error.
    """
    if value in NAMED_BLOCKS:
        return str(value)
    return _whole(value, name, 'a block id, "finalized" or "confirmed"', 0)


def choice(values: Iterable[str]) -> Callable[[object, str], str]:
    """A check that takes one of ``values`` (case as given there).

    :param values: the values Loopring knows.
    """
    known = tuple(values)

    def check(value: object, name: str) -> str:
        text = value.strip() if isinstance(value, str) else value
        if text not in known:
            raise LoopringInvalidParameterError(name, f"one of {', '.join(known)}", value)
        return str(text)

    return check


def check_limit(value: object, name: str = "limit", maximum: int = MAX_LIMIT) -> int:
    if not _bounded_int(value, 1, maximum):
        raise LoopringInvalidParameterError(name, f"an integer from 1 to {maximum}", value)
    return value


def check_max_pages(value: object) -> int | None:
    """The most pages a listing may take (None: the connection's ``max_pages``)."""
    if value is not None and not _bounded_int(value, 1):
        raise LoopringInvalidParameterError("max_pages", "a positive integer", value)
    return value


def check_offset(value: object, name: str = "offset") -> int:
    if not _bounded_int(value, 0):
        raise LoopringInvalidParameterError(name, "a non-negative integer", value)
    return value


def check_flag(value: object, name: str) -> bool:
    """A boolean: True or False, nothing else.

    :param value: the value given.
    :param name: the parameter's name, for the error.
    """
    if not isinstance(value, bool):
        raise LoopringInvalidParameterError(name, "True or False", value)
    return value


def check_list(value: object, name: str, check: Callable[[object, str], Any]) -> list[Any] | None:
    """A list, tuple, comma-separated string or lone int, each item checked; None: no filter."""
    if value is None:
        return None
    if isinstance(value, str):
        items: Iterable[object] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = value
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]  # a lone id, or one hex value a native-mode template turned into an int
    else:
        raise LoopringInvalidParameterError(name, "a list or a comma-separated string", value)
    checked = [check(item, name) for item in items]
    return checked or None


def check_filter(value: object, name: str, check: Callable[[object, str], Any]) -> list[Any] | None:
    """A filter: None for none; an empty list or "" is refused, as it would select everything."""
    checked = check_list(value, name, check)
    if checked is None and value is not None:
        raise LoopringInvalidParameterError(name, "at least one value (None: no filter)", value)
    return checked


def check_selector(account_id: object, address: object) -> tuple[int | None, str | None]:
    """Exactly one of account_id and address, each valid."""
    if (account_id is None) == (address is None):
        raise LoopringInvalidParameterError(
            "account_id/address", "exactly one of account_id and address", (account_id, address)
        )
    if account_id is not None:
        return check_account_id(account_id), None
    return None, check_address(address)
