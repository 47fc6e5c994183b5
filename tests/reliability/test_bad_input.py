"""The bad-input table: every public parameter with wrong values, rejected before any request.

Each row names the parameter the error must name (``LoopringInvalidParameterError.parameter``,
or the message for errors Airflow raises itself). The sandbox's request log must stay empty:
nothing is sent for a call that was never going to work.

- hook methods: every row through each method taking the parameter (sync and async twins,
  one page and all pages);
- the hook's connection and retry policy;
- both operators and both sensors at construction, and (``output_path``'s scheme, an
  undefined connection) when the task runs;
- templates that render to garbage, in one DAG run.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from airflow_provider_loopring import _core as api
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.operators.loopring import (
    LoopringCollectionsOperator,
    LoopringNftBalancesOperator,
)
from airflow_provider_loopring.sensors.loopring import (
    LoopringCollectionDeploymentSensor,
    LoopringNftDeploymentSensor,
)
from tests.conftest import connection_json
from tests.reliability.conftest import FAST, SANDBOX

pytestmark = SANDBOX

ADDRESS = "0x" + "ab" * 20
NFT_DATA = "0x" + "cd" * 32
SELECTOR = "account_id/address"

# --- the hook's methods -------------------------------------------------------------------

BALANCES_PAGE = ("get_nft_balances", "aget_nft_balances")
BALANCES_ALL = ("iter_nft_balances", "aiter_nft_balances")
COLLECTIONS_PAGE = ("get_collections", "aget_collections")
COLLECTIONS_ALL = ("iter_collections", "aiter_collections")
BALANCES = BALANCES_PAGE + BALANCES_ALL
COLLECTIONS = COLLECTIONS_PAGE + COLLECTIONS_ALL
ACCOUNT = ("get_account", "aget_account")
EVERY = BALANCES + COLLECTIONS + ACCOUNT


def one(**wrong: Any) -> dict[str, Any]:
    """Valid arguments (account 1) but for the wrong one."""
    return {"account_id": 1, **wrong}


SELECTORS: list[tuple[str, dict[str, Any], str]] = [
    ("neither-account-id-nor-address", {}, SELECTOR),
    ("both-account-id-and-address", {"account_id": 1, "address": ADDRESS}, SELECTOR),
    ("account-id-zero", {"account_id": 0}, "account_id"),
    ("account-id-negative", {"account_id": -7}, "account_id"),
    ("account-id-float", {"account_id": 1.5}, "account_id"),
    ("account-id-bool", {"account_id": True}, "account_id"),
    ("account-id-garbage-text", {"account_id": "7a"}, "account_id"),
    ("account-id-superscript-two", {"account_id": "²"}, "account_id"),  # str.isdigit() says yes
    ("account-id-5000-digits", {"account_id": "1" * 5000}, "account_id"),
    ("account-id-5000-digit-int", {"account_id": 10**5000}, "account_id"),
    ("address-too-short", {"address": "0x1234"}, "address"),
    ("address-not-hex", {"address": "0x" + "zz" * 20}, "address"),
    ("address-a-list", {"address": [ADDRESS]}, "address"),
    ("address-float", {"address": 12.5}, "address"),
]
PAGE = BALANCES_PAGE + COLLECTIONS_PAGE
ALL = BALANCES_ALL + COLLECTIONS_ALL
HOOK_ROWS: list[tuple[tuple[str, ...], str, dict[str, Any], str]] = [
    *((EVERY, label, kwargs, parameter) for label, kwargs, parameter in SELECTORS),
    (BALANCES, "nft-datas-too-short", one(nft_datas="0x12"), "nft_datas"),
    (BALANCES, "nft-datas-not-hex", one(nft_datas=[NFT_DATA, "0x" + "g" * 64]), "nft_datas"),
    (BALANCES, "nft-datas-float", one(nft_datas=12.5), "nft_datas"),
    (BALANCES, "token-addrs-garbage", one(token_addrs="nope"), "token_addrs"),
    (BALANCES, "token-addrs-one-bad", one(token_addrs=[ADDRESS, "0x1"]), "token_addrs"),
    (BALANCES, "token-ids-negative", one(token_ids=[-1]), "token_ids"),
    (BALANCES, "token-ids-text", one(token_ids=["one"]), "token_ids"),
    (BALANCES, "token-ids-float", one(token_ids=1.5), "token_ids"),
    (BALANCES, "metadata-text", one(metadata="true"), "metadata"),
    (BALANCES, "metadata-int", one(metadata=1), "metadata"),
    (BALANCES + COLLECTIONS, "non-zero-text", one(non_zero="yes"), "non_zero"),
    (BALANCES + COLLECTIONS, "non-zero-none", one(non_zero=None), "non_zero"),
    (PAGE, "offset-negative", one(offset=-1), "offset"),
    (PAGE, "offset-text", one(offset="0"), "offset"),
    (PAGE, "offset-past-64-bits", one(offset=2**64), "offset"),
    (PAGE, "limit-0", one(limit=0), "limit"),
    (PAGE, "limit-51", one(limit=51), "limit"),
    (PAGE, "limit-text", one(limit="10"), "limit"),
    (ALL, "page-size-0", one(page_size=0), "page_size"),
    (ALL, "page-size-51", one(page_size=51), "page_size"),
    (ALL, "max-pages-0", one(max_pages=0), "max_pages"),
    (ALL, "max-pages-text", one(max_pages="10"), "max_pages"),
    (COLLECTIONS, "token-address-short", one(token_address="0x1"), "token_address"),
    (COLLECTIONS, "token-address-a-list", one(token_address=[ADDRESS]), "token_address"),
]


def hook_cells() -> list[Any]:
    return [
        pytest.param(method, kwargs, parameter, id=f"{method}-{label}")
        for methods, label, kwargs, parameter in HOOK_ROWS
        for method in methods
    ]


def call(hook: LoopringHook, method: str, kwargs: dict[str, Any]) -> Any:
    """Call a hook method to the end: every page of an iterator, the result of a coroutine."""
    if method.startswith("a"):

        async def run() -> Any:
            try:
                result = getattr(hook, method)(**kwargs)
                if inspect.isawaitable(result):
                    return await result
                return [item async for item in result]
            finally:
                await hook.aclose()

        return asyncio.run(run())
    result = getattr(hook, method)(**kwargs)
    return list(result) if method.startswith("iter") else result


@pytest.mark.parametrize(("method", "kwargs", "parameter"), hook_cells())
def test_hook_method(method, kwargs, parameter, sandbox, connect):
    hook = LoopringHook(backoff=FAST)
    with pytest.raises(LoopringInvalidParameterError) as caught:
        call(hook, method, kwargs)
    assert caught.value.parameter == parameter
    assert sandbox.requests == []


# --- the hook's connection and retry policy -----------------------------------------------


def extra(name: str) -> str:
    return f"connection extra {name!r}"


PASSWORD = "password of connection 'loopring_default'"
CONNECTION_ROWS: list[tuple[str, dict[str, Any], str]] = [
    ("host-not-http", {"host": "ftp://127.0.0.1"}, "host"),
    ("host-port-out-of-range", {"host": "http://127.0.0.1:70000"}, "host"),
    ("host-with-a-query", {"host": "http://127.0.0.1:1?x=1"}, "host"),
    ("password-missing", {"password": ""}, PASSWORD),
    ("password-only-whitespace", {"password": " \n"}, PASSWORD),
    ("password-line-break-inside", {"password": "LoopringKey\nX-Injected: 1"}, PASSWORD),
    ("password-space-inside", {"password": "Loopring Key"}, PASSWORD),
    ("password-not-ascii", {"password": "LoopringKéy"}, PASSWORD),
    ("requests-per-second-0", {"requests_per_second": 0}, extra("requests_per_second")),
    ("requests-per-second-text", {"requests_per_second": "fast"}, extra("requests_per_second")),
    ("requests-per-second-nan", {"requests_per_second": "NaN"}, extra("requests_per_second")),
    ("requests-per-second-inf", {"requests_per_second": "inf"}, extra("requests_per_second")),
    ("max-retries-negative", {"max_retries": -1}, extra("max_retries")),
    ("max-retries-float", {"max_retries": 1.5}, extra("max_retries")),
    ("max-retries-inf", {"max_retries": "Infinity"}, extra("max_retries")),
    ("timeout-0", {"timeout": 0}, extra("timeout")),
    ("timeout-text", {"timeout": "slow"}, extra("timeout")),
    ("timeout-bool", {"timeout": True}, extra("timeout")),
    ("timeout-nan", {"timeout": "nan"}, extra("timeout")),
    ("timeout-inf", {"timeout": "inf"}, extra("timeout")),
    ("timeout-1e400", {"timeout": "1e400"}, extra("timeout")),
    ("max-response-bytes-tiny", {"max_response_bytes": 10}, extra("max_response_bytes")),
    ("max-response-bytes-text", {"max_response_bytes": "big"}, extra("max_response_bytes")),
    ("max-pages-0", {"max_pages": 0}, extra("max_pages")),
    ("max-pages-float", {"max_pages": 2.5}, extra("max_pages")),
]


@pytest.mark.parametrize(
    ("change", "parameter"),
    [pytest.param(change, parameter, id=label) for label, change, parameter in CONNECTION_ROWS],
)
def test_hook_connection(change, parameter, sandbox, monkeypatch):
    fields = {name: change[name] for name in ("host", "password") if name in change}
    extra = {name: value for name, value in change.items() if name not in fields}
    conn = {**json.loads(connection_json(sandbox.url, sandbox.api_key)), **fields, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", json.dumps(conn))
    with pytest.raises(LoopringInvalidParameterError) as caught:
        LoopringHook(backoff=FAST).get_nft_balances(account_id=1)
    assert caught.value.parameter == parameter
    assert sandbox.requests == []
    assert "LoopringKey" not in str(caught.value)  # a password is never quoted back


def test_an_undefined_connection_is_named_before_any_request(sandbox, connect):
    from airflow.exceptions import AirflowNotFoundException

    with pytest.raises(AirflowNotFoundException, match="no_such_connection"):
        LoopringHook("no_such_connection").get_nft_balances(account_id=1)
    assert sandbox.requests == []


BACKOFF_ROWS: list[tuple[str, Callable[[], Any], str]] = [
    ("backoff-wrong-type", lambda: "fast", "backoff"),
    ("backoff-max-retries-negative", lambda: api.BackoffPolicy(max_retries=-1), "max_retries"),
    ("backoff-backoff-negative", lambda: api.BackoffPolicy(backoff=-1), "backoff"),
    ("backoff-max-backoff-negative", lambda: api.BackoffPolicy(max_backoff=-1), "max_backoff"),
    ("backoff-max-elapsed-negative", lambda: api.BackoffPolicy(max_elapsed=-1), "max_elapsed"),
    ("backoff-backoff-nan", lambda: api.BackoffPolicy(backoff=float("nan")), "backoff"),
    (
        "backoff-max-elapsed-inf",
        lambda: api.BackoffPolicy(max_elapsed=float("inf")),
        "max_elapsed",
    ),
]


@pytest.mark.parametrize(
    ("policy", "parameter"),
    [pytest.param(policy, parameter, id=label) for label, policy, parameter in BACKOFF_ROWS],
)
def test_hook_backoff(policy, parameter, sandbox, connect):
    with pytest.raises(LoopringInvalidParameterError) as caught:
        LoopringHook(backoff=policy()).get_nft_balances(account_id=1)
    assert caught.value.parameter == parameter
    assert sandbox.requests == []


# --- the operators ------------------------------------------------------------------------

BOTH_OPERATORS = (LoopringNftBalancesOperator, LoopringCollectionsOperator)
MISSING, CACHE, INTERVAL = "on_missing_account", "account_cache_path", "checkpoint_interval"
OPERATOR_ROWS: list[tuple[tuple[type, ...], str, dict[str, Any], str]] = [
    *(
        (BOTH_OPERATORS, label, kwargs, parameter)
        for label, kwargs, parameter in SELECTORS
        if label != "address-a-list"  # operators take lists of accounts
    ),
    (BOTH_OPERATORS, "account-id-one-bad-in-a-list", {"account_id": [1, "x"]}, "account_id"),
    (BOTH_OPERATORS, "account-id-empty-list", {"account_id": []}, "account_id"),
    (BOTH_OPERATORS, "account-id-a-dict", {"account_id": {"id": 1}}, "account_id"),
    (BOTH_OPERATORS, "address-one-bad-in-a-list", {"address": [ADDRESS, "0x12"]}, "address"),
    (BOTH_OPERATORS, "non-zero-text", one(non_zero="yes"), "non_zero"),
    (BOTH_OPERATORS, "output-path-no-scheme", one(output_path="out.jsonl"), "output_path"),
    (BOTH_OPERATORS, "output-path-a-folder", one(output_path="s3://bucket/"), "output_path"),
    (BOTH_OPERATORS, "output-path-no-bucket", one(output_path="s3:///k.jsonl"), "output_path"),
    (BOTH_OPERATORS, "output-path-relative", one(output_path="file://x/y.jsonl"), "output_path"),
    (BOTH_OPERATORS, "output-path-not-text", one(output_path=7), "output_path"),
    (BOTH_OPERATORS, "output-format-csv", one(output_format="csv"), "output_format"),
    (BOTH_OPERATORS, "output-format-none", one(output_format=None), "output_format"),
    (BOTH_OPERATORS, "max-xcom-records-0", one(max_xcom_records=0), "max_xcom_records"),
    (BOTH_OPERATORS, "max-xcom-records-text", one(max_xcom_records="10"), "max_xcom_records"),
    (BOTH_OPERATORS, "max-workers-0", one(max_workers=0), "max_workers"),
    (BOTH_OPERATORS, "max-workers-bool", one(max_workers=True), "max_workers"),
    (BOTH_OPERATORS, "accounts-and-account-id", {"accounts": [1], "account_id": 2}, SELECTOR),
    (BOTH_OPERATORS, "accounts-empty-list", {"accounts": []}, "accounts"),
    (BOTH_OPERATORS, "accounts-one-bad-in-a-list", {"accounts": [1, "0x12"]}, "accounts"),
    (BOTH_OPERATORS, "accounts-a-word", {"accounts": ["x"]}, "accounts"),
    (BOTH_OPERATORS, "on-missing-account-ignore", one(on_missing_account="ignore"), MISSING),
    (BOTH_OPERATORS, "on-missing-account-bool", one(on_missing_account=True), MISSING),
    (BOTH_OPERATORS, "account-cache-path-no-scheme", one(account_cache_path="cache"), CACHE),
    (BOTH_OPERATORS, "account-cache-path-no-bucket", one(account_cache_path="s3:///c"), CACHE),
    (BOTH_OPERATORS, "checkpoint-interval-negative", one(checkpoint_interval=-1), INTERVAL),
    (BOTH_OPERATORS, "checkpoint-interval-nan", one(checkpoint_interval=float("nan")), INTERVAL),
    (BOTH_OPERATORS, "checkpoint-interval-text", one(checkpoint_interval="30"), INTERVAL),
    (BOTH_OPERATORS[:1], "nft-datas-too-short", one(nft_datas=["0x12"]), "nft_datas"),
    (BOTH_OPERATORS[:1], "nft-datas-float", one(nft_datas=12.5), "nft_datas"),
    (BOTH_OPERATORS[:1], "token-addrs-garbage", one(token_addrs="nope"), "token_addrs"),
    (BOTH_OPERATORS[:1], "token-ids-negative", one(token_ids=[-1]), "token_ids"),
    (BOTH_OPERATORS[:1], "token-ids-text", one(token_ids="1,two"), "token_ids"),
    (BOTH_OPERATORS[:1], "metadata-int", one(metadata=1), "metadata"),
    (BOTH_OPERATORS[1:], "token-address-short", one(token_address="0x1"), "token_address"),
    (BOTH_OPERATORS[1:], "token-address-a-list", one(token_address=[ADDRESS]), "token_address"),
]


@pytest.mark.parametrize(
    ("operator", "kwargs", "parameter"),
    [
        pytest.param(operator, kwargs, parameter, id=f"{operator.__name__}-{label}")
        for operators, label, kwargs, parameter in OPERATOR_ROWS
        for operator in operators
    ],
)
def test_operator(operator, kwargs, parameter, sandbox, connect):
    with pytest.raises(LoopringInvalidParameterError) as caught:
        operator(task_id="t", **kwargs)
    assert caught.value.parameter == parameter
    assert sandbox.requests == []


@pytest.mark.parametrize("operator", BOTH_OPERATORS, ids=lambda op: op.__name__)
def test_operator_checks_when_it_runs(operator, sandbox, connect, tmp_path):
    """What only the running task can check: a storage scheme, an undefined connection."""
    from airflow.exceptions import AirflowNotFoundException

    no_filesystem = operator(task_id="t", account_id=1, output_path="gopher://host/k.jsonl")
    with pytest.raises(LoopringInvalidParameterError) as caught:
        no_filesystem.execute({})
    assert caught.value.parameter == "output_path"
    assert "gopher://" in str(caught.value)
    undefined = operator(task_id="t", account_id=1, loopring_conn_id="no_such_connection")
    with pytest.raises(AirflowNotFoundException, match="no_such_connection"):
        undefined.execute({})
    assert sandbox.requests == []


# --- the sensors --------------------------------------------------------------------------

BOTH_SENSORS = (LoopringNftDeploymentSensor, LoopringCollectionDeploymentSensor)


def sensor_args(sensor: type, **wrong: Any) -> dict[str, Any]:
    """Valid arguments for the sensor (account 1, collection 5) but for the wrong ones."""
    valid: dict[str, Any] = {"account_id": 1}
    if sensor is LoopringCollectionDeploymentSensor:
        valid["collection_id"] = 5
    if {"account_id", "address"} & set(wrong) or wrong.pop("no_selector", False):
        del valid["account_id"]
    return {**valid, **wrong}


SENSOR_ROWS: list[tuple[tuple[type, ...], str, dict[str, Any], str]] = [
    *(
        (BOTH_SENSORS, label, kwargs or {"no_selector": True}, parameter)
        for label, kwargs, parameter in SELECTORS
    ),
    (BOTH_SENSORS, "target-statuses-unknown", {"target_statuses": ["DEPLOYD"]}, "target_statuses"),
    (BOTH_SENSORS, "target-statuses-empty", {"target_statuses": []}, "target_statuses"),
    (BOTH_SENSORS, "target-statuses-none", {"target_statuses": None}, "target_statuses"),
    (BOTH_SENSORS, "target-statuses-int", {"target_statuses": 7}, "target_statuses"),
    (BOTH_SENSORS, "failure-statuses-unknown", {"failure_statuses": "OOPS"}, "failure_statuses"),
    (BOTH_SENSORS, "failure-statuses-int", {"failure_statuses": 7}, "failure_statuses"),
    (
        BOTH_SENSORS,
        "a-status-both-target-and-failure",
        {"target_statuses": "DEPLOYED,DEPLOY_FAILED"},
        "target_statuses/failure_statuses",
    ),
    (BOTH_SENSORS[:1], "nft-datas-too-short", {"nft_datas": ["0x12"]}, "nft_datas"),
    (BOTH_SENSORS[:1], "nft-datas-float", {"nft_datas": 12.5}, "nft_datas"),
    (BOTH_SENSORS[:1], "token-addrs-garbage", {"token_addrs": "0xnope"}, "token_addrs"),
    (
        BOTH_SENSORS[1:],
        "neither-collection-id-nor-contract-address",
        {"collection_id": None},
        "collection_id/contract_address",
    ),
    (
        BOTH_SENSORS[1:],
        "both-collection-id-and-contract-address",
        {"contract_address": ADDRESS},
        "collection_id/contract_address",
    ),
    (BOTH_SENSORS[1:], "collection-id-negative", {"collection_id": -1}, "collection_id"),
    (BOTH_SENSORS[1:], "collection-id-text", {"collection_id": "five"}, "collection_id"),
    (BOTH_SENSORS[1:], "collection-id-bool", {"collection_id": True}, "collection_id"),
    (
        BOTH_SENSORS[1:],
        "contract-address-short",
        {"collection_id": None, "contract_address": "0x1234"},
        "contract_address",
    ),
]


@pytest.mark.parametrize(
    ("sensor", "kwargs", "parameter"),
    [
        pytest.param(sensor, kwargs, parameter, id=f"{sensor.__name__}-{label}")
        for sensors, label, kwargs, parameter in SENSOR_ROWS
        for sensor in sensors
    ],
)
def test_sensor(sensor, kwargs, parameter, sandbox, connect):
    # At construction; a value that is not a plain literal (1.5) at the first check.
    with pytest.raises(LoopringInvalidParameterError) as caught:
        sensor(task_id="s", **sensor_args(sensor, **kwargs)).poke({})
    assert caught.value.parameter == parameter
    assert sandbox.requests == []


@pytest.mark.parametrize("sensor", BOTH_SENSORS, ids=lambda sensor: sensor.__name__)
def test_sensor_checks_when_it_runs(sensor, sandbox, connect):
    from airflow.exceptions import AirflowNotFoundException

    undefined = sensor(task_id="s", **sensor_args(sensor), loopring_conn_id="no_such_connection")
    with pytest.raises(AirflowNotFoundException, match="no_such_connection"):
        undefined.poke({})
    assert sandbox.requests == []


# --- templates that render to garbage -----------------------------------------------------

IMPORTS = """
from airflow_provider_loopring.operators.loopring import (
    LoopringCollectionsOperator, LoopringNftBalancesOperator,
)
from airflow_provider_loopring.sensors.loopring import (
    LoopringCollectionDeploymentSensor, LoopringNftDeploymentSensor,
)
"""


class Templated(NamedTuple):
    """A task whose ``argument`` is ``{{ params.value }}``, rendered natively to ``value``."""

    cls: str
    fixed: str  # the task's other arguments
    argument: str
    value: Any
    parameter: str
    shown: Any = None  # the value the error quotes, when not ``value`` (one item of a list)

    def line(self, task_id: str) -> str:
        waits = " poke_interval=0.05, timeout=5," if "Sensor" in self.cls else ""
        return (
            f"{self.cls}(task_id={task_id!r}, {self.fixed}{waits} {self.argument}="
            f"'{{{{ params.value }}}}', params={{'value': {self.value!r}}})"
        )

    def message(self) -> str:
        shown = self.value if self.shown is None else self.shown
        return f"Invalid {self.parameter}: expected {{}}, got {shown!r}."


BALANCES_OP, COLLECTIONS_OP = "LoopringNftBalancesOperator", "LoopringCollectionsOperator"
NFT_SENSOR, COLLECTION_SENSOR = "LoopringNftDeploymentSensor", "LoopringCollectionDeploymentSensor"
ONE = "account_id=1,"
TEMPLATED = {
    "balances_account_id": Templated(BALANCES_OP, "", "account_id", "eleven", "account_id"),
    "balances_account_list": Templated(
        BALANCES_OP, "", "account_id", [1, "x"], "account_id", shown="x"
    ),
    "balances_address": Templated(BALANCES_OP, "", "address", "0xnothex", "address"),
    "balances_nft_datas": Templated(BALANCES_OP, ONE, "nft_datas", "0xnothex", "nft_datas"),
    "balances_token_addrs": Templated(BALANCES_OP, ONE, "token_addrs", "nope", "token_addrs"),
    "balances_token_ids": Templated(BALANCES_OP, ONE, "token_ids", -3, "token_ids"),
    "balances_output_path": Templated(
        BALANCES_OP, ONE, "output_path", "nope://b/k.jsonl", "output_path"
    ),
    "collections_token_address": Templated(
        COLLECTIONS_OP, ONE, "token_address", "nope", "token_address"
    ),
    "collections_output_path": Templated(
        COLLECTIONS_OP, ONE, "output_path", "s3://no-key", "output_path"
    ),
    "nft_sensor_account_id": Templated(
        NFT_SENSOR, "deferrable=True,", "account_id", "eleven", "account_id"
    ),
    "nft_sensor_nft_datas": Templated(
        NFT_SENSOR, ONE, "nft_datas", ["0xnothex"], "nft_datas", shown="0xnothex"
    ),
    "collection_sensor_collection_id": Templated(
        COLLECTION_SENSOR, ONE, "collection_id", "five", "collection_id"
    ),
    "collection_sensor_contract_address": Templated(
        COLLECTION_SENSOR, ONE, "contract_address", "nope", "contract_address"
    ),
}


def test_templates_that_render_to_garbage(sandbox, connect, run_dag, capfd):
    body = "\n".join(task.line(task_id) for task_id, task in TEMPLATED.items())
    body += (
        "\nLoopringNftDeploymentSensor(task_id='undefined_connection', account_id=1,"
        " loopring_conn_id='{{ params.value }}', params={'value': 'nope'})"  # a sensor's template
    )
    result = run_dag(body, header=IMPORTS)
    logged = capfd.readouterr().out
    assert result.task_states == dict.fromkeys([*TEMPLATED, "undefined_connection"], "failed")
    for task in TEMPLATED.values():
        before, after = task.message().split("{}")
        assert re.search(re.escape(before) + ".*" + re.escape(after), logged), task
    assert "The conn_id `nope` isn't defined" in logged
    assert sandbox.requests == []


# --- accepted today, awaiting a decision --------------------------------------------------

EMPTY_FILTER = None  # refused since D6
NATIVE_HEX = (
    "Native rendering turns '0x12' into 18, which is padded into a valid address; "
    "short hex garbage is sent to Loopring."
)
DEFERRABLE = None  # checked since D7


def _sensor_poke(**kwargs: Any) -> Any:
    return LoopringNftDeploymentSensor(task_id="s", account_id=1, **kwargs).poke({})


# The last field: why the row is expected to fail (None once the decision is made).
DECISIONS: list[tuple[str, Callable[[], Any], str, str | None]] = [
    (
        "hook-nft-datas-empty-list",
        lambda: LoopringHook(backoff=FAST).get_nft_balances(account_id=1, nft_datas=[]),
        "nft_datas",
        EMPTY_FILTER,
    ),
    (
        "operator-nft-datas-empty-list",
        lambda: LoopringNftBalancesOperator(task_id="t", account_id=1, nft_datas=[]).execute({}),
        "nft_datas",
        EMPTY_FILTER,
    ),
    ("sensor-nft-datas-empty-list", lambda: _sensor_poke(nft_datas=[]), "nft_datas", EMPTY_FILTER),
    (
        "address-short-hex-rendered-natively",
        lambda: LoopringHook(backoff=FAST).get_nft_balances(address=0x12),
        "address",
        NATIVE_HEX,
    ),
    (
        "sensor-deferrable-text",
        lambda: LoopringNftDeploymentSensor(task_id="s", account_id=1, deferrable="no"),
        "deferrable",
        DEFERRABLE,
    ),
]


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        pytest.param(
            call,
            parameter,
            id=label,
            marks=[pytest.mark.xfail(strict=True, reason=why)] if why else [],
        )
        for label, call, parameter, why in DECISIONS
    ],
)
def test_awaiting_a_decision(call, parameter, sandbox, connect):
    with pytest.raises(LoopringInvalidParameterError) as caught:
        call()
    assert caught.value.parameter == parameter
    assert sandbox.requests == []
