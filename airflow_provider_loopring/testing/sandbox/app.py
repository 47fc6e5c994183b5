"""`LoopringSandbox`: a local, scriptable Loopring API for tests, demos and benchmarks."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator, Iterable
from types import TracebackType

import airflow_provider_loopring.testing.sandbox.admin as admin
import airflow_provider_loopring.testing.sandbox.endpoints as endpoints
from airflow_provider_loopring.testing.sandbox.controls import SandboxControls
from airflow_provider_loopring.testing.sandbox.faults import (
    DELIVERS_REAL_ANSWER,
    WRAPS_REAL_ANSWER,
    replacement,
    wrap,
)
from airflow_provider_loopring.testing.sandbox.generate import DEFAULT_SEED
from airflow_provider_loopring.testing.sandbox.records import LogEntry, RequestRecord
from airflow_provider_loopring.testing.sandbox.server import HttpServer
from airflow_provider_loopring.testing.sandbox.wire import (
    Request,
    Response,
    error_response,
    json_response,
)

ADMIN_PREFIX = "/_sandbox/"
KEY_PARAMS = frozenset({"apikey", "api_key", "x-api-key"})
__all__ = ["LoopringSandbox", "RequestRecord"]


class LoopringSandbox(SandboxControls):
    """A Loopring-compatible HTTP server on a local port, with seeded data and fault injection.

    Use it as a context manager, or call `start()` and `stop()`. Data accessors return deep
    copies; the control methods are thread-safe and take effect on the next request.

    :param accounts: how many accounts the seeded data set has.
    :param nfts_per_account: NFT balances of each account, zero ones included.
    :param collections_per_account: collections each account owns; most of its NFTs are of them.
    :param seed: the seed of the data and of the default API key: the same seed, the same data.
    :param api_key: the key requests must send (``X-API-KEY``); default: the seed's
        (:func:`~airflow_provider_loopring.testing.sandbox.generate.api_key_for_seed`).
    :param host: the address to listen on.
    :param port: the port to listen on; 0 picks a free one (see :attr:`url`).
    :param latency: seconds every API response is delayed by (:meth:`set_latency`).
    :param rate_limit: API requests per second above which it answers 429; None: no limit.
    :param block_size: the most transactions a block holds; a full one is sealed at once.
        None: only :meth:`seal_block` seals.
    :param quirks: readings of the API to answer with where Loopring's sources disagree
        (:meth:`set_quirks`); none: as the docs show.
    """

    def __init__(
        self,
        accounts: int = 3,
        nfts_per_account: int = 120,
        collections_per_account: int = 3,
        seed: int = DEFAULT_SEED,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        rate_limit: float | None = None,
        block_size: int | None = None,
        quirks: Iterable[str] = (),
    ) -> None:
        data = (accounts, nfts_per_account, collections_per_account, seed)
        super().__init__(*data, api_key, latency, rate_limit, block_size, quirks)
        self._host = host
        self._server = HttpServer(self._handle, host, port)
        self._started = False

    # -- lifecycle --

    def start(self) -> LoopringSandbox:
        """Start serving in a background thread, and index the data in another; returns self.

        The index (by ``nftData`` and owner) is built in chunks so that requests are answered
        meanwhile; one that needs it waits for it, in a worker thread, not on the server's loop.
        """
        self._server.start()
        self._started = True
        seeded = self._dataset.seeded
        threading.Thread(
            target=seeded.build_index, name="loopring-sandbox-index", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop serving and join the thread. Safe to call twice."""
        self._server.stop()

    def __enter__(self) -> LoopringSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. "http://127.0.0.1:PORT" (after `start()`)."""
        if not self._started:
            raise RuntimeError("the sandbox is not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._server.port}"

    # -- serving (runs on the server's event loop) --

    async def _handle(self, request: Request) -> Response | None:
        if request.path.startswith(ADMIN_PREFIX):
            # Off the event loop, as every answer: a first lookup by nftData or owner builds
            # an index, and other connections must not wait for it.
            return await asyncio.to_thread(admin.handle, self, request)
        # Logged on arrival, so a client that timed out still finds its request in the log.
        entry = LogEntry(
            request.method, request.path, self._redact(request.query), time.monotonic()
        )
        self._log.add(entry)
        response = await self._answer(request, entry)
        entry.status = 0 if response is None else response.status
        if response is not None and response.stream is not None:
            response.stream = self._watched(response.stream, entry)
        return response

    async def _watched(self, stream: AsyncIterator[bytes], entry: LogEntry) -> AsyncIterator[bytes]:
        """``stream``, noting in the log when the server stops sending it early."""
        try:
            async for part in stream:
                yield part
        except GeneratorExit:
            entry.cut = True
            self._log.changed()
            raise

    async def _answer(self, request: Request, entry: LogEntry) -> Response | None:
        """The response (None: reset the connection); notes any fault behind it in `entry`."""
        limiter = self._limiter
        wait = 0.0 if limiter is None else limiter.take()
        fault = None if wait else self._faults.take(request.path)
        if wait:
            entry.fault = "rate_limit"
        elif fault is not None:
            entry.fault = fault.kind
        if self._latency:
            await asyncio.sleep(self._latency)
        if wait:
            retry_after = str(max(1, math.ceil(wait)))
            return error_response(429, 100000, "too many requests", [("Retry-After", retry_after)])
        if fault is None:
            return await asyncio.to_thread(self._real_answer, request, True)
        if fault.kind == "reset":
            return None
        if fault.kind not in WRAPS_REAL_ANSWER:
            return replacement(fault)
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        counts = fault.kind in DELIVERS_REAL_ANSWER
        real = await asyncio.to_thread(self._real_answer, request, counts)
        return wrap(fault, real, request.query)

    def _real_answer(self, request: Request, counts: bool) -> Response:
        dataset = self._dataset
        result = endpoints.handle(
            dataset, self.api_key, request.method, request.path, request.query, request.headers
        )
        # Encode before counting: a schedule step must show in the NEXT response, not this one.
        response = json_response(result.status, result.body)
        if counts and result.status == 200:
            dataset.note_served(result.nft_datas, result.collection_ids)
        return response

    def _redact(self, query: dict[str, str]) -> dict[str, str]:
        """The query as logged: a key passed as a parameter by mistake is masked."""
        return {
            name: "***" if name.lower() in KEY_PARAMS or self.api_key in value else value
            for name, value in query.items()
        }
