"""What every benchmark shares: figures and goals, a sandbox in its own process, memory probes.

Imported before Airflow by every benchmark module: it points Airflow at a throwaway home, as
Airflow reads its configuration once, on first import.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONN_ID = "loopring_default"


def airflow_env(home: Path) -> dict[str, str]:
    """Environment for a quiet Airflow without a database: connections come from the env."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
    }


if "AIRFLOW_HOME" not in os.environ:  # run alone: `python -m benchmarks.<name>`
    os.environ.update(airflow_env(Path(tempfile.mkdtemp(prefix="loopring-bench-airflow-"))))


# --- figures ------------------------------------------------------------------------------


@dataclass
class Figure:
    """One row of the table: a measured value and, unless informational, its goal.

    :param op: ">=", "<=" or "==" against ``goal``; None for a figure without a goal.
    :param digits: decimals shown.
    """

    name: str
    value: float | None
    op: str | None = None
    goal: float | None = None
    unit: str = ""
    digits: int = 2
    note: str = ""

    @property
    def passed(self) -> bool | None:
        if self.op is None or self.goal is None:
            return None
        if self.value is None:
            return False
        return {
            ">=": self.value >= self.goal,
            "<=": self.value <= self.goal,
            "==": self.value == self.goal,
        }[self.op]

    def shown(self, value: float | None) -> str:
        if value is None:
            return "error"
        text = f"{value:,.{self.digits}f}"
        return f"{text} {self.unit}".rstrip()

    def row(self) -> tuple[str, str, str, str]:
        goal = "" if self.op is None else f"{self.op} {self.shown(self.goal)}"
        verdict = {True: "pass", False: "FAIL", None: "info"}[self.passed]
        value = self.shown(self.value) + (f" ({self.note})" if self.note else "")
        return self.name, value, goal, verdict


def table(figures: Sequence[Figure]) -> str:
    """The figures as a Markdown table (readable in a terminal and in RESULTS.md)."""
    rows = [("figure", "value", "goal", "result"), *(figure.row() for figure in figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])


def main(run: Callable[[Path], list[Figure]]) -> None:
    """Entry point of a benchmark module: its figures to BENCH_RESULT, or a table to stdout."""
    workdir = Path(os.environ.get("BENCH_WORKDIR") or tempfile.mkdtemp(prefix="loopring-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures = run(workdir)
    result = os.environ.get("BENCH_RESULT")
    if result:
        Path(result).write_text(json.dumps([asdict(figure) for figure in figures]))
    else:
        print(table(figures))
        sys.exit(0 if all(f.passed is not False for f in figures) else 1)


# --- the sandbox in its own process -------------------------------------------------------


class SandboxProcess:
    """A sandbox served by ``python -m airflow_provider_loopring.testing serve``."""

    def __init__(self, url: str, api_key: str) -> None:
        from airflow_provider_loopring.testing import SandboxClient

        self.url = url
        self.api_key = api_key
        self.client = SandboxClient(url, timeout=120)

    @property
    def account_ids(self) -> list[int]:
        return [account["accountId"] for account in self.client.accounts]

    def get(self, path: str, **query: object) -> bytes:
        """One API request, outside the code under test (urllib, no proxy)."""
        url = f"{self.url}{path}?" + "&".join(f"{k}={v}" for k, v in query.items())
        request = urllib.request.Request(url, headers={"X-API-KEY": self.api_key})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=120) as response:
            return bytes(response.read())

    def warm(self, account_ids: Sequence[int]) -> None:
        """Make the accounts' data now (the sandbox makes it on first request), then forget
        those requests: generating data must not count against what is measured."""
        for account_id in account_ids:
            self.get("/api/v3/user/nft/balances", accountId=account_id, limit=1)
        self.client.clear_requests()

    def connect(self, requests_per_second: float) -> None:
        """Point ``loopring_default`` at this sandbox, with the hook's client-side rate."""
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
            {
                "conn_type": "loopring",
                "host": self.url,
                "password": self.api_key,
                "extra": {"requests_per_second": requests_per_second},
            }
        )


