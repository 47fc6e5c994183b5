"""The sans-IO core: what a request is, what a response means, when to retry, how to page.

Both transports of the hook (requests for tasks, httpx for triggers) drive this module and
nothing else decides: no sockets, no sleeping, no Airflow here.
"""

from __future__ import annotations

import ipaddress
import json
import math
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeGuard, TypeVar

from airflow_provider_loopring.exceptions import (
    AUTH_CODES,
    NOT_FOUND_CODES,
    LoopringApiError,
    LoopringAuthError,
    LoopringBadResponseError,
    LoopringInvalidParameterError,
    LoopringNotFoundError,
    LoopringRateLimitError,
    LoopringServerError,
)

ACCOUNT = "/api/v3/account"
NFT_BALANCES = "/api/v3/user/nft/balances"
COLLECTIONS = "/api/v3/user/collection/details"
MAX_LIMIT = 50
MAX_ID = 2**63 - 1  # Loopring's ids are 64-bit; a longer number is garbage, not an id

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_NFT_DATA = re.compile(r"0x[0-9a-fA-F]{64}")


def _finite(value: object, minimum: float) -> bool:
    """A real number (not a bool, NaN or infinity) of at least ``minimum``."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= minimum
    )


# --- requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiRequest:
    """One GET: the path, the query (already validated and rendered), whether it needs the key."""

    path: str
    params: Mapping[str, str]
    needs_key: bool = True

    def with_params(self, **params: object) -> ApiRequest:
        return ApiRequest(self.path, {**self.params, **_query(**params)}, self.needs_key)

    def page(self, offset: int, limit: int) -> ApiRequest:
        return self.with_params(offset=offset, limit=limit)

    def describe(self) -> str:
        """``GET /path k=v ...``: safe for logs and errors (the key is a header, never a param)."""
        query = " ".join(f"{k}={v}" for k, v in self.params.items())
        return f"GET {self.path} {query}".rstrip()


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


_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: str.isdigit() also takes "²", int() not


def _whole(value: object, name: str, expected: str, minimum: int) -> int:
    """An integer (or its digits as text, as templates render them) of at least ``minimum``."""
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if not _bounded_int(value, minimum):
        raise LoopringInvalidParameterError(name, expected, value)
    return value


def _bounded_int(value: object, minimum: int, maximum: int = MAX_ID) -> TypeGuard[int]:
    """An int (not a bool) in range: a 5,000-digit int would not even render as a query."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum


def check_account_id(value: object, name: str = "account_id") -> int:
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


def check_token_id(value: object, name: str = "token_ids") -> int:
    return _whole(value, name, "token ids: non-negative integers", 0)


def check_limit(value: object, name: str = "limit") -> int:
    if not _bounded_int(value, 1, MAX_LIMIT):
        raise LoopringInvalidParameterError(name, f"an integer from 1 to {MAX_LIMIT}", value)
    return value


def check_offset(value: object, name: str = "offset") -> int:
    if not _bounded_int(value, 0):
        raise LoopringInvalidParameterError(name, "a non-negative integer", value)
    return value


def check_flag(value: object, name: str) -> bool:
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


def unrendered(value: object) -> bool:
    """Whether an argument is still a Jinja template or an XCom reference.

    Operators and sensors check such values after rendering, every other value when built.
    """
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, (list, tuple)):
        return any(unrendered(item) for item in value)
    from airflow.sdk import XComArg  # already imported wherever a task is built

    return isinstance(value, XComArg)


def check_selector(account_id: object, address: object) -> tuple[int | None, str | None]:
    """Exactly one of account_id and address, each valid."""
    if (account_id is None) == (address is None):
        raise LoopringInvalidParameterError(
            "account_id/address", "exactly one of account_id and address", (account_id, address)
        )
    if account_id is not None:
        return check_account_id(account_id), None
    return None, check_address(address)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _join(values: Sequence[object] | None) -> str | None:
    return ",".join(str(v) for v in values) if values else None


def _query(**params: object) -> dict[str, str]:
    return {k: str(v) for k, v in params.items() if v is not None}


def _paging(offset: object, limit: object, non_zero: object) -> dict[str, str]:
    """The query parameters both list endpoints share."""
    return _query(
        offset=check_offset(offset),
        limit=check_limit(limit),
        nonZero=_flag(check_flag(non_zero, "non_zero")),
    )


