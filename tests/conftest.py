"""A throwaway Airflow (sqlite, its own AIRFLOW_HOME) for the whole test session.

The environment is set at import, before anything imports airflow: Airflow reads its
configuration once, on first import.
"""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.redis_server import RedisServer

_HOME = Path(tempfile.mkdtemp(prefix="loopring-airflow-"))
DAGS_FOLDER = _HOME / "dags"
DAGS_FOLDER.mkdir()
os.environ.update(
    AIRFLOW_HOME=str(_HOME),
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{_HOME}/airflow.db",
    AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
    AIRFLOW__CORE__UNIT_TEST_MODE="False",
)
os.environ.pop("AIRFLOW_CONN_LOOPRING_DEFAULT", None)

# A realistic, distinctive key: short passwords are not masked by Airflow (see airflow-notes).
TEST_API_KEY = "LoopringTestKey" + "q7Xv2Rk9Zt4Wm8Ny" * 3
REDIS_PASSWORD = "RedisTestPassword" + "t3Hn8Vq5Lw2Pz6Ck" * 2


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the metadata database once per session (~3 s on sqlite)."""
    from airflow.utils import db

    db.initdb()
    return _HOME


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server on 127.0.0.1 at a free port for one test; it wants REDIS_PASSWORD."""
    with RedisServer(tmp_path / "redis", password=REDIS_PASSWORD) as server:
        yield server


def connection_json(url: str, api_key: str, **extra: Any) -> str:
    """A ``loopring`` connection in the JSON form Airflow reads from AIRFLOW_CONN_*."""
    return json.dumps({"conn_type": "loopring", "host": url, "password": api_key, "extra": extra})


@pytest.fixture
def sandbox(loopring_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sandbox, with ``loopring_default`` pointing at it."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_LOOPRING_DEFAULT",
        connection_json(loopring_sandbox.url, loopring_sandbox.api_key, requests_per_second=500),
    )
    return loopring_sandbox


@dataclass
class DagResult:
    """What a test wants to know of one ``dag.test()`` run."""

    dag_id: str
    run_id: str
    state: str
    task_states: dict[str, str | None]  # the last map index wins for mapped tasks
    ti_states: dict[tuple[str, int], str | None]  # (task_id, map_index) -> state

    def xcom(self, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = (
                session.query(XComModel)
                .filter_by(
                    dag_id=self.dag_id,
                    run_id=self.run_id,
                    task_id=task_id,
                    key=key,
                    map_index=map_index,
                )
                .one_or_none()
            )
            return None if row is None else row.value


def _state(state: Any) -> str | None:
    return None if state is None else str(getattr(state, "value", state))


@pytest.fixture
def run_dag(airflow_db: Path) -> Iterator[Callable[..., DagResult]]:
    """Write a DAG file into the DAGs folder and run it with ``dag.test()``.

    Airflow 3.3 only runs DAGs it finds in a bundle, so tests give the body of a DAG file
    (the tasks, inside ``with DAG(...) as dag:``) rather than a DAG object.
    """
    written: list[Path] = []

    def run(body: str, *, run_conf: dict[str, Any] | None = None, header: str = "") -> DagResult:
        from airflow_provider_loopring.version_compat import dag_bag_class

        dag_id = f"test_{uuid.uuid4().hex[:12]}"
        path = DAGS_FOLDER / f"{dag_id}.py"
        source = (
            "import pendulum\nfrom airflow.sdk import DAG\n"
            + textwrap.dedent(header)
            + f"\nwith DAG({dag_id!r}, schedule=None, start_date=pendulum.datetime(2024, 1, 1),"
            " render_template_as_native_obj=True) as dag:\n"
            + textwrap.indent(textwrap.dedent(body), "    ")
        )
        path.write_text(source)
        written.append(path)
        dag = dag_bag_class()(dag_folder=str(path)).get_dag(dag_id)
        assert dag is not None, f"the test DAG did not import:\n{source}"
        dag_run = dag.test(run_conf=run_conf)
        tis = dag_run.get_task_instances()
        states = {ti.task_id: _state(ti.state) for ti in tis}
        by_index = {(ti.task_id, ti.map_index): _state(ti.state) for ti in tis}
        return DagResult(dag_id, dag_run.run_id, _state(dag_run.state), states, by_index)

    yield run
    for path in written:
        path.unlink(missing_ok=True)


# --- which tests run on the older Airflow minors too (`make test-matrix -m matrix`) -------------
# `make test` runs everything on the newest Airflow. On 3.1 and 3.2 a test earns its minutes
# when what it checks differs by version: every module that imports `version_compat` (directly
# or through its conftest) and these, whose code paths branch on a version flag (deferral, the
# task and asset state stores, the retry policy, shared streams, the connection form, lineage).
# What no version changes (the core, models, storage, the sandbox) is proven once, on the newest.
_MATRIX_PATHS = (
    "example_dags/",
    "sensors/",
    "triggers/",
    "assets/",
    "test_fail_fast.py",
    "test_provider.py",
    "hooks/test_connection_form.py",
    "operators/test_lineage.py",
)
# The scale proof (1,500 accounts) runs no code that differs by version: once is enough; the
# wheel tests install their own Airflow (`make test-wheel`).
_MATRIX_SKIP = ("example_dags/test_snapshot_at_scale.py", "release/")
_TESTS = Path(__file__).parent


def _on_every_minor(path: Path, cache: dict[Path, bool]) -> bool:
    if path not in cache:
        name = path.relative_to(_TESTS).as_posix()
        cache[path] = not name.startswith(_MATRIX_SKIP) and (
            name.startswith(_MATRIX_PATHS) or "version_compat" in path.read_text()
        )
    return cache[path]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "matrix: runs on every Airflow minor (make test-matrix), not only the newest"
    )
    config.addinivalue_line(
        "markers",
        "newest_only: in a matrix path, but what it proves does not change by minor: runs on "
        "the newest only (a slow DAG run whose version-dependent parts another test covers)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    cache: dict[Path, bool] = {}
    for item in items:
        if item.get_closest_marker("newest_only") is not None:
            continue
        if item.path.is_relative_to(_TESTS) and _on_every_minor(item.path, cache):
            item.add_marker(pytest.mark.matrix)
