"""``[core] hostname_callable`` of the Celery test's workers: each says which worker it is.

Both workers run on this machine, so the host name alone would not tell them apart in the
task instances' ``hostname``; each worker's environment names it (``LOOPRING_IT_WORKER``).
"""

from __future__ import annotations

import os


def hostname() -> str:
    return os.environ["LOOPRING_IT_WORKER"]
