"""7. Snapshot: the example DAG for 10,000 wallets, two nights, on real Airflow processes.

``loopring_nft_snapshot`` runs on a real deployment (the integration test's harness:
scheduler, DAG processor and API server, each an ``airflow`` process; LocalExecutor, sqlite;
no triggerer, as the DAG never defers) against the sandbox, which runs in this process: 10,000
accounts of 5 NFTs and 1 collection each (one balances page and one collections page per
account), 20 ms latency, 100 requests/s server-side (429 above). The connection's
``requests_per_second`` is 100 too. The accounts come from a file (``accounts_path``), every
other line an owner address rather than an account id. Nothing is triggered before the API
server has answered the execution API once: its first answers take 5 s at idle and over 30 s
on a busy machine, long enough for a first task's start call to time out.

Night 1 starts clean: 10,000 balances + 10,000 collections requests + 5,000 address lookups
are needed. Its DAG run's wall time (``start_date`` to ``end_date`` in the metadata database)
must stay within 1.10 x needed / rate + 60 s, with no 429 and at most 1 % more requests sent
than needed; its day must hold exactly the sandbox's records.

Night 2 is the same accounts on the same day, triggered while night 1 runs (``max_active_runs``
is 1: it starts when night 1 ends). Once night 1 has committed its day, its files are kept
(hard links) and a fault is armed: the balances request after the 1,250th from then on (half-way
through the first batch of 2,500) gets a 503, which fails that task try (the connection allows
no hook-level retry here; a 503 is transient, so the task is retried: the DAG's ``retries`` is
2, one is used). The retry (delay 1 s) must fetch only what the
failed try did not finish: its requests, counted by account from the retry's start (other
batches may run between the failed try and its retry), over the batch's accounts minus those
resumed from the failed try's checkpoints. Night 2 must send no address lookup (they are
cached under ``<root>/_accounts/``), and its day must equal night 1's: the same files, each
with the same SHA-256, in all three manifests.

The whole benchmark must end within 10 minutes. Every 10 s the log shows where the machine's
CPU went (Airflow's processes, this process with the sandbox, everything else) and the
requests answered per second; at the end, each task try's start, run time and request rate.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT, Figure, main

ACCOUNTS = 10_000
NFTS_PER_ACCOUNT = 5  # one balances page (50 a page) and one collections page per account
LATENCY = 0.02
RATE = 100.0
FAULT_AT = 1_250  # the balances request of night 2 that fails: half-way through batch 1
# Seconds from the start until both nights must have ended: then Airflow is stopped and the
# figures made (~20 s), within the 600 s after which `python -m benchmarks` stops the module.
BUDGET = 555.0
SAMPLE = 10.0  # seconds between two looks at the machine's CPU

DAG_ID = "loopring_nft_snapshot"
DAG_FILE = ROOT / "example_dags" / "loopring_nft_snapshot.py"
NIGHTS = ("bench-night-1", "bench-night-2")
BALANCES_TASK = "nft_balances"
ACCOUNT = "/api/v3/account"
BALANCES = "/api/v3/user/nft/balances"
KINDS = ("balances", "collections", "summary")
COMPONENTS = ("scheduler", "dag-processor", "api-server")


def log(message: str) -> None:
    """Progress, in the module's log (shown by `python -m benchmarks` when it fails)."""
    print(f"[snapshot {time.strftime('%H:%M:%S')}] {message}", flush=True)


