"""8. Shared budget: 4 processes x 4 threads on one rate budget in Redis, at the API's limit.

Sandbox: its own process, 20 ms latency, 50 requests/s server-side (429 + Retry-After above
it). A real ``redis-server`` on 127.0.0.1 holds the budget. Four worker processes start
together (a start time on the shared monotonic clock), each with four threads sending
``GET /api/v3/user/nft/balances`` through one ``LoopringHook`` until the process has had
``CALLS`` answers. The connection allows 50 requests/s:

- with ``rate_limit_conn_id`` (one budget for all four): achieved requests/s (the sandbox's
  request log: requests / the time from its first to its last) / 50, and the 429 answers;
- without (each process its own 50/s): requests sent (429s included) / 50, and the 429
  answers, to show what sharing prevents.

Then the cost of one token: the median of ``RedisBudget.reserve`` on loopback (Redis's
``EVALSHA`` round trip), and its share of a request's time (the median ``get_nft_balances``
call against the sandbox at 0 latency: the cheapest request there is).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness import CONN_ID, ROOT, Figure, SandboxProcess, import_runtime, main, sandbox

PROCESSES, THREADS = 4, 4
CALLS = 150  # per process: 600 requests, 12 s at 50/s
RATE = 50.0
LATENCY = 0.02
REDIS_CONN_ID = "bench_budget_redis"
TOKENS = 2000  # tokens timed for the median

CHILD = """
import json, sys, threading, time
from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.exceptions import LoopringApiError
start = float(sys.argv[1])
calls, threads, account = (int(arg) for arg in sys.argv[2:5])
hook = LoopringHook()
hook.get_nft_balances(account_id=account, limit=1)  # set-up and the first token, not timed
left, failed, lock = [calls - 1], [0], threading.Lock()
def work():
    while True:
        with lock:
            if left[0] <= 0:
                return
            left[0] -= 1
        try:
            hook.get_nft_balances(account_id=account, limit=1)
        except LoopringApiError:
            failed[0] += 1
time.sleep(max(0.0, start - time.monotonic()))
pool = [threading.Thread(target=work) for _ in range(threads)]
[t.start() for t in pool]
[t.join() for t in pool]
print(json.dumps({"failed": failed[0]}))
"""


def connect(served: SandboxProcess, redis_json: str, shared: bool) -> None:
    extra: dict[str, object] = {"requests_per_second": RATE}
    if shared:
        extra["rate_limit_conn_id"] = REDIS_CONN_ID
    os.environ[f"AIRFLOW_CONN_{REDIS_CONN_ID.upper()}"] = redis_json
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
        {"conn_type": "loopring", "host": served.url, "password": served.api_key, "extra": extra}
    )


def load(served: SandboxProcess, shared: bool) -> tuple[float, int, int, str]:
    """Four processes at once; (achieved / rate, 429 answers, failed calls, a note)."""
    served.client.clear_requests()
    account = served.account_ids[0]
    start = time.monotonic() + 15.0  # every child has imported Airflow by then
    args = [str(start), str(CALLS), str(THREADS), str(account)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(PROCESSES)
    ]
    failed = 0
    for child in children:
        out, _ = child.communicate(timeout=180)
        if child.returncode != 0:
            raise RuntimeError(f"a load process failed ({child.returncode})")
        failed += json.loads(out.strip().splitlines()[-1])["failed"]
    records = [r for r in served.client.requests if r.time >= start]
    times = sorted(r.time for r in records)
    achieved = (len(times) - 1) / (times[-1] - times[0]) / RATE
    too_many = sum(1 for r in records if r.status == 429)
    note = f"{len(times)} requests in {times[-1] - times[0]:.2f} s"
    return achieved, too_many, failed, note


def token_cost(served: SandboxProcess, redis_json: str) -> tuple[float, float]:
    """Median seconds of one token from Redis, and of the cheapest request."""
    from airflow_provider_loopring import _core as core
    from airflow_provider_loopring.hooks.loopring import LoopringHook
    from airflow_provider_loopring.hooks.redis_budget import RedisBudget

    connect(served, redis_json, shared=False)
    budget = RedisBudget("bench@token-cost", 1e6, REDIS_CONN_ID)  # never a wait worth noting
    request = core.nft_balances_request(account_id=1)
    budget.reserve(request)
    tokens = []
    for _ in range(TOKENS):
        started = time.perf_counter()
        budget.reserve(request)
        tokens.append(time.perf_counter() - started)
    served.client.set_latency(0.0)
    served.client.set_rate_limit(None)
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
        {
            "conn_type": "loopring",
            "host": served.url,
            "password": served.api_key,
            "extra": {"requests_per_second": 1e6},
        }
    )
    hook, account = LoopringHook(), served.account_ids[0]
    calls = []
    for _ in range(200):
        started = time.perf_counter()
        hook.get_nft_balances(account_id=account, limit=1)
        calls.append(time.perf_counter() - started)
    return statistics.median(tokens), statistics.median(calls)


def run(workdir: Path) -> list[Figure]:
    from tests.redis_server import RedisServer

    import_runtime()
    with (
        RedisServer(workdir / "redis", password="BenchRedisPassword-x7Qm2Lk9") as redis,
        sandbox(
            workdir, accounts=1, nfts_per_account=50, latency=LATENCY, rate_limit=RATE
        ) as served,
    ):
        redis_json = redis.connection_json()
        connect(served, redis_json, shared=True)
        shared = load(served, shared=True)
        connect(served, redis_json, shared=False)
        alone = load(served, shared=False)
        token, call = token_cost(served, redis_json)
    return [
        Figure(
            "8. shared budget: achieved requests/s / 50",
            shared[0],
            ">=",
            0.95,
            note=f"{PROCESSES} processes x {THREADS} threads, {shared[3]}",
            digits=3,
        ),
        Figure("8. shared budget: 429 responses", shared[1], "<=", 0, digits=0),
        Figure("8. shared budget: failed calls", shared[2], "<=", 0, digits=0),
        Figure(
            "8. per-process budgets: sent requests/s / 50",
            alone[0],
            note=f"the same load without rate_limit_conn_id, {alone[3]}",
            digits=3,
        ),
        Figure(
            "8. per-process budgets: 429 responses",
            alone[1],
            note=f"{alone[2]} calls failed after their retries",
            digits=0,
        ),
        Figure(
            "8. shared budget: median token from Redis",
            token * 1000,
            "<=",
            1.0,
            unit="ms",
            note=f"median of {TOKENS}, loopback",
            digits=3,
        ),
        Figure(
            "8. shared budget: token / cheapest request",
            token / call,
            unit="",
            note=f"request {call * 1000:.2f} ms at 0 latency",
            digits=2,
        ),
    ]


if __name__ == "__main__":
    main(run)
