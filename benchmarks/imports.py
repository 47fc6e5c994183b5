"""5. Import cost: what a DAG file pays for importing the provider, at every parse.

In a fresh interpreter, ``airflow.sdk`` is imported first (every DAG file does), then the
clock runs over importing the hook, operator and sensor modules. Bytecode is compiled once
beforehand, as an installed package has it. The median of several fresh interpreters.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from benchmarks.harness import Figure, main, run_python

RUNS = 7
MODULES = (
    "airflow_provider_loopring.hooks.loopring",
    "airflow_provider_loopring.operators.loopring",
    "airflow_provider_loopring.sensors.loopring",
)
CODE = f"""
import importlib, json, time
import airflow.sdk
started = time.perf_counter()
for name in {MODULES!r}:
    importlib.import_module(name)
print(json.dumps(time.perf_counter() - started))
"""


def run(workdir: Path) -> list[Figure]:
    # Write the provider's .pyc files (this environment may set PYTHONDONTWRITEBYTECODE).
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    run_python(CODE, env=env, replace_env=True)
    times = [run_python(CODE) * 1000 for _ in range(RUNS)]
    return [
        Figure(
            "5. import: hook + operator + sensor modules",
            statistics.median(times),
            "<=",
            50,
            unit="ms",
            digits=1,
            note=f"median of {RUNS}, {min(times):.1f}-{max(times):.1f} ms",
        )
    ]


if __name__ == "__main__":
    main(run)
