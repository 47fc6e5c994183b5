"""Fail fast where a retry cannot help: the retry policy, its fallback, and a real DAG run."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pytest

from airflow_provider_loopring import retry_policy
from airflow_provider_loopring.exceptions import (
    LoopringApiError,
    LoopringAuthError,
    LoopringBadResponseError,
    LoopringInvalidParameterError,
    LoopringNotFoundError,
    LoopringRateLimitError,
    LoopringServerError,
    LoopringTriggerError,
)
from airflow_provider_loopring.operators.loopring import (
    LoopringCollectionsOperator,
    LoopringNftBalancesOperator,
)
from airflow_provider_loopring.retry_policy import retry_can_help
from airflow_provider_loopring.sensors.loopring import LoopringCollectionDeploymentSensor
from airflow_provider_loopring.testing import Fault
from airflow_provider_loopring.version_compat import HAS_RETRY_POLICY, AirflowFailException
from tests.conftest import TEST_API_KEY

# Airflow 3.3+ has task retry policies; before, fail_fast() raises AirflowFailException.
needs_policy = pytest.mark.skipif(not HAS_RETRY_POLICY, reason="no task retry policy before 3.3")

BALANCES = "/api/v3/user/nft/balances"
COLLECTIONS = "/api/v3/user/collection/details"
ENDPOINT = "GET /api/v3/user/nft/balances accountId=10001"
FINAL = [
    LoopringAuthError("invalid ApiKey", endpoint=ENDPOINT, code=104002, http_status=400),
    LoopringNotFoundError("user not found", endpoint=ENDPOINT, code=101002, http_status=400),
    LoopringBadResponseError("no totalNum", endpoint=ENDPOINT, http_status=200),
    LoopringInvalidParameterError("account_id", "a non-negative integer", -1),
    LoopringTriggerError("the trigger: invalid ApiKey", retryable=False),
]
TRANSIENT = [
    LoopringRateLimitError("too many requests", endpoint=ENDPOINT, http_status=429),
    LoopringServerError("service unavailable", endpoint=ENDPOINT, http_status=503),
    LoopringServerError("connection reset", endpoint=ENDPOINT),
    LoopringBadResponseError("not JSON", endpoint=ENDPOINT, http_status=200, retryable=True),
    LoopringApiError("unknown error", endpoint=ENDPOINT, code=100000, retryable=True),
    LoopringTriggerError("the trigger stopped on an unexpected error"),
    RuntimeError("anything else keeps the task's retries"),
]


@needs_policy
@pytest.mark.parametrize("error", FINAL, ids=lambda error: type(error).__name__)
def test_errors_a_retry_cannot_cure_fail_the_task(error):
    from airflow.sdk.definitions.retry_policy import RetryAction

    from airflow_provider_loopring.retry_policy import LoopringRetryPolicy

    decision = LoopringRetryPolicy().evaluate(error, try_number=1, max_tries=4)
    assert not retry_can_help(error)
    assert decision.action is RetryAction.FAIL
    assert type(error).__name__ in (decision.reason or "")


@needs_policy
@pytest.mark.parametrize("error", TRANSIENT, ids=lambda error: f"{type(error).__name__}")
def test_transient_errors_keep_the_tasks_retries(error):
    from airflow.sdk.definitions.retry_policy import RetryAction

    from airflow_provider_loopring.retry_policy import LoopringRetryPolicy

    decision = LoopringRetryPolicy().evaluate(error, try_number=1, max_tries=4)
    assert retry_can_help(error)
    assert decision.action is RetryAction.DEFAULT


@needs_policy
def test_every_operator_and_sensor_has_the_policy_unless_told_otherwise():
    from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryRule

    from airflow_provider_loopring.retry_policy import LoopringRetryPolicy

    balances = LoopringNftBalancesOperator(task_id="b", account_id=1)
    collections = LoopringCollectionsOperator(task_id="c", account_id=1)
    sensor = LoopringCollectionDeploymentSensor(task_id="s", account_id=1, collection_id=2)
    for task in (balances, collections, sensor):
        assert isinstance(task.retry_policy, LoopringRetryPolicy)
    none = LoopringNftBalancesOperator(task_id="n", account_id=1, retry_policy=None)
    assert none.retry_policy is None
    theirs = ExceptionRetryPolicy(rules=[RetryRule(exception=ValueError)])
    given = LoopringCollectionsOperator(
        task_id="d", account_id=1, default_args={"retry_policy": theirs}
    )
    assert isinstance(given.retry_policy, ExceptionRetryPolicy)


def test_without_a_retry_policy_the_error_becomes_an_airflow_fail_exception(monkeypatch):
    monkeypatch.setattr(retry_policy, "HAS_RETRY_POLICY", False)
    auth = FINAL[0]
    with pytest.raises(AirflowFailException, match="invalid ApiKey") as raised:  # noqa: SIM117
        with retry_policy.fail_fast():
            raise auth
    assert raised.value.__cause__ is auth
    with pytest.raises(LoopringServerError), retry_policy.fail_fast():
        raise TRANSIENT[1]
    with pytest.raises(LoopringAuthError), retry_policy.fail_fast(enabled=False):
        raise auth


def test_a_retry_policy_of_its_own_or_none_turns_fail_fast_off_on_every_airflow():
    from airflow_provider_loopring.retry_policy import with_retry_policy

    def fails_fast(kwargs: dict) -> bool:
        return with_retry_policy(kwargs)[1]

    assert fails_fast({"task_id": "b"})
    assert not fails_fast({"task_id": "b", "retry_policy": None})
    assert not fails_fast({"task_id": "b", "default_args": {"retry_policy": None}})
    # A DAG written for Airflow 3.3 (retry_policy=None) imports on older Airflow too.
    task = LoopringNftBalancesOperator(task_id="n", account_id=1, retry_policy=None)
    assert task._fail_fast is False
    assert LoopringNftBalancesOperator(task_id="d", account_id=1)._fail_fast is True


@pytest.mark.skipif(HAS_RETRY_POLICY, reason="Airflow 3.3+ has task retry policies")
def test_before_airflow_3_3_no_task_gets_a_policy_and_errors_become_fail_exceptions():
    from airflow_provider_loopring.retry_policy import with_retry_policy

    assert "retry_policy" not in with_retry_policy({"task_id": "b"})[0]
    assert "retry_policy" not in with_retry_policy({"task_id": "b", "retry_policy": None})[0]
    assert not hasattr(retry_policy, "LoopringRetryPolicy")
    with pytest.raises(AirflowFailException, match="invalid ApiKey"), retry_policy.fail_fast():
        raise FINAL[0]


@needs_policy
def test_with_a_retry_policy_the_error_is_raised_as_it_is():
    with pytest.raises(LoopringAuthError), retry_policy.fail_fast():
        raise FINAL[0]


def test_the_old_module_name_warns_and_gives_the_same_objects(monkeypatch):
    monkeypatch.delitem(sys.modules, "airflow_provider_loopring.fail_fast", raising=False)
    with pytest.warns(DeprecationWarning, match=r"airflow_provider_loopring\.retry_policy"):
        old = importlib.import_module("airflow_provider_loopring.fail_fast")
    names = ["fail_fast", "with_retry_policy", "retry_can_help", "HAS_RETRY_POLICY"]
    if HAS_RETRY_POLICY:
        names.append("LoopringRetryPolicy")
    for name in names:
        assert getattr(old, name) is getattr(retry_policy, name), name


def test_our_own_modules_never_import_the_old_name():
    # pyproject makes a DeprecationWarning raised in our modules an error; this says where.
    package = Path(retry_policy.__file__).parent
    old = re.compile(
        r"^\s*(from airflow_provider_loopring\.fail_fast import|import airflow_provider_loopring"
        r"\.fail_fast|from airflow_provider_loopring import .*\bfail_fast\b)",
        re.MULTILINE,
    )
    importing = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if old.search(path.read_text()) and path.name != "fail_fast.py"
    ]
    assert importing == []


RETRIED_DAG = """
from datetime import timedelta
from airflow_provider_loopring.operators.loopring import (
    LoopringCollectionsOperator as Collections,
    LoopringNftBalancesOperator as Balances,
)

