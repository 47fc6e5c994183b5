"""Secret hygiene: the API key travels in one header to the configured host, and nowhere else.

The sandbox of every test in this folder accepts only ``KEY``, a distinctive string: a DAG run
(operators to XCom and to a file, a deferrable sensor, failures) must leave it in no log, no
XCom, no rendered template field, no exception, no request log, no file under AIRFLOW_HOME.
Plain ``http://`` is refused for any host but loopback, before a name is even looked up, and
a redirect never takes the key to another host. (The fault matrix asserts the key is in none
of its task logs either.)
"""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_loopring import _core as api
from airflow_provider_loopring.exceptions import LoopringApiError, LoopringInvalidParameterError
from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.operators.loopring import LoopringNftBalancesOperator
from airflow_provider_loopring.testing import Fault
from tests.conftest import connection_json
from tests.reliability.conftest import FAST, KEY, SANDBOX

pytestmark = SANDBOX

IMPORTS = """
from airflow_provider_loopring.operators.loopring import (
    LoopringCollectionsOperator, LoopringNftBalancesOperator,
)
from airflow_provider_loopring.sensors.loopring import LoopringNftDeploymentSensor
"""
MISSING_ACCOUNT = 999_999


def stored_rows(dag_id: str) -> dict[str, list[str]]:
    """The XCom values and rendered template fields a DAG run stored, as JSON text."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        xcoms = session.query(XComModel.value).filter_by(dag_id=dag_id).all()
        rendered = session.query(RenderedTaskInstanceFields.rendered_fields).filter_by(
            dag_id=dag_id
        )
        return {
            "xcom": [json.dumps(row[0]) for row in xcoms],
            "rendered": [json.dumps(row[0]) for row in rendered.all()],
        }


def files_holding(folder: Path, secret: str) -> list[str]:
    """Every file under ``folder`` whose bytes contain ``secret`` (logs, the sqlite DB, ...)."""
    needle = secret.encode()
    return [
        str(path) for path in folder.rglob("*") if path.is_file() and needle in path.read_bytes()
    ]


def test_a_dag_run_leaves_the_key_nowhere(sandbox, connect, run_dag, tmp_path, caplog, capfd):
    first, second = sandbox.accounts
    # The sensor waits on an NFT only the second account holds, so that the operators'
    # responses for the first account do not move its status schedule on.
    held_by_first = {item["nftData"] for item in sandbox.balances(first["accountId"])}
    nft = next(
        item["nftData"]
        for item in sandbox.balances(second["accountId"], non_zero=True)
        if item["nftData"] not in held_by_first
    )
    sandbox.schedule_nft_status(nft, ["DEPLOYING", "DEPLOYED"])
    out = tmp_path / "out"
    with caplog.at_level(logging.DEBUG):
        result = run_dag(
            f"""
            LoopringNftBalancesOperator(task_id="to_xcom", account_id={first["accountId"]})
            LoopringNftBalancesOperator(
                task_id="to_file", address={first["owner"]!r},
                output_path="file://{out}/balances.jsonl",
            )
            LoopringCollectionsOperator(task_id="collections", address={first["owner"]!r})
            LoopringNftDeploymentSensor(
                task_id="deferred", account_id={second["accountId"]}, nft_datas=[{nft!r}],
                deferrable=True, poke_interval=0.05, timeout=60,
            )
            LoopringNftBalancesOperator(task_id="api_error", account_id={MISSING_ACCOUNT})
            """,
            header=IMPORTS,
        )
    captured = capfd.readouterr()
    logged = captured.out + captured.err + caplog.text

    assert result.task_states == {
        "to_xcom": "success",
        "to_file": "success",
        "collections": "success",
        "deferred": "success",
        "api_error": "failed",
    }
    assert KEY not in logged
    assert "Seen by the trigger" in logged  # the sensor did defer: the trigger saw it deploy
    assert f"accountId={MISSING_ACCOUNT}" in logged  # the failure was logged, without the key

    stored = stored_rows(result.dag_id)
    assert len(stored["xcom"]) >= 4 and len(stored["rendered"]) == 5
    assert not [text for text in stored["xcom"] + stored["rendered"] if KEY in text]
    assert sandbox.requests and all(KEY not in str(r.to_dict()) for r in sandbox.requests)
    assert KEY not in (out / "balances.jsonl").read_text()
    # Task logs (dag.test() writes none under logs/ today), the metadata DB, everything.
    assert files_holding(Path(os.environ["AIRFLOW_HOME"]), KEY) == []


MASKED_TASK = """
@task
def masked():
    # The key as the provider reads it, then logged through the processors a worker's task
    # log goes through (dag.test() prints with the scheduler's masker, which the task's
    # connection reads never reach: the console shows no masking either way).
    import io

    import structlog
    from airflow.sdk.log import logging_processors
    from airflow_provider_loopring.hooks.loopring import LoopringHook

    key = LoopringHook().settings.api_key
    out = io.BytesIO()
    processors = list(logging_processors(json_output=True))
    log = structlog.wrap_logger(structlog.BytesLogger(out), processors=processors)
    log.info("logged key=%s", key)
    try:
        raise ValueError(f"rejected key={key}")
    except ValueError:
        log.exception("the task failed")
    return out.getvalue().decode()

