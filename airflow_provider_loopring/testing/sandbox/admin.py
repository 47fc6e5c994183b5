"""The `/_sandbox/` control API, for scripting a sandbox that runs in another process.

Not recorded in the request log and never subject to faults, latency or the rate limit.
Unauthenticated: the sandbox listens on localhost and holds only made-up data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from airflow_provider_loopring.testing.sandbox.controls import SandboxControls
from airflow_provider_loopring.testing.sandbox.faults import Fault
from airflow_provider_loopring.testing.sandbox.wire import Request, Response, json_response

Route = Callable[[SandboxControls, dict[str, str], Any], Any]


def handle(sandbox: SandboxControls, request: Request) -> Response:
    """Run one admin request; a bad one gets 400 `{"error": "..."}`.

    :param sandbox: the sandbox to read or change.
    :param request: the request, its path under ``/_sandbox/``; its body, if any, JSON.
    """
    route = ROUTES.get((request.method, request.path))
    if route is None:
        known = any(path == request.path for _, path in ROUTES)
        status = 405 if known else 404
        return json_response(status, {"error": f"no admin route {request.method} {request.path}"})
    try:
        payload = json.loads(request.body) if request.body.strip() else {}
        return json_response(200, route(sandbox, request.query, payload))
    except (ValueError, KeyError, TypeError) as exc:
        return json_response(400, {"error": f"{type(exc).__name__}: {exc}"})


def _info(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    return {
        "url": sandbox.url,
        "apiKey": sandbox.api_key,
        "latency": sandbox.latency,
        "rateLimit": sandbox.rate_limit,
    }


def _accounts(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    return {"accounts": sandbox.accounts}


def _non_zero(query: dict[str, str], default: bool) -> bool:
    return query.get("nonZero", str(default)).lower() == "true"


def _balances(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    account_id = int(query["accountId"])
    metadata = query.get("metadata", "true").lower() == "true"
    return {"balances": sandbox.balances(account_id, _non_zero(query, False), metadata)}


def _collections(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    account_id = int(query["accountId"])
    return {"collections": sandbox.collections(account_id, _non_zero(query, True))}


def _requests(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    return {"requests": [record.to_dict() for record in sandbox.requests]}


def _clear_requests(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    sandbox.clear_requests()
    return {"ok": True}


def _faults(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    return {"faults": [fault.to_dict() for fault in sandbox.faults]}


def _add_faults(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    """Body: one fault object, or a list of them (no "transform": it cannot travel)."""
    faults = [
        Fault.from_dict(item) for item in (payload if isinstance(payload, list) else [payload])
    ]
    for fault in faults:
        sandbox.add_fault(fault)
    return {"added": len(faults)}


def _clear_faults(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    sandbox.clear_faults()
    return {"ok": True}


def _status(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    """Body: {"nftData"|"collectionId": .., "status": ..} or {.., "statuses": [..], "every": n}."""
    if "statuses" in payload:
        every = int(payload.get("every", 1))
        if "nftData" in payload:
            sandbox.schedule_nft_status(payload["nftData"], payload["statuses"], every)
        else:
            sandbox.schedule_collection_status(
                int(payload["collectionId"]), payload["statuses"], every
            )
    elif "nftData" in payload:
        sandbox.set_nft_status(payload["nftData"], payload["status"])
    else:
        sandbox.set_collection_status(int(payload["collectionId"]), payload["status"])
    return {"ok": True}


def _balance(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    """Body: {"accountId": .., "nftData": .., "total": "<decimal string>"}."""
    sandbox.set_balance(int(payload["accountId"]), payload["nftData"], payload["total"])
    return {"ok": True}


def _ledger(name: str) -> Route:
    """A route calling the sandbox's ledger mutation ``name`` with the body's arguments."""

    def route(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
        if not isinstance(payload, dict):
            raise TypeError("the body must be a JSON object of the method's arguments")
        return {"transaction": getattr(sandbox, name)(**payload)}

    return route


def _seal(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    return {"blockId": sandbox.seal_block()}


def _simulate_day(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    """Body: {"change_rate": 0.01, "seed": null} (both optional)."""
    return sandbox.simulate_day(**payload)


def _locked(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    """Body: {"account_id": .., "nft_data": .., "amount": "<decimal string>"}."""
    sandbox.set_locked(**payload)
    return {"ok": True}


def _pending(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    """Body: {"account_id": .., "nft_data": .., "withdraw"?: "..", "deposit"?: ".."}."""
    sandbox.set_pending(**payload)
    return {"ok": True}


def _quirks(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    """Body: {"quirks": [names]}; GET: the quirks on."""
    if payload:
        sandbox.set_quirks(payload["quirks"])
    return {"quirks": sandbox.quirks}


def _settings(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    """Body: {"latency": seconds} and/or {"rateLimit": requests per second or null}."""
    if "latency" in payload:
        sandbox.set_latency(float(payload["latency"]))
    if "rateLimit" in payload:
        rate = payload["rateLimit"]
        sandbox.set_rate_limit(None if rate is None else float(rate))
    return {"latency": sandbox.latency, "rateLimit": sandbox.rate_limit}


def _reset(sandbox: SandboxControls, query: dict[str, str], payload: Any) -> Any:
    sandbox.reset()
    return {"ok": True}


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/_sandbox/info"): _info,
    ("GET", "/_sandbox/accounts"): _accounts,
    ("GET", "/_sandbox/balances"): _balances,
    ("GET", "/_sandbox/collections"): _collections,
    ("GET", "/_sandbox/requests"): _requests,
    ("DELETE", "/_sandbox/requests"): _clear_requests,
    ("GET", "/_sandbox/faults"): _faults,
    ("POST", "/_sandbox/faults"): _add_faults,
    ("DELETE", "/_sandbox/faults"): _clear_faults,
    ("POST", "/_sandbox/status"): _status,
    ("POST", "/_sandbox/balance"): _balance,
    ("POST", "/_sandbox/settings"): _settings,
    ("POST", "/_sandbox/reset"): _reset,
    # The ledger: bodies are the methods' keyword arguments (account_id, nft_data, ...).
    ("POST", "/_sandbox/mint"): _ledger("mint"),
    ("POST", "/_sandbox/transfer"): _ledger("transfer"),
    ("POST", "/_sandbox/trade"): _ledger("trade"),
    ("POST", "/_sandbox/withdraw"): _ledger("withdraw"),
    ("POST", "/_sandbox/deposit"): _ledger("deposit"),
    ("POST", "/_sandbox/seal"): _seal,
    ("POST", "/_sandbox/simulate_day"): _simulate_day,
    ("POST", "/_sandbox/locked"): _locked,
    ("POST", "/_sandbox/pending"): _pending,
    ("GET", "/_sandbox/quirks"): _quirks,
    ("POST", "/_sandbox/quirks"): _quirks,
}
