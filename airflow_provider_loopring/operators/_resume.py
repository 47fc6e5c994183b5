"""What a try keeps for the next one: finished accounts (checkpoints) and resolved addresses.

Checkpoints live beside the output object (:mod:`..storage.staging`): a retry of the task
instance takes back every account an earlier try finished and fetches only the rest. The
account cache (:mod:`..storage.accounts`) keeps addresses resolved to account ids across runs.
Both are storage, imported when a task runs: DAG files never load them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_provider_loopring.operators.arguments import AccountRef, check_seconds, map_index

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_loopring.hooks.loopring import LoopringHook
    from airflow_provider_loopring.storage.accounts import AccountCache
    from airflow_provider_loopring.storage.objects import ObjectStorageWriter
    from airflow_provider_loopring.storage.staging import Checkpoints


def account_cache(path: str | None, *, conn_id: str | None, writer: str) -> AccountCache | None:
    """The account cache at ``path``, loaded; None without a path.

    :param path: the cache's folder URL (``account_cache_path``).
    :param conn_id: the storage's connection.
    :param writer: this task instance's name in the cache's files.
    """
    if path is None:
        return None
    from airflow_provider_loopring.storage.accounts import AccountCache

    return AccountCache(path, conn_id=conn_id, writer=writer).load()


def resolved(hook: LoopringHook, account: AccountRef, cache: AccountCache | None) -> AccountRef:
    """An address as its account id, through the cache (a lookup only when not in it).

    :param hook: the hook that looks the address up.
    :param account: the account as given; an id, or an address without a cache, stays as is.
    :param cache: the account cache, if the task has one.
    """
    name, value = account
    if name != "address" or cache is None:
        return account
    account_id = cache.get(value)
    if account_id is None:
        account_id = hook.get_account(address=value).account_id
        cache.put(value, account_id)
    return ("account_id", account_id)


def task_checkpoints(
    writer: ObjectStorageWriter, context: Context, valid_for: list[Any], interval: object
) -> Checkpoints | None:
    """This task instance's checkpoints; none outside a task run (no task instance).

    :param writer: the output's writer, beside whose target the checkpoints are kept.
    :param context: the task's context.
    :param valid_for: what the checkpoints are valid for: another value drops them.
    :param interval: seconds between two saves (``checkpoint_interval``).
    """
    from airflow_provider_loopring.storage.staging import task_key

    ti = context.get("ti") if context else None
    if ti is None:
        return None
    key = task_key(ti.dag_id, ti.run_id, ti.task_id, map_index(context))
    fingerprint = json.dumps(valid_for, sort_keys=True, default=str)
    return writer.checkpoints(key, fingerprint, check_seconds(interval, ""))


def save_before_failing(checkpoints: Checkpoints, log: Any) -> None:
    """Keep every account finished so far for the retry; never hide the real error.

    :param checkpoints: the task instance's checkpoints.
    :param log: the task's logger, where a failure to save is told.
    """
    try:
        checkpoints.save()
    except Exception:
        log.warning("Could not save the finished accounts for a retry.", exc_info=True)
