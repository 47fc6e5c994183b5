"""``python -m benchmarks [NAME ...] [--results FILE] [--logs DIR]``: run them, print one table.

Each benchmark runs in a fresh interpreter with a throwaway Airflow home; its log goes to a
file that is shown when it fails. Exits 1 when a goal is missed or a benchmark fails.
``--results`` writes the table and a description of this machine into ``FILE`` (between the
markers of ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import ROOT, Figure, airflow_env, table

# In the order of issues 6 and 16; each module's docstring says what it measures.
BENCHMARKS = (
    "rate_limit",
    "throughput",
    "memory",
    "cpu",
    "imports",
    "triggers",
    "snapshot",
    "watchers",
    "budget",
    "ledger",
    "holders",
    "incremental",
    "history",
)
TIMEOUT = 240  # seconds per benchmark; benchmarks 1-6 together stay under 10 minutes
# Benchmark 7 runs a real Airflow through two nights of 10,000 wallets: 10 minutes on its own.
TIMEOUTS = {"snapshot": 600}
TIMEOUTS["incremental"] = 1200  # 100,000 wallets written once, then 7 nights: ~10 minutes
STOP_GRACE = 30  # seconds a timed-out benchmark gets after SIGTERM, before SIGKILL
START, END = "<!-- results:start -->", "<!-- results:end -->"


def run_one(name: str, scratch: Path) -> list[Figure]:
    """One benchmark in its own interpreter; a crash or timeout becomes a failed figure."""
    workdir = scratch / name
    workdir.mkdir()
    result, log = workdir / "result.json", workdir / "log.txt"
    env = {
        **os.environ,
        **airflow_env(workdir / "airflow"),
        "BENCH_WORKDIR": str(workdir),
        "BENCH_RESULT": str(result),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    problem = None
    timeout = TIMEOUTS.get(name, TIMEOUT)
    with open(log, "w") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", f"benchmarks.{name}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            if child.wait(timeout=timeout) != 0:
                problem = f"exit status {child.returncode}"
        except subprocess.TimeoutExpired:
            problem = f"no result within {timeout} s"
            # SIGTERM first: a benchmark that started processes of its own stops them.
            child.terminate()
            try:
                child.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    if problem is None and result.exists():
        return [Figure(**figure) for figure in json.loads(result.read_text())]
    tail = log.read_text(errors="replace").splitlines()[-40:]
    print(f"--- {name} failed ({problem}); the end of its log:", *tail, sep="\n", file=sys.stderr)
    return [Figure(f"{name}: ran", None, "==", 1, note=problem or "no result", digits=0)]


def machine() -> str:
    """What the figures were measured on."""
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    memory = re.search(r"MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text())
    versions = ", ".join(
        f"{package} {importlib.metadata.version(package)}"
        for package in ("apache-airflow", "apache-airflow-providers-http", "requests", "httpx")
    )
    return "\n".join(
        [
            f"- CPU: {cpu.group(1) if cpu else platform.processor()}, "
            f"{len(os.sched_getaffinity(0))} cores usable",
            f"- Memory: {int(memory.group(1)) / 2**20:.1f} GiB" if memory else "- Memory: ?",
            f"- OS: {platform.platform()}",
            f"- Python {platform.python_version()}; {versions}",
            f"- Load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        ]
    )


def write_results(path: Path, figures: list[Figure], seconds: float, about: str) -> None:
    section = "\n\n".join(
        [
            START,
            f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} in {seconds:.0f} s on:",
            about,
            table(figures),
            END,
        ]
    )
    text = path.read_text() if path.exists() else f"# Benchmark results\n\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    path.write_text(before + section + rest.split(END, 1)[1])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    parser.add_argument("--results", type=Path, help="write the table into this Markdown file")
    parser.add_argument(
        "--logs", type=Path, help="keep each benchmark's log here, as <NAME>.log, pass or fail"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; there are {', '.join(BENCHMARKS)}")
    about = machine()
    started = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="loopring-bench-") as scratch:
        for name in args.names or BENCHMARKS:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            figures += run_one(name, Path(scratch))
            if args.logs:
                args.logs.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(scratch, name, "log.txt"), args.logs / f"{name}.log")
    seconds = time.perf_counter() - started
    print(table(figures))
    print(f"\n{seconds:.0f} s in all, on:\n{about}")
    if args.results:
        write_results(args.results, figures, seconds, about)
    return 0 if all(figure.passed is not False for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
