"""The fault matrix: what the API or the network can do wrong, against three consumers.

One table of faults (``CASES``); one test per consumer, parametrized over it:

- ``test_hook``: ``LoopringHook.iter_nft_balances`` (the sync transport);
- ``test_balances_operator_to_a_file``: ``LoopringNftBalancesOperator`` writing a ``file://``
  object, in a DAG run;
- ``test_deferrable_sensor``: ``LoopringNftDeploymentSensor(deferrable=True)`` waiting on the
  whole account, in a DAG run: its first check (in the worker) sees one NFT still deploying,
  so the faults hit the trigger's checks (the async transport).

Transient faults must end in the sandbox's complete data, each record once; the others in a
``LoopringApiError`` (or a failed task) naming the endpoint and the problem, with no file at
``output_path``. The sandbox's request log must show exactly the requests the retry policy
allows (the connection's ``max_retries`` is 3: at most 4 requests per call).

Paging anomalies are scripted with transform faults that answer from a snapshot of the account
("the world"), which may change between two pages of one read.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_loopring import _core as api
from airflow_provider_loopring.exceptions import (
    LoopringApiError,
    LoopringBadResponseError,
    LoopringRateLimitError,
    LoopringServerError,
)
from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.testing import Fault
from tests.operators.conftest import leftover_parts
from tests.reliability.conftest import FAST, KEY, SANDBOX, Account, requests_to

BALANCES = api.NFT_BALANCES.path
FIRST_CHECK = 2  # the sensor's own check, before it defers: two pages
IMPORTS = """
from airflow_provider_loopring.operators.loopring import LoopringNftBalancesOperator
from airflow_provider_loopring.sensors.loopring import LoopringNftDeploymentSensor
"""
pytestmark = [SANDBOX, pytest.mark.usefixtures("fast_backoff")]

Items = list[dict[str, Any]]


# --- the world the transform faults answer from -------------------------------------------


def paging(serve: Callable[[int, int, int], tuple[int, Items]]) -> Fault:
    """Every balances request answered by ``serve(call, offset, limit) -> (totalNum, data)``,
    where ``call`` counts this fault's requests from 0."""
    calls = itertools.count()

    def transform(body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        total, data = serve(next(calls), int(query["offset"]), int(query["limit"]))
        return {"totalNum": total, "data": data}

    return Fault("transform", path=BALANCES, times=None, transform=transform)


def drift(before: Items, after: Items) -> Fault:
    """The account is ``before`` for the first page of a read and ``after`` from the second on."""
    return paging(
        lambda call, offset, limit: (
            len(world := before if call == 0 else after),
            world[offset : offset + limit],
        )
    )


def new_items(account: Account, count: int) -> Items:
    """NFTs the account did not hold when the read began (copies under new nftData)."""
    return [
        {**item, "nftData": f"0x{'fe' * 30}{index:04x}", "tokenId": 900_000 + index}
        for index, item in enumerate(itertools.islice(itertools.cycle(account.items), count))
    ]


def relabelled(account: Account, status: str) -> Items:
    """The account's NFTs, the watched one in ``status``."""
    return [
        {**item, "deploymentStatus": status} if item["nftData"] == account.watched else item
        for item in account.items
    ]


def first_check_sees_deploying(account: Account) -> Fault:
    """The sensor's own check sees ``account.watched`` DEPLOYING, so the sensor defers."""

    def transform(body: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        for item in body["data"]:
            if item["nftData"] == account.watched:
                item["deploymentStatus"] = "DEPLOYING"
        return body

    return Fault("transform", path=BALANCES, times=FIRST_CHECK, transform=transform)


# --- the table ----------------------------------------------------------------------------


def _status(status: int, **fields: Any) -> Fault:
    return Fault("status", path=BALANCES, status=status, **fields)


def passes() -> Fault:
    """A request answered as usual: places the next fault on the request after it."""
    return Fault("transform", path=BALANCES, transform=lambda body, query: body)


def _all(account: Account) -> Items:
    return account.items


def _raw(body: str, **fields: Any) -> Fault:
    return Fault("raw", path=BALANCES, body=body, **fields)


def _pages(serve: Callable[[Account, int, int], tuple[int, Items]]) -> Callable[..., list[Fault]]:
    """A listing answered by ``serve(account, offset, limit) -> (totalNum, data)``."""
    return lambda a: [paging(lambda call, offset, limit: serve(a, offset, limit))]


def _cycling(a: Account, offset: int, limit: int) -> tuple[int, Items]:
    """Four pages of distinct NFTs, then the same four again, and again: totalNum 1000."""
    world = a.items + new_items(a, 200 - len(a.items))
    return 1000, world[offset % 200 : offset % 200 + limit]


def _ahead(a: Account, offset: int, limit: int) -> tuple[int, Items]:
    """Fresh NFTs on every page, totalNum always two pages ahead."""
    return offset + 2 * limit, new_items(a, offset + limit)[offset:]


def _stranger(a: Account, offset: int, limit: int) -> tuple[int, Items]:
    page = a.items[offset : offset + limit]
    return len(a.items), [{**page[0], "accountId": a.account_id + 1}, *page[1:]]


def with_nan(item: dict[str, Any]) -> str:
    """A page of one record holding a NaN, as Python's json.dumps writes it by default."""
    return json.dumps({"totalNum": 1, "data": [{**item, "royaltyPercentage": math.nan}]})


NESTED = '{"totalNum": 1, "data": [' + "[" * 100_000 + "]" * 100_000 + "]}"
TIMEOUT_DRIP = {"timeout": 0.3}  # each request cut off at 0.3 s: a call of 4 ends in ~1.2 s
HUGE = 40 << 20  # over the default max_response_bytes (32 MiB)


@dataclass(frozen=True)
class Case:
    """One fault, and what every consumer must make of it.

    :param inject: the sandbox faults, given the account.
    :param requests: balances requests of one read through the hook, faults included.
    :param error: ``None`` when the fault is transient (the read must recover); else the
        error the hook raises and a fragment of its message naming the problem.
    :param served: what a recovered read returns (default: the account's NFTs).
    :param ordered: whether ``served`` is also the order; a listing that shifts under the
        read promises every NFT once, not the order.
    :param sensor: "success", "failure" (the trigger reports a permanent error) or
        "timeout" (the trigger keeps polling through a transient error until the deadline).
    :param sensor_checks: the trigger's checks until success.
    :param sensor_says: a line the sensor's log must hold.
    :param retry_after: the wait the server asked for after each 429, checked in its log.
    :param extra: connection extras for this fault.
    :param cut: the fault streams a hostile body: the server must see every such request's
        connection closed by the client before the body's end.
    :param defect: why the cell is expected to fail (a provider defect awaiting a decision).
    """

    id: str
    inject: Callable[[Account], list[Fault]]
    requests: int
    error: tuple[type[LoopringApiError], str] | None = None
    served: Callable[[Account], Items] = _all
    ordered: bool = True
    sensor: str = "success"
    sensor_checks: int = 1
    sensor_says: str | None = None
    retry_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    cut: bool = False
    defect: str | None = None


CASES = [
    Case(
        "429-burst-retry-after",
        lambda a: [_status(429, retry_after=0.5, times=2)],
        requests=4,
        retry_after=0.5,
    ),
    Case(
        "5xx-then-recovery",
        # 500, 502, 503, then the 4th and last try of page 1 passes; 504 on page 2, then a retry
        lambda a: [_status(500), _status(502), _status(503), passes(), _status(504)],
        requests=6,
    ),
    Case(
        "5xx-persistent",
        lambda a: [_status(503, times=None)],
        requests=4,
        error=(LoopringServerError, "(HTTP 503, code 100000): Service Unavailable"),
        sensor="timeout",
    ),
    Case(
        "retry-after-beyond-max-elapsed",
        lambda a: [_status(429, retry_after=3600, times=None)],
        requests=1,
        error=(LoopringRateLimitError, "(HTTP 429, code 100000)"),
        sensor="timeout",
    ),
    Case("cdn-html-502", lambda a: [Fault("html", path=BALANCES, status=502)], requests=3),
    Case("connection-reset", lambda a: [Fault("reset", path=BALANCES)], requests=3),
    Case(
        "slower-than-timeout",
        lambda a: [Fault("delay", path=BALANCES, seconds=3.0)],
        requests=3,
        extra={"timeout": 1.5},  # the retries must answer within it, on a loaded machine too
    ),
    Case("truncated-json", lambda a: [Fault("truncated", path=BALANCES)], requests=3),
    Case(
        "wrong-shape",
        lambda a: [Fault("malformed", path=BALANCES)],
        requests=1,
        error=(LoopringBadResponseError, "unexpected response shape"),
        sensor="failure",
    ),
    Case(
        "wrong-item-shape",
        lambda a: [Fault("malformed", path=BALANCES, body={"totalNum": 2, "data": [7, 8]})],
        requests=1,
        error=(LoopringBadResponseError, "unexpected response shape"),
        sensor="failure",
    ),
    Case(
        "flat-error-with-http-200",
        lambda a: [Fault("error_envelope", path=BALANCES, code=100001, message="bad offset")],
        requests=1,
        error=(LoopringApiError, "(HTTP 200, code 100001): bad offset"),
        sensor="failure",
    ),
    Case(
        "total-grows",
        lambda a: [drift(a.items, a.items + new_items(a, api.MAX_LIMIT))],
        requests=3,  # page 2 reports 50 more: a third page
        served=lambda a: a.items + new_items(a, api.MAX_LIMIT),
    ),
    Case(
        "total-shrinks-ahead",
        lambda a: [drift(a.items, a.items[:51] + a.items[52:])],
        requests=3,  # the shrink is read again from offset 49: it may have been behind
        served=lambda a: a.items[:51] + a.items[52:],
    ),
    Case(
        "total-shrinks-behind",
        lambda a: [drift(a.items, a.items[2:])],
        requests=3,  # page 2 shows the shrink: read again from offset 48
        ordered=False,
    ),
    Case(
        "same-item-on-two-pages",
        lambda a: [
            paging(
                lambda call, offset, limit: (
                    len(a.items),
                    a.items[max(offset - 1, 0) : offset + limit],
                )
            )
        ],
        requests=2,
    ),
    Case(
        "empty-page-once",
        lambda a: [
            paging(
                lambda call, offset, limit: (
                    len(a.items),
                    [] if call == 1 else a.items[offset : offset + limit],
                )
            )
        ],
        requests=3,  # the empty page is asked again
    ),
    Case(
        "empty-page-persistent",
        lambda a: [
            paging(lambda call, offset, limit: (len(a.items), [] if offset else a.items[:limit]))
        ],
        requests=3,
        error=(LoopringBadResponseError, "although totalNum is"),
        sensor="timeout",
    ),
    Case(
        "slow-drip-body",
        lambda a: [Fault("drip", path=BALANCES, seconds=0.05, times=None)],
        requests=4,
        error=(LoopringServerError, "no complete response within 0.3 s"),
        sensor="timeout",
        extra=TIMEOUT_DRIP,
        cut=True,
    ),
    Case(
        "slow-drip-head",
        lambda a: [Fault("drip_head", path=BALANCES, seconds=0.05, times=None)],
        requests=4,
        error=(LoopringServerError, "no complete response within 0.3 s"),
        sensor="timeout",
        extra=TIMEOUT_DRIP,
        cut=True,
    ),
    Case(
        "huge-body",
        lambda a: [Fault("huge", path=BALANCES, size=HUGE)],
        requests=1,
        error=(LoopringBadResponseError, "41,943,040 bytes announced, over the limit"),
        sensor="failure",
        cut=True,
    ),
    Case(
        "endless-chunked-body",
        lambda a: [Fault("endless", path=BALANCES)],
        requests=1,
        error=(LoopringBadResponseError, "more than 33,554,432 bytes, over the limit"),
        sensor="failure",
        cut=True,
    ),
    Case(
        "gzip-bomb",
        lambda a: [Fault("gzip_bomb", path=BALANCES, size=2 << 30)],
        requests=1,
        error=(LoopringBadResponseError, "more than 33,554,432 bytes, over the limit"),
        sensor="failure",
        cut=True,
    ),
    Case(
        "deeply-nested-json",
        lambda a: [_raw(NESTED)],
        requests=1,
        error=(LoopringBadResponseError, "JSON nested too deeply"),
        sensor="failure",
    ),
    Case(
        "nan-in-a-record",
        lambda a: [_raw(with_nan(a.items[0]))],
        requests=1,
        error=(LoopringBadResponseError, "NaN in the JSON (not standard JSON)"),
        sensor="failure",
    ),
    Case(
        "retry-after-date-overflows",
        lambda a: [_status(429, retry_after="Fri, 01 Jan 99999 00:00:00 GMT", times=2)],
        requests=4,  # an unreadable Retry-After is ignored: retried with backoff
    ),
    Case(
        "total-negative-with-items",
        _pages(lambda a, offset, limit: (-1, a.items[offset : offset + limit])),
        requests=1,
        error=(LoopringBadResponseError, "totalNum is -1"),
        sensor="failure",
    ),
    Case(
        "total-zero-with-items",
        _pages(lambda a, offset, limit: (0, a.items[offset : offset + limit])),
        requests=2,  # the full first page is followed; the short second one ends the listing
    ),
    Case(
        "duplicate-in-a-page",
        _pages(lambda a, offset, limit: (54, [a.items[0], *a.items][offset : offset + limit])),
        requests=2,
    ),
    Case(
        "cycling-pages",
        _pages(_cycling),
        requests=6,  # four pages of news, then two that repeat them
        error=(LoopringBadResponseError, "the same items came back for different offsets"),
        sensor="failure",
    ),
    Case(
        "total-ahead-forever",
        _pages(_ahead),
        requests=3,
        error=(LoopringBadResponseError, "still no end after 3 pages"),
        sensor="failure",
        extra={"max_pages": 3},
    ),
    Case(
        "more-items-than-limit",
        _pages(lambda a, offset, limit: (len(a.items), a.items[offset : offset + limit + 1])),
        requests=1,
        error=(LoopringBadResponseError, "51 items, more than the limit of 50 asked for"),
        sensor="failure",
    ),
    Case(
        "items-of-another-account",
        _pages(_stranger),
        requests=1,
        error=(LoopringBadResponseError, "in this listing"),
        sensor="failure",
    ),
    Case(
        "unknown-deployment-status",
        lambda a: [
            paging(
                lambda call, offset, limit: (
                    len(a.items),
                    relabelled(a, "REDEPLOY_QUEUED")[offset : offset + limit]
                    if call < 2
                    else a.items[offset : offset + limit],
                )
            )
        ],
        requests=2,
        served=lambda a: relabelled(a, "REDEPLOY_QUEUED"),  # kept as Loopring sent it
        sensor_checks=2,  # the unknown status ends nothing; the next check sees DEPLOYED
        sensor_says="does not know: REDEPLOY_QUEUED",
    ),
]


def cells(cases: list[Case]) -> list[Any]:
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=case.defect)] if case.defect else [],
        )
        for case in cases
    ]


