"""What the sensor and the trigger tests script the sandbox with."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import connection_json

DEPLOYS = ["NOT_DEPLOYED", "DEPLOYING", "DEPLOYED"]
FAILS = ["NOT_DEPLOYED", "DEPLOYING", "DEPLOY_FAILED"]
UNKNOWN = "REDEPLOY_QUEUED"  # a status Loopring might add one day


def unknown_status(body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    """A ``Fault("transform")`` body: every NFT in a status we do not know."""
    for item in body["data"]:
        item["deploymentStatus"] = UNKNOWN
    return body


def use_connection(monkeypatch: pytest.MonkeyPatch, url: str, key: str, **extra: Any) -> None:
    """Point ``loopring_default`` elsewhere: a wrong key, or ``max_retries=0`` so that what the
    sensor or trigger does with an error the hook gave up on shows at once."""
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", connection_json(url, key, **extra))
