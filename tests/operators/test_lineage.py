"""OpenLineage: the operators' inputs, outputs and facets, in the events of a real DAG run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_loopring.models import CollectionBalance, NftBalance
from airflow_provider_loopring.operators._columns import json_columns
from airflow_provider_loopring.operators._lineage import endpoint_dataset, object_dataset
from airflow_provider_loopring.storage import schemas
from tests.conftest import connection_json

pytest.importorskip("airflow.providers.openlineage")

BALANCES = "/api/v3/user/nft/balances"
COLLECTIONS = "/api/v3/user/collection/details"
RUN = Path(__file__).with_name("lineage_run.py")
BALANCE_COLUMNS = json_columns("balances")
COLLECTION_COLUMNS = json_columns("collections")


def test_the_columns_are_the_models_fields():
    assert [name for name, _ in BALANCE_COLUMNS] == [f.key for f in NftBalance._FIELDS]
    assert [name for name, _ in COLLECTION_COLUMNS] == [
        *(f.key for f in CollectionBalance._FIELDS),
        "accountId",
    ]


def test_the_json_types_follow_from_how_the_models_read_each_field():
    # What lineage said when these were spelled out by hand beside the models.
    assert BALANCE_COLUMNS == (
        ("accountId", "integer"),
        ("tokenId", "integer"),
        ("nftData", "string"),
        ("tokenAddress", "string"),
        ("nftType", "string"),
        ("nftId", "string"),
        ("total", "string"),  # a big integer as a decimal string
        ("locked", "string"),
        ("pending", "struct"),
        ("isCounterFactualNFT", "boolean"),
        ("deploymentStatus", "string"),
        ("metadata", "struct"),
        ("minter", "string"),
        ("royaltyPercentage", "integer"),
        ("id", "integer"),
        ("updatedAt", "integer"),
        ("balanceUpdatedAt", "integer"),
        ("preference", "struct"),
        ("collectionInfo", "struct"),
    )
    assert COLLECTION_COLUMNS == (
        ("collection", "struct"),
        ("count", "integer"),
        ("accountId", "integer"),
    )


def test_every_json_column_of_a_record_is_in_its_parquet_schema():
    # The Parquet schema flattens nested objects (pending -> pendingWithdraw, ...) and adds
    # snapshot_date and extra, and fetchedAt (stamped by the operator, record_fetched_at):
    # each of its other columns is read from one of the model's fields, and each of the
    # model's fields is read by one of its columns at least.
    for kind in ("balances", "collections"):
        read_from = {column.path[0] for column in schemas.SCHEMAS[kind] if column.path}
        assert "fetchedAt" in read_from
        read_from.discard("fetchedAt")
        assert read_from == {name for name, _ in json_columns(kind)}, kind


def test_parquet_files_are_described_by_their_declared_schema():
    pyarrow = pytest.importorskip("pyarrow")
    for kind in schemas.KINDS:
        declared = schemas.arrow_schema(kind)
        assert schemas.lineage_fields(kind) == tuple(
            (field.name, str(field.type)) for field in declared
        )
    assert ("total", str(pyarrow.decimal128(38, 0))) in schemas.lineage_fields("balances")


def test_datasets_are_named_as_openlineage_names_them():
    s3 = object_dataset("s3://bucket/loopring/balances.jsonl", BALANCE_COLUMNS)
    assert (s3.namespace, s3.name) == ("s3://bucket", "loopring/balances.jsonl")
    local = object_dataset("file:///data/out.json", COLLECTION_COLUMNS)
    assert (local.namespace, local.name) == ("file", "/data/out.json")
    assert [field.name for field in local.facets["schema"].fields] == [
        "collection",
        "count",
        "accountId",
    ]
    api = endpoint_dataset("https://api3.loopring.io", BALANCES)
    assert (api.namespace, api.name) == ("loopring://api3.loopring.io", BALANCES)


def test_the_run_facet_names_a_fixed_number_of_accounts_and_counts_them_all():
    """Round 3 (docs/reliability.md): an event's size does not grow with the accounts."""
    import attrs

    from airflow_provider_loopring.operators._lineage import MAX_FACET_ACCOUNTS, operator_lineage

    def facet(count: int) -> dict:
        lineage = operator_lineage(
            base_url="https://api3.loopring.io",
            endpoint=BALANCES,
            accounts=[10_000 + n for n in range(count)],
            filters={"non_zero": True},
            output_path=None,
            columns=BALANCE_COLUMNS,
        )
        return attrs.asdict(lineage.run_facets["loopring"])

    few, many = facet(10), facet(10_000)
    assert (few["accounts"], few["accountCount"]) == ([str(10_000 + n) for n in range(10)], 10)
    assert len(many["accounts"]) == MAX_FACET_ACCOUNTS and many["accountCount"] == 10_000
    assert len(json.dumps(many)) < 2 * len(json.dumps(facet(MAX_FACET_ACCOUNTS)))