# --- checks shared by the consumers -------------------------------------------------------


def inject(case: Case, sandbox: Any, account: Account, connect: Callable[..., None]) -> None:
    if case.extra:
        connect(**case.extra)
    for fault in case.inject(account):
        sandbox.add_fault(fault)


def assert_names_the_problem(text: str, case: Case, account: Account) -> None:
    assert case.error is not None
    assert KEY not in text
    assert f"Loopring GET {BALANCES} accountId={account.account_id} " in text
    assert case.error[1] in text


def assert_waits_were_honoured(sandbox: Any, case: Case) -> None:
    """After each 429, the next request came no sooner than Retry-After (the server's clock)."""
    if case.retry_after is None:
        return
    records = requests_to(sandbox)
    gaps = [b.time - a.time for a, b in itertools.pairwise(records) if a.status == 429]
    assert len(gaps) == 2
    assert min(gaps) >= case.retry_after


def assert_hung_up(sandbox: Any, case: Case) -> None:
    """A hostile body was not read to its end: the server saw each connection closed."""
    if case.cut:
        assert sandbox.wait_for_requests(
            lambda records: all(r.cut for r in records if r.path == BALANCES)
        )


def assert_served(got: Items, expected: Items, case: Case) -> None:
    """Every expected record, each once (and in its order, where the case has one)."""
    if not case.ordered:
        got, expected = (sorted(x, key=lambda item: json.dumps(item)) for x in (got, expected))
    assert got == expected


