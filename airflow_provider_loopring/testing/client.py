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
    """Control a running sandbox at `url` ("http://127.0.0.1:PORT").

    Each method is :class:`LoopringSandbox`'s of the same name, through the ``/_sandbox/``
    API; a refused call raises :class:`SandboxError`.

    :param url: the sandbox's base URL (its ``url``).
    :param timeout: seconds to wait for each answer.
    """

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
        """The key the sandbox's API accepts."""
        return str(self.info()["apiKey"])

    @property
    def accounts(self) -> list[dict[str, Any]]:
        """Every account, as GET /api/v3/account returns it."""
        return list(self._call("GET", "accounts")["accounts"])

    def balances(
        self, account_id: int, non_zero: bool = False, metadata: bool = True
    ) -> list[dict[str, Any]]:
        """Every NFT balance of the account, in API order.

        :param account_id: the account.
        :param non_zero: drop zero balances, as the API's ``nonZero`` does.
        :param metadata: keep each balance's ``metadata`` key, as the API's ``metadata`` does.
        """
        query = {
            "accountId": account_id,
            "nonZero": str(non_zero).lower(),
            "metadata": str(metadata).lower(),
        }
        return list(self._call("GET", "balances", query=query)["balances"])

    def collections(self, account_id: int, non_zero: bool = True) -> list[dict[str, Any]]:
        """``[{"collection": {...}, "count": n}]`` as /user/collection/details lists them.

        :param account_id: the account.
        :param non_zero: leave out collections the account holds nothing of, as ``nonZero``.
        """
        query = {"accountId": account_id, "nonZero": str(non_zero).lower()}
        return list(self._call("GET", "collections", query=query)["collections"])

    def set_balance(self, account_id: int, nft_data: str, total: str) -> None:
        """Set what an account holds of an NFT ("0" removes it; a new NFT is minted into it).

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``.
        :param total: the amount, a decimal string.
        """
        payload = {"accountId": account_id, "nftData": nft_data, "total": total}
        self._call("POST", "balance", payload)

    def _transaction(self, route: str, **arguments: Any) -> dict[str, Any]:
        return dict(self._call("POST", route, arguments)["transaction"])

    def mint(
        self, account_id: int, amount: str = "1", collection_id: int | None = None
    ) -> dict[str, Any]:
        """Mint a new NFT into the account; the NftMint (``nftToken.nftData``: the NFT).

        :param account_id: the minter, who receives it.
        :param amount: how many, a decimal string.
        :param collection_id: its collection; None: the account's first.
        """
        return self._transaction(
            "mint", account_id=account_id, amount=amount, collection_id=collection_id
        )

    def transfer(
        self, from_account_id: int, to_account_id: int | str, nft_data: str, amount: str = "1"
    ) -> dict[str, Any]:
        """Transfer an NFT (to an address with no account: opening one); the Transfer.

        :param from_account_id: the sender.
        :param to_account_id: the receiver's account id, or an address.
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        """
        return self._transaction(
            "transfer",
            from_account_id=from_account_id,
            to_account_id=to_account_id,
            nft_data=nft_data,
            amount=amount,
        )

    def trade(
        self,
        seller_account_id: int,
        buyer_account_id: int,
        nft_data: str,
        amount: str = "1",
        price: str = "0.01",
    ) -> dict[str, Any]:
        """Sell an NFT for ``price`` ETH; the SpotTrade.

        :param seller_account_id: the seller.
        :param buyer_account_id: the buyer.
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        :param price: the price in ETH, a decimal string.
        """
        return self._transaction(
            "trade",
            seller_account_id=seller_account_id,
            buyer_account_id=buyer_account_id,
            nft_data=nft_data,
            amount=amount,
            price=price,
        )

    def withdraw(self, account_id: int, nft_data: str, amount: str = "1") -> dict[str, Any]:
        """Withdraw an NFT to L1; the Withdraw.

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        """
        return self._transaction(
            "withdraw", account_id=account_id, nft_data=nft_data, amount=amount
        )

    def deposit(self, account_id: int, nft_data: str, amount: str = "1") -> dict[str, Any]:
        """Deposit an NFT from L1; the Deposit.

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        """
        return self._transaction("deposit", account_id=account_id, nft_data=nft_data, amount=amount)

    def seal_block(self) -> int:
        """Seal the pending transactions into a block; its id."""
        return int(self._call("POST", "seal")["blockId"])

    def simulate_day(self, change_rate: float = 0.01, seed: int | None = None) -> dict[str, Any]:
        """A day of random activity, sealed: ``{"transactions", "blockIds", "accounts"}``.

        :param change_rate: the share of accounts to touch.
        :param seed: the seed of the day's choices; None: a new one.
        """
        return dict(self._call("POST", "simulate_day", {"change_rate": change_rate, "seed": seed}))

    def set_locked(self, account_id: int, nft_data: str, amount: str) -> None:
        """Set how much of an account's NFT is locked.

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``.
        :param amount: a decimal string.
        """
        payload = {"account_id": account_id, "nft_data": nft_data, "amount": amount}
        self._call("POST", "locked", payload)

    def set_pending(
        self,
        account_id: int,
        nft_data: str,
        withdraw: str | None = None,
        deposit: str | None = None,
    ) -> None:
        """Set an account's NFT's pending withdrawal and/or deposit.

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``.
        :param withdraw: the pending withdrawal; None leaves it.
        :param deposit: the pending deposit; None leaves it.
        """
        payload = {"account_id": account_id, "nft_data": nft_data}
        payload.update({k: v for k, v in (("withdraw", withdraw), ("deposit", deposit)) if v})
        self._call("POST", "pending", payload)

    @property
    def quirks(self) -> list[str]:
        """The quirks on (see :meth:`LoopringSandbox.set_quirks`)."""
        return list(self._call("GET", "quirks")["quirks"])

    def set_quirks(self, quirks: list[str]) -> None:
        """Answer with these readings of the API where the sources disagree.

        :param quirks: the quirk names; empty: as the docs show.
        """
        self._call("POST", "quirks", {"quirks": list(quirks)})

    def set_nft_status(self, nft_data: str, status: str) -> None:
        """Set the ``deploymentStatus`` of every balance of this NFT.

        :param nft_data: the NFT's ``nftData``.
        :param status: the status, as Loopring spells it (``DEPLOYED``, ...); any string.
        """
        self._call("POST", "status", {"nftData": nft_data, "status": status})

    def set_collection_status(self, collection_id: int, status: str) -> None:
        """Set a collection's ``deployStatus`` and its NFTs' ``deploymentStatus``.

        :param collection_id: the collection's id.
        :param status: the status, as Loopring spells it (``DEPLOYED``, ...); any string.
        """
        self._call("POST", "status", {"collectionId": collection_id, "status": status})

    def schedule_nft_status(self, nft_data: str, statuses: list[str], every: int = 1) -> None:
        """Show ``statuses[0]`` now, the next one after every ``every`` responses with the NFT.

        :param nft_data: the NFT's ``nftData``.
        :param statuses: the statuses in the order to show them; the last one stays.
        :param every: how many responses show each status before the next.
        """
        self._call("POST", "status", {"nftData": nft_data, "statuses": statuses, "every": every})

    def schedule_collection_status(
        self, collection_id: int, statuses: list[str], every: int = 1
    ) -> None:
        """As :meth:`schedule_nft_status`, for a collection and its NFTs.

        :param collection_id: the collection's id.
        :param statuses: the statuses in the order to show them; the last one stays.
        :param every: how many responses show each status before the next.
        """
        payload = {"collectionId": collection_id, "statuses": statuses, "every": every}
        self._call("POST", "status", payload)

    def add_fault(self, fault: Fault | dict[str, Any]) -> None:
        """Add a fault; a "transform" fault cannot be sent to another process.

        :param fault: a :class:`Fault`, or its fields as a dict (:meth:`Fault.to_dict`).
        :raises ValueError: a "transform" fault.
        """
        if isinstance(fault, Fault):
            if fault.transform is not None:
                raise ValueError("transform faults work in-process only")
            fault = fault.to_dict()
        self._call("POST", "faults", fault)

    def clear_faults(self) -> None:
        """Drop every fault not used up yet."""
        self._call("DELETE", "faults")

    @property
    def faults(self) -> list[dict[str, Any]]:
        """Faults not used up yet, in order, as :meth:`Fault.to_dict` gives them."""
        return list(self._call("GET", "faults")["faults"])

    def set_latency(self, seconds: float) -> None:
        """Delay every API response by ``seconds``.

        :param seconds: the delay, 0 or more.
        """
        self._call("POST", "settings", {"latency": seconds})

    def set_rate_limit(self, requests_per_second: float | None) -> None:
        """Answer 429 above this many API requests per second; None: no limit.

        :param requests_per_second: the limit, a positive number, or None.
        """
        self._call("POST", "settings", {"rateLimit": requests_per_second})

    @property
    def requests(self) -> list[RequestRecord]:
        """API requests in the order they were read (see :class:`RequestRecord`)."""
        records = self._call("GET", "requests")["requests"]
        return [RequestRecord.from_dict(record) for record in records]

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._call("DELETE", "requests")

    def reset(self) -> None:
        """Back to the state after the sandbox was made: fresh data, no faults, empty log."""
        self._call("POST", "reset")
