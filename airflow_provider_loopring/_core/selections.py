"""What a deployment wait selects: the NFTs or collections of an account, and their statuses.

A selection is plain data (it travels to the triggerer as JSON): the endpoint that lists what
it selects (``endpoint``) and the arguments (``query()``), which the I/O layer passes to the
hook (``hooks.selections.fetch`` / ``afetch``); then ``watched()`` picks, from what came back,
what the wait is about. Whether the wait is over is :mod:`.verdicts`'. No I/O, no Airflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from airflow_provider_loopring._core.endpoints import COLLECTION_BALANCES, NFT_BALANCES, Endpoint
from airflow_provider_loopring._core.validation import (
    check_address,
    check_collection_id,
    check_filter,
    check_list,
    check_nft_data,
    check_selector,
)
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.models import (
    CollectionBalance,
    DeploymentStatus,
    NftBalance,
    same_address,
)

_VALID = ", ".join(status.value for status in DeploymentStatus)
_SHOWN_IN_MESSAGES = 5  # a wait on a whole account names a few items, not hundreds


# --- statuses -----------------------------------------------------------------------------


def _check_status(value: object, name: str) -> str:
    try:
        return DeploymentStatus.parse(value).value  # type: ignore[arg-type]  # it checks str
    except ValueError:
        raise LoopringInvalidParameterError(
            name, f"deployment statuses from {_VALID}", value
        ) from None


def check_statuses(value: object, name: str) -> tuple[str, ...]:
    """Statuses from a list, tuple or comma-separated string, each a :class:`DeploymentStatus`."""
    checked = check_list(value, name, _check_status) or []
    return tuple(dict.fromkeys(checked))


def check_status_sets(targets: object, failures: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The statuses that end a wait: at least one target, none of them also a failure.

    :param targets: the target statuses: a list, tuple or comma-separated string.
    :param failures: the failure statuses, in the same forms; None or empty for none.
    :return: the targets and the failures, each checked and without repeats.
    :raises LoopringInvalidParameterError: on an unknown status, no target, or one in both.
    """
    wanted = check_statuses(targets, "target_statuses")
    if not wanted:
        raise LoopringInvalidParameterError(
            "target_statuses", f"at least one status from {_VALID}", targets
        )
    failing = check_statuses(failures, "failure_statuses")
    both = sorted(set(wanted) & set(failing))
    if both:
        raise LoopringInvalidParameterError(
            "target_statuses/failure_statuses", "no status in both", both
        )
    return wanted, failing


# --- what is watched ----------------------------------------------------------------------


@dataclass(frozen=True)
class Watched:
    """One NFT or collection as last fetched.

    :param key: what statuses are remembered by between checks (nftData, collection id).
    :param label: how logs and errors name it.
    :param status: Loopring's status string; None when the record had none.
    :param known: whether ``status`` is a :class:`DeploymentStatus` (not new, not missing).
    :param record: what the sensor returns for it (API field names).
    """

    key: str
    label: str
    status: str | None
    known: bool
    record: dict[str, Any]


def _status_of(value: DeploymentStatus | str | None) -> tuple[str | None, bool]:
    """The status as a string, and whether it is one we know (not a new value, not missing)."""
    if isinstance(value, DeploymentStatus):
        return value.value, True
    return value, False


def _holder(account_id: int | None, address: str | None) -> str:
    return f"account {account_id}" if account_id is not None else f"address {address}"


@dataclass(frozen=True)
class NftSelection:
    """The NFTs of one account to wait on: all it holds, or those matching the filters.

    :param nft_datas: only these NFTs (lowercase); each must be held before the wait can end.
    :param token_addrs: only NFTs of these token contracts (lowercase).
    """

    kind: ClassVar[str] = "nft"
    endpoint: ClassVar[Endpoint] = NFT_BALANCES
    account_id: int | None = None
    address: str | None = None
    nft_datas: tuple[str, ...] = ()
    token_addrs: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        account_id: object = None,
        address: object = None,
        nft_datas: object = None,
        token_addrs: object = None,
    ) -> NftSelection:
        """Validate with the API's own rules; raises LoopringInvalidParameterError."""
        account, owner = check_selector(account_id, address)
        datas = check_filter(nft_datas, "nft_datas", check_nft_data) or []
        tokens = check_filter(token_addrs, "token_addrs", check_address) or []
        return cls(account, owner, _unique_lower(datas), _unique_lower(tokens))

    @property
    def holder(self) -> str:
        return _holder(self.account_id, self.address)

    def query(self) -> dict[str, Any]:
        """The arguments of :attr:`endpoint` (``LoopringHook.iterate(self.endpoint, **query)``)."""
        return {
            "account_id": self.account_id,
            "address": self.address,
            "nft_datas": list(self.nft_datas) or None,
            "token_addrs": list(self.token_addrs) or None,
        }

    def watched(self, fetched: Iterable[NftBalance]) -> list[Watched]:
        # Filtered here too: the verdict must not depend on the API honouring every filter.
        found = []
        for balance in fetched:
            data = (balance.nft_data or "").lower()
            token = (balance.token_address or "").lower()
            if (self.nft_datas and data not in self.nft_datas) or (
                self.token_addrs and token not in self.token_addrs
            ):
                continue
            status, known = _status_of(balance.deployment_status)
            record = {
                "nftData": balance.nft_data,
                "tokenAddress": balance.token_address,
                "deploymentStatus": status,
            }
            found.append(Watched(data, f"NFT {balance.nft_data}", status, known, record))
        return found

    def missing(self, watched: Sequence[Watched]) -> list[str]:
        """Named NFTs the account does not hold (yet)."""
        held = {item.key for item in watched}
        return [data for data in self.nft_datas if data not in held]

    def describe(self) -> str:
        filters = []
        if self.nft_datas:
            filters.append(f"nftData in [{few(self.nft_datas)}]")
        if self.token_addrs:
            filters.append(f"tokenAddress in [{few(self.token_addrs)}]")
        where = f" with {' and '.join(filters)}" if filters else ""
        return f"NFTs of {self.holder}{where}"

    def returned(self, records: list[dict[str, Any]]) -> Any:
        """What the sensor returns (its XCom): every awaited NFT."""
        return records

    def to_dict(self) -> dict[str, Any]:
        """JSON primitives, for the trigger's kwargs."""
        return {"kind": self.kind, **_lists(asdict(self))}


