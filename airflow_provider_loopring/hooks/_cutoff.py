"""The sync transport's cut-off: one deadline for a whole request, and a way to stop one.

requests' ``timeout`` bounds each socket operation, not a request: a server that sends a
byte every half second never trips it. Here every connection urllib3 opens or reuses for
the calling thread's request is attached to that request's :class:`Exchange`; a timer (the
deadline) or :meth:`LoopringHook.close` (a kill) shuts its socket down, which wakes the read
blocked on it at once. Imported with requests, when the first sync request is made.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection

_current = threading.local()  # the exchange of this thread's request in flight, if any


class Exchange:
    """One request in flight: the connection it uses, and whether it was cut off."""

    def __init__(self) -> None:
        self.cut = False
        self.expired = False  # cut by the deadline (not by a close)
        self._connection: HTTPConnection | None = None
        self._lock = threading.Lock()

    def attach(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection
            cut = self.cut
        if cut:  # cut while connecting: the socket exists only now
            _shut(connection)

    def cut_off(self, *, expired: bool = False) -> None:
        with self._lock:
            self.cut, self.expired = True, self.expired or expired
            connection = self._connection
        if connection is not None:
            _shut(connection)


def _shut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _attach(connection: HTTPConnection) -> None:
    exchange = getattr(_current, "exchange", None)
    if exchange is not None:
        exchange.attach(connection)


class _TrackedConnection(HTTPConnection):
    """Attaches itself to the calling thread's exchange: when reused, and once connected."""

    def connect(self) -> None:
        super().connect()
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _TrackedTLSConnection(_TrackedConnection, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _TrackedConnection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedTLSConnection


_POOLS = {"http": _Pool, "https": _TLSPool}


class CutOffAdapter(HTTPAdapter):
    """requests' adapter, its connections (direct or through a proxy) tracked."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


@contextlib.contextmanager
def deadline(seconds: float, in_flight: set[Exchange]) -> Iterator[Exchange]:
    """Cut the calling thread's request off after ``seconds``; ``in_flight`` lists it meanwhile.

    :param seconds: the whole request's time: connecting, headers and body.
    :param in_flight: the hook's requests in flight, for ``close()`` to cut.
    """
    exchange = Exchange()
    timer = threading.Timer(seconds, exchange.cut_off, kwargs={"expired": True})
    timer.daemon = True
    _current.exchange = exchange
    in_flight.add(exchange)
    timer.start()
    try:
        yield exchange
    finally:
        timer.cancel()
        in_flight.discard(exchange)
        _current.exchange = None
