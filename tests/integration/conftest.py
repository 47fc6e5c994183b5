"""Integration tests: real Airflow processes. `-m "not integration"` leaves them out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

# (test, phase, seconds), printed at the end of the run: the CI log shows where time goes.
TIMINGS: list[tuple[str, str, float]] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: starts real Airflow processes (a minute or two); runs by default"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("integration timings")
    for test, phase, seconds in TIMINGS:
        terminalreporter.write_line(f"{seconds:7.1f} s  {test}: {phase}")


@pytest.fixture
def phase(request: pytest.FixtureRequest) -> Callable[[str], AbstractContextManager[None]]:
    """`with phase("start"): ...` times a step of the test for the summary."""

    @contextmanager
    def timed(name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            TIMINGS.append((request.node.name, name, time.monotonic() - started))

    return timed
