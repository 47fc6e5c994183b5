"""The example snapshot DAG, in the DAGs folder of the test session, for dag.test() runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DAGS_FOLDER

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
EXAMPLE = EXAMPLE_DAGS / "loopring_nft_snapshot.py"


@contextmanager
def example_dag(dag_id: str) -> Iterator[Any]:
    """The example DAG ``<dag_id>.py``, copied into the DAGs folder for as long as it is used."""
    from airflow_provider_loopring.version_compat import dag_bag_class

    path = DAGS_FOLDER / f"{dag_id}.py"
    shutil.copy(EXAMPLE_DAGS / path.name, path)
    try:
        yield dag_bag_class()(dag_folder=str(path)).get_dag(dag_id)
    finally:
        path.unlink()


@pytest.fixture
def snapshot_dag(sandbox: Any, airflow_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("LOOPRING_SNAPSHOT_RETRY_DELAY", "0")
    with example_dag("loopring_nft_snapshot") as dag:
        yield dag
