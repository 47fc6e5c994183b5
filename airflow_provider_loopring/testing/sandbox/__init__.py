"""The Loopring API sandbox: a local HTTP server with seeded NFT data and fault injection.

Standard library only. `LoopringSandbox` (in `app`) is what callers use; the rest is how it
works, each module one layer:

- `app`: `LoopringSandbox` and `RequestRecord`; routes each request, keeps the request log.
- `endpoints`: the Loopring endpoints it implements, as plain functions of a request.
- `admin`: the `/_sandbox/` control API that `testing.SandboxClient` talks to.
- `dataset`: the seeded accounts, collections and NFT balances, and their statuses.
- `generate`: the seeded generators of Loopring-shaped records behind `dataset`.
- `faults`: `Fault`, the injected misbehaviour, and the bodies it answers with.
- `ratelimit`: the token bucket behind the sandbox's own 429s.
- `server`: the asyncio HTTP/1.1 server, on an event loop in a daemon thread.
- `wire`: parsing requests and encoding responses.
"""

from __future__ import annotations

from airflow_provider_loopring.testing.sandbox.app import LoopringSandbox, RequestRecord
from airflow_provider_loopring.testing.sandbox.faults import Fault

__all__ = ["Fault", "LoopringSandbox", "RequestRecord"]
