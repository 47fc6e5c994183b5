"""The example snapshot DAG, in the DAGs folder of the test session, for dag.test() runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DAGS_FOLDER

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "loopring_nft_snapshot.py"


@pytest.fixture
def snapshot_dag(sandbox: Any, airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from airflow_provider_loopring.version_compat import dag_bag_class

    monkeypatch.setenv("LOOPRING_SNAPSHOT_RETRY_DELAY", "0")
    path = DAGS_FOLDER / EXAMPLE.name
    shutil.copy(EXAMPLE, path)
    try:
        yield dag_bag_class()(dag_folder=str(path)).get_dag("loopring_nft_snapshot")
    finally:
        path.unlink()
