"""A real Airflow deployment for one test: scheduler, DAG processor, triggerer and API server.

Each component is its own `airflow` process (LocalExecutor, sqlite) in its own process group,
with a throwaway AIRFLOW_HOME; the test reads the metadata database read-only to follow runs.
With the CeleryExecutor (`celery_env`), `start_celery_worker` adds `airflow celery worker`s.
Everything listens on 127.0.0.1 only: the API server on a free port, and the log servers of
the scheduler and triggerer are not started (every process shares the local log folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# The `airflow` next to this interpreter (the venv's), else the first on PATH.
_NEXT_TO_PYTHON = Path(sys.executable).with_name("airflow")
AIRFLOW = (
    str(_NEXT_TO_PYTHON) if _NEXT_TO_PYTHON.is_file() else shutil.which("airflow") or "airflow"
)
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
STOP_GRACE = 20.0  # seconds each process group gets after SIGTERM before SIGKILL
POLL = 0.25  # seconds between two looks at the metadata database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ComponentDied(AssertionError):
    """An Airflow process exited while the test still needed it."""


class AirflowDeployment:
    """Airflow's processes in `home`, parsing `dags_folder`; `env` is added to theirs.

    Call `stop()` in a `finally`: it stops every process `start()` started, in every case.
    """

    def __init__(self, home: Path, dags_folder: Path, env: dict[str, str]) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}"
        self.db_path = home / "airflow.db"
        self.env = self._environment(dags_folder, env)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.started: list[str] = []  # every component's name, in order, also after stop()

    def _environment(self, dags_folder: Path, extra: dict[str, str]) -> dict[str, str]:
        from cryptography.fernet import Fernet

        # Nothing of the pytest process's own Airflow (its AIRFLOW_HOME, connections) leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        no_proxy = ",".join(filter(None, [env.get("NO_PROXY"), "127.0.0.1", "localhost"]))
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                # Every component signs and checks the execution API's tokens with it.
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                # Runs come from `airflow dags trigger` only, not from the DAGs' schedules.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "NO_PROXY": no_proxy,
                "no_proxy": no_proxy,
                **extra,
            }
        )
        return env

    # --- lifecycle -------------------------------------------------------------------------

    def migrate(self) -> None:
        """Create the metadata database (`airflow db migrate`)."""
        self.run_cli([("db", "migrate")])

    def start(self, components: Sequence[str] = COMPONENTS) -> None:
        """Start the components (default: all four), each in a process group of its own,
        logging to a file. A deployment whose DAGs never defer may leave out the triggerer."""
        commands = {
            "scheduler": ["scheduler", "--skip-serve-logs"],
            "dag-processor": ["dag-processor"],
            "triggerer": ["triggerer", "--skip-serve-logs"],
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(self.port)],
        }
        for name in components:
            self._spawn(name, commands[name], self.env)

    def start_celery_worker(
        self, name: str, queues: Sequence[str], concurrency: int, env: dict[str, str]
    ) -> None:
        """An `airflow celery worker` called `name` taking tasks from `queues`.

        :param env: added to the deployment's environment for this worker only.
        """
        command = ["celery", "worker", "--celery-hostname", f"{name}@127.0.0.1"]
        command += ["--queues", ",".join(queues), "--concurrency", str(concurrency)]
        command += ["--skip-serve-logs", "--without-mingle", "--without-gossip"]
        self._spawn(name, command, {**self.env, **env})

    def _spawn(self, name: str, command: Sequence[str], env: dict[str, str]) -> None:
        # Appended: a restarted component keeps its first run's lines.
        with open(self.log_file(name), "ab") as log:  # the child keeps its own handle
            self.processes[name] = subprocess.Popen(
                [AIRFLOW, *command],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if name not in self.started:  # a restart keeps its place
            self.started.append(name)

    def stop(self) -> None:
        """SIGTERM every process group we started, then SIGKILL what is left after a grace."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            # Also the group's other members (executor workers, task and trigger runners).
            _signal_group(process, signal.SIGKILL)
            process.wait()
        self.processes.clear()

    def stop_component(self, name: str) -> None:
        """Stop one component as `stop()` does (its whole process group), e.g. to restart it."""
        process = self.processes.pop(name)
        _signal_group(process, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_GRACE)
        _signal_group(process, signal.SIGKILL)
        process.wait()

    def log_file(self, component: str) -> Path:
        return self.home / f"{component}.out"

    def logs(self) -> list[Path]:
        """Every log the deployment wrote: the components' output and the task logs."""
        return [self.log_file(name) for name in self.started] + sorted(
            path for path in (self.home / "logs").rglob("*") if path.is_file()
        )

    # --- talking to it -----------------------------------------------------------------

    def cli(self, *args: str) -> subprocess.Popen[bytes]:
        """Start one `airflow` CLI command (about 5 s each); read it with `communicate()`."""
        return subprocess.Popen(
            [AIRFLOW, *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def run_cli(self, commands: Sequence[Sequence[str]], timeout: float = 180) -> None:
        """Run CLI commands side by side (they wait on start-up, not on each other)."""
        started = [(command, self.cli(*command)) for command in commands]
        failures = []
        for command, process in started:
            try:
                output = process.communicate(timeout=timeout)[0].decode(errors="replace")
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                output = process.communicate()[0].decode(errors="replace")
            if process.returncode != 0:
                failures.append(f"$ airflow {' '.join(command)}  -> {process.returncode}\n{output}")
        if failures:
            raise AssertionError("\n".join(failures) + self.report())

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the metadata database (read-only: the components own it)."""
        uri = f"file:{self.db_path}?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def health(self) -> dict[str, Any] | None:
        """The API server's /api/v2/monitor/health, None while it does not answer."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{self.api_url}/api/v2/monitor/health", timeout=5) as response:
                return dict(json.loads(response.read()))
        except OSError:
            return None

    def wait_until(self, what: str, check: Callable[[], T | None], timeout: float) -> T:
        """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            found = check()
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"Not within {timeout:.0f} s: {what}." + self.report())
            time.sleep(POLL)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise ComponentDied(
                    f"airflow {name} exited with {process.returncode}." + self.report()
                )

    # --- what happened -----------------------------------------------------------------

    def task_states(self) -> list[tuple[Any, ...]]:
        if not self.db_path.exists():
            return []
        return self.query(
            "SELECT dag_id, task_id, map_index, state, try_number FROM task_instance "
            "ORDER BY dag_id, task_id, map_index"
        )

    def report(self, lines: int = 25) -> str:
        """What a person needs to see when the deployment did not do what the test expected."""
        parts = [f"\n\nAIRFLOW_HOME {self.home}", "task instances:"]
        parts += [f"  {row}" for row in self.task_states()]
        if self.db_path.exists():
            for filename, stacktrace in self.query("SELECT filename, stacktrace FROM import_error"):
                parts.append(f"import error in {filename}:\n{stacktrace}")
        for name in self.started:
            log = self.log_file(name)
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- last lines of airflow {name}:\n" + "\n".join(tail))
        for task_log in sorted((self.home / "logs").glob("dag_id=*/**/*.log")):
            text = task_log.read_text(errors="replace")
            if '"level":"error"' in text:
                tail = "\n".join(text.splitlines()[-lines:])
                parts.append(f"--- errors in {task_log.relative_to(self.home)}:\n{tail}")
        return "\n".join(parts)


def celery_env(broker_url: str, result_backend: str) -> dict[str, str]:
    """The environment of a deployment on the CeleryExecutor (the Celery provider)."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
    }


def processes_of(home: Path) -> list[int]:
    """Live processes (not zombies) whose environment has AIRFLOW_HOME=`home`: whatever a
    deployment started, in any process group (task processes make groups of their own)."""
    marker = f"AIRFLOW_HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z" and marker in environ:
            found.append(int(proc.name))
    return found


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
