"""An incremental snapshot night's plan: which wallets to fetch, which to carry, and why.

:func:`plan_night` is what the example snapshot DAG's first task runs (and the incremental
benchmark measures). A full night reads the finalized head first (so the next night starts
there) and fetches every watched wallet. An incremental night reads the blocks since the last
complete day's cursor (``hook.iter_blocks``), fetches the watched wallets they name (by id, or
by address where a block gives no id), the wallets added to the watch list, and those whose
address has no known id; it carries the others forward. Before that it fetches a random
sample of the wallets it would carry and compares their holdings with the carried records:
any difference, or anything read back that cannot be trusted, makes the night full, and the
plan says why.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from airflow_provider_loopring._core import nights as core
from airflow_provider_loopring.exceptions import LoopringBlockError, LoopringNotFoundError
from airflow_provider_loopring.operators.arguments import AccountRef, account_key

if TYPE_CHECKING:
    from airflow_provider_loopring.hooks.loopring import LoopringHook
    from airflow_provider_loopring.storage.accounts import AccountCache
    from airflow_provider_loopring.storage.nights import LastDay


LISTS = ("fetch", "carry")  # a wallet each: not in the summary (nor copied for it)


@dataclass
class Night:
    """What a night does. ``fetch`` are the accounts as given (ids or addresses); ``carry``
    the account ids whose records come from ``last_day``.

    :param mode: ``full`` or ``incremental``.
    :param why_full: why the night is full (None when incremental).
    :param last_day: the day carried from (None when full).
    :param last_full_day: the day of the last full scan (the night's own when full).
    :param as_of_block: the finalized block the night's holdings are as of: its cursor.
    :param blocks_read: blocks read since the last day's cursor.
    :param fetch: the accounts to fetch, as given.
    :param carry: the account ids to carry (8 bytes each: as many as the watch list).
    :param verified_accounts: carried wallets fetched to verify them.
    :param differed: the sampled wallets whose holdings differed, and how.
    :param address_lookups: addresses blocks gave without an id, looked up.
    """

    mode: str
    why_full: str | None
    last_day: str | None
    last_full_day: str
    as_of_block: int
    blocks_read: int = 0
    fetch: list[int | str] = field(default_factory=list)
    carry: array[int] = field(default_factory=lambda: array("q"))
    verified_accounts: int = 0
    differed: list[dict[str, Any]] = field(default_factory=list)
    address_lookups: int = 0

    def about(self) -> dict[str, Any]:
        """What the summary says of the night (everything but the account lists)."""
        about = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in LISTS}
        return {**about, "fetched_accounts": len(self.fetch), "carried_accounts": len(self.carry)}


def plan_night(
    hook: LoopringHook,
    *,
    root: str,
    day: str,
    accounts: Sequence[AccountRef],
    mode: str,
    full_every: int,
    verify_sample: float,
    output_format: str,
    cache: AccountCache | None,
    conn_id: str | None,
    rng: random.Random | None = None,
) -> Night:
    """Decide the night: full or incremental, and which wallets it fetches.

    :param hook: the Loopring hook (blocks, the sample's balances, address lookups).
    :param root: the snapshot root URL.
    :param day: the night's day.
    :param accounts: the watch list, checked (a :class:`~.watch_list.WatchList`, or
        ``check_accounts``' pairs).
    :param mode: ``"incremental"`` or ``"full"`` (checked here, before any request).
    :param full_every: days between full scans (checked here).
    :param verify_sample: the share of carried wallets to verify (checked here).
    :param output_format: the night's format; a last day in another one is not carried.
    :param cache: the account cache (addresses to ids), if the DAG keeps one.
    :param conn_id: the Airflow connection with the storage's credentials.
    :param rng: where the sample comes from (default: a new random source).
    """
    from airflow_provider_loopring.storage import nights as stored
    from airflow_provider_loopring.storage.confined import UntrustedError

    mode = core.check_mode(mode)
    full_every = core.check_full_every(full_every)
    share = core.check_verify_sample(verify_sample)
    last: LastDay | None = None
    doubt = None
    if mode == "incremental":
        try:
            last = stored.last_day(root, day, conn_id=conn_id)
            if last is not None and last.output_format != output_format:
                doubt = f"{last.day} is in {last.output_format}, this night in {output_format}"
        except (UntrustedError, ValueError, OSError) as error:
            doubt = f"the last complete day cannot be trusted: {error}"
    why = doubt or core.why_full(
        mode, day, full_every, last and last.day, last and last.last_full_day
    )
    if why is None and last is not None:
        try:
            return _incremental(hook, root, day, accounts, last, share, cache, conn_id, rng)
        except (UntrustedError, ValueError, OSError) as error:
            why = f"the last complete day cannot be trusted: {error}"
        except LoopringBlockError as error:
            why = f"the blocks since the last day's cursor cannot be read: {error}"
    head = hook.get_block().block_id  # before any balance: the next night starts here
    return _full(why or "", day, head, accounts)


def _full(why: str, day: str, head: int, accounts: Sequence[AccountRef]) -> Night:
    return Night("full", why, None, day, head, fetch=[value for _, value in accounts])


def _incremental(
    hook: LoopringHook,
    root: str,
    day: str,
    accounts: Sequence[AccountRef],
    last: LastDay,
    share: float,
    cache: AccountCache | None,
    conn_id: str | None,
    rng: random.Random | None,
) -> Night:
    from airflow_provider_loopring.hooks.memory import hold_mmap_threshold
    from airflow_provider_loopring.storage import nights as stored

    hold_mmap_threshold()  # the day's files are read page by page: see the operators
    if last.output_format == "parquet":
        from airflow_provider_loopring.storage.parquet import use_system_allocator

        use_system_allocator()  # as the writers do: Arrow's own pool keeps what it freed
    watched_then = stored.read_watched(root, last, conn_id=conn_id)
    # The carried files are checked before the night counts on them: the collections here,
    # the balances as the sample's check reads them all (below), each read once.
    stored.verify_files(
        last.folder(root, "collections"), last.manifests["collections"], conn_id=conn_id
    )
    as_of = last.as_of_block
    ids: set[int] = set()
    addresses: set[str] = set()
    for block in hook.iter_blocks(last.as_of_block + 1):
        as_of = block.block_id
        for tx in block.transactions:
            tx_ids, tx_addresses = tx.accounts()
            ids.update(tx_ids)
            addresses.update(tx_addresses)
    watched_addresses = {value.lower() for name, value in accounts if name == "address"}
    lookups = 0
    for address in sorted(addresses - watched_addresses):
        known = cache.get(address) if cache is not None else None
        if known is None:
            lookups += 1
            try:
                known = hook.get_account(address=address).account_id
            except LoopringNotFoundError:
                continue  # no layer-2 account: it holds nothing a wallet could watch
            if cache is not None:
                cache.put(address, known)
        ids.add(known)
    fetch: list[int | str] = []
    carry: array[int] = array("q")
    for account in accounts:
        name, value = account
        resolved = value if name == "account_id" else (cache.get(value) if cache else None)
        named = resolved in ids or (name == "address" and str(value).lower() in addresses)
        if resolved is None or named or account_key(account) not in watched_then:
            fetch.append(value)
        else:
            carry.append(int(resolved))
    night = Night(
        "incremental", None, last.day, last.last_full_day, as_of, as_of - last.as_of_block,
        fetch, carry, address_lookups=lookups,
    )  # fmt: skip
    sample = core.choose_sample(carry, share, rng or random.Random())
    night.verified_accounts = len(sample)
    differed = _verify(hook, root, last, sample, conn_id)
    night.differed = differed[: core.MAX_DIFFERED_SHOWN]
    if differed:
        shown = ", ".join(str(item["accountId"]) for item in differed[:10])
        why = f"{len(differed)} of {len(sample)} sampled wallets differed ({shown})"
        full = _full(why, day, as_of, accounts)
        full.verified_accounts, full.differed = len(sample), night.differed
        full.blocks_read, full.address_lookups = night.blocks_read, lookups
        return full
    return night


def _verify(
    hook: LoopringHook, root: str, last: LastDay, sample: list[int], conn_id: str | None
) -> list[dict[str, Any]]:
    """The sampled wallets whose holdings now differ from the last day's records."""
    from airflow_provider_loopring.storage.snapshots import read_balances

    if not sample:
        return []
    wanted = set(sample)
    recorded: dict[int, list[dict[str, Any]]] = {account: [] for account in sample}
    folder = last.folder(root, "balances")
    for row in read_balances(folder, last.manifests["balances"], conn_id):
        if row.account_id in wanted:
            recorded[row.account_id].append({"nftData": row.nft_data, "total": row.total})
    differed = []
    for account in sample:
        try:
            found = hook.iter_nft_balances(account_id=account, non_zero=True)
            now = [balance.to_dict(copy=False) for balance in found]
        except LoopringNotFoundError:
            now = []
        why = core.differences(core.held_totals(recorded[account]), core.held_totals(now))
        if why is not None:
            differed.append({"accountId": account, "why": why})
    return differed
