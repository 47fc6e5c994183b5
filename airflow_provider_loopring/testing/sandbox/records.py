"""The sandbox's request log: what each API request was and how it was answered."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

MAX_RECORDS = 100_000  # a long benchmark must not grow the log without bound


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
class LogEntry:
    """A request as logged when read; its outcome is filled in once the answer is sent.

    :param method: the HTTP method.
    :param path: the path, without the query string.
    :param query: the query parameters, an API key in them masked.
    :param time: ``time.monotonic()`` when the request was read.
    :param status: the status answered; 0 until an answer is sent.
    :param fault: the injected fault's kind, "rate_limit" for the sandbox's own 429s, or None.
    :param cut: True when the client closed the connection before the body was all sent.
    """

    method: str
    path: str
    query: dict[str, str]
    time: float
    status: int = 0
    fault: str | None = None
    cut: bool = False

    def record(self) -> RequestRecord:
        """The entry as the record the log hands out."""
        return RequestRecord(
            self.method, self.path, self.query, self.time, self.status, self.fault, self.cut
        )


class RequestLog:
    """The log, newest last, bounded; safe to use from several threads."""

    def __init__(self) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=MAX_RECORDS)
        self._changed = threading.Condition(threading.Lock())

    def add(self, entry: LogEntry) -> None:
        """Log a request as it is read.

        :param entry: the request; its outcome is filled in later (:meth:`changed`).
        """
        with self._changed:
            self._entries.append(entry)
            self._changed.notify_all()

    def changed(self) -> None:
        """Wake those waiting on the log: an entry's outcome was filled in."""
        with self._changed:
            self._changed.notify_all()

    def records(self) -> list[RequestRecord]:
        """Every request in the order it was read."""
        with self._changed:
            return [entry.record() for entry in self._entries]

    def clear(self) -> None:
        """Empty the log."""
        with self._changed:
            self._entries.clear()

    def wait_for(self, predicate: Callable[[list[RequestRecord]], bool], timeout: float) -> bool:
        """Wait until ``predicate(records)`` holds; False when ``timeout`` passed first.

        :param predicate: called with the records each time the log changes.
        :param timeout: the most seconds to wait.
        """
        with self._changed:
            return self._changed.wait_for(
                lambda: predicate([entry.record() for entry in self._entries]), timeout
            )
