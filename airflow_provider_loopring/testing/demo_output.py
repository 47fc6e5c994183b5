"""How `make demo` reads and shows what a run did: its records and return values, checked
lines, timed steps, a copy of stdout."""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def check(line: str, ok: bool, otherwise: str) -> bool:
    """Print ``line``, marked WRONG with ``otherwise`` when not ``ok``; return ``ok``.

    :param line: what the demo shows.
    :param ok: whether it is what was expected.
    :param otherwise: what was expected, shown when it is not.
    """
    print(line if ok else f"{line}  <-- WRONG: {otherwise}")
    return ok


def local_path(url: str) -> Path:
    """The path of a file:// URL.

    :param url: a file:// URL.
    """
    return Path(url.removeprefix("file://"))


def line_count(url: str | None) -> int | None:
    """How many lines a local file written by a DAG has; None when it is not local.

    :param url: the file's URL; None when the DAG wrote none.
    """
    if url is None or not url.startswith("file://") or not local_path(url).is_file():
        return None
    with local_path(url).open("rb") as file:
        return sum(1 for _ in file)


def shown(where: str | Path) -> str:
    """A path relative to the current directory when it is below it.

    :param where: a path.
    """
    path = local_path(where) if isinstance(where, str) else where
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@contextmanager
def step(what: str) -> Iterator[None]:
    """Print ``what``, then how long the block under it took.

    :param what: the step's name.
    """
    started = time.monotonic()
    print(f"{what}...", end=" ", flush=True)
    yield
    print(f"{time.monotonic() - started:.1f} s")


class _Tee(io.TextIOBase):
    def __init__(self, out: Any, copy: io.StringIO) -> None:
        self.out, self.copy = out, copy

    def write(self, text: str) -> int:
        self.copy.write(text)
        return int(self.out.write(text))

    def flush(self) -> None:
        self.out.flush()


@contextmanager
def recording_stdout() -> Iterator[io.StringIO]:
    """Show stdout as usual and keep a copy: Airflow logs the tasks there under dag.test()."""
    copy = io.StringIO()
    original = sys.stdout
    sys.stdout = _Tee(original, copy)
    try:
        yield copy
    finally:
        sys.stdout = original


def written_records(url: str) -> list[dict[str, Any]]:
    """The records a DAG wrote to a local JSON Lines or Parquet file (totals as strings).

    :param url: the file's ``file://`` URL.
    """
    path = local_path(url)
    if url.endswith(".parquet"):
        import pyarrow.parquet as pq

        return [
            {k: (str(v) if k.startswith("total") and v is not None else v) for k, v in r.items()}
            for r in pq.read_table(path).to_pylist()
        ]
    return [json.loads(line) for line in path.read_text().splitlines()]


def return_values(run: Any) -> dict[tuple[str, int], Any]:
    """(task_id, map_index) -> return value, for every task of the run.

    :param run: the DAG run ``dag.test()`` returned.
    """
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = select(XComModel).where(
        XComModel.dag_id == run.dag_id,
        XComModel.run_id == run.run_id,
        XComModel.key == "return_value",
    )
    with create_session() as session:
        return {
            (row.task_id, row.map_index): XComModel.deserialize_value(row)
            for row in session.scalars(query)
        }


def failed(run: Any) -> bool:
    """Show the state of every task of a failed run; False.

    :param run: the DAG run ``dag.test()`` returned.
    """
    for ti in run.get_task_instances():
        print(f"    {ti.task_id}[{ti.map_index}]: {ti.state}")
    print("  FAILED: see the task errors above.")
    return False
