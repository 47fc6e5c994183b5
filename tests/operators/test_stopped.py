"""A try stopped from outside: SIGTERM (Airflow's on_kill) saves what finished, SIGKILL loses
at most the last checkpoint interval; the next try of the same task instance resumes.

Each try is a ``dag.test()`` in a process of its own, for the same logical date, so the same
run id: the next try is the same task instance. The test waits for what it needs to see
(the sandbox's request log, a checkpoint on disk) before it signals; the sandbox's latency
keeps the try running long enough.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import DAGS_FOLDER, DagResult
from tests.operators.test_loopring import BALANCES, IMPORTS, held, ids, read_jsonl, requests_to
from tests.operators.test_resume import asked_for, staging_of

pytestmark = pytest.mark.loopring_sandbox(accounts=8, nfts_per_account=60, latency=0.25)
LOGICAL_DATE = "2024-06-01T00:00:00+00:00"
RUN = """
import sys, pendulum
from airflow_provider_loopring.version_compat import dag_bag_class

dag = dag_bag_class()(dag_folder=sys.argv[1]).get_dag(sys.argv[2])
day = pendulum.parse(sys.argv[3])
run = dag.test(logical_date=day, run_after=day)  # the run id comes from run_after
print("RUN", run.run_id, run.state, flush=True)
"""
WAIT = 120.0  # seconds: a fail-safe for a broken test, not a measure of speed


@pytest.fixture
def write_dag(airflow_db: Path) -> Iterator[Callable[[str], tuple[Path, str]]]:
    """Write a DAG file (its tasks' body) into the DAGs folder; removed after the test."""
    written: list[Path] = []

    def write(body: str) -> tuple[Path, str]:
        dag_id = f"test_stopped_{uuid.uuid4().hex[:8]}"
        path = DAGS_FOLDER / f"{dag_id}.py"
        path.write_text(
            "import pendulum\nfrom airflow.sdk import DAG\n"
            + textwrap.dedent(IMPORTS)
            + f"\nwith DAG({dag_id!r}, schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n"
            + textwrap.indent(textwrap.dedent(body), "    ")
        )
        written.append(path)
        return path, dag_id

    yield write
    for path in written:
        path.unlink(missing_ok=True)


def start_try(path: Path, dag_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", RUN, str(path), dag_id, LOGICAL_DATE],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(what: str, check: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.communicate()[0] if process.poll() is not None else ""
            raise AssertionError(f"never saw {what}; the try's output:\n{output[-3000:]}")
        time.sleep(0.05)


def finish(process: subprocess.Popen[str]) -> DagResult:
    output = process.communicate(timeout=WAIT)[0]
    line = next((x for x in output.splitlines() if x.startswith("RUN ")), None)
    assert line is not None, output[-3000:]
    _, run_id, state = line.split()
    return DagResult("", run_id, state, {}, {})


def saved_accounts(folder: Path) -> list[int]:
    accounts = []
    for manifest in (p for p in staging_of(folder) if p.name.startswith("checkpoint-")):
        for entry in json.loads(manifest.read_text())["accounts"]:
            accounts.append(int(entry["account"].split(":")[1]))
    return accounts


def finished_accounts(sandbox) -> int:
    """Accounts whose both pages the sandbox has answered (one worker: in order)."""
    return sum(1 for r in requests_to(sandbox) if r.query["offset"] == "50" and r.status)


def resume_and_check(sandbox, path, dag_id, out, saved):
    """The next try fetches exactly the accounts not saved, and the output is whole."""
    sandbox.set_latency(0)
    before = len(requests_to(sandbox))
    result = finish(start_try(path, dag_id))
    assert result.state == "success"
    every = ids(sandbox)
    assert asked_for(sandbox, BALANCES, since=before) == [x for x in every if x not in saved]
    assert read_jsonl((out / "balances.jsonl").read_bytes()) == held(sandbox, *every)
    result.dag_id = dag_id
    assert result.xcom("balances")["resumed_accounts"] == len(saved)
    assert staging_of(out) == []


def balances_dag(write_dag, sandbox, out: Path, checkpoint_interval: float) -> tuple[Path, str]:
    """A DAG of one balances task over every sandbox account, one account at a time."""
    return write_dag(
        f"""
        Balances(
            task_id="balances", account_id={ids(sandbox)}, max_workers=1,
            checkpoint_interval={checkpoint_interval}, output_path="file://{out}/balances.jsonl",
        )
        """
    )


def test_sigterm_saves_every_finished_account_and_the_next_try_resumes(
    sandbox, write_dag, tmp_path
):
    out = tmp_path / "out"
    # No periodic checkpoint: what is saved, the stop saved.
    path, dag_id = balances_dag(write_dag, sandbox, out, checkpoint_interval=3600)
    process = start_try(path, dag_id)
    wait_for("three accounts finished", lambda: finished_accounts(sandbox) >= 3, process)
    process.send_signal(signal.SIGTERM)
    stopped = finish(process)
    assert stopped.state == "failed"
    saved = saved_accounts(out)
    assert len(saved) >= 3
    assert saved == ids(sandbox)[: len(saved)]  # every account it finished, in order
    assert not (out / "balances.jsonl").exists()
    resume_and_check(sandbox, path, dag_id, out, saved)


def test_after_sigkill_the_next_try_loses_only_what_was_not_checkpointed(
    sandbox, write_dag, tmp_path
):
    out = tmp_path / "out"
    path, dag_id = balances_dag(write_dag, sandbox, out, checkpoint_interval=0)
    process = start_try(path, dag_id)
    wait_for("two checkpoints", lambda: len(saved_accounts(out)) >= 2, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=WAIT)
    saved = saved_accounts(out)
    assert 2 <= len(saved) < len(ids(sandbox))
    assert not (out / "balances.jsonl").exists()
    resume_and_check(sandbox, path, dag_id, out, saved)
