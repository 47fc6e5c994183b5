"""`SandboxClient`: script a sandbox running in another process through its `/_sandbox/` API.

It mirrors `LoopringSandbox`'s control methods, so a test can be written against either.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from airflow_provider_loopring.testing.sandbox import Fault, RequestRecord


class SandboxError(Exception):
    """The sandbox refused an admin request (bad arguments, unknown id, ...)."""


class SandboxClient:
    """Control a running sandbox at `url` ("http://127.0.0.1:PORT")."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        # The sandbox is local: a proxy configured for the internet must not be used for it.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(
        self, method: str, route: str, payload: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        url = f"{self.url}/_sandbox/{route}"
        if query:
            url += "?" + urlencode(query)
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise SandboxError(f"{method} /_sandbox/{route}: HTTP {exc.code}: {detail}") from None

    def info(self) -> dict[str, Any]:
        """{"url", "apiKey", "latency", "rateLimit"}."""
        return dict(self._call("GET", "info"))

    @property
    def api_key(self) -> str:
        return str(self.info()["apiKey"])

    @property
    def accounts(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "accounts")["accounts"])

    def balances(
        self, account_id: int, non_zero: bool = False, metadata: bool = True
    ) -> list[dict[str, Any]]:
        query = {
            "accountId": account_id,
            "nonZero": str(non_zero).lower(),
            "metadata": str(metadata).lower(),
        }
        return list(self._call("GET", "balances", query=query)["balances"])

    def collections(self, account_id: int, non_zero: bool = True) -> list[dict[str, Any]]:
        query = {"accountId": account_id, "nonZero": str(non_zero).lower()}
        return list(self._call("GET", "collections", query=query)["collections"])

    def set_nft_status(self, nft_data: str, status: str) -> None:
        self._call("POST", "status", {"nftData": nft_data, "status": status})

    def set_collection_status(self, collection_id: int, status: str) -> None:
        self._call("POST", "status", {"collectionId": collection_id, "status": status})

    def set_nft_total(self, account_id: int, nft_data: str, total: str) -> None:
        payload = {"accountId": account_id, "nftData": nft_data, "total": total}
        self._call("POST", "total", payload)

    def schedule_nft_status(self, nft_data: str, statuses: list[str], every: int = 1) -> None:
        self._call("POST", "status", {"nftData": nft_data, "statuses": statuses, "every": every})

    def schedule_collection_status(
        self, collection_id: int, statuses: list[str], every: int = 1
    ) -> None:
        payload = {"collectionId": collection_id, "statuses": statuses, "every": every}
        self._call("POST", "status", payload)

    def add_fault(self, fault: Fault | dict[str, Any]) -> None:
        """Add a fault; a "transform" fault cannot be sent to another process."""
        if isinstance(fault, Fault):
            if fault.transform is not None:
                raise ValueError("transform faults work in-process only")
            fault = fault.to_dict()
        self._call("POST", "faults", fault)

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    @property
    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "faults")["faults"])

    def set_latency(self, seconds: float) -> None:
        self._call("POST", "settings", {"latency": seconds})

    def set_rate_limit(self, requests_per_second: float | None) -> None:
        self._call("POST", "settings", {"rateLimit": requests_per_second})

    @property
    def requests(self) -> list[RequestRecord]:
        records = self._call("GET", "requests")["requests"]
        return [RequestRecord.from_dict(record) for record in records]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def reset(self) -> None:
        self._call("POST", "reset")
