"""The Loopring API sandbox: a local HTTP server over a ledger of L2 blocks, with faults.

Standard library only. `LoopringSandbox` (in `app`) is what callers use; the rest is how it
works, each module one layer:

- `app`: `LoopringSandbox`; serves each request off the event loop, keeps the request log.
- `controls`, `data`: everything a test controls (faults, settings, the log; the ledger's
  reads and mutations), apart from the server so that `admin` needs no `app`.
- `admin`: the `/_sandbox/` control API that `testing.SandboxClient` talks to.
- `endpoints`: the account, balances and collections endpoints, and the routing of all;
  `chain_views` (getBlock, pending requests), `nft_views` (holders, NFT info, collections),
  `history` (an account's NFT transactions and trades); `params`: their shared parsing.
- `ledger`: the mutations (mint, transfer, trade, withdraw, deposit, set_balance) over
  `chain` (blocks, pending transactions, history) over `statuses` (locked, pending,
  deployment) over `dataset` (balances, moved only by the ledger) over `seeded` (the
  accounts, collections and first blocks, made lazily); `txs`: the block transactions.
- `simulate`: `simulate_day`, random activity sealed into blocks.
- `generate`: the seeded generators of Loopring-shaped records, and the nftData stand-in.
- `faults`: `Fault`, the injected misbehaviour, and the bodies it answers with.
- `records`: the request log. `ratelimit`: the token bucket behind the sandbox's own 429s.
- `server`: the asyncio HTTP/1.1 server, on an event loop in a daemon thread.
- `wire`: parsing requests and encoding responses.
"""

from __future__ import annotations

from airflow_provider_loopring.testing.sandbox.app import LoopringSandbox, RequestRecord
from airflow_provider_loopring.testing.sandbox.faults import Fault

__all__ = ["Fault", "LoopringSandbox", "RequestRecord"]
