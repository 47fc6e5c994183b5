"""Response bodies as they arrive: decoded here, not by a transport, and never past a cap."""

from __future__ import annotations

import zlib

from airflow_provider_loopring._core.endpoints import (
    ApiRequest,
)
from airflow_provider_loopring._core.responses import (
    bad_body,
)
from airflow_provider_loopring._core.validation import (
    DIGITS,
)
from airflow_provider_loopring.exceptions import (
    LoopringBadResponseError,
)

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