DAG = """
import pendulum
from airflow.sdk import DAG
from airflow_provider_loopring.operators.loopring import (
    LoopringCollectionsOperator,
    LoopringNftBalancesOperator,
)

with DAG("loopring_lineage", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
    LoopringNftBalancesOperator(
        task_id="balances", accounts=[FIRST, "OWNER"], output_path="file://OUT/balances.jsonl"
    )
    LoopringCollectionsOperator(
        task_id="collections", account_id=FIRST, output_path="file://OUT/collections.json",
        output_format="json",
    )
    LoopringNftBalancesOperator(task_id="to_xcom", account_id=FIRST, metadata=True)
    LoopringNftBalancesOperator(
        task_id="parquet", account_id=FIRST, output_path="file://OUT/balances.parquet",
        output_format="parquet",
    )
"""


@pytest.mark.loopring_sandbox(accounts=2, nfts_per_account=3, collections_per_account=1)
def test_a_dag_run_reports_what_each_task_read_and_wrote(loopring_sandbox, tmp_path):
    first, second = loopring_sandbox.accounts
    out = tmp_path / "out"
    dag_file = tmp_path / "dags" / "loopring_lineage.py"
    dag_file.parent.mkdir()
    source = DAG.replace("FIRST", str(first["accountId"])).replace("OWNER", second["owner"])
    dag_file.write_text(source.replace("OUT", str(out)))
    events_file = tmp_path / "events.jsonl"
    home = tmp_path / "home"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CORE__DAGS_FOLDER=str(dag_file.parent),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        AIRFLOW__OPENLINEAGE__NAMESPACE="loopring-tests",
        AIRFLOW_CONN_LOOPRING_DEFAULT=connection_json(
            loopring_sandbox.url, loopring_sandbox.api_key
        ),
    )
    done = subprocess.run(
        [sys.executable, str(RUN), str(dag_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "DAG RUN STATE success" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    text = events_file.read_text()
    assert loopring_sandbox.api_key not in text
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    complete = {
        event["job"]["name"].rsplit(".", 1)[-1]: event
        for event in events
        if event["eventType"] == "COMPLETE" and "." in event["job"]["name"]
    }
    host = f"loopring://{loopring_sandbox.url.split('://', 1)[1]}"

    balances = complete["balances"]
    assert _names(balances["inputs"]) == [(host, BALANCES)]
    assert _names(balances["outputs"]) == [("file", f"{out}/balances.jsonl")]
    schema = balances["outputs"][0]["facets"]["schema"]["fields"]
    assert [field["name"] for field in schema] == [name for name, _ in BALANCE_COLUMNS]
    facet = balances["run"]["facets"]["loopring"]
    assert facet["accounts"] == [str(first["accountId"]), second["owner"]]
    assert facet["accountCount"] == 2
    assert facet["filters"] == {"non_zero": True, "metadata": False}

    collections = complete["collections"]
    assert _names(collections["inputs"]) == [(host, COLLECTIONS)]
    assert _names(collections["outputs"]) == [("file", f"{out}/collections.json")]

    parquet = complete["parquet"]
    assert _names(parquet["outputs"]) == [("file", f"{out}/balances.parquet")]
    fields = parquet["outputs"][0]["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in fields] == list(schemas.lineage_fields("balances"))
    assert {"snapshot_date", "pendingWithdraw", "extra"} <= {f["name"] for f in fields}

    to_xcom = complete["to_xcom"]
    assert _names(to_xcom["inputs"]) == [(host, BALANCES)]
    assert to_xcom["outputs"] == []
    started = [event for event in events if event["eventType"] == "START"]
    assert any(_names(event["inputs"]) == [(host, BALANCES)] for event in started)


def _names(datasets):
    return [(dataset["namespace"], dataset["name"]) for dataset in datasets]


def test_the_operator_modules_do_not_import_openlineage():
    # Airflow itself reads the provider's get_provider_info; the client and our facets stay out.
    code = textwrap.dedent(
        """
        import sys
        import airflow_provider_loopring.operators.loopring
        import airflow_provider_loopring.sensors.loopring
        lineage = ("openlineage", "airflow.providers.openlineage.extractors",
                   "airflow_provider_loopring.operators._lineage")
        print(sorted(m for m in sys.modules if m.startswith(lineage)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