def account_request(*, account_id: object = None, address: object = None) -> ApiRequest:
    account_id, address = check_selector(account_id, address)
    return ApiRequest(ACCOUNT, _query(accountId=account_id, owner=address), needs_key=False)


def nft_balances_request(
    *,
    account_id: object = None,
    address: object = None,
    nft_datas: object = None,
    token_addrs: object = None,
    token_ids: object = None,
    offset: object = 0,
    limit: object = MAX_LIMIT,
    non_zero: object = True,
    metadata: object = False,
) -> ApiRequest:
    account_id, address = check_selector(account_id, address)
    params = _query(
        accountId=account_id,
        address=address,
        nftDatas=_join(check_filter(nft_datas, "nft_datas", check_nft_data)),
        tokenAddrs=_join(check_filter(token_addrs, "token_addrs", check_address)),
        tokenIds=_join(check_filter(token_ids, "token_ids", check_token_id)),
    )
    params.update(_paging(offset, limit, non_zero))
    params["metadata"] = _flag(check_flag(metadata, "metadata"))
    return ApiRequest(NFT_BALANCES, params)


def collections_request(
    *,
    account_id: object = None,
    address: object = None,
    token_address: object = None,
    offset: object = 0,
    limit: object = MAX_LIMIT,
    non_zero: object = True,
) -> tuple[ApiRequest, str | None]:
    """The request, and the address still to resolve: this endpoint takes only an accountId.

    Everything is validated here, before the caller spends a request on resolving.
    """
    account_id, address = check_selector(account_id, address)
    if token_address is not None:
        token_address = check_address(token_address, "token_address")
    params = _query(accountId=account_id, tokenAddress=token_address)
    params.update(_paging(offset, limit, non_zero))
    return ApiRequest(COLLECTIONS, params), address


# --- responses ----------------------------------------------------------------------------

_HINTS = {
    "auth": "Check the API key (the password of the Loopring connection); keys change when an "
    "account resets its keys.",
    "not_found": "Check the account id or address: Loopring has no layer-2 account for it.",
}


def _error_envelope(body: object) -> tuple[int, str] | None:
    """Loopring's error, from any envelope seen in the wild, or None when the body is no error."""
    if not isinstance(body, dict):
        return None
    info = body.get("resultInfo")
    source = info if isinstance(info, dict) else body
    code = source.get("code")
    if isinstance(code, bool) or not isinstance(code, int) or code == 0:
        return None
    message = source.get("message") or source.get("msg") or "no message"
    return code, str(message)


def error_for(
    request: ApiRequest, http_status: int | None, code: int | None, message: str
) -> LoopringApiError:
    """The one place that decides which kind of error a failure is."""
    where = request.describe()
    if code in AUTH_CODES or http_status in (401, 403):
        return LoopringAuthError(
            message, endpoint=where, code=code, http_status=http_status, hint=_HINTS["auth"]
        )
    if code in NOT_FOUND_CODES:
        return LoopringNotFoundError(
            message, endpoint=where, code=code, http_status=http_status, hint=_HINTS["not_found"]
        )
    if http_status == 429:
        return LoopringRateLimitError(message, endpoint=where, code=code, http_status=http_status)
    if http_status is not None and http_status >= 500:
        return LoopringServerError(message, endpoint=where, code=code, http_status=http_status)
    return LoopringApiError(message, endpoint=where, code=code, http_status=http_status)


class _NotStandardJson(ValueError):
    """NaN or Infinity in a body: Python reads them, strict JSON parsers downstream do not."""


def _refuse_constant(name: str) -> Any:
    raise _NotStandardJson(name)


# One decoder, made once: json.loads with a keyword argument would build one per body.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _decode_json(body: bytes) -> Any:
    """``json.loads`` without NaN and Infinity; raises ValueError or RecursionError."""
    return _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))


