"""Injected misbehaviour: what a `Fault` is, the queue that hands them out, and their bodies."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from http import HTTPStatus
from typing import Any

from airflow_provider_loopring.testing.wire import (
    HTML_TYPE,
    Response,
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
)
# Kinds that need the real answer first: they send it late, cut, reshaped or replaced.
WRAPS_REAL_ANSWER = frozenset({"truncated", "malformed", "delay", "transform"})
# Kinds whose client still sees the real statuses, so status schedules count the response.
DELIVERS_REAL_ANSWER = frozenset({"delay", "transform"})

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

    kind: "status" (HTTP `status`, default 500, Loopring error body with `code`/`message`,
    optional `retry_after` seconds), "html" (a CDN error page, `status` default 502),
    "truncated" (200, real body cut in half), "malformed" (200, `body` or
    `{"unexpected": []}`), "error_envelope" (200, flat `{"code", "msg"}`, `code` default
    100000), "reset" (connection dropped with RST), "delay" (real answer after `seconds`),
    "transform" (200, `transform(body, query)`; in-process only). `times=None`: forever.
    """

    kind: str
    path: str | None = None
    times: int | None = 1
    status: int | None = None
    code: int | None = None
    message: str | None = None
    retry_after: float | None = None
    seconds: float = 0.0
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
        """The inverse of `to_dict`, for faults without a transform."""
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
        with self._lock:
            self._faults.append(fault)
            self._left.append(fault.times)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._left.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, path: str) -> Fault | None:
        """The fault for this request, if any, counting it as used once."""
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
    """The response of a fault that replaces the real answer (status, html, error_envelope)."""
    if fault.kind == "html":
        status = fault.status or 502
        page = CDN_PAGE.format(status=status, reason=_reason(status))
        return Response(status, page.encode(), HTML_TYPE)
    if fault.kind == "error_envelope":
        return json_response(
            200, {"code": fault.code or 100000, "msg": fault.message or "unknown error"}
        )
    status = fault.status or 500
    headers = []
    if fault.retry_after is not None:
        headers.append(("Retry-After", f"{fault.retry_after:g}"))
    return error_response(status, fault.code or 100000, fault.message or _reason(status), headers)


def wrap(fault: Fault, real: Response, query: dict[str, str]) -> Response:
    """The response of a fault that reworks the real answer (truncated, malformed, transform)."""
    if fault.kind == "truncated":
        return Response(real.status, real.body[: len(real.body) // 2], real.content_type)
    if fault.kind == "malformed":
        return json_response(200, {"unexpected": []} if fault.body is None else fault.body)
    if fault.kind == "transform" and fault.transform is not None:
        # Decoding the sent bytes gives the transform its own copy, never the live data.
        return json_response(real.status, fault.transform(json.loads(real.body), dict(query)))
    return real


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
