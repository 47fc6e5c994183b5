"""What a response means: its body as it arrives (decoded, capped), Loopring's JSON, or the
error it amounts to. One place decides, for both transports."""

from __future__ import annotations

import json
import math
import time
import zlib
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from airflow_provider_loopring._core.endpoint import (
    ApiRequest,
)
from airflow_provider_loopring._core.validation import (
    DIGITS,
)
from airflow_provider_loopring.exceptions import (
    AUTH_CODES,
    NOT_FOUND_CODES,
    LoopringApiError,
    LoopringAuthError,
    LoopringBadResponseError,
    LoopringNotFoundError,
    LoopringRateLimitError,
    LoopringServerError,
)

T = TypeVar("T")

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


def parse_model(request: ApiRequest, body: Any, model: Callable[[Any], T]) -> T:
    """Build a model from a body, turning a shape mismatch into a LoopringBadResponseError."""
    try:
        return model(body)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        problem = exc
    raise bad_shape(request, problem)  # outside the except: no hidden __context__


# --- bodies as they arrive -----------------------------------------------------------------

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
        plain = self._inflate is None and DIGITS.fullmatch(announced)
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
