"""Just enough HTTP/1.1 for the sandbox: parse requests off a stream, encode responses.

Requests carry a Content-Length body at most (no chunked uploads: our clients never send
them); responses carry a Content-Length, so keep-alive works without chunking, except the
streamed bodies of hostile faults, which may be chunked (no length: an endless body).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
MAX_BODY = 1 << 20


class BadRequest(Exception):
    """The bytes on the connection are not an HTTP request we can answer.

    :param status: the HTTP status to answer with (400, 411, 413, 431).
    :param reason: what is wrong, for the answer's body.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class Request:
    """One request as read off the connection.

    :param method: the HTTP method, uppercase.
    :param path: the path, without the query string.
    :param query: the query parameters (a repeated one: its last value).
    :param headers: the headers, names lowercase.
    :param body: the body (a Content-Length one, at most ``MAX_BODY`` bytes).
    :param keep_alive: whether the client keeps the connection open after the answer.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    keep_alive: bool


@dataclass
class Response:
    """An answer; ``stream``, when set, is written after the head, part by part.

    :param status: the HTTP status.
    :param body: the body (ignored when ``stream`` is set).
    :param content_type: its Content-Type.
    :param headers: more headers, in order (``Retry-After``, ...).
    :param stream: the body's parts, for the hostile faults; None: ``body`` is the body.
    :param length: the Content-Length a streamed body announces; None: chunked.
    :param raw: ``stream`` is the whole answer, head included (a server that drips even
        its status line).
    """

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: AsyncIterator[bytes] | None = None
    length: int | None = None
    raw: bool = False


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    """A compact UTF-8 JSON response, as Loopring sends them.

    :param status: the HTTP status.
    :param payload: the JSON value.
    :param headers: more headers, in order.
    """
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, JSON_TYPE, headers or [])


def error_response(
    status: int, code: int, message: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    """Loopring's error envelope: `{"resultInfo": {"code": .., "message": ..}}`.

    :param status: the HTTP status.
    :param code: Loopring's error code.
    :param message: Loopring's error message.
    :param headers: more headers, in order (a 429's ``Retry-After``).
    """
    return json_response(status, {"resultInfo": {"code": code, "message": message}}, headers)


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection, or None when the client closed it cleanly.

    :param reader: the connection's stream.
    :raises BadRequest: the bytes are not a request the sandbox can answer.
    """
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest(400, "connection closed mid-request") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest(431, "request head too large") from None
    # RFC 9112 2.2: ignore empty lines before the request line.
    lines = head.decode("latin-1").lstrip("\r\n").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                raise BadRequest(400, "malformed header line")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise BadRequest(411, "chunked request bodies are not supported")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise BadRequest(400, "bad Content-Length") from None
    if length < 0 or length > MAX_BODY:
        raise BadRequest(413, "request body too large")
    body = await reader.readexactly(length) if length else b""
    connection = headers.get("connection", "").lower()
    # HTTP/1.1 keeps the connection open unless told otherwise; HTTP/1.0 only when asked.
    keep_alive = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
    url = urlsplit(target)
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    return Request(method.upper(), url.path or "/", query, headers, body, keep_alive)


def encode_response(response: Response, keep_alive: bool) -> bytes:
    """Status line, headers and body, ready to write.

    :param response: the answer; a streamed body is not included (the server writes it).
    :param keep_alive: whether the connection stays open after it (``Connection`` header).
    """
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    if response.stream is None:
        framing = f"Content-Length: {len(response.body)}"
    elif response.length is None:
        framing = "Transfer-Encoding: chunked"
    else:
        framing = f"Content-Length: {response.length}"
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        "Server: loopring-sandbox",
        f"Content-Type: {response.content_type}",
        framing,
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
    ]
    lines.extend(f"{name}: {value}" for name, value in response.headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body