retried = {"retries": 3, "retry_delay": timedelta(0)}
Balances(task_id="bad_key", account_id=ACCOUNT, loopring_conn_id="loopring_bad_key", **retried)
Collections(task_id="unavailable", account_id=ACCOUNT, loopring_conn_id="loopring_503", **retried)
"""


@pytest.mark.loopring_sandbox(accounts=1, nfts_per_account=3)
def test_a_bad_key_takes_one_try_and_a_persistent_503_takes_every_retry(
    loopring_sandbox, run_dag, monkeypatch
):
    account_id = loopring_sandbox.accounts[0]["accountId"]
    # No retries inside a try (max_retries=0): each request the sandbox sees is one try.
    for conn_id, key in (("loopring_bad_key", "WrongKey" + TEST_API_KEY), ("loopring_503", None)):
        connection = {
            "conn_type": "loopring",
            "host": loopring_sandbox.url,
            "password": key or loopring_sandbox.api_key,
            "extra": {"max_retries": 0},
        }
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    loopring_sandbox.add_fault(Fault("status", path=COLLECTIONS, status=503, times=None))

    result = run_dag(RETRIED_DAG.replace("ACCOUNT", str(account_id)))

    assert result.task_states == {"bad_key": "failed", "unavailable": "failed"}
    statuses = {BALANCES: [], COLLECTIONS: []}
    for record in loopring_sandbox.requests:
        statuses[record.path].append(record.status)
    assert statuses == {BALANCES: [400], COLLECTIONS: [503] * 4}


DEFERRED_DAG = """
from datetime import timedelta
from airflow_provider_loopring.sensors.loopring import LoopringCollectionDeploymentSensor

