"""What a deployment wait selects, and whether it is over: shared by the sensors and the trigger.

The sensor's ``poke`` and the trigger's loop both fetch through the selection (which picks the
hook method, sync or async) and hand the records to :func:`judge`, then :func:`log_verdict`: the
three modes cannot disagree on success, failure, what is returned or what is logged. No IO of
its own, no Airflow; the trigger's event schema lives here too, so the side that writes events
and the side that reads them share one definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

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

if TYPE_CHECKING:
    from airflow_provider_loopring.hooks.loopring import LoopringHook

DONE, FAILED, WAITING = "done", "failed", "waiting"
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

    def fetch(self, hook: LoopringHook) -> list[NftBalance]:
        """Every selected NFT, with the hook's sync transport (poke and reschedule mode)."""
        return list(hook.iter_nft_balances(**self.query()))

    async def afetch(self, hook: LoopringHook) -> list[Any]:
        """The same with the async transport (the trigger)."""
        return [item async for item in hook.aiter_nft_balances(**self.query())]

    def query(self) -> dict[str, Any]:
        """Arguments for ``LoopringHook.iter_nft_balances`` / ``aiter_nft_balances``."""
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
            filters.append(f"nftData in [{_few(self.nft_datas)}]")
        if self.token_addrs:
            filters.append(f"tokenAddress in [{_few(self.token_addrs)}]")
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

    def fetch(self, hook: LoopringHook) -> list[CollectionBalance]:
        """The account's collections, with the hook's sync transport (poke and reschedule)."""
        return list(hook.iter_collections(**self.query()))

    async def afetch(self, hook: LoopringHook) -> list[Any]:
        """The same with the async transport (the trigger)."""
        return [item async for item in hook.aiter_collections(**self.query())]

    def query(self) -> dict[str, Any]:
        """Arguments for ``LoopringHook.iter_collections`` / ``aiter_collections``.

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


def _few(values: Sequence[str], sep: str = ", ") -> str:
    """The first few values, and how many more there are."""
    shown = sep.join(values[:_SHOWN_IN_MESSAGES])
    hidden = len(values) - _SHOWN_IN_MESSAGES
    return f"{shown} and {hidden} more" if hidden > 0 else shown


# --- the verdict --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check.

    :param state: DONE, FAILED or WAITING.
    :param message: what to tell the user, naming what is awaited or what failed.
    :param records: on DONE what was awaited; on FAILED what is in a failure status.
    :param statuses: key -> status seen now; pass it as ``last_seen`` to the next check.
    :param transitions: changes since ``last_seen``, as log lines ("NFT 0x.. A -> B").
    :param warnings: statuses we do not know, each reported once when first seen.
    :param watched: what the check saw, for :func:`entered`.
    """

    state: str
    message: str
    records: list[dict[str, Any]]
    statuses: dict[str, str | None]
    transitions: list[str]
    warnings: list[str]
    watched: tuple[Watched, ...] = ()


class _Log(Protocol):
    def info(self, msg: Any, /, *args: Any) -> Any: ...
    def warning(self, msg: Any, /, *args: Any) -> Any: ...


def log_verdict(log: _Log, verdict: Verdict) -> None:
    """What every mode logs of a check: the transitions seen, warnings, where the wait is.

    :param log: the task's or the trigger's logger.
    :param verdict: the check to log.
    """
    for line in verdict.transitions:
        log.info("%s", line)
    for line in verdict.warnings:
        log.warning("%s", line)
    log.info("%s", verdict.message)


def judge(
    selection: Selection,
    fetched: Iterable[Any],
    targets: Sequence[str],
    failures: Sequence[str],
    last_seen: Mapping[str, str | None],
) -> Verdict:
    """Decide a check: any failure status fails it; all selected in a target status ends it.

    A status Loopring sends that we do not know never ends the wait either way.

    :param selection: the NFTs or the collection waited on.
    :param fetched: what the hook returned for ``selection.query()``.
    :param targets: the statuses that end the wait, from :func:`check_status_sets`.
    :param failures: the statuses that fail it, from :func:`check_status_sets`.
    :param last_seen: ``statuses`` of the previous verdict (empty on the first check).
    """
    watched = selection.watched(fetched)
    statuses = {item.key: item.status for item in watched}
    transitions = [
        _move(item.label, last_seen[item.key], item.status)
        for item in watched
        if item.key in last_seen and last_seen[item.key] != item.status
    ]
    warnings = [
        f"{item.label} has a deployment status this provider does not know: "
        f"{_shown(item.status)}; it counts as neither done nor failed, still waiting."
        for item in watched
        if not item.known and (item.key not in last_seen or last_seen[item.key] != item.status)
    ]
    state, message, records = _decide(selection, watched, targets, failures)
    return Verdict(state, message, records, statuses, transitions, warnings, tuple(watched))


@dataclass(frozen=True)
class Transition:
    """One item that moved into a target status: what an event trigger fires on.

    :param before: the status last seen; None when the item was not seen before.
    """

    key: str
    label: str
    before: str | None
    after: str | None
    record: dict[str, Any]

    def line(self) -> str:
        """As the verdict's transitions say it ("collection 7 (0x..) DEPLOYING -> DEPLOYED")."""
        return _move(self.label, self.before, self.after)


