"""`LoopringSandbox`: a local, scriptable Loopring API for tests, demos and benchmarks."""

from __future__ import annotations

import asyncio
import copy
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

from airflow_provider_loopring.testing.sandbox import admin, endpoints
from airflow_provider_loopring.testing.sandbox.dataset import Dataset
from airflow_provider_loopring.testing.sandbox.faults import (
    DELIVERS_REAL_ANSWER,
    WRAPS_REAL_ANSWER,
    Fault,
    FaultQueue,
    replacement,
    wrap,
)
from airflow_provider_loopring.testing.sandbox.generate import DEFAULT_SEED, api_key_for_seed
from airflow_provider_loopring.testing.sandbox.ratelimit import TokenBucket
from airflow_provider_loopring.testing.sandbox.server import HttpServer
from airflow_provider_loopring.testing.sandbox.wire import (
    Request,
    Response,
    error_response,
    json_response,
)

ADMIN_PREFIX = "/_sandbox/"
MAX_RECORDS = 100_000  # a long benchmark must not grow the log without bound
KEY_PARAMS = frozenset({"apikey", "api_key", "x-api-key"})


@dataclass(frozen=True)
class RequestRecord:
    """One API request the sandbox answered (admin requests are not recorded).

    Records are in the order requests were read. Headers are not kept, so the API key never is.

    :param method: the HTTP method.
    :param path: the path, without the query string.
    :param query: the query parameters; an API key passed in one is masked (``***``).
    :param time: ``time.monotonic()`` when the request was read: comparable across records,
        and with ``time.monotonic()`` in any process on the same machine.
    :param status: the status answered; 0 while the answer is pending (latency, a "delay"
        fault) and when no answer was sent (a "reset" fault).
    :param fault: the injected fault's kind, "rate_limit" for the sandbox's own 429s, or None.
    :param cut: True when the client closed the connection before a streamed (hostile) body
        was all sent.
    """

    method: str
    path: str
    query: dict[str, str]
    time: float
    status: int
    fault: str | None
    cut: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON, as the admin API sends it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestRecord:
        """The record back from :meth:`to_dict`.

        :param data: a record's :meth:`to_dict`.
        """
        return cls(**data)


@dataclass
class _Entry:
    """A request as logged when read; its outcome is filled in once the answer is sent."""

    method: str
    path: str
    query: dict[str, str]
    time: float
    status: int = 0
    fault: str | None = None
    cut: bool = False

    def record(self) -> RequestRecord:
        return RequestRecord(
            self.method, self.path, self.query, self.time, self.status, self.fault, self.cut
        )


