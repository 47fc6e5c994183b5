"""The extra links: which explorer page each task points to, from its connection's host."""

from __future__ import annotations

import json

import pytest

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.links.loopring import LoopringAccountLink, LoopringCollectionLink
from airflow_provider_loopring.operators.loopring import (
    LoopringCollectionsOperator,
    LoopringNftBalancesOperator,
)
from airflow_provider_loopring.sensors.loopring import (
    LoopringCollectionDeploymentSensor,
    LoopringNftDeploymentSensor,
)
from tests.conftest import TEST_API_KEY

OWNER = "0x8656920c85342d646E5286Cb841F90209272ABeb"
TOKEN = "0x1D006a27BD82E10F9194D30158d91201E9930420"
EXPLORER = "https://explorer.loopring.io"


def use(monkeypatch, host, **extra):
    connection = {"conn_type": "loopring", "host": host, "password": TEST_API_KEY, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", json.dumps(connection))


def links(task):
    account = LoopringAccountLink().get_link(task, ti_key=None)  # type: ignore[arg-type]
    collection = LoopringCollectionLink().get_link(task, ti_key=None)  # type: ignore[arg-type]
    assert TEST_API_KEY not in account + collection
    return account, collection


def test_mainnet_tasks_link_to_loopring_s_explorer(monkeypatch):
    use(monkeypatch, "https://api3.loopring.io")
    balances = LoopringNftBalancesOperator(task_id="b", accounts=[11329, OWNER], token_addrs=TOKEN)
    assert links(balances) == (
        f"{EXPLORER}/account/11329",
        f"{EXPLORER}/collections/{TOKEN.lower()}",
    )
    collections = LoopringCollectionsOperator(task_id="c", address=OWNER)
    assert links(collections) == (f"{EXPLORER}/account/{OWNER.lower()}", "")
    sensor = LoopringCollectionDeploymentSensor(
        task_id="s", account_id=11329, contract_address=TOKEN
    )
    assert links(sensor) == (f"{EXPLORER}/account/11329", f"{EXPLORER}/collections/{TOKEN.lower()}")
    two = LoopringNftDeploymentSensor(task_id="n", account_id=7, token_addrs=[TOKEN, OWNER])
    assert links(two) == (f"{EXPLORER}/account/7", "")


@pytest.mark.parametrize("host", ["https://uat2.loopring.io", "http://127.0.0.1:8765"])
def test_other_hosts_have_no_link_unless_the_connection_names_an_explorer(monkeypatch, host):
    task = LoopringCollectionsOperator(task_id="c", account_id=5, token_address=TOKEN)
    use(monkeypatch, host)
    assert links(task) == ("", "")
    use(monkeypatch, host, explorer_url="https://explorer.example.org/")
    assert links(task) == (
        "https://explorer.example.org/account/5",
        f"https://explorer.example.org/collections/{TOKEN.lower()}",
    )


def test_an_explorer_in_clear_text_is_refused(monkeypatch):
    use(monkeypatch, "https://api3.loopring.io", explorer_url="http://explorer.example.org")
    task = LoopringNftBalancesOperator(task_id="b", account_id=5)
    with pytest.raises(LoopringInvalidParameterError, match="https://") as caught:
        links(task)
    assert caught.value.parameter == "connection extra 'explorer_url'"
    assert str(caught.value).startswith("Invalid connection extra 'explorer_url'")


@pytest.mark.parametrize(
    "explorer", ["ftp://explorer.example.org", "https://a@explorer.example.org", "https://x:0"]
)
def test_a_refused_explorer_url_is_named(monkeypatch, explorer):
    """Round 3 (docs/reliability.md): the error names explorer_url, not the host."""
    use(monkeypatch, "https://api3.loopring.io", explorer_url=explorer)
    task = LoopringNftBalancesOperator(task_id="b", account_id=5)
    with pytest.raises(LoopringInvalidParameterError) as caught:
        links(task)
    assert caught.value.parameter == "connection extra 'explorer_url'"
    assert "Invalid host" not in str(caught.value)


def test_addresses_from_native_templates_link_to_the_address(monkeypatch):
    # render_template_as_native_obj reads "0x…" text as a Python int, as the tasks know.
    from airflow.sdk import DAG

    use(monkeypatch, "https://api3.loopring.io")
    with DAG("native", schedule=None, render_template_as_native_obj=True):
        balances = LoopringNftBalancesOperator(
            task_id="b", address="{{ params.owner }}", token_addrs="{{ params.token }}"
        )
        sensor = LoopringCollectionDeploymentSensor(
            task_id="s", address="{{ params.owner }}", contract_address="{{ params.token }}"
        )
        mixed = LoopringNftBalancesOperator(task_id="m", accounts="{{ [params.owner, 5] }}")
    for task in (balances, sensor, mixed):
        task.render_template_fields({"params": {"owner": OWNER, "token": TOKEN}})
    assert isinstance(sensor.address, int)  # what the links are given
    expected = (f"{EXPLORER}/account/{OWNER.lower()}", f"{EXPLORER}/collections/{TOKEN.lower()}")
    assert links(balances) == links(sensor) == expected
    assert links(mixed) == (expected[0], "")


def test_a_task_whose_account_is_wrong_shows_no_link(monkeypatch):
    use(monkeypatch, "https://api3.loopring.io")
    task = LoopringNftBalancesOperator(task_id="b", account_id="{{ params.account }}")
    task.account_id = "not an account"  # as rendered; the task fails on it
    assert links(task) == ("", "")
