"""What a hook takes from its Airflow connection: one URL the transports use, the key, limits."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_loopring._core.validation import (
    DIGITS,
    finite,
)
from airflow_provider_loopring.exceptions import (
    LoopringInvalidParameterError,
)

# The Airflow connection every hook, operator, sensor and trigger uses unless told otherwise.
DEFAULT_MAX_PAGES = 10_000  # 500,000 NFTs at 50 a page: far past any real account
DEFAULT_CONN_ID = "loopring_default"
DEFAULT_HOST = "https://api3.loopring.io"


DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # a page of 50 with metadata is ~150 kB

# What Airflow itself accepts as a connection id (airflow.models.connection.RE_SANITIZE_CONN_ID).
_CONN_ID = re.compile(r"[\w#!()\-.:/\\]{1,250}")


# The one parse of a host, shared by both transports. Only characters every URL parser reads
# alike: no userinfo, backslash, percent-escape, query, fragment, whitespace or non-ASCII.
_URL = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>(?:/[a-z0-9._~-]*)*)",
    re.ASCII | re.IGNORECASE,
)


@dataclass(frozen=True)
class ConnectionSettings:
    """What a hook needs from its Airflow connection; the key is kept out of repr.

    :param base_url: the one URL both transports send to, as :func:`connection_settings`
        rebuilt it from its parsed parts.
    """

    base_url: str
    api_key: str | None = field(repr=False)
    requests_per_second: float = 5.0
    max_retries: int = 5
    timeout: float = 30.0
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_pages: int = DEFAULT_MAX_PAGES
    rate_limit_conn_id: str | None = None

    @property
    def use_environment_proxies(self) -> bool:
        """Only for https: an HTTP_PROXY would see the key of a plain http (loopback) host."""
        return self.base_url.startswith("https://")


def _number(
    extra: Mapping[str, Any],
    name: str,
    default: float,
    *,
    integer: bool = False,
    minimum: float = 0.0,
) -> Any:
    """A numeric connection extra (JSON numbers or strings), checked; NaN and inf refused."""
    raw = extra.get(name, default)
    try:
        value = None if isinstance(raw, bool) else float(raw)
    except (TypeError, ValueError, OverflowError):
        value = None
    if value is None or not finite(value, minimum) or (integer and not value.is_integer()):
        expected = f"{'an integer' if integer else 'a finite number'} >= {minimum:g}"
        raise LoopringInvalidParameterError(f"connection extra {name!r}", expected, raw)
    return int(value) if integer else value


def _conn_id(extra: Mapping[str, Any], name: str) -> str | None:
    """An optional connection extra naming another Airflow connection."""
    raw = extra.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not _CONN_ID.fullmatch(raw.strip()):
        raise LoopringInvalidParameterError(
            f"connection extra {name!r}", "the id of an Airflow connection (to Redis)", raw
        )
    return raw.strip()


def _is_loopback(hostname: str) -> bool:
    """A loopback address, or "localhost"; a name like 127.0.0.1.example.com is not one."""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def base_url(host: str | None, port: object = None) -> str:
    """The API's base URL from a connection's host and port, parsed once, rebuilt plainly.

    Anything two parsers could read differently is refused rather than guessed at: a
    userinfo part (``http://a:1\\@127.0.0.1``: urlsplit sees 127.0.0.1, requests connects
    to ``a``), backslashes, percent-escapes, whitespace, control and non-ASCII characters.
    Plain ``http://`` is allowed only to loopback hosts: it would send the key in clear.
    """
    raw = (host or DEFAULT_HOST).strip()
    url = _URL.fullmatch(raw if "://" in raw else f"https://{raw}")
    if url is None:
        raise _bad_host("an http(s) URL: a host, optionally a port and a path", raw)
    scheme, hostname = url["scheme"].lower(), url["host"].lower()
    number = _port(url["port"] or port, raw)
    if scheme == "http" and not _is_loopback(hostname):
        raise _bad_host(
            "an https:// URL (plain http:// would send the API key in clear text; "
            "it is allowed only for loopback hosts such as the sandbox)",
            raw,
        )
    where = hostname if number is None else f"{hostname}:{number}"
    return f"{scheme}://{where}{url['path'].rstrip('/')}"


def _port(value: object, host: str) -> int | None:
    if value in (None, "", 0):
        return None
    text = str(value)
    if not DIGITS.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise _bad_host("a port from 1 to 65535", host)
    return int(text)


def _bad_host(expected: str, host: str) -> LoopringInvalidParameterError:
    return LoopringInvalidParameterError("host", expected, host)


def check_api_key(value: str | None, parameter: str) -> str | None:
    """The key without surrounding whitespace (a secret read from a file ends in a newline).

    A key with anything but visible ASCII left inside is refused without showing it: a
    transport would reject it with the value in its error, which a log masker that knows
    the stored secret might not match.
    """
    key = (value or "").strip()
    if key and not (key.isascii() and key.isprintable() and " " not in key):
        raise LoopringInvalidParameterError(
            parameter,
            "an API key of visible ASCII characters (no spaces or line breaks inside)",
            None,
            shown=f"a value of {len(key)} characters that is not shown",
        )
    return key or None


def connection_settings(
    host: str | None,
    port: int | None,
    api_key: str | None,
    extra: Mapping[str, Any],
    *,
    conn_id: str | None = None,
) -> ConnectionSettings:
    """Settings from a connection's fields, all checked before any lookup or connection.

    :param conn_id: the connection's id, for errors about its password.
    """
    password = "password" if conn_id is None else f"password of connection {conn_id!r}"
    return ConnectionSettings(
        base_url=base_url(host, port),
        api_key=check_api_key(api_key, password),
        requests_per_second=_number(extra, "requests_per_second", 5.0, minimum=0.001),
        max_retries=_number(extra, "max_retries", 5, integer=True),
        timeout=_number(extra, "timeout", 30.0, minimum=0.001),
        max_response_bytes=_number(
            extra, "max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES, integer=True, minimum=1024
        ),
        max_pages=_number(extra, "max_pages", DEFAULT_MAX_PAGES, integer=True, minimum=1),
        rate_limit_conn_id=_conn_id(extra, "rate_limit_conn_id"),
    )
