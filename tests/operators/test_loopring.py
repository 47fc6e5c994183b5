"""The operators under ``dag.test()`` against the sandbox, writing to local disk and to moto S3.

Each DAG run is costly (the first one in a process ~10 s), so one run covers several tasks.
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
import threading

import pendulum
import pytest

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.operators.loopring import (
    LoopringCollectionsOperator,
    LoopringNftBalancesOperator,
)
from airflow_provider_loopring.testing import Fault
from airflow_provider_loopring.version_compat import AirflowFailException
from tests.operators.conftest import leftover_parts

BALANCES = "/api/v3/user/nft/balances"
COLLECTIONS = "/api/v3/user/collection/details"
IMPORTS = """
from airflow_provider_loopring.operators.loopring import (
    LoopringCollectionsOperator as Collections,
    LoopringNftBalancesOperator as Balances,
)
"""
REFERENCE_KEYS = {
    "path",
    "format",
    "records",
    "accounts",
    "bytes",
    "sha256",
    "fetched_at",
    "resumed_accounts",
    "skipped_accounts",
}

# Three accounts of 53 non-zero balances (two pages of 50) and 6 collections each.
pytestmark = pytest.mark.loopring_sandbox(
    accounts=3, nfts_per_account=60, collections_per_account=3
)


def held(sandbox, *account_ids, metadata=False, non_zero=True):
    """Balances as the API lists them, account after account."""
    return [
        balance
        for account_id in account_ids
        for balance in sandbox.balances(account_id, non_zero=non_zero, metadata=metadata)
    ]


def collections(sandbox, *account_ids, non_zero=True):
    return [
        {**item, "accountId": account_id}
        for account_id in account_ids
        for item in sandbox.collections(account_id, non_zero=non_zero)
    ]


def ids(sandbox):
    return [account["accountId"] for account in sandbox.accounts]


def owners(sandbox):
    return [account["owner"] for account in sandbox.accounts]


def requests_to(sandbox, path=BALANCES):
    return [record for record in sandbox.requests if record.path == path]


def read_jsonl(data: bytes):
    return [json.loads(line) for line in data.decode().splitlines()]


def check_reference(reference, sandbox, *, path, output_format, records, accounts, data):
    """The XCom reference: small, describes exactly the bytes written, holds no secret."""
    assert set(reference) == REFERENCE_KEYS
    assert reference["path"] == path
    assert reference["format"] == output_format
    assert (reference["records"], reference["accounts"]) == (records, accounts)
    assert reference["bytes"] == len(data)
    assert reference["sha256"] == hashlib.sha256(data).hexdigest()
    assert pendulum.parse(reference["fetched_at"]) <= pendulum.now("UTC")
    serialized = json.dumps(reference)
    assert len(serialized) < 400
    assert sandbox.api_key not in serialized


# --- results as XCom ----------------------------------------------------------------------


def test_one_account_and_many_in_the_accounts_order(sandbox, run_dag):
    a, b, c = ids(sandbox)
    owner_a, owner_b, _ = owners(sandbox)
    n = len(held(sandbox, a))
    result = run_dag(
        f"""
        Balances(task_id="one", account_id={a}, max_xcom_records={n})
        Balances(task_id="many", account_id={[c, a, b]}, max_workers=2)
        Balances(task_id="by_address", address={[owner_b, owner_a]})
        Collections(task_id="collections", account_id={[b, a]})
        Collections(task_id="collections_by_address", address={owner_a!r})
        """,
        header=IMPORTS,
    )
    assert result.state == "success"
    assert n > 50  # every account takes two pages
    assert result.xcom("one") == held(sandbox, a)
    assert result.xcom("many") == held(sandbox, c, a, b)
    assert result.xcom("by_address") == held(sandbox, b, a)
    assert result.xcom("collections") == collections(sandbox, b, a)
    assert result.xcom("collections_by_address") == collections(sandbox, a)


def test_each_filter(sandbox, run_dag):
    a, b, _ = ids(sandbox)
    mine = held(sandbox, a)
    some_nfts = [balance["nftData"] for balance in mine[::10]]
    contract = mine[0]["tokenAddress"]
    token_ids = [mine[1]["tokenId"], mine[7]["tokenId"]]
    collection_contract = sandbox.collections(b)[1]["collection"]["contractAddress"]
    result = run_dag(
        f"""
        Balances(task_id="nft_datas", account_id={a}, nft_datas={",".join(some_nfts)!r})
        Balances(task_id="token_addrs", account_id={a}, token_addrs={[contract]})
        Balances(task_id="token_ids", account_id={a}, token_ids={token_ids})
        Balances(task_id="zero_too", account_id={a}, non_zero=False)
        Balances(task_id="metadata", account_id={a}, metadata=True)
        Collections(task_id="token_address", account_id={b}, token_address={collection_contract!r})
        Collections(task_id="collections_zero_too", account_id={b}, non_zero=False)
        """,
        header=IMPORTS,
    )
    assert result.state == "success"
    assert result.xcom("nft_datas") == [x for x in mine if x["nftData"] in some_nfts]
    assert len(some_nfts) == 6
    by_contract = result.xcom("token_addrs")
    assert by_contract == [x for x in mine if x["tokenAddress"].lower() == contract.lower()]
    assert 0 < len(by_contract) < len(mine)
    assert result.xcom("token_ids") == [x for x in mine if x["tokenId"] in token_ids]
    assert result.xcom("zero_too") == held(sandbox, a, non_zero=False)
    assert len(result.xcom("zero_too")) > len(mine)
    assert result.xcom("metadata") == held(sandbox, a, metadata=True)
    assert all("metadata" in x for x in result.xcom("metadata"))
    assert result.xcom("token_address") == [
        item
        for item in collections(sandbox, b)
        if item["collection"]["contractAddress"] == collection_contract
    ]
    assert result.xcom("collections_zero_too") == collections(sandbox, b, non_zero=False)
    assert {r.query["nonZero"] for r in requests_to(sandbox, COLLECTIONS)} == {"true", "false"}


def test_a_result_too_big_for_xcom_fails_after_the_first_pages(sandbox, run_dag):
    a, b, c = ids(sandbox)
    n = len(held(sandbox, a))
    result = run_dag(
        f"""
        Balances(task_id="one_too_big", account_id={a}, max_xcom_records={n - 1})
        # each account fits, together they do not
        Balances(task_id="together_too_big", account_id={[b, c]}, max_xcom_records={n + 5})
        """,
        header=IMPORTS,
    )
    assert result.task_states == {"one_too_big": "failed", "together_too_big": "failed"}
    pages = [(r.query["accountId"], r.query["offset"]) for r in requests_to(sandbox)]
    assert sorted(pages) == sorted((str(x), "0") for x in (a, b, c))


def test_the_xcom_limit_error_says_how_many_and_what_to_do(sandbox):
    a, b, _ = ids(sandbox)
    operator = LoopringNftBalancesOperator(task_id="t", account_id=[a, b], max_xcom_records=99)
    total = len(held(sandbox, a, b))
    with pytest.raises(AirflowFailException, match=rf"at least {total} records.*output_path"):
        operator.execute({})


# --- results in object storage ------------------------------------------------------------


def test_files_hold_what_the_sandbox_holds(sandbox, run_dag, tmp_path, scratch):
    a, b, _ = ids(sandbox)
    owner_a = owners(sandbox)[0]
    out = tmp_path / "out"
    out.mkdir()
    (out / "balances.jsonl").write_text("left by an earlier run\n")  # a re-run overwrites
    result = run_dag(
        f"""
        Balances(task_id="jsonl", account_id={[b, a]}, output_path="file://{out}/balances.jsonl")
        Balances(
            task_id="json", account_id={[b, a]}, metadata=True, output_format="json",
            output_path="file://{out}/deeper/balances.json",
        )
        Collections(
            task_id="collections", address={[owner_a]}, output_format="json",
            output_path="file://{out}/collections.json",
        )
        """,
        header=IMPORTS,
    )
    assert result.state == "success"
    jsonl = (out / "balances.jsonl").read_bytes()
    assert read_jsonl(jsonl) == held(sandbox, b, a)
    check_reference(
        result.xcom("jsonl"),
        sandbox,
        path=f"file://{out}/balances.jsonl",
        output_format="jsonl",
        records=len(held(sandbox, b, a)),
        accounts=2,
        data=jsonl,
    )
    array = (out / "deeper" / "balances.json").read_bytes()
    assert json.loads(array) == held(sandbox, b, a, metadata=True)
    assert result.xcom("json")["sha256"] == hashlib.sha256(array).hexdigest()
    assert json.loads((out / "collections.json").read_bytes()) == collections(sandbox, a)
    # Nothing but the outputs: no temporary objects next to them, no local parts.
    assert sorted(p.name for p in out.iterdir()) == ["balances.jsonl", "collections.json", "deeper"]
    assert [p.name for p in (out / "deeper").iterdir()] == ["balances.json"]
    assert leftover_parts(scratch) == []


def test_s3_objects_hold_what_the_sandbox_holds(sandbox, run_dag, s3, scratch):
    a, b, c = ids(sandbox)
    prefix = "s3-ok/"
    s3.put(prefix + "balances.jsonl", b"left by an earlier run\n")
    result = run_dag(
        f"""
        Balances(
            task_id="jsonl", account_id={[c, a]}, output_conn_id={s3.conn_id!r},
            output_path={s3.url(prefix + "balances.jsonl")!r},
        )
        Collections(
            task_id="json", account_id={[b, c]}, output_conn_id={s3.conn_id!r},
            output_path={s3.url(prefix + "collections.json")!r}, output_format="json",
        )
        """,
        header=IMPORTS,
    )
    assert result.state == "success"
    assert s3.keys(prefix) == [prefix + "balances.jsonl", prefix + "collections.json"]
    jsonl = s3.read(prefix + "balances.jsonl")
    assert read_jsonl(jsonl) == held(sandbox, c, a)
    check_reference(
        result.xcom("jsonl"),
        sandbox,
        path=s3.url(prefix + "balances.jsonl"),
        output_format="jsonl",
        records=len(held(sandbox, c, a)),
        accounts=2,
        data=jsonl,
    )
    array = s3.read(prefix + "collections.json")
    assert json.loads(array) == collections(sandbox, b, c)
    check_reference(
        result.xcom("json"),
        sandbox,
        path=s3.url(prefix + "collections.json"),
        output_format="json",
        records=len(collections(sandbox, b, c)),
        accounts=2,
        data=array,
    )
    assert leftover_parts(scratch) == []


def test_a_run_that_fails_midway_leaves_nothing_behind(sandbox, run_dag, tmp_path, scratch, s3):
    a, b, _ = ids(sandbox)

    def malformed_after_the_first_page(body, query):
        return body if query.get("offset") == "0" else {"unexpected": []}

    sandbox.add_fault(
        Fault("transform", path=BALANCES, times=None, transform=malformed_after_the_first_page)
    )
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "earlier.json"
    earlier.write_text('["from the last good run"]')
    prefix = "s3-failed/"
    result = run_dag(
        f"""
        Balances(task_id="file", account_id={[a, b]}, output_path="file://{out}/new.jsonl")
        Balances(
            task_id="file_again", account_id={[a, b]}, output_format="json",
            output_path="file://{out}/earlier.json",
        )
        Balances(
            task_id="s3", account_id={[a, b]}, output_conn_id={s3.conn_id!r},
            output_path={s3.url(prefix + "new.jsonl")!r},
        )
        """,
        header=IMPORTS,
    )
    assert result.task_states == {"file": "failed", "file_again": "failed", "s3": "failed"}
    assert any(r.query["offset"] != "0" for r in requests_to(sandbox))  # it failed midway
    assert [p.name for p in out.iterdir()] == ["earlier.json"]
    assert earlier.read_text() == '["from the last good run"]'
    assert s3.keys(prefix) == []
    assert leftover_parts(scratch) == []


# --- mapping and templates ----------------------------------------------------------------


def test_mapped_over_accounts(sandbox, run_dag, tmp_path):
    a, b, _ = ids(sandbox)
    path = f"file://{tmp_path}/collections-{{{{ ti.map_index }}}}.jsonl"
    result = run_dag(
        f"""
        Balances.partial(task_id="balances").expand(account_id={[a, b]})
        Collections.partial(task_id="collections", output_path={path!r}).expand(
            account_id={[a, b]}
        )
        """,
        header=IMPORTS,
    )
    assert result.state == "success"
    assert result.xcom("balances", map_index=0) == held(sandbox, a)
    assert result.xcom("balances", map_index=1) == held(sandbox, b)
    for index, account_id in enumerate([a, b]):
        written = (tmp_path / f"collections-{index}.jsonl").read_bytes()
        assert read_jsonl(written) == collections(sandbox, account_id)
        assert result.xcom("collections", map_index=index)["records"] == 6


def test_accounts_and_paths_from_params_and_run_conf(sandbox, run_dag, tmp_path):
    a, b, c = ids(sandbox)
    owner_c = owners(sandbox)[2]
    result = run_dag(
        f"""
        Balances(
            task_id="from_params", account_id="{{{{ params.accounts }}}}",
            params={{"accounts": {[b, a]}}},
        )
        Collections(
            task_id="from_conf", address="{{{{ dag_run.conf['owner'] }}}}",
            output_path="file://{{{{ dag_run.conf['folder'] }}}}/{{{{ ti.task_id }}}}.jsonl",
        )
        """,
        header=IMPORTS,
        run_conf={"owner": owner_c, "folder": str(tmp_path)},
    )
    assert result.state == "success"
    assert result.xcom("from_params") == held(sandbox, b, a)
    assert read_jsonl((tmp_path / "from_conf.jsonl").read_bytes()) == collections(sandbox, c)
    assert result.xcom("from_conf")["path"] == f"file://{tmp_path}/from_conf.jsonl"


# --- bad arguments ------------------------------------------------------------------------

ADDRESS = "0x" + "ab" * 20
NFT_DATA = "0x" + "cd" * 32


@pytest.mark.parametrize(
    ("operator", "kwargs", "parameter"),
    [
        (LoopringNftBalancesOperator, {}, "account_id/address"),
        (LoopringNftBalancesOperator, {"account_id": 1, "address": ADDRESS}, "account_id/address"),
        (LoopringNftBalancesOperator, {"account_id": 0}, "account_id"),
        (LoopringNftBalancesOperator, {"account_id": [1, "x"]}, "account_id"),
        (LoopringNftBalancesOperator, {"account_id": []}, "account_id"),
        (LoopringCollectionsOperator, {"address": [ADDRESS, "0x12"]}, "address"),
        (LoopringNftBalancesOperator, {"account_id": 1, "nft_datas": ["0x12"]}, "nft_datas"),
        (LoopringNftBalancesOperator, {"account_id": 1, "token_addrs": "nope"}, "token_addrs"),
        (LoopringNftBalancesOperator, {"account_id": 1, "token_ids": [-1]}, "token_ids"),
        (LoopringNftBalancesOperator, {"account_id": 1, "non_zero": "yes"}, "non_zero"),
        (LoopringNftBalancesOperator, {"account_id": 1, "metadata": 1}, "metadata"),
        (LoopringCollectionsOperator, {"account_id": 1, "token_address": "0x1"}, "token_address"),
        (LoopringNftBalancesOperator, {"account_id": 1, "output_format": "csv"}, "output_format"),
        (LoopringNftBalancesOperator, {"account_id": 1, "output_path": "out.jsonl"}, "output_path"),
        (
            LoopringNftBalancesOperator,
            {"account_id": 1, "output_path": "s3://bucket/"},
            "output_path",
        ),
        (
            LoopringCollectionsOperator,
            {"account_id": 1, "output_path": "file://x/y"},
            "output_path",
        ),
        (LoopringNftBalancesOperator, {"account_id": 1, "max_xcom_records": 0}, "max_xcom_records"),
        (LoopringCollectionsOperator, {"account_id": 1, "max_workers": True}, "max_workers"),
    ],
)
def test_bad_arguments_fail_at_construction(operator, kwargs, parameter):
    with pytest.raises(LoopringInvalidParameterError, match=f"^Invalid {parameter}:"):
        operator(task_id="t", **kwargs)


def test_templates_and_xcomargs_are_checked_after_rendering():
    from airflow.sdk import DAG, task

    with DAG("construction_only", schedule=None) as dag:

        @task
        def accounts():
            return [1]

        LoopringNftBalancesOperator(
            task_id="templated",
            account_id="{{ params.accounts }}",
            token_ids="{{ params.token_ids }}",
            output_path="{{ params.path }}",
        )
        from_xcom = LoopringCollectionsOperator(task_id="from_xcom", account_id=accounts())
    assert dag.task_dict["templated"].token_ids == "{{ params.token_ids }}"
    assert from_xcom.upstream_task_ids == {"accounts"}


@pytest.mark.parametrize(
    ("kwargs", "value", "parameter"),
    [
        ({"account_id": "{{ params.value }}"}, "not-a-number", "account_id"),
        ({"account_id": 1, "nft_datas": "{{ params.value }}"}, "0x12", "nft_datas"),
        ({"account_id": 1, "output_path": "{{ params.value }}"}, "nope://b/k.jsonl", "output_path"),
        ({"account_id": 1, "output_path": "{{ params.value }}"}, "s3://bucket/", "output_path"),
    ],
)
def test_bad_rendered_values_fail_before_any_request(sandbox, kwargs, value, parameter):
    operator = LoopringNftBalancesOperator(task_id="t", **kwargs)
    context = {"params": {"value": value}}
    operator.render_template_fields(context)
    with pytest.raises(LoopringInvalidParameterError, match=f"^Invalid {parameter}:"):
        operator.execute(context)
    assert sandbox.requests == []


def test_a_bad_template_fails_the_task_before_any_request(sandbox, run_dag):
    result = run_dag(
        """
        Balances(
            task_id="bad_account", account_id="{{ params.account }}",
            params={"account": "eleven"},
        )
        Collections(
            task_id="bad_path", account_id=1, output_path="{{ params.path }}",
            params={"path": "s3://no-key-here"},
        )
        """,
        header=IMPORTS,
    )
    assert result.task_states == {"bad_account": "failed", "bad_path": "failed"}
    assert sandbox.requests == []


# --- how it is built ----------------------------------------------------------------------


def test_importing_and_building_the_operators_stays_cheap():
    code = """