def as_watched(items: Items) -> Items:
    """What the NFT sensor returns for these NFTs once they are all deployed."""
    return [
        {"nftData": i["nftData"], "tokenAddress": i["tokenAddress"], "deploymentStatus": "DEPLOYED"}
        for i in items
    ]


# --- (a) the hook -------------------------------------------------------------------------


@pytest.mark.parametrize("case", cells(CASES))
def test_hook(case, sandbox, account, connect):
    inject(case, sandbox, account, connect)
    hook = LoopringHook(backoff=FAST)
    read = lambda: [b.to_dict() for b in hook.iter_nft_balances(account_id=account.account_id)]  # noqa: E731
    if case.error is None:
        assert_served(read(), case.served(account), case)
    else:
        with pytest.raises(case.error[0]) as caught:
            read()
        assert_names_the_problem(str(caught.value) + repr(caught.value), case, account)
    assert len(requests_to(sandbox)) == case.requests
    assert_waits_were_honoured(sandbox, case)
    assert_hung_up(sandbox, case)


# --- (b) the balances operator, writing a file --------------------------------------------


@pytest.mark.parametrize("case", cells(CASES))
def test_balances_operator_to_a_file(
    case, sandbox, account, connect, run_dag, tmp_path, scratch, capfd
):
    out = tmp_path / "out"
    out.mkdir()
    inject(case, sandbox, account, connect)
    result = run_dag(
        f"""
        LoopringNftBalancesOperator(
            task_id="balances", account_id={account.account_id},
            output_path="file://{out}/balances.jsonl",
        )
        """,
        header=IMPORTS,
    )
    logged = capfd.readouterr().out
    assert KEY not in logged
    if case.error is None:
        assert result.task_states == {"balances": "success"}
        written = (out / "balances.jsonl").read_text().splitlines()
        assert_served([json.loads(line) for line in written], case.served(account), case)
        assert [path.name for path in out.iterdir()] == ["balances.jsonl"]
    else:
        assert result.task_states == {"balances": "failed"}
        assert list(out.iterdir()) == []  # no partial file, no temporary object
        assert_names_the_problem(logged, case, account)
    assert leftover_parts(scratch) == []
    assert len(requests_to(sandbox)) == case.requests
    assert_waits_were_honoured(sandbox, case)
    assert_hung_up(sandbox, case)


