"""Work over many accounts on a few threads, stopping them all at the first failure."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

A = TypeVar("A")
R = TypeVar("R")


class Stopped(Exception):
    """Raised in a worker when the run is already lost (another account failed, or a kill)."""


def fan_out(
    work: Callable[[A], R],
    items: Sequence[A],
    *,
    max_workers: int,
    stop: threading.Event,
    name: str,
    on_result: Callable[[R], None] | None = None,
) -> list[R]:
    """``work`` over ``items`` on up to ``max_workers`` threads; results in ``items``' order.

    The operator's threads share one hook, so they share its rate limit. The first failure
    (or ``on_result`` raising) ends the run: calls not started are cancelled and running ones
    stop at their next page (they watch ``stop``), so a lost run spends no more requests.

    :param work: what to do with one item, in a worker thread.
    :param items: the items, each given to ``work`` once.
    :param max_workers: the most threads.
    :param stop: set here at the first failure; set from outside (a kill), it stops the rest.
    :param name: the threads' name prefix.
    :param on_result: called in the calling thread with each result as it comes.
    """

    def guarded(item: A) -> R:
        if stop.is_set():
            raise Stopped("not started, the task is failing or was killed")
        try:
            return work(item)
        except BaseException:
            stop.set()  # here, before this thread takes the next account
            raise

    workers = min(max_workers, len(items)) or 1
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        futures = [pool.submit(guarded, item) for item in items]
        try:
            for future in as_completed(futures):
                result = future.result()
                if on_result is not None:
                    on_result(result)
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            raise
    return [future.result() for future in futures]
