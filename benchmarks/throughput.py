"""2. Throughput against the alternative: our operator vs. the HTTP provider.

Same data as benchmark 1 (10 accounts x 20 pages of 50 balances), 50 ms latency, no server
limit, the hook's limit out of the way. Ours: ``LoopringNftBalancesOperator`` with one worker
per account (``max_workers=10``) streaming to a ``file://`` JSON Lines object. The baseline:
``apache-airflow-providers-http``'s ``HttpOperator`` with a ``pagination_function``, as its
docs show, one account after the other, each page after the other (``HttpHook.run`` per
page), its records written to JSON Lines the same way. Both outputs must be byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from benchmarks.harness import Figure, SandboxProcess, import_runtime, main, sandbox

ACCOUNTS = 10
PAGES = 20
PAGE_SIZE = 50
LATENCY = 0.05
HTTP_CONN_ID = "loopring_http"


def ours(served: SandboxProcess, workdir: Path) -> tuple[float, str]:
    from airflow_provider_loopring.operators.loopring import LoopringNftBalancesOperator

    served.connect(requests_per_second=10_000)
    operator = LoopringNftBalancesOperator(
        task_id="ours",
        account_id=served.account_ids,
        non_zero=False,
        output_path=f"file://{workdir}/ours.jsonl",
        max_workers=ACCOUNTS,
    )
    started = time.perf_counter()
    reference = operator.execute({})
    return time.perf_counter() - started, reference["sha256"]


def _next_page(response: Any) -> dict[str, Any] | None:
    """The HTTP provider's pagination hook: the next offset, until totalNum is reached."""
    query = dict(parse_qsl(urlsplit(response.url).query))
    offset = int(query["offset"]) + int(query["limit"])
    if offset >= response.json()["totalNum"]:
        return None
    return {"data": {**query, "offset": offset}}


def _records(responses: list[Any]) -> list[dict[str, Any]]:
    return [item for response in responses for item in response.json()["data"]]


def baseline(served: SandboxProcess, workdir: Path) -> tuple[float, str]:
    from airflow.providers.http.operators.http import HttpOperator

    os.environ[f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}"] = json.dumps(
        {"conn_type": "http", "host": served.url}
    )
    path = workdir / "baseline.jsonl"
    started = time.perf_counter()
    with open(path, "wb") as out:
        for account_id in served.account_ids:
            operator = HttpOperator(
                task_id=f"http_{account_id}",
                http_conn_id=HTTP_CONN_ID,
                method="GET",
                endpoint="/api/v3/user/nft/balances",
                data={"accountId": account_id, "offset": 0, "limit": PAGE_SIZE, "nonZero": "false"},
                headers={"X-API-KEY": served.api_key},
                pagination_function=_next_page,
                response_filter=_records,
                log_response=False,
            )
            for record in operator.execute({}):
                out.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
    wall = time.perf_counter() - started
    return wall, hashlib.sha256(path.read_bytes()).hexdigest()


def run(workdir: Path) -> list[Figure]:
    import airflow.providers.http.operators.http  # noqa: F401  (imported before timing, as ours)

    import_runtime()
    with sandbox(
        workdir, accounts=ACCOUNTS, nfts_per_account=PAGES * PAGE_SIZE, latency=LATENCY
    ) as served:
        our_wall, our_sha = ours(served, workdir)
        base_wall, base_sha = baseline(served, workdir)
    same = our_sha == base_sha
    return [
        Figure(
            "2. throughput: HttpOperator wall / ours",
            base_wall / our_wall,
            ">=",
            6,
            note=f"{base_wall:.2f} s / {our_wall:.2f} s",
            digits=1,
        ),
        Figure("2. throughput: outputs identical", 1 if same else 0, "==", 1, digits=0),
    ]


if __name__ == "__main__":
    main(run)
