"""A local Loopring API sandbox: seeded NFT data, fault injection, a CLI and a pytest fixture.

The sandbox is independent of the rest of this package (standard library only, no Airflow),
so that tests of our hook against it check the hook against Loopring's API and not against
itself. What is where:

- `sandbox/`: the sandbox server itself (`LoopringSandbox`, `Fault`; see its docstring).
- `client`: `SandboxClient`, to script a sandbox running in another process.
- `pytest_plugin`: the `loopring_sandbox` fixture (entry point `loopring_sandbox`).
- `demo`: `make demo`, the example DAGs against a sandbox (imports Airflow when it runs).
- `__main__`: the command line, `python -m airflow_provider_loopring.testing serve|demo`.

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
    from airflow_provider_loopring.testing.sandbox import Fault, LoopringSandbox, RequestRecord
    from airflow_provider_loopring.testing.sandbox.generate import (
        DEFAULT_API_KEY,
        DEFAULT_SEED,
        api_key_for_seed,
    )

# Imported on first use: the pytest plugin loads this package in every pytest run of anyone
# who installs us, and most of those runs never start a sandbox.
_EXPORTS = {
    "DEFAULT_API_KEY": "sandbox.generate",
    "DEFAULT_SEED": "sandbox.generate",
    "api_key_for_seed": "sandbox.generate",
    "Fault": "sandbox",
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
