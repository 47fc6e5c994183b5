"""glibc's mmap threshold, held at its default for processes that read pages on many threads."""

from __future__ import annotations

import os
from functools import cache

_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


@cache
def hold_mmap_threshold() -> None:
    """Keep glibc from raising its mmap threshold, once per process (glibc only).

    A page of balances with metadata is ~150 kB of JSON and up to four times that once
    decoded. glibc serves blocks that large with mmap until the first is freed, then raises
    its threshold and serves them from the calling thread's heap, where, with an operator's
    threads each reading pages, free space fragments and RSS grows with every page: +70 MiB
    for 100,000 balances, against +6 MiB with the threshold held (benchmarks/memory.py).
    128 KiB is glibc's own default; setting it only stops it from moving. The operators call
    this when a task starts; ``MALLOC_MMAP_THRESHOLD_=131072`` in a worker's environment has
    the same effect for any other code.
    """
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
    except (AttributeError, ValueError, OSError):  # not glibc: nothing to do
        return
    import ctypes

    ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