class FailOnce:
    """The transform of a fault on the next ``at`` balances requests; the one after fails.

    It fails with a 503 (a transient error: the task's retry policy retries the task, as a
    real outage would; a permanent error fails fast, issue 17). The connection allows no
    hook-level retry here, so that one 503 fails the try.
    """

    def __init__(self, at: int, sandbox: Any) -> None:
        self.at = at
        self.seen = 0
        self.sandbox = sandbox

    def __call__(self, body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        from airflow_provider_loopring.testing import Fault

        self.seen += 1  # one server event loop calls it: no lock needed
        if self.seen == self.at:
            self.sandbox.add_fault(Fault("status", path=BALANCES, status=503, times=1))
        return body

    @property
    def failed_account(self) -> int | None:
        """The account whose request got the 503, from the sandbox's log."""
        for record in self.sandbox.requests:
            if record.path == BALANCES and record.status == 503:
                return int(record.query["accountId"])
        return None


def run(workdir: Path) -> list[Figure]:
    from airflow_provider_loopring.testing import Fault, LoopringSandbox
    from tests.integration.airflow_processes import AirflowDeployment

    # A timed-out benchmark gets SIGTERM: leave through the `finally`s, which stop Airflow.
    signal.signal(signal.SIGTERM, _terminated)
    started = time.monotonic()
    deadline = started + BUDGET
    # Airflow's timestamps are wall-clock UTC; the sandbox's log is time.monotonic().
    wall_minus_monotonic = time.time() - time.monotonic()

    def monotonic_of(stamp: Any) -> float:
        return parse_time(stamp).timestamp() - wall_minus_monotonic

    def left() -> float:
        return max(deadline - time.monotonic(), 1.0)

    sandbox = LoopringSandbox(
        accounts=ACCOUNTS, nfts_per_account=NFTS_PER_ACCOUNT, collections_per_account=1
    ).start()
    try:
        accounts = sandbox.accounts
        ids = [account["accountId"] for account in accounts]
        id_of = {str(a["owner"]).lower(): int(a["accountId"]) for a in accounts}
        given = [a["owner"] if n % 2 else a["accountId"] for n, a in enumerate(accounts)]
        accounts_file = workdir / "accounts.txt"
        accounts_file.write_text("".join(f"{value}\n" for value in given))
        addresses = sum(isinstance(value, str) for value in given)
        root = workdir / "snapshots"
        dags = workdir / "dags"
        dags.mkdir(exist_ok=True)
        (dags / DAG_FILE.name).symlink_to(DAG_FILE)  # only this DAG: less for the processor
        connection = {
            "conn_type": "loopring",
            "host": sandbox.url,
            "password": sandbox.api_key,
            # No hook-level retry: the benchmark's one 503 fails the try (see FailOnce).
            "extra": {"requests_per_second": RATE, "max_retries": 0},
        }
        airflow = AirflowDeployment(
            workdir / "airflow",
            dags,
            {
                "AIRFLOW_CONN_LOOPRING_DEFAULT": json.dumps(connection),
                "LOOPRING_SNAPSHOT_RETRY_DELAY": "1",
                # Triggered runs only (the harness turns the schedule off): no unpause call.
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            },
        )
        # The sandbox makes an account's data on first use: make it all now, while Airflow
        # migrates, so that no request measured below pays for it.
        warm = threading.Thread(target=lambda: [sandbox.balances(i) for i in ids], daemon=True)
        phases: list[tuple[str, float]] = []
        fault = FailOnce(FAULT_AT, sandbox)
        armed_at = 0.0
        monitor: Monitor | None = None
        try:
            with timed(phases, "airflow db migrate (and the sandbox's data made)"):
                warm.start()
                airflow.migrate()
                warm.join()
            sandbox.set_latency(LATENCY)
            sandbox.set_rate_limit(RATE)
            sandbox.clear_requests()
            with timed(phases, "start scheduler, DAG processor, API server; DAG parsed"):
                airflow.start(COMPONENTS)
                monitor = Monitor(sandbox, [p.pid for p in airflow.processes.values()])
                monitor.start()
                airflow.wait_until("the snapshot DAG is parsed", lambda: parsed(airflow), left())
                airflow.wait_until("Airflow is ready for tasks", lambda: ready(airflow), left())
            conf = {
                "accounts": [],
                "accounts_path": f"file://{accounts_file}",
                "output_root": f"file://{root}",
                "mode": "full",  # benchmark 7 measures full nights (incremental: benchmark 12)
            }
            with timed(phases, "trigger night 1, then (once it runs) night 2, queued behind it"):
                trigger(airflow, NIGHTS[0], conf)
                airflow.wait_until("night 1 runs", lambda: started_run(airflow, NIGHTS[0]), left())
                trigger(airflow, NIGHTS[1], conf)
            with timed(phases, "until night 1 has written its day"):
                airflow.wait_until(
                    "night 1 writes its day", lambda: day_written(airflow, NIGHTS[0]), left()
                )
            # At once, before night 2's first task removes the day's manifests. Night 1 sends
            # no more requests: those from now on are night 2's.
            day = run_day(airflow, NIGHTS[0])
            night1 = keep_day(root, day, workdir / "night-1")
            armed_at = time.monotonic()
            sandbox.add_fault(Fault("transform", path=BALANCES, times=FAULT_AT, transform=fault))
            with timed(phases, "until night 2 ends"):
                while time.monotonic() < deadline and not finished(airflow, NIGHTS[1]):
                    airflow.check_alive()
                    time.sleep(0.25)
        finally:
            if monitor is not None:
                monitor.stop()
            with timed(phases, "stop every process"):
                airflow.stop()
        answered = sandbox.requests
    finally:
        sandbox.stop()

    for name, seconds in phases:
        log(f"{seconds:6.1f} s  {name}")
    for night in NIGHTS:
        log_tasks(airflow, night, monotonic_of, answered)
    runs = airflow.query("SELECT run_id, state, start_date, end_date FROM dag_run ORDER BY id")
    states = {run_id: state for run_id, state, _, _ in runs}
    if states[NIGHTS[0]] != "success" or states[NIGHTS[1]] not in ("success", "running"):
        raise AssertionError(f"DAG runs {states}" + airflow.report())
    done = states[NIGHTS[1]] == "success"
    if runs[1][2] is not None and parse_time(runs[1][2]) < parse_time(runs[0][3]):
        raise AssertionError(f"night 2 started before night 1 ended: {runs}")

    first = [r for r in answered if r.time < armed_at]
    second = [r for r in answered if r.time >= armed_at]
    needed = 2 * ACCOUNTS + addresses  # one page of each kind per account, one lookup each
    wall = [run_seconds(airflow, night) for night in NIGHTS]
    goal = 1.10 * needed / RATE + 60
    too_many = sum(1 for r in answered if r.status == 429)
    lookups: int | None = sum(1 for r in second if r.path == ACCOUNT)
    if done:
        retry = retry_figures(airflow, fault, second, id_of, monotonic_of)
        same, same_note = compare_days(root, day, night1, run_day(airflow, NIGHTS[1]))
    else:
        unfinished = f"night 2 had not ended after {BUDGET:.0f} s"
        log(f"{unfinished}: {len(second):,} of its requests answered")
        lookups, same, same_note = None, None, unfinished
        retry = {"ratio": None, "note": unfinished}
    correct, correct_note = check_records(workdir / "night-1", day, sandbox, ids)
    cpu = monitor.summary(monotonic_of(runs[0][2]), armed_at) if monitor else (None, "")
    total = time.monotonic() - started
    log(f"{total:.0f} s in all")

    return [
        Figure(
            "7. snapshot: night 1 run wall time",
            wall[0],
            "<=",
            round(goal),
            unit="s",
            digits=0,
            note=f"{len(first):,} requests in {wall[0]:.0f} s; "
            f"{needed:,} / {RATE:.0f} req/s = {needed / RATE:.0f} s",
        ),
        Figure(
            "7. snapshot: 429 responses, both nights",
            too_many,
            "<=",
            0,
            digits=0,
            note=f"of {len(answered):,} requests",
        ),
        Figure(
            "7. snapshot: night 1 requests sent / needed",
            len(first) / needed,
            "<=",
            1.01,
            digits=3,
            note=f"{len(first):,} / {needed:,}",
        ),
        Figure(
            "7. snapshot: night 2 account lookups",
            lookups,
            "==",
            0,
            digits=0,
            note=f"night 1: {sum(1 for r in first if r.path == ACCOUNT):,}"
            + ("" if done else "; night 2 unfinished"),
        ),
        Figure(
            "7. snapshot: retry requests / still needed",
            retry["ratio"],
            "<=",
            1.05,
            digits=3,
            note=retry["note"],
        ),
        Figure("7. snapshot: night 2 output == night 1's", same, "==", 1, digits=0, note=same_note),
        Figure(
            "7. snapshot: night 1 records == sandbox's",
            correct,
            "==",
            1,
            digits=0,
            note=correct_note,
        ),
        Figure(
            "7. snapshot: night 2 run wall time (with the retry)",
            wall[1],
            unit="s",
            digits=0,
            note=f"{len(second):,} requests" + ("" if done else ", unfinished"),
        ),
        Figure(
            "7. snapshot: machine CPU during night 1",
            cpu[0],
            unit="cores",
            digits=2,
            note=cpu[1],
        ),
        Figure(
            "7. snapshot: whole benchmark, both nights",
            total if done else None,
            "<=",
            600,
            unit="s",
            digits=0,
            note="Airflow's start and stop included"
            if done
            else f"night 2 cut off at {BUDGET:.0f} s, {total:.0f} s in all",
        ),
    ]


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


# --- Airflow ---------------------------------------------------------------------------------


class timed:
    """``with timed(phases, "name"):`` appends (name, seconds) and logs it as it starts."""

    def __init__(self, phases: list[tuple[str, float]], name: str) -> None:
        self.phases, self.name = phases, name

    def __enter__(self) -> None:
        log(f"{self.name} ...")
        self.started = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        self.phases.append((self.name, time.monotonic() - self.started))


def trigger(airflow: Any, run_id: str, conf: dict[str, Any]) -> None:
    """Trigger a run through the REST API: what `airflow dags trigger` does, without its
    5-15 s of start-up (the simple auth manager makes every caller an admin here)."""
    body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
    request = urllib.request.Request(
        f"{airflow.api_url}/api/v2/dags/{DAG_ID}/dagRuns",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=60) as response:
            created = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(f"triggering {run_id}: HTTP {error.code} {error.read()!r}") from error
    if created.get("dag_run_id") != run_id:
        raise AssertionError(f"triggering {run_id}: {created}")


def parsed(airflow: Any) -> bool:
    return bool(airflow.query("SELECT 1 FROM serialized_dag WHERE dag_id = ?", DAG_ID))


def ready(airflow: Any) -> bool:
    """Scheduler and DAG processor healthy, and the execution API answering.

    The API server's first answers are slow (5 s at idle, over 30 s with the machine busy):
    a first task that meets them sees its start call time out, and fails when all its
    retries do. So the execution API answers once before anything is triggered."""
    health = airflow.health() or {}
    parts = ("metadatabase", "scheduler", "dag_processor")
    if not all(health.get(part, {}).get("status") == "healthy" for part in parts):
        return False
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{airflow.api_url}/execution/health", timeout=60) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def started_run(airflow: Any, run_id: str) -> bool:
    rows = airflow.query("SELECT state FROM dag_run WHERE run_id = ?", run_id)
    return bool(rows) and rows[0][0] != "queued"


def day_written(airflow: Any, run_id: str) -> str | None:
    """ "success" once the run's summarize task has committed the day, or the run failed."""
    rows = airflow.query(
        "SELECT state FROM task_instance WHERE run_id = ? AND task_id = 'summarize'", run_id
    )
    if rows and rows[0][0] == "success":
        return "success"
    return "failed" if finished(airflow, run_id) == "failed" else None


def finished(airflow: Any, run_id: str) -> str | None:
    rows = airflow.query("SELECT state FROM dag_run WHERE run_id = ?", run_id)
    return rows[0][0] if rows and rows[0][0] in ("success", "failed") else None


def parse_time(stamp: Any) -> datetime:
    """A timestamp of the metadata database (UTC, with or without its offset)."""
    moment = datetime.fromisoformat(str(stamp))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def run_day(airflow: Any, run_id: str) -> str:
    (run_after,) = airflow.query("SELECT run_after FROM dag_run WHERE run_id = ?", run_id)[0]
    return parse_time(run_after).strftime("%Y-%m-%d")  # the DAG's day: run_after, UTC


def run_seconds(airflow: Any, run_id: str) -> float | None:
    start, end = airflow.query("SELECT start_date, end_date FROM dag_run WHERE run_id = ?", run_id)[
        0
    ]
    if start is None or end is None:
        return None
    return (parse_time(end) - parse_time(start)).total_seconds()


# --- where the machine's CPU went ------------------------------------------------------------


def _ticks() -> float:
    return float(os.sysconf("SC_CLK_TCK"))


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / _ticks()


def _session_cpu(sessions: set[int]) -> float:
    """CPU seconds of the processes in these sessions, with their reaped children's.

    Sessions, not process groups: a task runs in a process group of its own (the
    supervisor's ``setpgid``), in the session of the component that started it."""
    total = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) in sessions:  # fields[0] is the state: the session is the 4th
            total += sum(int(x) for x in fields[11:15]) / _ticks()
    return total