LoopringCollectionDeploymentSensor(
    task_id="wait", account_id=ACCOUNT, collection_id=COLLECTION, deferrable=True,
    poke_interval=0.01, timeout=600, retries=3, retry_delay=timedelta(0),
)
"""


@pytest.mark.loopring_sandbox(accounts=1, nfts_per_account=3, collections_per_account=1)
def test_a_key_rejected_while_deferred_takes_one_try(loopring_sandbox, run_dag, monkeypatch):
    account_id = loopring_sandbox.accounts[0]["accountId"]
    (held,) = loopring_sandbox.collections(account_id, non_zero=False)
    collection = held["collection"]
    loopring_sandbox.set_collection_status(collection["id"], "NOT_DEPLOYED")
    connection = {
        "conn_type": "loopring",
        "host": loopring_sandbox.url,
        "password": loopring_sandbox.api_key,
        "extra": {"max_retries": 0},
    }
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", json.dumps(connection))
    # The worker's first check is answered; from then on the key is rejected: the trigger's.
    loopring_sandbox.add_fault(Fault("delay", path=COLLECTIONS, seconds=0, times=1))
    rejected = {"status": 400, "code": 104002, "message": "invalid ApiKey", "times": None}
    loopring_sandbox.add_fault(Fault("status", path=COLLECTIONS, **rejected))

    dag = DEFERRED_DAG.replace("ACCOUNT", str(account_id))
    result = run_dag(dag.replace("COLLECTION", str(collection["id"])))

    assert result.task_states == {"wait": "failed"}
    # One try: its check in the worker (200), the trigger's poll (400), no retry's check.
    assert [r.status for r in loopring_sandbox.requests if r.path == COLLECTIONS] == [200, 400]