def entered(
    verdict: Verdict, targets: Sequence[str], last_seen: Mapping[str, str | None]
) -> list[Transition]:
    """Every watched item now in a target status that was not in it at ``last_seen``.

    An item seen for the first time counts when it arrives in a target status (a collection
    made and deployed between two checks); one whose status stays the same never does.
    """
    return [
        Transition(item.key, item.label, last_seen.get(item.key), item.status, item.record)
        for item in verdict.watched
        if item.status in targets
        and (item.key not in last_seen or last_seen[item.key] != item.status)
    ]


def _decide(
    selection: Selection,
    watched: list[Watched],
    targets: Sequence[str],
    failures: Sequence[str],
) -> tuple[str, str, list[dict[str, Any]]]:
    if isinstance(selection, CollectionSelection) and selection.selects_one and len(watched) > 1:
        ids = ", ".join(item.key for item in watched)
        message = (
            f"{selection.describe()} is ambiguous: collections {ids} share that contract. "
            "Select the collection by collection_id instead."
        )
        return FAILED, message, []
    failed = [item for item in watched if item.status in failures]
    if failed:
        what = _few([f"{item.label} is {item.status}" for item in failed], sep="; ")
        message = (
            f"Deployment failed: {what}, a failure status ({', '.join(failures)}) "
            f"for {selection.describe()}. Not retrying: the deployment must be started again."
        )
        return FAILED, message, [item.record for item in failed]
    missing = selection.missing(watched)
    pending = [item for item in watched if item.status not in targets]
    if watched and not missing and not pending:
        if len(watched) == 1:
            message = f"{watched[0].label} of {selection.holder} is {watched[0].status}."
        else:
            message = f"All {len(watched)} {selection.describe()} are in {', '.join(targets)}."
        return DONE, message, [item.record for item in watched]
    return WAITING, _waiting_message(selection, watched, missing, pending, targets), []


def _waiting_message(
    selection: Selection,
    watched: list[Watched],
    missing: list[str],
    pending: list[Watched],
    targets: Sequence[str],
) -> str:
    wanted = " or ".join(targets)
    if not watched:
        return f"Nothing matches {selection.describe()} yet; waiting for it to appear."
    if len(watched) == 1 and not missing:
        item = watched[0]
        return (
            f"Waiting for {item.label} of {selection.holder} to be {wanted}; "
            f"it is {_shown(item.status)}."
        )
    counts: dict[str, int] = {}
    for item in pending:
        counts[_shown(item.status)] = counts.get(_shown(item.status), 0) + 1
    parts = [f"{n} {status}" for status, n in counts.items()]
    if missing:
        parts.append(f"{len(missing)} not held yet: {_few(missing)}")
    waiting_on = len(pending) + len(missing)
    total = len(watched) + len(missing)
    return (
        f"Waiting for {waiting_on} of {total} ({selection.describe()}) to be {wanted}: "
        f"{', '.join(parts)}."
    )


def _move(label: str, before: str | None, after: str | None) -> str:
    return f"{label} {_shown(before)} -> {_shown(after)}"


def _shown(status: str | None) -> str:
    return "no status" if status is None else status


# --- trigger events -----------------------------------------------------------------------

EVENT_STATUSES = ("success", "failure", "timeout", "error")


def event(
    status: str,
    message: str,
    records: list[dict[str, Any]] | None = None,
    transitions: list[str] | None = None,
    final: bool = False,
) -> dict[str, Any]:
    """A trigger event's payload: plain JSON, read back by :func:`check_event`.

    :param status: "success" (``records`` is what was awaited), "failure" (``records`` is what
        is in a failure status), "timeout" or "error" (a permanent API error).
    :param message: what to tell the user; the sensor raises or logs it.
    :param records: the NFT or collection records, as described for ``status``; None for none.
    :param transitions: every status change the trigger saw, in order.
    :param final: for "error": another try of the task would get the same answer (a rejected
        key, an unknown account, a misshaped response), so it fails without its retries.
    """
    return {
        "status": status,
        "message": message,
        "records": records or [],
        "transitions": transitions or [],
        "final": final,
    }


def check_event(payload: object) -> dict[str, Any]:
    """A trigger event, checked; raises ValueError saying what is wrong with it."""
    where = "The Loopring deployment trigger"
    if payload is None:
        raise ValueError(f"{where} sent no event; the task cannot tell how the wait ended.")
    if not isinstance(payload, dict):
        raise ValueError(f"{where} sent {type(payload).__name__} {payload!r:.80}, not an event.")
    if payload.get("status") not in EVENT_STATUSES:
        raise ValueError(
            f"{where} sent an event with status {payload.get('status')!r}; "
            f"expected one of {', '.join(EVENT_STATUSES)}."
        )
    kinds = {"message": str, "records": list, "transitions": list}
    for name, kind in kinds.items():
        if not isinstance(payload.get(name), kind):
            raise ValueError(
                f"{where} sent a {payload['status']!r} event without a valid {name!r} "
                f"(expected {kind.__name__}, got {payload.get(name)!r:.80})."
            )
    # Events of a trigger that ran before "final" existed (a wait deferred across an upgrade).
    return {**payload, "final": payload.get("final") is True}