class LoopringSandbox:
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
    ) -> None:
        self._data_options = (accounts, nfts_per_account, collections_per_account, seed)
        self._dataset = Dataset(*self._data_options)
        self.api_key = api_key or api_key_for_seed(seed)
        self._host = host
        self._initial_settings = (latency, rate_limit)
        self._latency = 0.0
        self._limiter: TokenBucket | None = None
        self.set_latency(latency)
        self.set_rate_limit(rate_limit)
        self._faults = FaultQueue()
        self._records: deque[_Entry] = deque(maxlen=MAX_RECORDS)
        self._records_lock = threading.Lock()
        self._records_changed = threading.Condition(self._records_lock)
        self._server = HttpServer(self._handle, host, port)
        self._started = False

    # -- lifecycle --

    def start(self) -> LoopringSandbox:
        """Start serving in a background thread; returns self."""
        self._server.start()
        self._started = True
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

    # -- data --

    @property
    def accounts(self) -> list[dict[str, Any]]:
        """Every account, as GET /api/v3/account returns it."""
        return copy.deepcopy(self._dataset.accounts)

    def balances(
        self, account_id: int, non_zero: bool = False, metadata: bool = True
    ) -> list[dict[str, Any]]:
        """Every NFT balance of the account, in API order, with full detail by default.

        :param account_id: the account.
        :param non_zero: drop zero balances, as the API's ``nonZero`` does.
        :param metadata: keep each balance's ``metadata`` key, as the API's ``metadata`` does.
        """
        return self._dataset.snapshot_balances(account_id, non_zero, metadata)

    def collections(self, account_id: int, non_zero: bool = True) -> list[dict[str, Any]]:
        """`[{"collection": {...}, "count": n}]` as /user/collection/details lists them.

        :param account_id: the account.
        :param non_zero: leave out collections the account holds nothing of, as ``nonZero``.
        """
        return self._dataset.snapshot_collections(account_id, non_zero)

    def set_balance(self, account_id: int, nft_data: str, total: str) -> None:
        """Set what an account holds of an NFT (`total` a decimal string; "0" removes it).

        An NFT the account does not hold yet is minted into it. Takes effect on the next
        request, as the status setters do.

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``.
        :param total: the amount, a decimal string.
        """
        self._dataset.set_balance(account_id, nft_data, total)

    def set_nft_status(self, nft_data: str, status: str) -> None:
        """Set the `deploymentStatus` of every balance of this NFT.

        :param nft_data: the NFT's ``nftData``.
        :param status: the status, as Loopring spells it (``DEPLOYED``, ...); any string.
        """
        self._dataset.set_nft_status(nft_data, status)

    def set_collection_status(self, collection_id: int, status: str) -> None:
        """Set a collection's `deployStatus` and its NFTs' `deploymentStatus`.

        :param collection_id: the collection's id.
        :param status: the status, as Loopring spells it (``DEPLOYED``, ...); any string.
        """
        self._dataset.set_collection_status(collection_id, status)

    def schedule_nft_status(self, nft_data: str, statuses: list[str], every: int = 1) -> None:
        """Show `statuses[0]` now, the next one after every `every` responses showing the NFT.

        The last status stays once the others have been shown.

        :param nft_data: the NFT's ``nftData``.
        :param statuses: the statuses in the order to show them.
        :param every: how many responses show each status before the next.
        """
        self._dataset.schedule_nft_status(nft_data, statuses, every)

    def schedule_collection_status(
        self, collection_id: int, statuses: list[str], every: int = 1
    ) -> None:
        """As `schedule_nft_status`, for a collection and its NFTs.

        A response shows the collection when it lists it in `collections` or when one of its
        balances carries it as `collectionInfo`.

        :param collection_id: the collection's id.
        :param statuses: the statuses in the order to show them.
        :param every: how many responses show each status before the next.
        """
        self._dataset.schedule_collection_status(collection_id, statuses, every)

    # -- misbehaviour --

    def add_fault(self, fault: Fault) -> None:
        """Queue a fault: it answers the next requests it matches, after those queued before.

        :param fault: the misbehaviour, and how many requests it answers (``times``).
        """
        self._faults.add(fault)

    def clear_faults(self) -> None:
        """Drop every fault not used up yet."""
        self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """Faults not used up yet, in order."""
        return self._faults.pending()

    @property
    def latency(self) -> float:
        """Seconds every API response is delayed by."""
        return self._latency

    def set_latency(self, seconds: float) -> None:
        """Delay every API response by `seconds`, without holding up other connections.

        :param seconds: the delay, 0 or more.
        :raises ValueError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        self._latency = float(seconds)

    @property
    def rate_limit(self) -> float | None:
        """API requests per second above which the sandbox answers 429; None: no limit."""
        return None if self._limiter is None else self._limiter.rate

    def set_rate_limit(self, requests_per_second: float | None) -> None:
        """Answer 429 above this many API requests per second; None: no limit.

        :param requests_per_second: the limit, a positive number, or None.
        """
        self._limiter = None if requests_per_second is None else TokenBucket(requests_per_second)

    def reset(self) -> None:
        """Back to the state after construction: fresh data, no faults, empty log."""
        self._dataset = Dataset(*self._data_options)
        self.clear_faults()
        self.clear_requests()
        self.set_latency(self._initial_settings[0])
        self.set_rate_limit(self._initial_settings[1])

    # -- request log --

    @property
    def requests(self) -> list[RequestRecord]:
        """API requests in the order they were read (see `RequestRecord`)."""
        with self._records_lock:
            return [entry.record() for entry in self._records]

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._records_lock:
            self._records.clear()

    def wait_for_requests(
        self, predicate: Callable[[list[RequestRecord]], bool], timeout: float = 10.0
    ) -> bool:
        """Wait until ``predicate(requests)`` holds (a streamed body's end is seen by the
        server a moment after the client's error); False when ``timeout`` passed first.

        :param predicate: called with :attr:`requests` each time the log changes.
        :param timeout: the most seconds to wait.
        """
        with self._records_changed:
            return self._records_changed.wait_for(
                lambda: predicate([entry.record() for entry in self._records]), timeout
            )

    # -- serving (runs on the server's event loop) --

    async def _handle(self, request: Request) -> Response | None:
        if request.path.startswith(ADMIN_PREFIX):
            return admin.handle(self, request)
        # Logged on arrival, so a client that timed out still finds its request in the log.
        entry = _Entry(request.method, request.path, self._redact(request.query), time.monotonic())
        with self._records_changed:
            self._records.append(entry)
            self._records_changed.notify_all()
        response = await self._answer(request, entry)
        entry.status = 0 if response is None else response.status
        if response is not None and response.stream is not None:
            response.stream = self._watched(response.stream, entry)
        return response

    async def _watched(self, stream: AsyncIterator[bytes], entry: _Entry) -> AsyncIterator[bytes]:
        """``stream``, noting in the log when the server stops sending it early."""
        try:
            async for part in stream:
                yield part
        except GeneratorExit:
            with self._records_changed:
                entry.cut = True
                self._records_changed.notify_all()
            raise

    async def _answer(self, request: Request, entry: _Entry) -> Response | None:
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
            return self._real_answer(request, counts=True)
        if fault.kind == "reset":
            return None
        if fault.kind not in WRAPS_REAL_ANSWER:
            return replacement(fault)
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        real = self._real_answer(request, counts=fault.kind in DELIVERS_REAL_ANSWER)
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
