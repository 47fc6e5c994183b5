"""Errors the provider raises: one base class and the few kinds a user acts on differently."""

from __future__ import annotations

from airflow_provider_loopring.version_compat import AirflowException, AirflowFailException

# Loopring's codes that mean "your key is wrong" and "that account does not exist".
AUTH_CODES = frozenset({104001, 104002})
NOT_FOUND_CODES = frozenset({101001, 101002, 104003, 104007})


class LoopringApiError(AirflowException):
    """A call to the Loopring API failed.

    :param message: what went wrong, in Loopring's words where it gave any.
    :param endpoint: the request, e.g. ``GET /api/v3/user/nft/balances accountId=10001``
        (never the API key: it travels in a header, not in the query).
    :param code: Loopring's ``resultInfo.code``, when the API sent one.
    :param http_status: the HTTP status, or None when no response arrived.
    :param hint: what the user can do about it.
    :param retryable: whether another try may succeed; defaults to the kind's own answer.
    """

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        code: int | None = None,
        http_status: int | None = None,
        hint: str = "",
        retryable: bool | None = None,
    ) -> None:
        self.message = message
        self.endpoint = endpoint
        self.code = code
        self.http_status = http_status
        self.hint = hint
        if retryable is not None:
            self.retryable = retryable
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"Loopring {self.endpoint} failed"
        what = [f"HTTP {self.http_status}"] if self.http_status is not None else []
        if self.code is not None:
            what.append(f"code {self.code}")
        detail = f" ({', '.join(what)})" if what else ""
        hint = f" {self.hint}" if self.hint else ""
        return f"{where}{detail}: {self.message}.{hint}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only __init__ would break pickling (and so error reporting across processes).
        state = {
            "endpoint": self.endpoint,
            "code": self.code,
            "http_status": self.http_status,
            "hint": self.hint,
            "retryable": self.retryable,
        }
        return (_rebuild, (type(self), self.message, state))


def _rebuild(cls: type[LoopringApiError], message: str, state: dict) -> LoopringApiError:
    return cls(message, **state)


class LoopringAuthError(LoopringApiError):
    """The API key is missing or was rejected (104001, 104002, HTTP 401/403)."""


class LoopringNotFoundError(LoopringApiError):
    """The account or address is unknown to Loopring (101001, 101002, 104003, 104007)."""


class LoopringRateLimitError(LoopringApiError):
    """HTTP 429: Loopring asked us to slow down; ``retry_after`` is its wait in seconds."""

    retryable = True
    retry_after: float | None = None


class LoopringServerError(LoopringApiError):
    """A 5xx, a connection failure or a timeout: worth another try."""

    retryable = True


class LoopringBadResponseError(LoopringApiError):
    """The response is not what the API documents: not JSON, cut short, or the wrong shape.

    A body that is not JSON at all (cut short, a CDN's HTML page) is retried; valid JSON of
    the wrong shape is not, since asking again gives the same answer.
    """


class LoopringInvalidParameterError(AirflowFailException, ValueError):
    """An argument is wrong; raised before any request is sent. Retrying would not help.

    :param parameter: the argument, as the user wrote it.
    :param expected: what it should be.
    :param got: the value given, quoted (shortened) in the message.
    :param shown: what to say instead of the value, for a secret.
    """

    def __init__(
        self, parameter: str, expected: str, got: object, *, shown: str | None = None
    ) -> None:
        self.parameter = parameter
        self.expected = expected
        if shown is None:
            shown = _quoted(got)
        super().__init__(f"Invalid {parameter}: expected {expected}, got {shown}.")


def _quoted(value: object) -> str:
    """A value as an error quotes it: its repr, shortened."""
    try:
        shown = repr(value)
    except ValueError:  # an int of more than 4,300 digits has no repr
        shown = f"an integer of about {value.bit_length() * 0.30103:.0f} digits"  # type: ignore[attr-defined]
    return shown if len(shown) <= 80 else shown[:77] + "..."


class LoopringTriggerError(RuntimeError):
    """A deferred wait ended in an error the trigger could not recover from.

    Deliberately not an AirflowException: Airflow skips a resumed sensor on any
    AirflowException under ``soft_fail``, and a broken setup (a rejected key, an unknown
    account) must fail the task, not skip it.

    :param message: what the trigger said.
    :param retryable: whether another try of the task may succeed: False for a Loopring
        error the trigger saw (a rejected key, an unknown account, a misshaped response),
        which fails the task without its retries (:mod:`airflow_provider_loopring.retry_policy`).
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class LoopringRateBudgetError(LoopringServerError):
    """No token could be had from the shared rate budget (Redis): the request was not sent.

    Retried like a 5xx, within the call's retry policy: a Redis that comes back in time costs
    a delay, not the run.
    """


class LoopringSnapshotDayError(AirflowFailException):
    """A snapshot would label today's state with another day (a backfill, a catch-up run).

    Fails the task without its retries: a later try runs on a later day still.
    """


class LoopringBlockError(AirflowFailException):
    """The chain is not what a reader of blocks must see: a gap in block ids, a block asked
    for that is past the finalized head, or a cursor ahead of the head.

    Fails the task without its retries: blocks are never skipped in silence, and asking again
    gives the same chain.
    """
