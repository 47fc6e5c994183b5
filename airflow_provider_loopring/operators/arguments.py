"""What an accounts operator is given, checked: its accounts and its other arguments.

An account is given as an id or an owner address; :func:`check_accounts` turns what a task was
given into :data:`AccountRef` pairs, which name the hook's keyword and its value. The other
checks here are those the operators share (counts, seconds, days, formats, choices);
the checks of the API's own parameters are in the core.

Imported at DAG parse time (each operator checks its arguments when the DAG file builds it):
only modules that parse has loaded already are imported at the top.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pendulum

from airflow_provider_loopring import _core as core
from airflow_provider_loopring._core.snapshot_day import SnapshotDayRefused, snapshot_day
from airflow_provider_loopring.exceptions import (
    LoopringInvalidParameterError,
    LoopringSnapshotDayError,
)
from airflow_provider_loopring.storage.formats import check_output_format

if TYPE_CHECKING:
    from airflow.sdk import Context

#: A record as Loopring sends it (a dict), with its account added where the API leaves it out.
Record = dict[str, Any]
#: An account as the hook takes it: ``("account_id", 10001)`` or ``("address", "0x...")``, the
#: keyword and its value. Not :class:`~airflow_provider_loopring.models.Account`, the API's model.
AccountRef = tuple[str, Any]
MISSING_ACCOUNT_CHOICES = ("fail", "skip")
MAX_ACCOUNT_ID = 2**32 - 1
#: Template fields every accounts operator has: which accounts...
ACCOUNT_FIELDS = ("account_id", "address", "accounts")
#: ...and where their records go.
STORAGE_FIELDS = ("output_path", "output_format", "account_cache_path", "snapshot_date")


def check_positive(value: object, name: str) -> int:
    """A positive integer (a bool is not one).

    :param value: the argument as given.
    :param name: the argument's name, for the error.
    :raises LoopringInvalidParameterError: anything else.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LoopringInvalidParameterError(name, "a positive integer", value)
    return value


def check_seconds(value: object, name: str) -> float:
    """A finite, non-negative number of seconds, as a float.

    :param value: the argument as given.
    :param name: the argument's name, for the error.
    :raises LoopringInvalidParameterError: anything else.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise LoopringInvalidParameterError(name, "a non-negative number of seconds", value)
    return float(value)


def check_format(value: object, rendered: bool) -> str:
    """An output format (``jsonl``, ``json``, ``parquet``); Parquet needs pyarrow in tasks.

    :param value: the argument as given.
    :param rendered: the task is running: also check pyarrow is installed (the DAG processor
        may lack what workers have).
    :raises LoopringInvalidParameterError: an unknown format, or Parquet without pyarrow.
    """
    checked = check_output_format(value)
    if checked == "parquet" and rendered:
        from airflow_provider_loopring.storage.parquet import require_pyarrow

        require_pyarrow()
    return checked


def check_day(value: object, name: str) -> str:
    """A day as "YYYY-MM-DD", exactly so written.

    :param value: the argument as given.
    :param name: the argument's name, for the error.
    :raises LoopringInvalidParameterError: anything else.
    """
    if isinstance(value, str):
        try:
            if datetime.date.fromisoformat(value).isoformat() == value:
                return value
        except ValueError:
            pass
    raise LoopringInvalidParameterError(name, "a day as YYYY-MM-DD", value)


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """One of ``choices``.

    :param value: the argument as given.
    :param name: the argument's name, for the error.
    :param choices: the values allowed.
    :raises LoopringInvalidParameterError: anything else.
    """
    if not isinstance(value, str) or value not in choices:
        raise LoopringInvalidParameterError(name, " or ".join(map(repr, choices)), value)
    return value


def check_account(value: object, name: str = "accounts") -> AccountRef:
    """One account: an account id (int or digits) or an owner address, as its pair.

    :param value: the account.
    :param name: the parameter named when it is neither.
    :raises LoopringInvalidParameterError: it is neither.
    """
    if isinstance(value, str) and value.strip().lower().startswith("0x"):
        return ("address", core.check_address(value, name))
    if isinstance(value, int) and value > MAX_ACCOUNT_ID:
        # Jinja's native mode reads "0x…" text as an int; account ids are 32-bit.
        return ("address", core.check_address(value, name))
    return ("account_id", core.check_account_id(value, name))


def check_accounts(
    account_id: object, address: object, accounts: object = None
) -> list[AccountRef]:
    """The accounts to fetch, each checked, duplicates dropped, in the order given.

    Give exactly one of the three, each a single value, a list or a comma-separated string.

    :param account_id: account ids.
    :param address: owner addresses (0x + 40 hex digits).
    :param accounts: account ids and owner addresses mixed.
    :return: ``("account_id", id)`` and ``("address", address)`` pairs.
    :raises LoopringInvalidParameterError: not exactly one given, none in it, or an invalid one.
    """
    if sum(value is not None for value in (account_id, address, accounts)) != 1:
        raise LoopringInvalidParameterError(
            "account_id/address",
            "exactly one of account_id, address and accounts",
            {"account_id": account_id, "address": address, "accounts": accounts},
        )
    values: list[AccountRef]
    if accounts is not None:
        name, value = "accounts", accounts
        values = [check_account(item) for item in core.check_list(accounts, name, _as_is) or []]
    else:
        name, value = ("account_id", account_id) if account_id is not None else ("address", address)
        check = core.check_account_id if account_id is not None else core.check_address
        values = [(name, item) for item in core.check_list(value, name, check) or []]
    if not values:
        raise LoopringInvalidParameterError(name, "at least one account", value)
    unique: dict[str, AccountRef] = {}
    for account in values:
        unique.setdefault(account_key(account), account)  # Loopring mixes addresses' case
    return list(unique.values())


def _as_is(value: object, name: str) -> object:
    return value


def account_key(account: AccountRef) -> str:
    """An account's name in checkpoints and logs: ``account_id:11329``, ``address:0xab..``.

    :param account: an ``("account_id", id)`` or ``("address", address)`` pair; the address
        is lowercased, as Loopring mixes its case.
    """
    return f"{account[0]}:{str(account[1]).lower()}"


def label(account: AccountRef) -> str:
    """An account in a log line: ``account 11329``, ``account 0xAb...``; or an NFT.

    :param account: an ``("account_id", id)`` or ``("address", address)`` pair; or the
        ``("nft_data", nftData)`` of an operator over NFTs.
    """
    return f"{'NFT' if account[0] == 'nft_data' else 'account'} {account[1]}"


def run_day(context: Context) -> str:
    """The day a snapshot taken now in this DAG run is of, "YYYY-MM-DD": its ``run_after`` in
    UTC (every run has one; a manual run may have no logical date), today outside a run.

    :param context: the task's context; its ``dag_run`` is read, if any.
    :raises LoopringSnapshotDayError: a backfill or catch-up run, whose day is not today
        (see :mod:`airflow_provider_loopring._core.snapshot_day`).
    """
    dag_run = context.get("dag_run") if context else None
    run_type, run_after = getattr(dag_run, "run_type", None), getattr(dag_run, "run_after", None)
    try:
        return snapshot_day(run_type=run_type, run_after=run_after, now=pendulum.now("UTC"))
    except SnapshotDayRefused as refused:
        raise LoopringSnapshotDayError(str(refused)) from None


def map_index(context: Context) -> int:
    """The task instance's map index; -1 when not mapped, or outside a task run.

    :param context: the task's context; its ``ti`` is read, if any.
    """
    ti = context.get("ti") if context else None
    index = getattr(ti, "map_index", -1)
    return index if isinstance(index, int) else -1
