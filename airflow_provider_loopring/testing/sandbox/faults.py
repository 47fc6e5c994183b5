"""Injected misbehaviour: what a `Fault` is, the queue that hands them out, and their bodies."""

from __future__ import annotations

import asyncio
import json
import threading
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, fields
from http import HTTPStatus
from typing import Any

from airflow_provider_loopring.testing.sandbox.wire import (
    HTML_TYPE,
    Response,
    encode_response,
    error_response,
    json_response,
)

KINDS = (
    "status",
    "html",
    "truncated",
    "malformed",
    "error_envelope",
    "reset",
    "delay",
    "transform",
    "raw",
    "drip",
    "drip_head",
    "huge",
    "endless",
    "gzip_bomb",
)
# Kinds that need the real answer first: they send it late, cut, reshaped or replaced.
WRAPS_REAL_ANSWER = frozenset({"truncated", "malformed", "delay", "transform", "drip", "drip_head"})
# Kinds whose client still sees the real statuses, so status schedules count the response.
DELIVERS_REAL_ANSWER = frozenset({"delay", "transform"})
# Hostile kinds: their bodies are streamed, and the request log says whether they were cut.
STREAMED = frozenset({"drip", "drip_head", "huge", "endless", "gzip_bomb"})
PART = 1 << 20  # what a streamed body is written in (huge, gzip bomb)

CDN_PAGE = """<html>
<head><title>{status} {reason}</title></head>
<body>
<center><h1>{status} {reason}</h1></center>
<hr><center>cloudflare</center>
</body>
</html>
"""


