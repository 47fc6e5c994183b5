"""`SandboxControls`: the whole control surface of a sandbox, without its server.

Kept apart from `app` so that the admin API can be written against it without importing the
server that serves the admin API (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from airflow_provider_loopring.testing.sandbox.data import DataControls
from airflow_provider_loopring.testing.sandbox.faults import Fault, FaultQueue
from airflow_provider_loopring.testing.sandbox.generate import DEFAULT_SEED, api_key_for_seed
from airflow_provider_loopring.testing.sandbox.ledger import Ledger
from airflow_provider_loopring.testing.sandbox.ratelimit import ServerRateLimit
from airflow_provider_loopring.testing.sandbox.records import RequestLog, RequestRecord


class SandboxControls(DataControls):
    """Everything a test controls in a sandbox; `app.LoopringSandbox` adds the server.

    The admin API is written against this class, so it needs nothing of the server's.
    Data accessors return deep copies; the control methods are thread-safe and take effect
    on the next request.

    :param accounts: how many accounts the seeded data set has.
    :param nfts_per_account: NFT balances of each account, zero ones included.
    :param collections_per_account: collections each account owns; most of its NFTs are of them.
    :param seed: the seed of the data and of the default API key: the same seed, the same data.
    :param api_key: the key requests must send (``X-API-KEY``); default: the seed's
        (:func:`~airflow_provider_loopring.testing.sandbox.generate.api_key_for_seed`).
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
        latency: float = 0.0,
        rate_limit: float | None = None,
        block_size: int | None = None,
        quirks: Iterable[str] = (),
    ) -> None:
        self._data_options = (accounts, nfts_per_account, collections_per_account, seed)
        self._ledger_options = (block_size, tuple(quirks))
        self._dataset = Ledger(*self._data_options, *self._ledger_options)
        self.api_key = api_key or api_key_for_seed(seed)
        self._initial_settings = (latency, rate_limit)
        self._latency = 0.0
        self._limiter: ServerRateLimit | None = None
        self.set_latency(latency)
        self.set_rate_limit(rate_limit)
        self._faults = FaultQueue()
        self._log = RequestLog()

    @property
    def url(self) -> str:
        """Base URL, e.g. "http://127.0.0.1:PORT"; only a started server has one."""
        raise RuntimeError("the sandbox is not started")

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
        self._limiter = (
            None if requests_per_second is None else ServerRateLimit(requests_per_second)
        )

    def reset(self) -> None:
        """Back to the state after construction: fresh data, no faults, empty log."""
        self._dataset = Ledger(*self._data_options, *self._ledger_options)
        self.clear_faults()
        self.clear_requests()
        self.set_latency(self._initial_settings[0])
        self.set_rate_limit(self._initial_settings[1])

    # -- request log --

    @property
    def requests(self) -> list[RequestRecord]:
        """API requests in the order they were read (see `RequestRecord`)."""
        return self._log.records()

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._log.clear()

    def wait_for_requests(
        self, predicate: Callable[[list[RequestRecord]], bool], timeout: float = 10.0
    ) -> bool:
        """Wait until ``predicate(requests)`` holds (a streamed body's end is seen by the
        server a moment after the client's error); False when ``timeout`` passed first.

        :param predicate: called with :attr:`requests` each time the log changes.
        :param timeout: the most seconds to wait.
        """
        return self._log.wait_for(predicate, timeout)
