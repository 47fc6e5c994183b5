"""LoopringNftTransactionsOperator against the sandbox's ledger: exact, edges, once, resume.

History is made at chosen moments (``sandbox.set_time``) on either side of a window's edges;
what the operator writes is compared with the ledger's own transactions of that window.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pendulum
import pytest

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.links.loopring import LoopringTransactionLink
from airflow_provider_loopring.models import NftTransaction
from airflow_provider_loopring.operators._columns import json_columns
from airflow_provider_loopring.operators.transactions import LoopringNftTransactionsOperator
from airflow_provider_loopring.storage import schemas
from airflow_provider_loopring.testing import Fault
from airflow_provider_loopring.testing.sandbox import txs
from airflow_provider_loopring.testing.sandbox.history import transaction_row
from tests.conftest import connection_json
from tests.operators.test_loopring import read_jsonl
from tests.operators.test_resume import fail_once_at

pytestmark = pytest.mark.loopring_sandbox(accounts=4, nfts_per_account=8)
TRANSACTIONS = "/api/v3/user/nft/transactions"
DAY = 86_400_000
START = pendulum.datetime(2026, 3, 1, tz="UTC")
S = int(START.timestamp() * 1000)
E = S + DAY
IMPORTS = (
    "from airflow_provider_loopring.operators.transactions import "
    "LoopringNftTransactionsOperator as Transactions\n"
)
NFT_KINDS = {"NftMint", "Transfer", "Deposit", "Withdraw"}


def ids(sandbox) -> list[int]:
    return [account["accountId"] for account in sandbox.accounts]


def held(sandbox, account_id: int) -> str:
    return sandbox.balances(account_id, non_zero=True)[0]["nftData"]


def at(sandbox, moment: int, act, *args) -> dict:
    """One ledger mutation made at ``moment`` (epoch ms), sealed into its own block."""
    sandbox.set_time(moment)
    tx = act(*args)
    sandbox.seal_block()
    sandbox.set_time(None)
    return tx


def make_day(sandbox, start: int = S, end: int = E) -> None:
    """Transactions just outside, exactly at and inside the edges of [start, end)."""
    a, b, c, _ = ids(sandbox)
    at(sandbox, start - 1, sandbox.transfer, a, b, held(sandbox, a))  # the day before
    at(sandbox, start, sandbox.mint, a, "5")  # exactly at start: in
    at(sandbox, start + 1000, sandbox.transfer, a, b, held(sandbox, a))  # names a and b
    at(sandbox, start + 2000, sandbox.withdraw, c, held(sandbox, c))
    at(sandbox, start + 3000, sandbox.deposit, b, held(sandbox, b))
    at(sandbox, end - 1, sandbox.transfer, b, c, held(sandbox, b))  # the last millisecond
    at(sandbox, end, sandbox.transfer, c, a, held(sandbox, c))  # exactly at end: the next day


def expected(sandbox, accounts, start: int = S, end: int = E) -> list[dict]:
    """The ledger's NFT transactions of ``accounts`` in [start, end), each once, as Loopring's
    rows: the accounts' order, each newest first (Loopring's order)."""
    ledger = sandbox._dataset
    seen: set[str] = set()
    rows = []
    for account_id in accounts:
        entries = [
            e
            for e in ledger.history(account_id)
            if start <= e.created_at < end and e.tx["txType"] in NFT_KINDS and txs.nft_of(e.tx)
        ]
        for entry in reversed(entries):
            if entry.hash not in seen:
                seen.add(entry.hash)
                rows.append(transaction_row(ledger, entry))
    return rows


def operator(**kwargs) -> LoopringNftTransactionsOperator:
    return LoopringNftTransactionsOperator(task_id="history", **kwargs)


INTERVAL = {"data_interval_start": START, "data_interval_end": START.add(days=1)}


def test_the_interval_exactly_as_the_ledger_has_it_each_transaction_once(sandbox):
    make_day(sandbox)
    a, b, c, d = ids(sandbox)
    records = operator(account_id=[a, b, c, d], max_workers=1).execute(INTERVAL)
    want = expected(sandbox, [a, b, c, d])
    assert records == want
    times = sorted(r["timestamp"] for r in records)
    assert times[0] == S and times[-1] == E - 1  # at start: in; at end: the next interval's
    assert len(want) == 5 and len({r["hash"] for r in records}) == 5  # a->b written once
    # Loopring's window includes both ends: asked for [start, end - 1 ms].
    queries = [r.query for r in sandbox.requests if r.path == TRANSACTIONS]
    assert {(q["start"], q["end"]) for q in queries} == {(str(S), str(E - 1))}

    # More workers, the same transactions (the shared one still once).
    many = operator(account_id=[a, b, c, d], max_workers=4).execute(INTERVAL)
    assert sorted(json.dumps(r, sort_keys=True) for r in many) == sorted(
        json.dumps(r, sort_keys=True) for r in want
    )
    # The next interval starts with the transaction made exactly at its start.
    nxt = {"data_interval_start": START.add(days=1), "data_interval_end": START.add(days=2)}
    assert operator(account_id=[a, c], max_workers=1).execute(nxt) == expected(
        sandbox, [a, c], E, E + DAY
    )


def test_explicit_window_types_and_nfts_and_jsonl_output(sandbox, tmp_path):
    make_day(sandbox)
    a, b, *_ = ids(sandbox)
    target = tmp_path / "tx.jsonl"
    reference = operator(
        accounts=[a, sandbox.accounts[1]["owner"]],
        start=str(S),
        end=E,
        types="transfer",
        max_workers=1,
        output_path=f"file://{target}",
    ).execute({})
    want = [r for r in expected(sandbox, [a, b]) if r["nftTxType"] == "TRANSFER"]
    assert read_jsonl(target.read_bytes()) == want and reference["records"] == len(want) == 2
    nft = want[0]["nftData"]
    only = operator(account_id=b, start=S, end=E, nft_datas=[nft]).execute({})
    assert only == [r for r in expected(sandbox, [b]) if r["nftData"] == nft]


def test_parquet_is_typed_amounts_exact_times_as_timestamps(sandbox, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    make_day(sandbox)
    accounts = ids(sandbox)
    target = tmp_path / "tx.parquet"
    operator(
        account_id=accounts, max_workers=1, output_format="parquet", output_path=f"file://{target}"
    ).execute(INTERVAL)
    table = pq.read_table(target)
    assert table.schema == schemas.arrow_schema("transactions")
    rows, want = table.to_pylist(), expected(sandbox, accounts)
    assert [r["hash"] for r in rows] == [w["hash"] for w in want]
    assert [r["amount"] for r in rows] == [Decimal(w["amount"]) for w in want]
    assert [r["feeAmount"] for r in rows] == [Decimal(w["feeAmount"]) for w in want]
    assert [int(r["timestamp"].timestamp() * 1000) for r in rows] == [w["timestamp"] for w in want]
    assert [r["accountId"] for r in rows] == [w["storageInfo"]["accountId"] for w in want]
    assert [json.loads(r["minterInfo"]) for r in rows] == [w["minterInfo"] for w in want]
    assert {r["snapshot_date"].isoformat() for r in rows} == {"2026-03-01"}
    assert {r["extra"] for r in rows} == {None}  # every field Loopring sent has its column


def test_the_schema_reads_every_field_of_the_model():
    names = [name for name, _ in json_columns("transactions")]
    assert names == [field.key for field in NftTransaction._FIELDS]
    read_from = {c.path[0] for c in schemas.SCHEMAS["transactions"] if c.path}
    assert read_from == set(names)


def test_lineage_names_the_endpoint_the_window_and_the_columns_written(sandbox, tmp_path):
    pytest.importorskip("airflow.providers.openlineage")
    a = ids(sandbox)[0]
    for output_format, columns in (
        ("jsonl", json_columns("transactions")),
        ("parquet", schemas.lineage_fields("transactions")),
    ):
        lineage = operator(
            account_id=a,
            start=S,
            end=E,
            types="mint",
            output_format=output_format,
            output_path=f"file://{tmp_path}/tx.{output_format}",
        ).get_openlineage_facets_on_start()
        (source,), (target,) = lineage.inputs, lineage.outputs
        assert source.name == TRANSACTIONS
        assert target.name == f"{tmp_path}/tx.{output_format}"
        fields = [(f.name, f.type) for f in target.facets["schema"].fields]
        assert fields == list(columns)
        facet = lineage.run_facets["loopring"]
        assert (facet.filters["start"], facet.filters["end"]) == (S, E)
        assert facet.filters["types"] == "mint"
    assert sandbox.requests == []


def hashes(target) -> list[str]:
    if target.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(target, columns=["hash"]).column("hash").to_pylist()
    return [r["hash"] for r in read_jsonl(target.read_bytes())]


@pytest.mark.parametrize("output_format", ["jsonl", "parquet"])
def test_a_retry_fetches_only_the_accounts_not_finished_and_writes_shared_ones_once(
    sandbox, run_dag, tmp_path, scratch, output_format
):
    make_day(sandbox)
    a, b, c, d = ids(sandbox)
    sandbox.add_fault(fail_once_at(2, TRANSACTIONS))  # try 1: a finishes (with a->b), b fails
    target = tmp_path / "out" / f"tx.{output_format}"
    result = run_dag(
        f"""
        Transactions(
            task_id="history", account_id={[a, b, c, d]}, start={S}, end={E},
            retries=1, retry_delay=0, retry_policy=None, max_workers=1, checkpoint_interval=0,
            output_path="file://{target}", output_format={output_format!r},
        )
        """,
        header=IMPORTS,
    )
    assert result.state == "success"
    asked = [int(r.query["accountId"]) for r in sandbox.requests if r.path == TRANSACTIONS]
    assert asked == [a, b, b, c, d]  # the retry did not ask for a again
    want = expected(sandbox, [a, b, c, d])
    assert hashes(target) == [r["hash"] for r in want]  # a->b once: a's, from the first try
    if output_format == "jsonl":
        assert read_jsonl(target.read_bytes()) == want
    assert result.xcom("history")["resumed_accounts"] == 1
    assert list(scratch.iterdir()) == []  # no part files, no claims left (both tries)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"start": E, "end": S}, "start"),
        ({"start": S, "end": S}, "start"),
        ({"nft_datas": ["0x1234"]}, "nft_datas"),
        ({"nft_datas": "0x" + "g" * 64}, "nft_datas"),
        ({"types": ["transfer", "trade"]}, "types"),
        ({"address": "0x" + "a" * 40}, "account_id/address"),
        ({"start": pendulum.naive(2026, 3, 1)}, "start"),
    ],
)
def test_bad_input_is_refused_naming_it_before_any_request(sandbox, arguments, named):
    a = ids(sandbox)[0]
    with pytest.raises(LoopringInvalidParameterError, match=f"Invalid {named}"):
        operator(account_id=a, **arguments)
    # Given by a template, it is refused when the task runs, still before any request.
    task = operator(account_id=a, start="{{ s }}", end="{{ e }}")
    for name, value in {"start": S, "end": E, **arguments}.items():
        setattr(task, name, value)
    with pytest.raises(LoopringInvalidParameterError, match=f"Invalid {named}"):
        task.execute({})
    assert sandbox.requests == []


def test_without_a_window_or_a_data_interval_the_task_names_start(sandbox):
    with pytest.raises(LoopringInvalidParameterError, match=r"Invalid start.*data_interval_start"):
        operator(account_id=ids(sandbox)[0]).execute({})
    assert sandbox.requests == []


def with_blocks(sandbox):
    """Loopring's rows as some responses give them: with ``blockIdInfo`` (the ledger's)."""
    entries = {e.hash: e for a in ids(sandbox) for e in sandbox._dataset.history(a)}

    def answer(body, query):
        for row in body.get("transactions", []):
            entry = entries[row["hash"]]
            row["blockIdInfo"] = {"blockId": entry.block_id, "indexInBlock": entry.index}
        return body

    return Fault("transform", path=TRANSACTIONS, times=None, transform=answer)


def test_the_explorer_link_is_the_latest_transaction_with_its_block(sandbox, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_LOOPRING_DEFAULT",
        connection_json(sandbox.url, sandbox.api_key, explorer_url="https://explorer.example"),
    )
    make_day(sandbox)
    a, b, c, _ = ids(sandbox)
    link = LoopringTransactionLink()
    plain = operator(account_id=[a, b, c])
    plain.execute(INTERVAL)
    assert link.get_link(plain, ti_key=None) == ""  # the docs' rows name no block
    sandbox.add_fault(with_blocks(sandbox))
    task = operator(account_id=[a, b, c])
    task.execute(INTERVAL)
    last = max(
        (e for e in sandbox._dataset.history(b) if e.created_at < E), key=lambda e: e.created_at
    )
    assert last.created_at == E - 1
    assert link.get_link(task, ti_key=None) == (
        f"https://explorer.example/tx/{last.block_id}-{last.index}"
    )


def test_records_written_per_account_read_back_as_their_keys(tmp_path):
    from airflow_provider_loopring.operators.transactions import part_keys
    from airflow_provider_loopring.storage.files import FilePart
    from airflow_provider_loopring.storage.formats import LAYOUTS

    for layout in ("jsonl", "json"):
        part = FilePart(str(tmp_path / f"p.{layout}"), LAYOUTS[layout])
        for record in ({"hash": "0xa", "id": 1}, {"id": 2}, {"hash": "0xc", "id": 3}):
            part.write(record)
        part.close()
        assert list(part_keys(part)) == ["0xa", 2, "0xc"]


def test_the_sandbox_clock_places_history_and_the_wall_clock_comes_back(sandbox):
    a = ids(sandbox)[0]
    before = pendulum.now("UTC").int_timestamp * 1000
    at(sandbox, S, sandbox.mint, a)
    sandbox.mint(a)
    made = [e.created_at for e in sandbox._dataset.history(a)][-2:]
    assert made[0] == S and made[1] >= before