@contextmanager
def serving(command: Sequence[str], workdir: Path) -> Iterator[dict[str, Any]]:
    """Run a sandbox server process; yield the JSON line it prints first (its url, key, ...),
    and stop it (SIGTERM, then SIGKILL) when done. Its stderr goes to ``sandbox.log``."""
    with open(workdir / "sandbox.log", "a") as log:
        process = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox did not start; see {workdir / 'sandbox.log'}")
        yield json.loads(line)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def sandbox(
    workdir: Path,
    *,
    accounts: int,
    nfts_per_account: int,
    collections_per_account: int = 3,
    latency: float = 0.0,
    rate_limit: float | None = None,
) -> Iterator[SandboxProcess]:
    """Start a sandbox process; its data is made for every account before latency and the
    server-side limit are switched on, so warming up spends no tokens and waits no latency."""
    command = [
        sys.executable,
        "-m",
        "airflow_provider_loopring.testing",
        "serve",
        f"--accounts={accounts}",
        f"--nfts-per-account={nfts_per_account}",
        f"--collections-per-account={collections_per_account}",
    ]
    with serving(command, workdir) as info:
        served = SandboxProcess(info["url"], info["api_key"])
        served.warm(served.account_ids)
        served.client.set_latency(latency)
        served.client.set_rate_limit(rate_limit)
        yield served


# --- the code under test, ready to run ----------------------------------------------------


def import_runtime() -> None:
    """Import what the operator imports inside ``execute`` (and what that loads lazily).

    Load benchmarks measure the request pipeline and the memory of a run, not Python's
    importing: a worker pays that once per task, and benchmark 5 measures the import cost.
    """
    import pendulum  # noqa: F401
    import requests  # noqa: F401
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_loopring import storage
    from airflow_provider_loopring.hooks.loopring import LoopringHook  # noqa: F401
    from airflow_provider_loopring.version_compat import get_hook_lineage_collector

    storage.check_output_path("file:///tmp/warm.jsonl", filesystem=True)
    _ = ObjectStoragePath("file:///tmp/warm.jsonl").fs
    get_hook_lineage_collector()


# --- memory -------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    if match is None:
        raise RuntimeError(f"no {field} in /proc/self/status")
    return int(match.group(1))


def rss_mib() -> float:
    """Resident memory now."""
    return _status_kib("VmRSS") / 1024


def peak_rss_mib() -> float:
    """The high-water mark of resident memory (since start, or since ``reset_peak_rss``)."""
    return _status_kib("VmHWM") / 1024


def peak_rss_figure(label: str, after_imports: float, goal: float = 200) -> Figure:
    """The process's peak RSS against a goal, noting what the imports alone took."""
    note = f"{after_imports:.0f} MiB after imports"
    return Figure(label, peak_rss_mib(), "<=", goal, unit="MiB", digits=0, note=note)


def reset_peak_rss() -> None:
    """Start the high-water mark afresh from the current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def run_python(
    code: str,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    *,
    replace_env: bool = False,
    timeout: float = 300,
) -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON value last, which is returned.

    :param env: added to this process's environment, or instead of it with ``replace_env``.
    """
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=dict(env or {}) if replace_env else {**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_fresh(
    module: str, served: SandboxProcess, spec: dict[str, Any], output: Path
) -> dict[str, Any]:
    """``module.measure(spec)`` in a fresh interpreter against an unthrottled connection to
    ``served`` (Airflow's environment passed on); ``output`` is deleted after.

    :param module: the benchmark module whose ``measure`` runs (``benchmarks.memory``).
    :param served: the sandbox, connected first with no client-side rate limit.
    :param spec: what ``measure`` is given, besides the environment (``spec["env"]``).
    :param output: the file the run writes, removed once measured (it may be large).
    """
    served.connect(requests_per_second=100_000)
    env = {key: value for key, value in os.environ.items() if key.startswith("AIRFLOW")}
    code = (
        f"import json, sys; from {module} import measure; "
        "print(json.dumps(measure(json.loads(sys.argv[1]))))"
    )
    result: dict[str, Any] = run_python(code, args=[json.dumps({"env": env, **spec})])
    output.unlink(missing_ok=True)
    return result