def parse_response(
    request: ApiRequest, http_status: int, headers: Mapping[str, str], body: bytes
) -> Any:
    """The JSON the API answered, or the LoopringApiError it amounts to.

    Errors are raised outside the ``except`` blocks: the decoder's exception holds the
    whole body, and an error's hidden ``__context__`` would keep it alive and in tracebacks.
    """
    failure: LoopringApiError | None = None
    data = None
    try:
        data = _decode_json(body)
        got = "no Loopring error"
    except _NotStandardJson as exc:
        failure = bad_body(request, http_status, f"{exc} in the JSON (not standard JSON)")
    except RecursionError:
        failure = bad_body(request, http_status, "JSON nested too deeply to read")
    except ValueError:
        got = "an HTML page" if body.lstrip()[:1] == b"<" else "a body that is not JSON"
        got = f"{got} ({len(body)} bytes)"
        if 200 <= http_status < 300 or http_status == 404:
            failure = bad_body(request, http_status, f"got {got}, expected JSON", retryable=True)
    if failure is not None:
        raise failure
    envelope = _error_envelope(data)
    if envelope is None and 200 <= http_status < 300:
        return data
    code, message = envelope if envelope else (None, f"HTTP {http_status} with {got}")
    error = error_for(request, http_status, code, message)
    if isinstance(error, LoopringRateLimitError):
        error.retry_after = parse_retry_after(
            headers.get("Retry-After") or headers.get("retry-after")
        )
    return _raise(error)


def bad_body(
    request: ApiRequest, http_status: int | None, problem: str, *, retryable: bool = False
) -> LoopringBadResponseError:
    """A body we will not use: not JSON (retryable: cut short, a CDN's page), or hostile."""
    return LoopringBadResponseError(
        problem, endpoint=request.describe(), http_status=http_status, retryable=retryable
    )


def _raise(error: Exception) -> Any:
    raise error


def bad_shape(request: ApiRequest, problem: object) -> LoopringBadResponseError:
    return LoopringBadResponseError(
        f"unexpected response shape: {problem}", endpoint=request.describe()
    )


def transport_failure(request: ApiRequest, problem: str) -> LoopringServerError:
    """No usable response at all: connection refused or reset, a timeout."""
    return LoopringServerError(problem, endpoint=request.describe())


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):  # year 99999 overflows
            return None  # unreadable: wait as if the server had not said (a 429 stays retryable)
        seconds = when - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)  # inf ("never") is over any max_elapsed: the 429 is raised at once


# --- response bodies ----------------------------------------------------------------------

# Asked for by both transports, so a server never answers in an encoding we cannot bound.
ACCEPT_ENCODING = "gzip, deflate"
CHUNK = 256 * 1024  # read size: large, so a normal page (~150 kB) is one read and one join