class Monitor(threading.Thread):
    """Every SAMPLE seconds: the machine's busy cores, Airflow's, this process's (the
    sandbox), everything else's, and the requests answered per second."""

    def __init__(self, sandbox: Any, sessions: list[int]) -> None:
        super().__init__(name="cpu-monitor", daemon=True)
        self.sandbox = sandbox
        self.sessions = set(sessions)
        self.samples: list[tuple[float, float, float, float, float, float]] = []
        self._stop_event = threading.Event()

    def _now(self) -> tuple[float, float, float, float, int]:
        own = os.times()
        return (
            time.monotonic(),
            _machine_busy(),
            _session_cpu(self.sessions),
            own.user + own.system,
            len(self.sandbox.requests),
        )

    def run(self) -> None:
        before = self._now()
        while not self._stop_event.wait(SAMPLE):
            now = self._now()
            seconds = now[0] - before[0]
            busy, airflow, own = ((now[i] - before[i]) / seconds for i in (1, 2, 3))
            rate = (now[4] - before[4]) / seconds
            self.samples.append((now[0], busy, airflow, own, busy - airflow - own, rate))
            log(
                f"cpu: load {os.getloadavg()[0]:4.1f}, machine {busy:4.2f} cores busy: "
                f"Airflow {airflow:4.2f}, sandbox {own:4.2f}, others {busy - airflow - own:4.2f}"
                f"; {rate:5.1f} requests/s"
            )
            before = now

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=SAMPLE + 5)

    def summary(self, start: float, end: float) -> tuple[float | None, str]:
        """Mean busy cores between two moments, and who took them."""
        inside = [sample for sample in self.samples if start + SAMPLE <= sample[0] <= end]
        if not inside:
            return None, "no samples"
        mean = [sum(sample[i] for sample in inside) / len(inside) for i in range(1, 6)]
        per_request = mean[1] / mean[4] * 1000 if mean[4] else float("nan")
        return mean[0], (
            f"of {len(os.sched_getaffinity(0))}: Airflow {mean[1]:.2f} "
            f"({per_request:.1f} ms per request), sandbox {mean[2]:.2f}, "
            f"other work {mean[3]:.2f}"
        )


