"""Fixtures of the reliability suite: one distinctive key, tight and known bounds, one account.

Every test here runs against a sandbox that accepts only ``KEY``, so the secret-hygiene tests
can look for that one string everywhere the suite's DAG runs leave something behind.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_loopring import _core as api
from tests.conftest import connection_json
from tests.operators.conftest import scratch  # noqa: F401 (a fixture, for the tests here)

# Distinctive and realistic (Airflow does not mask short passwords): found only if leaked.
KEY = "LoopringReliabilitySecret" + "Hq7Zx3Vn9Lw2Pk5Tr8Bc4Md6" * 2
MAX_RETRIES = 3  # the connection's max_retries: a call makes at most 4 requests
TIMEOUT = 5.0  # the connection's timeout; the slow-response fault lowers it

# Two accounts of 60 NFTs: the first holds 53, two pages of 50 for the hook, operator, sensor.
SANDBOX = pytest.mark.loopring_sandbox(
    api_key=KEY, accounts=2, nfts_per_account=60, collections_per_account=2
)


def _loopback(host: object) -> bool:
    # None and "": a server binding, not a peer; this machine's name: from /etc/hosts.
    if host in (None, "", "localhost", socket.gethostname()):
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def remote_traffic(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """No test here may reach past 127.0.0.1: name lookups and connections to anything else
    fail, and are listed here; a test that made any fails at teardown."""
    attempts: list[str] = []
    lookup, connect = socket.getaddrinfo, socket.socket.connect

    def guarded_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _loopback(host.decode() if isinstance(host, bytes) else host):
            attempts.append(f"lookup {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: not loopback (test guard)")
        return lookup(host, *args, **kwargs)

    def guarded_connect(sock: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not _loopback(address[0]):
            attempts.append(f"connect {address[0]}:{address[1]}")
            raise ConnectionRefusedError(f"{address[0]}: not loopback (test guard)")
        return connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    yield attempts
    assert attempts == [], "traffic past 127.0.0.1 was attempted"


@pytest.fixture
def connect(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point ``loopring_default`` at the sandbox with the suite's bounds; call again to change."""

    def connect(**extra: Any) -> None:
        bounds = {"requests_per_second": 500, "max_retries": MAX_RETRIES, "timeout": TIMEOUT}
        conn = connection_json(sandbox.url, sandbox.api_key, **{**bounds, **extra})
        monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", conn)

    connect()
    return connect


@dataclass(frozen=True)
class _FastBackoff(api.BackoffPolicy):
    """The default policy with short waits: the bounds under test are kept."""

    backoff: float = 0.01
    max_backoff: float = 0.05


FAST = _FastBackoff(max_retries=MAX_RETRIES)  # what the hook tests pass as backoff


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks and triggers build their hook's policy from the connection (max_retries) and
    the defaults (backoff 0.5 s doubling): keep the bounds, shorten the waits."""
    from airflow_provider_loopring.hooks import _client

    monkeypatch.setattr(_client, "BackoffPolicy", _FastBackoff)


@dataclass(frozen=True)
class Account:
    """The account under test, as the balances endpoint lists it (nonZero, no metadata).

    Every NFT it holds is DEPLOYED in the sandbox; ``watched`` is the first NFT of page 2.
    """

    account_id: int
    owner: str
    items: list[dict[str, Any]] = field(repr=False)

    @property
    def watched(self) -> str:
        return str(self.items[api.MAX_LIMIT]["nftData"])


@pytest.fixture
def account(sandbox: Any, connect: Callable[..., None]) -> Account:
    first = sandbox.accounts[0]
    for item in sandbox.balances(first["accountId"], non_zero=True):
        sandbox.set_nft_status(item["nftData"], "DEPLOYED")
    items = sandbox.balances(first["accountId"], non_zero=True, metadata=False)
    assert api.MAX_LIMIT < len(items) < 2 * api.MAX_LIMIT  # exactly two pages
    return Account(first["accountId"], first["owner"], items)


def requests_to(sandbox: Any, path: str = api.NFT_BALANCES.path) -> list[Any]:
    return [record for record in sandbox.requests if record.path == path]