import sys
from airflow_provider_loopring.operators.loopring import (
    LoopringCollectionsOperator, LoopringNftBalancesOperator,
)
LoopringNftBalancesOperator(task_id="b", account_id=[1, 2], output_path="s3://b/k.jsonl")
LoopringCollectionsOperator(task_id="c", address="0x" + "ab" * 20)
heavy = ["requests", "airflow_provider_loopring.hooks.loopring", "airflow_provider_loopring.models"]
print([name for name in heavy if name in sys.modules])
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_task_can_be_deep_copied_as_airflow_copies_tasks():
    # Nothing holding a lock (a threading.Event, the hook's session) exists before the run.
    operator = LoopringCollectionsOperator(task_id="c", address="0x" + "ab" * 20)
    copied = copy.deepcopy(operator)
    assert (copied.task_id, copied.address) == ("c", "0x" + "ab" * 20)
    assert "hook" not in copied.__dict__


def test_accounts_run_on_max_workers_threads_and_come_back_in_order():
    operator = LoopringNftBalancesOperator(task_id="t", account_id=1, max_workers=3)
    # Passes only if three calls are in flight at once; otherwise the barrier breaks.
    barrier = threading.Barrier(3, timeout=30)
    done_order = []

    def work(item):
        index = barrier.wait()
        done_order.append(index)
        return item * 10

    assert operator._fan_out(work, [3, 1, 2]) == [30, 10, 20]
    assert len(done_order) == 3


def test_progress_is_logged_per_account_and_page(sandbox, monkeypatch):
    a = ids(sandbox)[0]
    operator = LoopringNftBalancesOperator(task_id="t", account_id=a)
    lines = []
    monkeypatch.setattr(operator.log, "debug", lambda message, *args: lines.append(message % args))
    operator.execute({})
    n = len(held(sandbox, a))
    assert f"account {a}: page 2, {n} of {n} records" in lines
    assert f"account {a}: page 1, 50 of {n} records" in lines