def log_tasks(
    airflow: Any, run_id: str, monotonic_of: Callable[[Any], float], answered: list[Any]
) -> None:
    """Where a night's time went: each try's queueing, start, run, and requests answered."""
    rows = airflow.query(
        "SELECT task_id, map_index, try_number, queued_dttm, start_date, end_date, state "
        "FROM task_instance_history WHERE run_id = ? UNION ALL "
        "SELECT task_id, map_index, try_number, queued_dttm, start_date, end_date, state "
        "FROM task_instance WHERE run_id = ? ORDER BY start_date",
        run_id,
        run_id,
    )
    (run_start,) = airflow.query("SELECT start_date FROM dag_run WHERE run_id = ?", run_id)[0]
    origin = parse_time(run_start)
    log(f"{run_id}: task tries, seconds from the run's start")
    previous_end = None
    for task_id, index, try_number, queued, start, end, state in rows:
        if start is None or end is None:
            log(f"  {task_id}[{index}] try {try_number}: {state}, no start/end")
            continue
        begin, finish = parse_time(start), parse_time(end)
        wait = (begin - parse_time(queued)).total_seconds() if queued else float("nan")
        gap = (begin - previous_end).total_seconds() if previous_end else float("nan")
        at, took = (begin - origin).total_seconds(), (finish - begin).total_seconds()
        low, high = monotonic_of(start), monotonic_of(end)
        sent = sum(1 for r in answered if low <= r.time <= high)
        log(
            f"  {task_id}[{index}] try {try_number} {state}: start {at:6.1f}  run {took:6.1f}"
            f"  queued->start {wait:4.1f}  gap after previous end {gap:5.1f}"
            f"  requests {sent:,} ({sent / max(took, 1e-9):.1f}/s)"
        )
        previous_end = finish