class ResponseBody:
    """A body as it arrives: decoded here, not by the transport, and never past ``limit``.

    Decoding with bounded output is what stops a gzip bomb: a 1 MB chunk may unpack to
    gigabytes, and a transport's decoder unpacks it whole before anyone can count.

    :param request: the request, for the error.
    :param content_encoding: the response's ``Content-Encoding`` header.
    :param limit: the most decoded bytes to accept (``max_response_bytes``).
    :raises LoopringBadResponseError: too large (not retried: the same answer would come
        again) or in an encoding we did not ask for.
    """

    def __init__(self, request: ApiRequest, content_encoding: str | None, limit: int) -> None:
        self.request = request
        self.limit = limit
        self.size = 0
        self._chunks: list[bytes] = []
        encoding = (content_encoding or "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise bad_body(request, None, f"Content-Encoding {encoding[:40]!r}, not asked for")
        # wbits 32 + 15: a gzip or a zlib header, read from the stream (servers mix them up).
        self._inflate = None if encoding == "identity" else zlib.decompressobj(32 + zlib.MAX_WBITS)

    def check_length(self, content_length: str | None) -> None:
        """Refuse at once a plain body whose announced length is over the cap."""
        announced = (content_length or "").strip()
        plain = self._inflate is None and _DIGITS.fullmatch(announced)
        if plain and int(announced) > self.limit:
            raise self._too_large(f"{int(announced):,} bytes announced")

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk as it came off the wire."""
        if self._inflate is not None:
            chunk = self._decompress(chunk)
        self.size += len(chunk)
        if self.size > self.limit:
            raise self._too_large(f"more than {self.limit:,} bytes")
        self._chunks.append(chunk)

    def _decompress(self, chunk: bytes) -> bytes:
        assert self._inflate is not None
        try:
            # At most one byte past the cap: enough to know it is over, never gigabytes.
            return self._inflate.decompress(chunk, self.limit - self.size + 1)
        except zlib.error:
            pass
        raise bad_body(self.request, None, "a body that does not decompress", retryable=True)

    def read(self) -> bytes:
        """The whole decoded body, joined once."""
        if self._inflate is not None and not self._inflate.eof:
            raise bad_body(self.request, None, "a compressed body cut short", retryable=True)
        return self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)

    def _too_large(self, size: str) -> LoopringBadResponseError:
        return bad_body(
            self.request,
            None,
            f"a response of {size}, over the limit of {self.limit:,} bytes (connection extra "
            "'max_response_bytes')",
        )


# --- retries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in total time.

    :param max_retries: tries after the first one.
    :param backoff: the first wait's ceiling in seconds; it doubles each time.
    :param max_backoff: the largest single wait.
    :param max_elapsed: no retry starts later than this many seconds after the first try.
    """

    max_retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_elapsed: float = 300.0

    def __post_init__(self) -> None:
        # Checked here, not at the first retry (a negative wait makes time.sleep raise).
        check_offset(self.max_retries, "max_retries")
        for name in ("backoff", "max_backoff", "max_elapsed"):
            value = getattr(self, name)
            if not _finite(value, 0.0):
                raise LoopringInvalidParameterError(
                    name, "a finite, non-negative number of seconds", value
                )

    def delay(
        self,
        attempt: int,
        error: LoopringApiError,
        elapsed: float,
        rng: random.Random | None = None,
    ) -> float | None:
        """How long to wait before try ``attempt + 1``, or None to give up and raise."""
        if not error.retryable or attempt >= self.max_retries:
            return None
        ceiling = min(self.max_backoff, self.backoff * 2**attempt)
        wait = (rng or random).uniform(0, ceiling)
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            wait = max(wait, retry_after)
        if elapsed + wait > self.max_elapsed:
            return None
        return wait


class Attempts:
    """The retry state of one logical call, shared by the sync and the async transport."""

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self.started = clock()
        self.count = 0

    def wait_after(self, error: LoopringApiError) -> float:
        """Seconds to wait before trying again; raises ``error`` when the policy says stop."""
        wait = self.policy.delay(self.count, error, self.clock() - self.started)
        if wait is None:
            raise error
        self.count += 1
        return wait


# --- client-side rate limit ---------------------------------------------------------------


class TokenBucket:
    """Requests per second, shared by every thread and coroutine of a process that holds it.

    ``reserve()`` books the next slot and returns how long the caller must wait for it, so
    the same bucket serves ``time.sleep`` and ``asyncio.sleep``. The burst is one request:
    in any one-second window at most ``rate + 1`` requests leave, which is what keeps a
    server-side limiter of the same rate from ever answering 429.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not _finite(rate, 0.0) or rate <= 0:
            raise LoopringInvalidParameterError(
                "requests_per_second", "a finite, positive number", rate
            )
        self.interval = 1.0 / rate
        self.clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            return slot - now

    def pause(self, seconds: float) -> None:
        """Hold every caller back: the server told one of them to wait (Retry-After)."""
        with self._lock:
            self._next = max(self._next, self.clock() + seconds)


_buckets: dict[tuple[str, float], TokenBucket] = {}
_buckets_lock = threading.Lock()


def shared_bucket(key: str, rate: float) -> TokenBucket:
    """One bucket per (connection, rate) in a process, so hooks on one connection share it."""
    with _buckets_lock:
        bucket = _buckets.get((key, rate))
        if bucket is None:
            bucket = _buckets[(key, rate)] = TokenBucket(rate)
        return bucket


# --- paging -------------------------------------------------------------------------------

T = TypeVar("T")


DEFAULT_MAX_PAGES = 10_000  # 500,000 NFTs at 50 a page: far past any real account


def check_page(
    request: ApiRequest, total: int, items: Sequence[T], owner: Callable[[T], object] | None
) -> int:
    """Refuse a page that contradicts the request; returns the total to plan the listing with.

    One place for every list call, one page or all. A page showing more items than
    ``totalNum`` leaves room for at its offset (``totalNum`` 0 while items come) is not
    taken as the end: the total is raised to the page's end, plus one when the page is
    full, so the listing is followed until a short page (within ``max_pages``).

    :param owner: an item's account id, for endpoints whose items carry one.
    :raises LoopringBadResponseError: a negative ``totalNum``, more items than ``limit``, or an
        item of another account; not retried: the same answer would come again.
    """
    offset, limit = int(request.params.get("offset", 0)), int(request.params.get("limit", 0))
    if total < 0:
        raise bad_shape(request, f"totalNum is {total}")
    if limit and len(items) > limit:
        raise bad_shape(request, f"{len(items)} items, more than the limit of {limit} asked for")
    account = request.params.get("accountId")
    if owner is not None and account is not None:
        strangers = {str(owner(item)) for item in items} - {account}
        if strangers:
            raise bad_shape(request, f"items of account {min(strangers)} in this listing")
    end = offset + len(items)
    if end <= total:
        return total
    return end + 1 if limit and len(items) >= limit else end


def unique(items: Sequence[T], key: Callable[[T], object]) -> Sequence[T]:
    """The items, each key once (its first), in order; the list itself when none repeats."""
    by_key: dict[object, T] = {}
    for item in items:
        by_key.setdefault(key(item), item)
    return items if len(by_key) == len(items) else list(by_key.values())


@dataclass
class Pager(Generic[T]):
    """Plans offset/limit pages and decides what is new and when to stop.

    Offsets shift when the account changes while we read: items may repeat across pages
    (dropped here: the keys of the whole listing are remembered, ~100 bytes an item),
    ``totalNum`` may grow (we follow it) or shrink (we step back by as much, since items we
    have not read may have moved into offsets we have). A page that comes back short while
    ``totalNum`` says there is more is asked for once more; short again, the listing is
    inconsistent and the read fails rather than return part of the account. So does a
    listing that keeps repeating itself (two full pages with nothing new in a row) and one
    still going after ``max_pages`` pages.
    """

    page_size: int
    key: Callable[[T], object]
    max_pages: int = DEFAULT_MAX_PAGES
    offset: int = 0
    total: int | None = None
    done: bool = False
    pages: int = 0
    received: int = 0  # distinct items handed out so far
    _seen: set[object] = field(default_factory=set)
    _short_retries: int = 0
    _stale_pages: int = 0

    def request(self, base: ApiRequest) -> ApiRequest:
        return base.page(self.offset, self.page_size)

    def accept(self, request: ApiRequest, total: int, items: list[T]) -> list[T]:
        """Take one page; returns the items not seen before and moves the plan on."""
        self.pages += 1
        shrunk = 0 if self.total is None else max(self.total - total, 0)
        self.total = total
        fresh = self._fresh(items)
        end = self.offset + len(items)
        if shrunk and self.offset:
            self.offset = max(self.offset - shrunk, 0)  # repeats are dropped above
            self._short_retries = 0
        elif len(items) >= self.page_size and end < total:
            self._stale_pages = self._stale_pages + 1 if not fresh else 0
            if self._stale_pages >= 2:
                raise bad_shape(request, "the same items came back for different offsets")
            self.offset = end
            self._short_retries = 0
        elif end < total and self._short_retries < 1:
            self._short_retries += 1
        elif end < total:
            raise LoopringBadResponseError(
                f"{len(items)} items at offset {self.offset} twice, although totalNum is "
                f"{total}: the listing is inconsistent and the result would be incomplete",
                endpoint=request.describe(),
                retryable=True,
            )
        else:
            self.done = True
        if not self.done and self.pages >= self.max_pages:
            raise bad_shape(
                request, f"still no end after {self.pages} pages (totalNum {total}; max_pages)"
            )
        return fresh

    def _fresh(self, items: list[T]) -> list[T]:
        """Items whose key this listing has not shown yet, a repeat within the page included."""
        seen = self._seen
        fresh = []
        for item in items:
            key = self.key(item)
            if key not in seen:
                seen.add(key)
                fresh.append(item)
        self.received += len(fresh)
        return fresh


def parse_model(request: ApiRequest, body: Any, model: Callable[[Any], T]) -> T:
    """Build a model from a body, turning a shape mismatch into a LoopringBadResponseError."""
    try:
        return model(body)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        problem = exc
    raise bad_shape(request, problem)  # outside the except: no hidden __context__


# --- connection settings ------------------------------------------------------------------

DEFAULT_HOST = "https://api3.loopring.io"
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # a page of 50 with metadata is ~150 kB

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
    if value is None or not _finite(value, minimum) or (integer and not value.is_integer()):
        expected = f"{'an integer' if integer else 'a finite number'} >= {minimum:g}"
        raise LoopringInvalidParameterError(f"connection extra {name!r}", expected, raw)
    return int(value) if integer else value


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
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= 65535:
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
    )
