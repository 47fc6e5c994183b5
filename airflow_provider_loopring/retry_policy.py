"""Which failures another try of a task cannot cure, and how the tasks tell Airflow so.

A rejected key, an unknown account, a wrong argument or a response of the wrong shape give
the same answer on every try: the operators and sensors fail at once on those, without the
task's ``retries``; 429, 5xx and network errors keep them (the hook has already retried
within the try, but a later try may still find Loopring well again).

On Airflow 3.3+ this is the task's ``retry_policy`` (:class:`LoopringRetryPolicy`, the default
of every Loopring operator and sensor): the task fails with the error as raised, so
``on_failure_callback`` sees the ``LoopringAuthError`` itself. Older Airflow has no retry
policy: there :func:`fail_fast` turns such an error into an ``AirflowFailException``.

Imported by the operator and sensor modules at DAG parse time, as are the modules it imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow_provider_loopring.exceptions import (
    LoopringApiError,
    LoopringInvalidParameterError,
    LoopringTriggerError,
)
from airflow_provider_loopring.version_compat import (
    HAS_RETRY_POLICY,
    AirflowFailException,
    RetryDecision,
    RetryPolicy,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


def retry_can_help(error: BaseException) -> bool:
    """Whether another try of the task may succeed after ``error``.

    :param error: what the try raised.
    :return: False for a Loopring error that is not ``retryable`` (auth, not found, a
        misshaped response) and for an invalid argument; True for anything else.
    """
    if isinstance(error, (LoopringApiError, LoopringTriggerError)):
        return error.retryable
    return not isinstance(error, LoopringInvalidParameterError)


if HAS_RETRY_POLICY:

    class LoopringRetryPolicy(RetryPolicy):
        """Fail a Loopring task at once on an error another try cannot cure (Airflow 3.3+).

        Anything else gets the task's own retry behaviour (``retries``, ``retry_delay``).
        """

        def evaluate(
            self,
            exception: BaseException,
            try_number: int,
            max_tries: int,
            context: Context | None = None,
        ) -> RetryDecision:
            """Fail now if another try cannot cure ``exception``; else Airflow's default.

            :param exception: what the try raised.
            :param try_number: the try that failed, from 1 (not used).
            :param max_tries: the tries the task has in all (not used).
            :param context: the task's context (not used).
            """
            if retry_can_help(exception):
                return RetryDecision.default()
            return RetryDecision.fail(
                f"{type(exception).__name__}: another try would get the same answer"
            )

        def serialize(self) -> dict[str, Any]:
            return {"__type": "LoopringRetryPolicy"}

        @classmethod
        def deserialize(cls, data: dict[str, Any]) -> LoopringRetryPolicy:
            """The policy back from :meth:`serialize`'s output.

            :param data: that output; the policy has no settings, so nothing is read from it.
            """
            return cls()

        def __eq__(self, other: object) -> bool:
            return type(other) is type(self)

        def __hash__(self) -> int:
            return hash(type(self))


def with_retry_policy(kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``BaseOperator`` keyword arguments with our retry policy unless one was given, and
    whether the task fails fast (:func:`fail_fast`'s ``enabled``).

    Before Airflow 3.3 a ``retry_policy=None`` (what a DAG written for 3.3 passes to keep
    every retry) is taken out, as that Airflow has no such argument.

    :param kwargs: the task's keyword arguments, with the merged ``default_args`` of the
        task and its DAG; a ``retry_policy`` given in either (also ``None``) wins.
    :return: the arguments for ``BaseOperator``, and False when the task was given a
        ``retry_policy`` of its own (also ``None``).
    """
    given = _given(kwargs)
    if HAS_RETRY_POLICY:
        if not given:
            kwargs["retry_policy"] = LoopringRetryPolicy()
    elif "retry_policy" in kwargs and kwargs["retry_policy"] is None:
        del kwargs["retry_policy"]
    return kwargs, not given


def _given(kwargs: dict[str, Any]) -> bool:
    return "retry_policy" in kwargs or "retry_policy" in (kwargs.get("default_args") or {})


@contextmanager
def fail_fast(enabled: bool = True) -> Iterator[None]:
    """Where Airflow has no retry policy: an error retries cannot cure fails the task at once.

    :param enabled: False for a task that opted out (see :func:`with_retry_policy`): its errors
        are raised as they are, and keep its ``retries``.
    """
    try:
        yield
    except Exception as error:
        if (
            HAS_RETRY_POLICY
            or not enabled
            or retry_can_help(error)
            or isinstance(error, AirflowFailException)
        ):
            raise
        raise AirflowFailException(str(error)) from error