def retry_figures(
    airflow: Any,
    fault: FailOnce,
    second: list[Any],
    id_of: dict[str, int],
    monotonic_of: Callable[[Any], float],
) -> dict[str, Any]:
    """The retry of the failed batch: requests it sent over the requests still needed."""
    failed = airflow.query(
        "SELECT map_index, start_date FROM task_instance WHERE run_id = ? AND task_id = ? "
        "AND try_number > 1",
        NIGHTS[1],
        BALANCES_TASK,
    )
    retried = airflow.query(
        "SELECT task_id, map_index, try_number FROM task_instance WHERE run_id = ? "
        "AND try_number != 1",
        NIGHTS[1],
    )
    if fault.failed_account is None or len(failed) != 1 or len(retried) != 1:
        return {"ratio": None, "note": f"fault {fault.failed_account}, retried {retried}"}
    map_index, retry_start = failed[0]
    (batches,) = xcom(airflow, NIGHTS[1], "batches", -1)
    batch = {
        int(value) if not str(value).lower().startswith("0x") else id_of[str(value).lower()]
        for value in batches[map_index]
    }
    if fault.failed_account not in batch:
        return {"ratio": None, "note": f"account {fault.failed_account} not in batch {map_index}"}
    reference = xcom(airflow, NIGHTS[1], BALANCES_TASK, map_index)[0]
    resumed = int(reference["resumed_accounts"])
    still_needed = len(batch) - resumed
    since = monotonic_of(retry_start)
    mine = [r for r in second if r.path == BALANCES and int(r.query["accountId"]) in batch]
    sent = sum(1 for r in mine if r.time >= since)
    failed_try = len(mine) - sent
    return {
        "ratio": sent / still_needed if still_needed else None,
        "note": f"{sent:,} / {still_needed:,}: batch {map_index} of {len(batch):,}, "
        f"{resumed:,} resumed, the failed try sent {failed_try:,}",
    }