@dataclass
class Fault:
    """One injected misbehaviour, for the next `times` API requests to `path` (None: any).

    :param kind: "status" (HTTP `status`, default 500, Loopring error body with
        `code`/`message`, optional `retry_after` seconds), "html" (a CDN error page, `status`
        default 502), "truncated" (200, real body cut in half), "malformed" (200, `body` or
        `{"unexpected": []}`), "error_envelope" (200, flat `{"code", "msg"}`, `code` default
        100000), "reset" (connection dropped with RST), "delay" (real answer after
        `seconds`), "transform" (200, `transform(body, query)`; in-process only), "raw"
        (`status`, default 200, `body` as the bytes of a JSON body: deep nesting, NaN), and
        the hostile ones, whose bodies are streamed: "drip" (the real answer's head, then its
        body a byte every `seconds`), "drip_head" (the same from the status line on), "huge"
        (200, a JSON body of `size` bytes), "endless" (200, chunked, never ends), "gzip_bomb"
        (200, gzip-encoded, `size` bytes once decoded).
    :param path: only requests to this path (``/api/v3/user/nft/balances``); None: any.
    :param times: how many requests it answers, at least 1; None: forever.
    :param status: the HTTP status of "status", "html" and "raw".
    :param code: Loopring's error code in the body of "status" and "error_envelope".
    :param message: the error message in that body.
    :param retry_after: the ``Retry-After`` of "status": seconds, or any text.
    :param seconds: the wait of "delay", or between two bytes of "drip" and "drip_head".
    :param size: the body's size of "huge", or its decoded size of "gzip_bomb", in bytes.
    :param body: the body of "malformed" (JSON) and "raw" (its text is sent).
    :param transform: for "transform": ``transform(body, query)`` returns the body to send.
    :raises ValueError: an unknown kind, "transform" without one, or ``times`` below 1.
    """

    kind: str
    path: str | None = None
    times: int | None = 1
    status: int | None = None
    code: int | None = None
    message: str | None = None
    retry_after: float | str | None = None
    seconds: float = 0.0
    size: int = 0
    body: Any = None
    transform: Callable[[dict[str, Any], dict[str, str]], dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        if self.kind == "transform" and self.transform is None:
            raise ValueError("a transform fault needs transform=callable(body, query)")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1, or None for forever")

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the admin API (a transform cannot travel)."""
        data = asdict(self)
        data["transform"] = None if self.transform is None else repr(self.transform)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """The inverse of `to_dict`, for faults without a transform.

        :param data: a fault's fields by name, as :meth:`to_dict` gives them.
        :raises ValueError: a transform, or a field a fault does not have.
        """
        data = dict(data)
        if data.pop("transform", None) is not None:
            raise ValueError("transform faults work in-process only")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)


class FaultQueue:
    """Faults in the order they were added; the first one matching a path is used up first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._left: list[int | None] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault after the others.

        :param fault: the fault; it answers ``fault.times`` requests.
        """
        with self._lock:
            self._faults.append(fault)
            self._left.append(fault.times)

    def clear(self) -> None:
        """Drop every fault."""
        with self._lock:
            self._faults.clear()
            self._left.clear()

    def pending(self) -> list[Fault]:
        """The faults not used up yet, in order."""
        with self._lock:
            return list(self._faults)

    def take(self, path: str) -> Fault | None:
        """The fault for this request, if any, counting it as used once.

        :param path: the request's path.
        """
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.path is not None and fault.path != path:
                    continue
                left = self._left[index]
                if left is not None:
                    if left <= 1:
                        del self._faults[index], self._left[index]
                    else:
                        self._left[index] = left - 1
                return fault
        return None


def replacement(fault: Fault) -> Response:
    """The response of a fault that replaces the real answer (status, html, error_envelope).

    Also "raw" and the hostile kinds that need no real answer ("huge", "endless", "gzip_bomb").

    :param fault: the fault to answer with.
    """
    if fault.kind == "html":
        status = fault.status or 502
        page = CDN_PAGE.format(status=status, reason=_reason(status))
        return Response(status, page.encode(), HTML_TYPE)
    if fault.kind == "error_envelope":
        return json_response(
            200, {"code": fault.code or 100000, "msg": fault.message or "unknown error"}
        )
    status = fault.status or 500
    if fault.kind == "raw":
        return Response(fault.status or 200, str(fault.body).encode())
    if fault.kind in STREAMED:
        return _hostile(fault)
    headers = []
    if isinstance(fault.retry_after, str):
        headers.append(("Retry-After", fault.retry_after))
    elif fault.retry_after is not None:
        headers.append(("Retry-After", f"{fault.retry_after:g}"))
    return error_response(status, fault.code or 100000, fault.message or _reason(status), headers)


def wrap(fault: Fault, real: Response, query: dict[str, str]) -> Response:
    """The response of a fault that reworks the real answer (truncated, malformed, transform).

    Also "delay" (the real answer as it is) and "drip", "drip_head".

    :param fault: the fault to answer with.
    :param real: the sandbox's real answer to the request.
    :param query: the request's query parameters, for a transform.
    """
    if fault.kind == "truncated":
        return Response(real.status, real.body[: len(real.body) // 2], real.content_type)
    if fault.kind == "malformed":
        return json_response(200, {"unexpected": []} if fault.body is None else fault.body)
    if fault.kind == "transform" and fault.transform is not None:
        # Decoding the sent bytes gives the transform its own copy, never the live data.
        return json_response(real.status, fault.transform(json.loads(real.body), dict(query)))
    if fault.kind == "drip":
        stream = _drip(real.body, fault.seconds)
        return Response(real.status, b"", real.content_type, stream=stream, length=len(real.body))
    if fault.kind == "drip_head":
        whole = encode_response(real, keep_alive=False)
        return Response(real.status, b"", stream=_drip(whole, fault.seconds), raw=True)
    return real


# --- hostile bodies: streamed, so the sandbox never holds them whole --------------------------

_PADDED = b'{"totalNum":0,"data":[],"padding":"'


def _hostile(fault: Fault) -> Response:
    if fault.kind == "huge":
        return Response(200, b"", stream=_padded(fault.size, b"x"), length=fault.size)
    if fault.kind == "endless":
        return Response(200, b"", stream=_endless())
    gzip = [("Content-Encoding", "gzip")]
    return Response(200, b"", headers=gzip, stream=_compressed(_padded(fault.size, b"0")))


async def _drip(body: bytes, interval: float) -> AsyncIterator[bytes]:
    for index in range(len(body)):
        yield body[index : index + 1]
        await asyncio.sleep(interval)


async def _padded(size: int, filler: bytes) -> AsyncIterator[bytes]:
    """A valid JSON body of exactly ``size`` bytes (at least 40), in parts of ``PART``."""
    left = size - len(_PADDED) - 2
    yield _PADDED
    while left > 0:
        part = min(left, PART)
        left -= part
        yield filler * part
        await asyncio.sleep(0)  # let the loop see the client leave (a gzip bomb yields little)
    yield b'"}'


async def _endless() -> AsyncIterator[bytes]:
    yield b'{"totalNum":0,"data":['
    while True:
        yield b" " * (64 * 1024)
        await asyncio.sleep(0)  # let the loop see the client leave


async def _compressed(parts: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    async for part in parts:
        packed = packer.compress(part)
        if packed:
            yield packed
    yield packer.flush()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
