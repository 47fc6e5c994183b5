"""A local Loopring API sandbox: seeded NFT data, fault injection, a CLI and a pytest fixture.

Independent of the rest of this package (standard library only, no Airflow), so that tests of
our hook against it check the hook against Loopring's API and not against itself.

    from airflow_provider_loopring.testing import LoopringSandbox, Fault

    with LoopringSandbox(accounts=2, seed=7) as sandbox:
        sandbox.add_fault(Fault("status", status=503, times=2))
        ...  # point a client at sandbox.url with the header X-API-KEY: sandbox.api_key
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_loopring.testing.client import SandboxClient, SandboxError
    from airflow_provider_loopring.testing.faults import Fault
    from airflow_provider_loopring.testing.generate import (
        DEFAULT_API_KEY,
        DEFAULT_SEED,
        api_key_for_seed,
    )
    from airflow_provider_loopring.testing.sandbox import LoopringSandbox, RequestRecord

# Imported on first use: the pytest plugin loads this package in every pytest run of anyone
# who installs us, and most of those runs never start a sandbox.
_EXPORTS = {
    "DEFAULT_API_KEY": "generate",
    "DEFAULT_SEED": "generate",
    "api_key_for_seed": "generate",
    "Fault": "faults",
    "LoopringSandbox": "sandbox",
    "RequestRecord": "sandbox",
    "SandboxClient": "client",
    "SandboxError": "client",
}
__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_SEED",
    "Fault",
    "LoopringSandbox",
    "RequestRecord",
    "SandboxClient",
    "SandboxError",
    "api_key_for_seed",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