def xcom(airflow: Any, run_id: str, task_id: str, map_index: int) -> list[Any]:
    rows = airflow.query(
        "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? "
        "AND map_index = ? AND key = 'return_value'",
        DAG_ID,
        run_id,
        task_id,
        map_index,
    )
    return [json.loads(value) for (value,) in rows]


# --- the day's output ------------------------------------------------------------------------


def keep_day(root: Path, day: str, keep: Path) -> dict[str, Any]:
    """Night 1's manifests, and its files hard-linked under ``keep`` (night 2 replaces them by
    renaming new files over them, so the links keep night 1's bytes), read afterwards."""
    manifests = {}
    for kind in KINDS:
        folder = root / kind / f"dt={day}"
        manifest = (folder / "_manifest.json").read_bytes()
        target = keep / kind / f"dt={day}"
        target.mkdir(parents=True)
        for path in folder.iterdir():
            if path.is_file():
                os.link(path, target / path.name)
        manifests[kind] = json.loads(manifest)
    return manifests


def compare_days(root: Path, day: str, night1: dict[str, Any], day2: str) -> tuple[int, str]:
    """Whether night 2's day is night 1's: the same manifests (files, records, SHA-256)."""
    from tests.example_dags.snapshot_day import read_partition

    if day2 != day:
        return 0, f"night 2 wrote {day2}, night 1 {day}"
    try:
        night2 = {kind: read_partition(root, kind, day)[0] for kind in KINDS}
    except (AssertionError, OSError, ValueError) as error:
        return 0, f"night 2's day does not read back: {error!r:.200}"
    files = sum(len(manifest["files"]) for manifest in night1.values())
    differ = [kind for kind in KINDS if night1[kind] != night2[kind]]
    if differ:
        return 0, f"{', '.join(differ)} differ"
    return 1, f"{files} files in 3 manifests, same SHA-256"


def check_records(kept: Path, day: str, sandbox: Any, ids: list[int]) -> tuple[int, str]:
    """Whether night 1's day (as kept) holds exactly the sandbox's records of the accounts."""
    from tests.example_dags.snapshot_day import check_day

    try:
        summary = check_day(kept, day, sandbox, ids, skipped=[])
    except (AssertionError, OSError, ValueError, KeyError) as error:
        return 0, f"{error!r:.200}"
    return 1, f"{summary['accounts']:,} accounts, {summary['nfts']:,} NFTs"


if __name__ == "__main__":
    main(run)
