"""What every endpoint shares: Loopring's error envelope, results, and query parameters.

A bad parameter raises `ApiError` with Loopring's ``100001`` (invalid argument), which
`endpoints.handle` answers as the envelope: bad input never reaches a 500.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any

MAX_LIMIT = 50
DEFAULT_LIMIT = 20
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
NFT_DATA = re.compile(r"0x[0-9a-fA-F]{1,64}")


class ApiError(Exception):
    """An answer in Loopring's error envelope; Loopring sends most of them as HTTP 400.

    :param code: Loopring's ``resultInfo.code`` (``104002``: invalid API key, ...).
    :param message: its ``resultInfo.message``.
    :param status: the HTTP status.
    """

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class ApiResult:
    """A response body, and which NFTs and collections it showed (status schedules count them).

    :param status: the HTTP status.
    :param body: the JSON body, not yet encoded.
    :param nft_datas: the ``nftData`` of each NFT the body shows.
    :param collection_ids: the id of each collection it shows, also as ``collectionInfo``.
    """

    status: int
    body: Any
    nft_datas: frozenset[str] = frozenset()
    collection_ids: frozenset[int] = frozenset()


def check_key(given: str | None, expected: str) -> None:
    """Refuse a missing or wrong API key as Loopring does (``104001``, ``104002``).

    :param given: the ``X-API-KEY`` header sent, or None.
    :param expected: the sandbox's API key.
    """
    if not given:
        raise ApiError(104001, "empty ApiKey")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(104002, "invalid ApiKey")


# -- query parameters --


def integer(query: dict[str, str], name: str, default: int | None = None, minimum: int = 0) -> int:
    """An integer query parameter.

    :param query: the query parameters.
    :param name: the parameter's name.
    :param default: its value when absent; None: it is required.
    :param minimum: the least value accepted.
    """
    raw = query.get(name, "")
    if raw == "":
        if default is None:
            raise ApiError(100001, f"invalid argument: {name} is required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(100001, f"invalid argument: {name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ApiError(100001, f"invalid argument: {name} must be >= {minimum}")
    return value


def flag(query: dict[str, str], name: str, default: bool) -> bool:
    """A boolean query parameter: ``true`` or ``false``, in any case.

    :param query: the query parameters.
    :param name: the parameter's name.
    :param default: its value when absent.
    """
    raw = query.get(name, "").lower()
    if raw == "":
        return default
    if raw not in ("true", "false"):
        raise ApiError(100001, f"invalid argument: {name} must be true or false")
    return raw == "true"


def address(raw: str, name: str) -> str:
    """An address parameter, lowercased: 0x and 40 hex digits.

    :param raw: the value sent.
    :param name: the parameter's name, for the message.
    """
    if not ADDRESS.fullmatch(raw):
        raise ApiError(100001, f"invalid argument: {name}={raw!r} is not an address")
    return raw.lower()


def comma_list(query: dict[str, str], name: str) -> list[str]:
    """A comma-separated query parameter's items, stripped; empty when absent.

    :param query: the query parameters.
    :param name: the parameter's name.
    """
    return [part.strip() for part in query.get(name, "").split(",") if part.strip()]


def paging(
    query: dict[str, str], default: int = DEFAULT_LIMIT, most: int = MAX_LIMIT
) -> tuple[int, int]:
    """offset and limit; a limit above 50 is cut to 50, as the docs' "max is 50" reads.

    :param query: the query parameters (``offset``, ``limit``).
    :param default: the limit when none is given.
    :param most: the most rows a page holds; a larger limit is cut to it.
    """
    offset = integer(query, "offset", 0)
    limit = integer(query, "limit", default, minimum=1)
    return offset, min(limit, most)


def existing(account: dict[str, Any] | None) -> dict[str, Any]:
    """The account, or Loopring's ``101002`` (account not found) when there is none.

    :param account: the account looked up, or None.
    """
    if account is None:
        raise ApiError(101002, "account not found")
    return account


def nft_data(raw: str, name: str) -> str:
    """An ``nftData`` parameter, lowercased: 0x and up to 64 hex digits.

    :param raw: the value sent.
    :param name: the parameter's name, for the message.
    """
    if not NFT_DATA.fullmatch(raw):
        raise ApiError(100001, f"invalid argument: {name}={raw!r} is not an nftData")
    return raw.lower()