masked()
"""


def test_the_connection_password_is_masked_in_task_logs(sandbox, run_dag, monkeypatch):
    # A key of its own: nothing earlier in this process can have asked to mask it.
    key = "LoopringMaskingCheck" + "Jd4Ws8Qa1Ye6Ur3Io0Pz" * 2
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", connection_json(sandbox.url, key))
    result = run_dag(MASKED_TASK, header="from airflow.sdk import task")
    assert result.task_states == {"masked": "success"}
    lines = [json.loads(line) for line in result.xcom("masked").splitlines()]
    assert lines[0]["event"] == "logged key=***"
    assert lines[1]["exception"][0]["exc_value"] == "rejected key=***"
    assert key not in result.xcom("masked")


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", path=api.NFT_BALANCES.path, status=503, times=None),
        Fault("error_envelope", path=api.NFT_BALANCES.path, code=104002, message="invalid apiKey"),
        Fault("reset", path=api.NFT_BALANCES.path, times=None),
    ],
    ids=["5xx", "auth-error", "reset"],
)
def test_exceptions_do_not_carry_the_key(fault, sandbox, connect, account):
    """Sync and async, including every chained cause and the formatted traceback."""
    sandbox.add_fault(fault)
    sandbox.add_fault(fault)  # once more for the async read
    hook = LoopringHook(backoff=FAST)

    async def read_async() -> Any:
        try:
            return await hook.aget_nft_balances(account_id=account.account_id)
        finally:
            await hook.aclose()

    for read in (lambda: hook.get_nft_balances(account_id=account.account_id), read_async):
        with pytest.raises(LoopringApiError) as caught:
            result = read()
            if asyncio.iscoroutine(result):
                asyncio.run(result)
        error = caught.value
        # Nothing hidden behind it either: a transport's exception holds the request's headers.
        assert (error.__cause__, error.__context__) == (None, None)
        texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
        assert api.NFT_BALANCES.path in str(error)
        assert not [text for text in texts if KEY in text]
    assert KEY not in repr(hook) + repr(hook.settings) + str(vars(hook))


# --- where the key may be sent --------------------------------------------------------------


def refused(host: str, monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], Any]]:
    """Every way a request could start on a connection to ``host``."""
    # No retries: should a request start after all, the test fails at once.
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", connection_json(host, KEY, max_retries=0))

    async def read_async() -> Any:
        hook = LoopringHook()
        try:
            return await hook.aget_nft_balances(account_id=1)
        finally:
            await hook.aclose()

    return [
        lambda: LoopringHook().get_nft_balances(account_id=1),
        lambda: asyncio.run(read_async()),
        lambda: LoopringNftBalancesOperator(task_id="t", account_id=1).execute({}),
    ]


@pytest.mark.parametrize(
    "host",
    [
        "http://api3.loopring.io",
        "http://10.0.0.5:8080",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",  # a name that looks like loopback, resolves anywhere
        "http://2130706433",  # 127.0.0.1 to some resolvers, a name to us: refused
    ],
)
def test_clear_text_to_a_remote_host_is_refused_before_any_lookup(
    host, monkeypatch, remote_traffic
):
    for start in refused(host, monkeypatch):
        with pytest.raises(LoopringInvalidParameterError, match="clear text") as caught:
            start()
        assert caught.value.parameter == "host"
    assert remote_traffic == []  # no name looked up, no socket connected


@pytest.mark.parametrize(
    "host",
    [
        "http://attacker.invalid:45513\\@127.0.0.1:40333",  # urlsplit: 127.0.0.1; requests: not
        "http://127.0.0.1@attacker.invalid",
        "http://attacker.invalid@127.0.0.1",
        "http://user:pass@127.0.0.1",
        "http://127.0.0.1\\attacker.invalid",
        "http://127.0.0.1%2f@attacker.invalid",
        "http://127.0.0.1#@attacker.invalid",
        "http://127.0.0.1\t.attacker.invalid",  # urlsplit drops tabs and newlines silently
        "http://127.0.0.1\n:1",
        "http://1\uff127.0.0.1",  # a fullwidth digit
        "https://api3.loopring.io\\@attacker.invalid",
    ],
)
def test_hosts_two_parsers_could_read_differently_are_refused_before_any_lookup(
    host, monkeypatch, remote_traffic
):
    for start in refused(host, monkeypatch):
        with pytest.raises(LoopringInvalidParameterError, match="an http\\(s\\) URL") as caught:
            start()
        assert caught.value.parameter == "host"
    assert remote_traffic == []


@pytest.mark.parametrize("password", [KEY + "\n", f"  {KEY}\r\n", f"\t{KEY} "])
@pytest.mark.parametrize("transport", ["sync", "async"])
def test_a_key_read_with_surrounding_whitespace_is_stripped(
    password, transport, sandbox, account, monkeypatch
):
    """A secret read from a file ends in a newline: the key is sent without it."""
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", connection_json(sandbox.url, password))
    hook = LoopringHook(backoff=FAST)

    async def read_async() -> Any:
        try:
            return await hook.aget_nft_balances(account_id=account.account_id)
        finally:
            await hook.aclose()

    if transport == "sync":
        page = hook.get_nft_balances(account_id=account.account_id)
    else:
        page = asyncio.run(read_async())
    assert page.total_num == len(account.items)  # the sandbox accepts only KEY itself
    assert [r.status for r in sandbox.requests] == [200]


def test_a_key_with_whitespace_inside_is_refused_without_showing_it(sandbox, monkeypatch):
    key = KEY[:20] + "\n" + KEY[20:]
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", connection_json(sandbox.url, key))
    with pytest.raises(LoopringInvalidParameterError, match="not shown") as caught:
        LoopringHook(backoff=FAST).get_nft_balances(account_id=1)
    shown = str(caught.value) + repr(caught.value)
    assert KEY[:20] not in shown and KEY[20:] not in shown
    assert sandbox.requests == []


@pytest.mark.parametrize("transport", ["sync", "async"])
def test_environment_proxies_never_see_a_plain_http_request(
    transport, sandbox, connect, account, monkeypatch
):
    """HTTP_PROXY would receive the key in clear: plain http (loopback) goes direct."""
    seen: list[str | None] = []
    proxy = _serve("127.0.0.2", type("Proxy", (_Recorder,), {"seen": seen}))
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.2:{proxy.server_port}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    hook = LoopringHook(backoff=FAST)

    async def read_async() -> Any:
        try:
            return await hook.aget_nft_balances(account_id=account.account_id)
        finally:
            await hook.aclose()

    try:
        if transport == "sync":
            page = hook.get_nft_balances(account_id=account.account_id)
        else:
            page = asyncio.run(read_async())
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert page.total_num == len(account.items)
    assert seen == []  # the proxy was never asked


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every GET with an empty page and remembers the X-API-KEY it came with."""

    seen: list[str | None]

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("X-API-KEY"))
        self._send(200, b'{"totalNum": 0, "data": []}')

    def _send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def _serve(host: str, handler: type[http.server.BaseHTTPRequestHandler]) -> Any:
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def redirect_elsewhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    """The connection's host (127.0.0.1) redirects every request to another host (127.0.0.2,
    loopback too, so nothing leaves the machine); returns the keys the other host received."""
    seen: list[str | None] = []
    elsewhere = _serve("127.0.0.2", type("Elsewhere", (_Recorder,), {"seen": seen}))
    target = f"http://127.0.0.2:{elsewhere.server_port}"

    class Redirect(_Recorder):
        def do_GET(self) -> None:
            self._send(302, b"", Location=target + self.path)

    origin = _serve("127.0.0.1", Redirect)
    url = f"http://127.0.0.1:{origin.server_port}"
    monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", connection_json(url, KEY))
    try:
        yield seen
    finally:
        for server in (origin, elsewhere):
            server.shutdown()
            server.server_close()


@pytest.mark.parametrize("transport", ["sync", "async"])
def test_a_redirect_does_not_take_the_key_to_another_host(transport, redirect_elsewhere):
    hook = LoopringHook(backoff=FAST)

    async def read_async() -> Any:
        try:
            return await hook.aget_nft_balances(account_id=1)
        finally:
            await hook.aclose()

    with pytest.raises(LoopringApiError, match=r"HTTP 302"):
        if transport == "sync":
            hook.get_nft_balances(account_id=1)
        else:
            asyncio.run(read_async())
    assert redirect_elsewhere == []  # the other host was never asked, with or without the key
