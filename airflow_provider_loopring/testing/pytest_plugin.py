"""pytest plugin (entry point `loopring_sandbox`): the `loopring_sandbox` fixture.

Loaded into every pytest run of anyone who installs this package, so it imports only pytest
at load time; the sandbox itself is imported when a test asks for the fixture::

    @pytest.mark.loopring_sandbox(accounts=1, nfts_per_account=60, latency=0.05)
    def test_something(loopring_sandbox):
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_loopring.testing.sandbox import LoopringSandbox

# Small enough to start instantly, big enough to page (limit 20) and hold every quirk.
DEFAULTS: dict[str, Any] = {"accounts": 2, "nfts_per_account": 30, "collections_per_account": 3}


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``loopring_sandbox`` marker, so ``--strict-markers`` accepts it.

    :param config: pytest's configuration.
    """
    config.addinivalue_line(
        "markers",
        "loopring_sandbox(**kwargs): LoopringSandbox arguments for the loopring_sandbox fixture",
    )


@pytest.fixture
def loopring_sandbox(request: pytest.FixtureRequest) -> Iterator[LoopringSandbox]:
    """A started LoopringSandbox for one test; the marker's kwargs override the defaults.

    :param request: pytest's request for the fixture, for the test's marker.
    """
    from airflow_provider_loopring.testing.sandbox import LoopringSandbox

    options = dict(DEFAULTS)
    marker = request.node.get_closest_marker("loopring_sandbox")
    if marker is not None:
        if marker.args:
            raise pytest.UsageError("loopring_sandbox marker takes keyword arguments only")
        options.update(marker.kwargs)
    with LoopringSandbox(**options) as sandbox:
        yield sandbox