# --- (c) a deferrable sensor --------------------------------------------------------------


@pytest.mark.parametrize("case", cells(CASES))
def test_deferrable_sensor(case, sandbox, account, connect, run_dag, capfd):
    sandbox.add_fault(first_check_sees_deploying(account))
    inject(case, sandbox, account, connect)
    timeout = 1.0 if case.sensor == "timeout" else 60
    result = run_dag(
        f"""
        LoopringNftDeploymentSensor(
            task_id="sensor", account_id={account.account_id}, deferrable=True,
            poke_interval=0.05, timeout={timeout},
        )
        """,
        header=IMPORTS,
    )
    logged = capfd.readouterr().out
    assert KEY not in logged
    first, by_trigger = requests_to(sandbox)[:FIRST_CHECK], requests_to(sandbox)[FIRST_CHECK:]
    assert [record.fault for record in first] == ["transform"] * FIRST_CHECK
    if case.sensor == "success":
        assert result.task_states == {"sensor": "success"}
        assert_served(result.xcom("sensor"), as_watched(case.served(account)), case)
        checks = case.sensor_checks - 1
        assert len(by_trigger) == case.requests + checks * FIRST_CHECK
    else:
        assert result.task_states == {"sensor": "failed"}
        assert_names_the_problem(logged, case, account)
        if case.sensor == "failure":
            assert len(by_trigger) == case.requests
        else:  # polled until the deadline, each check within the retry bound
            assert "Sensor has timed out" in logged
            assert by_trigger and len(by_trigger) % case.requests == 0
    if case.sensor_says:
        assert logged.count(case.sensor_says) == 1
    assert_waits_were_honoured(sandbox, case)


# --- stopping a request in flight (an operator's on_kill) --------------------------------


def test_close_stops_a_request_in_flight(sandbox, account, connect):
    """A worker mid-request stops at once when its hook is closed, well before the deadline."""
    connect(timeout=600)
    sandbox.add_fault(Fault("drip", path=BALANCES, seconds=0.05, times=None))
    hook = LoopringHook(backoff=FAST)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            hook.get_nft_balances(account_id=account.account_id)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=read)
    worker.start()
    assert sandbox.wait_for_requests(lambda records: len(records) == 1)  # the body is dripping
    hook.close()
    worker.join(timeout=30)
    assert not worker.is_alive()
    (error,) = outcome
    assert isinstance(error, LoopringApiError) and not error.retryable
    assert "stopped: the hook was closed" in str(error)
    assert len(requests_to(sandbox)) == 1  # not retried
    assert sandbox.wait_for_requests(lambda records: records[0].cut)
