"""Parquet output on its own: the declared schema, wrong types, what lies beyond it, pyarrow."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.operators.loopring import LoopringNftBalancesOperator
from airflow_provider_loopring.storage.objects import ObjectStorageWriter
from airflow_provider_loopring.storage.schemas import SCHEMAS, RowReader, arrow_schema

FIXTURES = Path(__file__).resolve().parents[1] / "testing" / "test_data"
pytestmark = pytest.mark.loopring_sandbox(accounts=2, nfts_per_account=20)


def real_balances() -> list[dict]:
    with open(FIXTURES / "user_nft_collection_balances__uat2__metadata-true__docs.json") as f:
        return json.load(f)["data"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("total", 12.5, "balances.total: expected a decimal string"),
        ("total", "1e3", "balances.total: expected a decimal string"),
        ("total", "9" * 39, "balances.total: expected a decimal string of at most 38 digits"),
        ("accountId", "11329", "balances.accountId: expected an integer"),
        ("isCounterFactualNFT", "yes", "balances.isCounterFactualNFT: expected true or false"),
        ("updatedAt", 1.5, "balances.updatedAt: expected an integer"),
        ("nftData", 7, "balances.nftData: expected text"),
    ],
)
def test_a_value_of_the_wrong_type_is_an_error_naming_the_field(field, value, expected):
    record = {**real_balances()[0], field: value}
    with pytest.raises(ValueError, match=expected):
        RowReader("balances", "2026-01-01").row(record)


def test_every_field_round_trips_and_what_lies_beyond_the_schema_is_kept(tmp_path):
    records = real_balances()
    records[0] = {**records[0], "newField": [1, 2], "pending": {**records[0]["pending"], "x": 1}}
    url = f"file://{tmp_path}/b.parquet"
    with ObjectStorageWriter(
        url,
        conn_id=None,
        output_format="parquet",
        record_kind="balances",
        snapshot_date="2026-01-01",
    ) as writer:
        part = writer.new_part()
        for record in records:
            part.write(record)
        part.close()
        writer.commit([part], fetched_at="2026-01-01T00:00:00+00:00")
    table = pq.read_table(tmp_path / "b.parquet")
    assert table.schema == arrow_schema("balances")
    rows = table.to_pylist()
    assert [str(r["total"]) for r in rows] == [r["total"] for r in records]
    assert [r["nftData"] for r in rows] == [r["nftData"] for r in records]
    assert json.loads(rows[0]["extra"]) == {"newField": [1, 2], "pending": {"x": 1}}
    assert json.loads(rows[0]["metadata"]) == records[0]["metadata"]
    assert {r["snapshot_date"].isoformat() for r in rows} == {"2026-01-01"}


def test_many_small_parts_keep_their_order_and_rows_across_compactions(tmp_path):
    """One part an account, a record each: the row group's batches are copied together every
    COMPACT_BATCHES (their schemas, not their rows, are what a part's batch costs)."""
    from airflow_provider_loopring.storage import parquet

    record = real_balances()[0]
    count = 3 * parquet.COMPACT_BATCHES + 5
    with ObjectStorageWriter(
        f"file://{tmp_path}/b.parquet",
        conn_id=None,
        output_format="parquet",
        record_kind="balances",
        snapshot_date="2026-01-01",
    ) as writer:
        parts = []
        for account in range(count):
            part = writer.new_part()
            part.write({**record, "accountId": account, "total": str(account + 1)})
            part.close()
            parts.append(part)
        writer.commit(parts, fetched_at="2026-01-01T00:00:00+00:00")
    rows = pq.read_table(tmp_path / "b.parquet").to_pylist()
    assert [(r["accountId"], str(r["total"])) for r in rows] == [
        (account, str(account + 1)) for account in range(count)
    ]


def _write_real_balances(tmp_path: Path) -> pq.ParquetFile:
    """The docs' balances, committed as one Parquet file by the writer, opened."""
    url = f"file://{tmp_path}/b.parquet"
    with ObjectStorageWriter(
        url, conn_id=None, output_format="parquet", record_kind="balances",
        snapshot_date="2026-01-01",
    ) as writer:  # fmt: skip
        part = writer.new_part()
        for record in real_balances():
            part.write(record)
        part.close()
        writer.commit([part], fetched_at="2026-01-01T00:00:00+00:00")
    return pq.ParquetFile(tmp_path / "b.parquet")


def test_json_columns_have_no_statistics_and_the_others_do(tmp_path):
    group = _write_real_balances(tmp_path).metadata.row_group(0)
    with_statistics = {
        group.column(i).path_in_schema
        for i in range(group.num_columns)
        if group.column(i).is_stats_set
    }
    json_columns = {column.name for column in SCHEMAS["balances"] if column.type == "json"}
    assert json_columns >= {"collectionInfo", "metadata", "extra"}
    assert with_statistics == {column.name for column in SCHEMAS["balances"]} - json_columns


def test_only_the_status_columns_are_dictionary_encoded_and_read_back_as_written(tmp_path):
    file = _write_real_balances(tmp_path)
    group = file.metadata.row_group(0)
    encoded = {
        group.column(i).path_in_schema
        for i in range(group.num_columns)
        if group.column(i).has_dictionary_page
    }
    assert encoded == {"nftType", "deploymentStatus"}
    table = file.read()
    assert table.schema.equals(arrow_schema("balances"))
    statuses = [record.get("deploymentStatus") for record in real_balances()]
    assert table.column("deploymentStatus").to_pylist() == statuses


def test_every_kind_has_accountid_and_the_snapshot_date():
    for kind, columns in SCHEMAS.items():
        names = [column.name for column in columns]
        assert names[:2] == ["snapshot_date", "accountId"], kind
        assert names[-1] == "extra", kind


def test_without_pyarrow_parquet_is_refused_naming_the_extra_before_any_request(
    sandbox, monkeypatch, tmp_path
):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name)
    )
    operator = LoopringNftBalancesOperator(
        task_id="t",
        account_id=sandbox.accounts[0]["accountId"],
        output_format="parquet",
        output_path=f"file://{tmp_path}/x.parquet",
    )
    with pytest.raises(
        LoopringInvalidParameterError, match=r"airflow-provider-loopring\[parquet\]"
    ):
        operator.execute({})
    assert sandbox.requests == []