@dataclass(frozen=True)
class CollectionSelection:
    """One collection of one account, by id or by contract address (exactly one of them)."""

    kind: ClassVar[str] = "collection"
    endpoint: ClassVar[Endpoint] = COLLECTION_BALANCES
    account_id: int | None = None
    address: str | None = None
    collection_id: int | None = None
    contract_address: str | None = None

    @classmethod
    def build(
        cls,
        *,
        account_id: object = None,
        address: object = None,
        collection_id: object = None,
        contract_address: object = None,
        every: bool = False,
    ) -> CollectionSelection:
        """Validate with the API's own rules; raises LoopringInvalidParameterError.

        :param every: with neither id nor contract address, select every collection of the
            account (what an event trigger may watch; a sensor waits on one collection).
        """
        account, owner = check_selector(account_id, address)
        if every and collection_id is None and contract_address is None:
            return cls(account, owner, None, None)
        if (collection_id is None) == (contract_address is None):
            raise LoopringInvalidParameterError(
                "collection_id/contract_address",
                "exactly one of collection_id and contract_address",
                (collection_id, contract_address),
            )
        if contract_address is not None:
            contract = check_address(contract_address, "contract_address").lower()
            return cls(account, owner, None, contract)
        return cls(account, owner, check_collection_id(collection_id), None)

    @property
    def holder(self) -> str:
        return _holder(self.account_id, self.address)

    def query(self) -> dict[str, Any]:
        """The arguments of :attr:`endpoint` (``LoopringHook.iterate(self.endpoint, **query)``).

        ``non_zero=False``: a collection may be deploying before the account holds any of it.
        """
        return {
            "account_id": self.account_id,
            "address": self.address,
            "token_address": self.contract_address,
            "non_zero": False,
        }

    def watched(self, fetched: Iterable[CollectionBalance]) -> list[Watched]:
        found = []
        for held in fetched:
            collection = held.collection
            if self.collection_id is not None and collection.id != self.collection_id:
                continue
            if self.contract_address and not same_address(
                collection.contract_address, self.contract_address
            ):
                continue
            status, known = _status_of(collection.deploy_status)
            label = f"collection {collection.id} ({collection.contract_address})"
            found.append(Watched(str(collection.id), label, status, known, collection.to_dict()))
        return found

    def missing(self, watched: Sequence[Watched]) -> list[str]:
        return []

    @property
    def selects_one(self) -> bool:
        """Whether one collection is selected (by id or contract), not every one."""
        return self.collection_id is not None or self.contract_address is not None

    def describe(self) -> str:
        if self.collection_id is not None:
            return f"collection {self.collection_id} of {self.holder}"
        if self.contract_address is None:
            return f"every collection of {self.holder}"
        return f"the collection of contract {self.contract_address} of {self.holder}"

    def returned(self, records: list[dict[str, Any]]) -> Any:
        """What the sensor returns (its XCom): the collection record."""
        return records[0] if records else None

    def to_dict(self) -> dict[str, Any]:
        """JSON primitives, for the trigger's kwargs."""
        return {"kind": self.kind, **asdict(self)}


Selection = NftSelection | CollectionSelection


SELECTIONS: dict[str, type[NftSelection] | type[CollectionSelection]] = {
    NftSelection.kind: NftSelection,
    CollectionSelection.kind: CollectionSelection,
}


def selection_from_dict(data: Mapping[str, Any]) -> Selection:
    """The inverse of ``to_dict``, validated again (kwargs may come from an older release).

    :param data: a selection's ``to_dict()``: its ``kind`` ("nft" or "collection") and fields.
    :raises LoopringInvalidParameterError: on an unknown kind or an invalid field.
    """
    fields = dict(data)
    kind = fields.pop("kind", None)
    if kind not in SELECTIONS:
        raise LoopringInvalidParameterError("selection kind", '"nft" or "collection"', kind)
    return SELECTIONS[kind].build(**fields)


def _unique_lower(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value.lower() for value in values))


def _lists(fields: dict[str, Any]) -> dict[str, Any]:
    """Tuples as lists; an empty filter as None, which is how build() reads "no filter"."""
    return {k: (list(v) or None) if isinstance(v, tuple) else v for k, v in fields.items()}


def few(values: Sequence[str], sep: str = ", ") -> str:
    """The first few values, and how many more there are."""
    shown = sep.join(values[:_SHOWN_IN_MESSAGES])
    hidden = len(values) - _SHOWN_IN_MESSAGES
    return f"{shown} and {hidden} more" if hidden > 0 else shown
