"""Resumable runs: a retry fetches only what an earlier try did not finish; missing accounts.

Every try runs under ``dag.test()`` (which runs a task's retries) against the sandbox; the
sandbox's request log shows which accounts each try asked for.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from airflow_provider_loopring.testing import Fault
from tests.operators.conftest import leftover_parts
from tests.operators.test_loopring import (
    BALANCES,
    COLLECTIONS,
    IMPORTS,
    collections,
    held,
    ids,
    owners,
    read_jsonl,
    requests_to,
)

# Four accounts of two pages each; one worker, so the order of requests is the accounts'.
pytestmark = pytest.mark.loopring_sandbox(
    accounts=4, nfts_per_account=60, collections_per_account=2
)
ACCOUNT = "/api/v3/account"
UNKNOWN_ID = 4_999_999
# Lower case: the test DAGs render natively, which reads "0x…" as an int (docs: D8).
UNKNOWN_ADDRESS = "0x5f1c3a9e0b2d4f6a8c7e9b1d3f5a7c9e2b4d6f80"


def fail_once_at(request_number: int, path: str = BALANCES) -> Fault:
    """A non-retryable Loopring error answering the n-th request to ``path`` (1-based), once."""
    calls = itertools.count(1)

    def answer(body, query):
        if next(calls) == request_number:
            return {"resultInfo": {"code": 100001, "message": "injected: fail this try"}}
        return body

    return Fault("transform", path=path, times=None, transform=answer)


def asked_for(sandbox, path=BALANCES, since=0):
    """The accounts (ids) each request after the ``since``-th asked for, in order, once each."""
    seen: dict[str, None] = {}
    for record in requests_to(sandbox, path)[since:]:
        seen.setdefault(record.query["accountId"], None)
    return [int(account_id) for account_id in seen]


def written(target: Path) -> list[tuple[int, str]]:
    """(accountId, nftData) of every record of a JSON Lines or Parquet file, in order."""
    if target.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(target, columns=["accountId", "nftData"])
        return list(zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True))
    return [(r["accountId"], r["nftData"]) for r in read_jsonl(target.read_bytes())]


def staging_of(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if ".staging" in str(path))


# retry_policy=None: the injected error would fail the task at once (it is no transient one),
# and these tests are about what a retry does, whatever failed the try before it.
RETRY = "retries=1, retry_delay=0, retry_policy=None, max_workers=1, checkpoint_interval=0"


@pytest.mark.parametrize("output_format", ["jsonl", "parquet"])
def test_a_retry_fetches_only_the_accounts_the_failed_try_did_not_finish(
    sandbox, run_dag, tmp_path, scratch, output_format
):
    a, b, c, d = ids(sandbox)
    sandbox.add_fault(fail_once_at(5))  # try 1: a and b finish, c fails on its first page
    out = tmp_path / "out"
    target = out / f"balances.{output_format}"
    result = run_dag(
        f"""
        Balances(
            task_id="balances", account_id={[a, b, c, d]}, {RETRY},
            output_path="file://{target}", output_format={output_format!r},
        )
        """,
        header=IMPORTS,
    )
    assert result.state == "success"
    assert asked_for(sandbox) == [a, b, c, d]  # try 1: a, b, then c's failed first page
    retry = asked_for(sandbox, since=5)
    assert retry == [c, d]  # try 2 asked only for what was missing
    assert written(target) == [(x["accountId"], x["nftData"]) for x in held(sandbox, a, b, c, d)]
    reference = result.xcom("balances")
    assert (reference["resumed_accounts"], reference["accounts"]) == (2, 4)
    assert reference["skipped_accounts"] == []
    assert staging_of(out) == []  # the commit removed the checkpoints
    assert leftover_parts(scratch) == []


def test_resume_on_s3(sandbox, run_dag, s3, scratch):
    a, b, c, _ = ids(sandbox)
    sandbox.add_fault(fail_once_at(3))  # try 1: a finishes, b fails
    key = "resume/collections-and-balances.json"
    result = run_dag(
        f"""
        Balances(
            task_id="balances", account_id={[a, b, c]}, {RETRY}, output_format="json",
            output_conn_id={s3.conn_id!r}, output_path={s3.url(key)!r},
        )
        """,
        header=IMPORTS,
    )
    assert result.state == "success"
    assert asked_for(sandbox, since=3) == [b, c]
    assert json.loads(s3.read(key)) == held(sandbox, a, b, c)
    assert result.xcom("balances")["resumed_accounts"] == 1
    assert s3.keys("resume/") == [key]  # no checkpoint, no temporary object left


def test_checkpoints_of_another_run_are_never_reused_and_go_with_the_next_commit(
    sandbox, run_dag, tmp_path
):
    a, b, c, _ = ids(sandbox)
    out = tmp_path / "out"
    task = f"""
        Balances(
            task_id="balances", account_id={[a, b, c]}, max_workers=1, checkpoint_interval=0,
            output_path="file://{out}/balances.jsonl",
        )
        """
    sandbox.add_fault(fail_once_at(3))
    failed = run_dag(task, header=IMPORTS)
    assert failed.state == "failed"
    assert [p.name for p in staging_of(out) if p.suffix == ".json"] == ["checkpoint-000001.json"]
    assert not (out / "balances.jsonl").exists()
    sandbox.clear_requests()
    sandbox.clear_faults()
    later = run_dag(task, header=IMPORTS)  # another run (another run id), the same target
    assert later.state == "success"
    assert asked_for(sandbox) == [a, b, c]  # a again: that checkpoint was another run's
    assert later.xcom("balances")["resumed_accounts"] == 0
    assert read_jsonl((out / "balances.jsonl").read_bytes()) == held(sandbox, a, b, c)
    assert staging_of(out) == []


def test_checkpoints_of_other_arguments_are_not_reused(sandbox, run_dag, tmp_path):
    """A retry whose filters differ (a changed DAG) starts afresh rather than mix results."""
    from airflow_provider_loopring.storage.objects import ObjectStorageWriter

    out = tmp_path / "out"
    with ObjectStorageWriter(f"file://{out}/x.jsonl", conn_id=None, output_format="jsonl") as w:
        saved = w.checkpoints("ti-test", fingerprint="one", interval=0)
        part = w.new_part()
        part.write({"accountId": 1})
        part.close()
        saved.add("account_id:1", part)
        assert set(w.checkpoints("ti-test", "one", 0).resume()) == {"account_id:1"}
        assert w.checkpoints("ti-test", "other", 0).resume() == {}


def test_a_checkpoint_whose_chunk_does_not_match_its_manifest_is_not_reused(tmp_path):
    from airflow_provider_loopring.storage.objects import ObjectStorageWriter

    out = tmp_path / "out"
    with ObjectStorageWriter(f"file://{out}/x.jsonl", conn_id=None, output_format="jsonl") as w:
        saved = w.checkpoints("ti-test", fingerprint="f", interval=0)
        for account_id in (1, 2):
            part = w.new_part()
            part.write({"accountId": account_id})
            part.close()
            saved.add(f"account_id:{account_id}", part)
        chunk = next(p for p in staging_of(out) if p.name == "chunk-000002.part")
        chunk.write_bytes(chunk.read_bytes()[:-3])  # as if cut short by a crash
        assert set(w.checkpoints("ti-test", "f", 0).resume()) == {"account_id:1"}


# --- accounts Loopring does not know --------------------------------------------------------


def test_missing_accounts_are_skipped_and_listed_or_fail_the_task(sandbox, run_dag, tmp_path):
    a, b, _, _ = ids(sandbox)
    out = tmp_path / "out"
    mixed = [a, UNKNOWN_ADDRESS, UNKNOWN_ID, b]
    result = run_dag(
        f"""
        Balances(
            task_id="skip", accounts={mixed!r}, on_missing_account="skip",
            output_path="file://{out}/skip.jsonl",
        )
        Collections(
            task_id="collections_skip", accounts={mixed!r}, on_missing_account="skip",
            output_path="file://{out}/collections.jsonl",
        )
        Balances(task_id="xcom_skip", accounts={mixed!r}, on_missing_account="skip")
        Balances(task_id="fail", accounts={mixed!r}, output_path="file://{out}/fail.jsonl")
        """,
        header=IMPORTS,
    )
    assert result.task_states == {
        "skip": "success",
        "collections_skip": "success",
        "xcom_skip": "success",
        "fail": "failed",
    }
    assert read_jsonl((out / "skip.jsonl").read_bytes()) == held(sandbox, a, b)
    reference = result.xcom("skip")
    assert reference["skipped_accounts"] == [UNKNOWN_ADDRESS, UNKNOWN_ID]
    assert reference["accounts"] == 2
    assert read_jsonl((out / "collections.jsonl").read_bytes()) == collections(sandbox, a, b)
    assert result.xcom("collections_skip")["skipped_accounts"] == [UNKNOWN_ADDRESS, UNKNOWN_ID]
    assert result.xcom("xcom_skip") == held(sandbox, a, b)
    assert result.xcom("xcom_skip", key="skipped_accounts") == [UNKNOWN_ADDRESS, UNKNOWN_ID]
    assert not (out / "fail.jsonl").exists()


# --- addresses looked up once -----------------------------------------------------------


def test_resolved_addresses_are_kept_so_the_next_run_looks_none_up(sandbox, run_dag, tmp_path):
    a, b, c, d = ids(sandbox)
    addresses = owners(sandbox)[:3]
    out, cache = tmp_path / "out", tmp_path / "accounts"
    task = f"""
        Balances(
            task_id="balances", accounts={[*addresses, d]!r}, account_cache_path="file://{cache}",
            output_path="file://{out}/balances.jsonl",
        )
        Collections(
            task_id="collections", accounts={[*addresses, d]!r}, account_cache_path="file://{cache}",
            output_path="file://{out}/collections.jsonl",
        )
        """
    first = run_dag(task, header=IMPORTS)
    assert first.state == "success"
    lookups = [r.query.get("owner", "").lower() for r in requests_to(sandbox, ACCOUNT)]
    # Each address once a task at most (the tasks may run side by side); by id afterwards.
    assert set(lookups) == {address.lower() for address in addresses}
    assert len(lookups) <= 2 * len(addresses)
    assert all("address" not in r.query for r in requests_to(sandbox, BALANCES))
    sandbox.clear_requests()
    second = run_dag(task, header=IMPORTS)
    assert second.state == "success"
    assert requests_to(sandbox, ACCOUNT) == []
    assert read_jsonl((out / "balances.jsonl").read_bytes()) == held(sandbox, a, b, c, d)
    assert sorted(asked_for(sandbox, COLLECTIONS)) == sorted([a, b, c, d])
    cached = {}
    for path in cache.iterdir():
        cached.update(json.loads(path.read_text()))
    assert cached == {address.lower(): i for address, i in zip(addresses, (a, b, c), strict=True)}
