"""7. Snapshot: the example DAG for 10,000 wallets, two nights, on real Airflow processes.

``loopring_nft_snapshot`` runs on a real deployment (the integration test's harness:
scheduler, DAG processor and API server, each an ``airflow`` process; LocalExecutor, sqlite;
no triggerer, as the DAG never defers) against the sandbox, which runs in this process: 10,000
accounts of 5 NFTs and 1 collection each (one balances page and one collections page per
account), 20 ms latency, 100 requests/s server-side (429 above). The connection's
``requests_per_second`` is 100 too. The accounts come from a file (``accounts_path``), every
other line an owner address rather than an account id.

Night 1 starts clean: 10,000 balances + 10,000 collections requests + 5,000 address lookups
are needed. Its DAG run's wall time (``start_date`` to ``end_date`` in the metadata database)
must stay within 1.10 x needed / rate + 60 s, with no 429 and at most 1 % more requests sent
than needed.

Night 2 is the same accounts on the same day (triggered while night 1 runs, so it starts as
soon as night 1 ends, which ``max_active_runs=1`` holds it back for). When night 1 succeeds a
fault is armed: the 1,250th balances request from then on (half-way through the first batch
of 2,500) gets a Loopring error (HTTP 200, code 100001), which fails that task try; its retry
(retry delay 1 s) must fetch only what the failed try did not finish: retry requests, counted
by account (other batches may run between the failed try and its retry) from the retry's
start, over the batch's accounts minus those resumed from the failed try's checkpoints. Night
2 must send no address lookup (they are cached under ``<root>/_accounts/``), and its day must
equal night 1's: the same files, each with the same SHA-256, in all three manifests.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
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
BUDGET = 570.0  # seconds for everything; `python -m benchmarks` stops the module at 600

DAG_ID = "loopring_nft_snapshot"
DAG_FILE = ROOT / "example_dags" / "loopring_nft_snapshot.py"
NIGHTS = ("bench-night-1", "bench-night-2")
BALANCES_TASK = "nft_balances"
ACCOUNT = "/api/v3/account"
BALANCES = "/api/v3/user/nft/balances"
COLLECTIONS = "/api/v3/user/collection/details"
KINDS = ("balances", "collections", "summary")
COMPONENTS = ("scheduler", "dag-processor", "api-server")


def log(message: str) -> None:
    """Progress, in the module's log (shown by `python -m benchmarks` when it fails)."""
    print(f"[snapshot {time.strftime('%H:%M:%S')}] {message}", flush=True)


class FailOnce:
    """The transform of a fault on the next ``at`` balances requests: the last one fails."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.seen = 0
        self.failed_account: int | None = None

    def __call__(self, body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        self.seen += 1  # one server event loop calls it: no lock needed
        if self.seen < self.at:
            return body
        self.failed_account = int(query["accountId"])
        return {"resultInfo": {"code": 100001, "message": "benchmark: fail this try"}}


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
            "extra": {"requests_per_second": RATE},
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
        fault = FailOnce(FAULT_AT)
        armed_at = 0.0
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
                airflow.wait_until("the snapshot DAG is parsed", lambda: parsed(airflow), left())
            conf = {
                "accounts": [],
                "accounts_path": f"file://{accounts_file}",
                "output_root": f"file://{root}",
            }
            with timed(phases, "trigger night 1, then night 2 (queued behind it)"):
                airflow.run_cli([trigger(NIGHTS[0], conf)], timeout=left())
                airflow.run_cli([trigger(NIGHTS[1], conf)], timeout=left())
            with timed(phases, "until night 1 ends"):
                airflow.wait_until("night 1 finishes", lambda: finished(airflow, NIGHTS[0]), left())
            # At once, before night 2's first task removes the day's manifests.
            armed_at = time.monotonic()
            sandbox.add_fault(Fault("transform", path=BALANCES, times=FAULT_AT, transform=fault))
            day = run_day(airflow, NIGHTS[0])
            night1 = keep_day(root, day, workdir / "night-1")
            with timed(phases, "until night 2 ends"):
                airflow.wait_until("night 2 finishes", lambda: finished(airflow, NIGHTS[1]), left())
        finally:
            with timed(phases, "stop every process"):
                airflow.stop()
        answered = sandbox.requests
    finally:
        sandbox.stop()

    for name, seconds in phases:
        log(f"{seconds:6.1f} s  {name}")
    for night in NIGHTS:
        log_tasks(airflow, night, monotonic_of, answered)
    states = dict(airflow.query("SELECT run_id, state FROM dag_run"))
    if states != dict.fromkeys(NIGHTS, "success"):
        raise AssertionError(f"DAG runs {states}" + airflow.report())

    first = [r for r in answered if r.time < armed_at]
    second = [r for r in answered if r.time >= armed_at]
    needed = 2 * ACCOUNTS + addresses  # one page of each kind per account, one lookup each
    wall = [run_seconds(airflow, night) for night in NIGHTS]
    goal = 1.10 * needed / RATE + 60
    too_many = sum(1 for r in answered if r.status == 429)
    lookups = sum(1 for r in second if r.path == ACCOUNT)
    retry = retry_figures(airflow, fault, second, id_of, monotonic_of)
    same, same_note = compare_days(root, day, night1, run_day(airflow, NIGHTS[1]))
    correct, correct_note = check_records(workdir / "night-1", day, sandbox, ids)
    log(f"{time.monotonic() - started:.0f} s in all")

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
            note=f"night 1: {sum(1 for r in first if r.path == ACCOUNT):,}",
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
            note=f"{len(second):,} requests",
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


def trigger(run_id: str, conf: dict[str, Any]) -> tuple[str, ...]:
    return ("dags", "trigger", DAG_ID, "--run-id", run_id, "--conf", json.dumps(conf))


def parsed(airflow: Any) -> bool:
    return bool(airflow.query("SELECT 1 FROM serialized_dag WHERE dag_id = ?", DAG_ID))


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


def run_seconds(airflow: Any, run_id: str) -> float:
    start, end = airflow.query("SELECT start_date, end_date FROM dag_run WHERE run_id = ?", run_id)[
        0
    ]
    return (parse_time(end) - parse_time(start)).total_seconds()


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
