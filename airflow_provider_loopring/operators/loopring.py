"""Operators that fetch the NFT balances or collections of one Loopring account or of thousands.

The hook does the HTTP (paging, retries, the shared rate limit); what both operators share
(arguments, threads, sinks, resume, progress) is in :mod:`.base` and the modules it names.
DAG files import this module at parse time: the hook, models, requests and storage's writers
come in when a task runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_loopring import _core as core
from airflow_provider_loopring.operators.arguments import (
    ACCOUNT_FIELDS,
    STORAGE_FIELDS,
    AccountRef,
    Record,
)
from airflow_provider_loopring.operators.base import FirstPage, LoopringAccountsOperator

if TYPE_CHECKING:
    from airflow_provider_loopring._core.paging import PageCallback


class LoopringNftBalancesOperator(LoopringAccountsOperator):
    """Fetch the NFT balances of one or many accounts (``GET /api/v3/user/nft/balances``).

    Without ``output_path`` the task returns the balances as XCom: Loopring's own dicts, each
    with its ``accountId``, in the accounts' order and then the API's. With ``output_path``
    they are streamed into one object there and the XCom is a small reference:
    ``{"path", "format", "records", "accounts", "bytes", "sha256", "fetched_at",
    "resumed_accounts", "skipped_accounts"}``. A retry of the task instance fetches only the
    accounts an earlier try did not finish.

    :param account_id: an account id, or a list of them (or a comma-separated string).
        (templated)
    :param address: an owner address, or a list of them. (templated)
    :param accounts: account ids and owner addresses mixed; give exactly one of
        ``account_id``, ``address`` and ``accounts``. (templated)
    :param nft_datas: only these NFTs (``nftData`` values, a list or "a,b"). (templated)
    :param token_addrs: only NFTs of these token contracts. (templated)
    :param token_ids: only these layer-2 token ids. (templated)
    :param non_zero: leave out NFTs the account no longer holds.
    :param metadata: include each NFT's ``metadata`` as Loopring caches it.
    :param output_path: an ``ObjectStoragePath`` URL (``s3://bucket/key.jsonl``,
        ``file:///path``, ...) to write the balances to; the object appears only when
        complete, and a re-run overwrites it. (templated)
    :param kwargs: the parameters every Loopring accounts operator takes (``output_conn_id``,
        ``output_format``, ``snapshot_date``, ``max_xcom_records``, ``max_workers``,
        ``on_missing_account``, ``account_cache_path``, ``checkpoint_interval``,
        ``loopring_conn_id``): see
        :class:`~airflow_provider_loopring.operators.base.LoopringAccountsOperator`; and
        ``BaseOperator``'s.
    """

    record_kind = "balances"
    _endpoint = "NFT_BALANCES"
    template_fields: Sequence[str] = (
        *ACCOUNT_FIELDS,
        "nft_datas",
        "token_addrs",
        "token_ids",
        *STORAGE_FIELDS,
    )

    def __init__(
        self,
        *,
        nft_datas: str | Sequence[str] | None = None,
        token_addrs: str | Sequence[str] | None = None,
        token_ids: int | str | Sequence[int | str] | None = None,
        metadata: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.nft_datas = nft_datas
        self.token_addrs = token_addrs
        self.token_ids = token_ids
        self.metadata = metadata
        self._validate(rendered=False)

    def _checks(self, rendered: bool) -> dict[str, Callable[[Any], object]]:
        return {
            **super()._checks(rendered),
            "nft_datas": lambda value: core.check_filter(value, "nft_datas", core.check_nft_data),
            "token_addrs": lambda value: core.check_filter(
                value, "token_addrs", core.check_address
            ),
            "token_ids": lambda value: core.check_filter(value, "token_ids", core.check_token_id),
            "metadata": lambda value: core.check_flag(value, "metadata"),
        }

    def _filters(self) -> dict[str, Any]:
        return {
            "nft_datas": self.nft_datas,
            "token_addrs": self.token_addrs,
            "token_ids": self.token_ids,
            "non_zero": self.non_zero,
            "metadata": self.metadata,
        }

    def _query(self, account: AccountRef) -> dict[str, Any]:
        name, value = account
        return {name: value, **self._filters()}

    def _first_page(self, account: AccountRef) -> FirstPage:
        page = self.hook.get_nft_balances(**self._query(account))
        first = FirstPage(page.total_num, [balance.to_dict(copy=False) for balance in page.items])
        return self._log_first_page(account, first)

    def _iter_records(self, account: AccountRef, on_page: PageCallback) -> Iterator[Record]:
        for balance in self.hook.iter_nft_balances(**self._query(account), on_page=on_page):
            yield balance.to_dict(copy=False)


class LoopringCollectionsOperator(LoopringAccountsOperator):
    """Fetch the NFT collections one or many accounts hold (``/api/v3/user/collection/details``).

    Each record is ``{"collection": {...}, "count": n, "accountId": ...}``: Loopring's item
    (the collection and how many kinds of its NFTs the account holds) plus the account.
    Without ``output_path`` the task returns the records as XCom, in the accounts' order and
    then the API's; with it they are streamed into one object there and the XCom is a small
    reference, as for :class:`LoopringNftBalancesOperator`. The endpoint takes only account
    ids: an address is looked up first (through ``account_cache_path`` when given).

    :param account_id: an account id, or a list of them (or a comma-separated string).
        (templated)
    :param address: an owner address, or a list of them. (templated)
    :param accounts: account ids and owner addresses mixed; give exactly one of
        ``account_id``, ``address`` and ``accounts``. (templated)
    :param token_address: only the collection of this token contract. (templated)
    :param non_zero: leave out collections of which the account no longer holds any NFT.
    :param output_path: an ``ObjectStoragePath`` URL to write the records to; the object
        appears only when complete, and a re-run overwrites it. (templated)
    :param kwargs: the parameters every Loopring accounts operator takes: see
        :class:`~airflow_provider_loopring.operators.base.LoopringAccountsOperator`; and
        ``BaseOperator``'s.
    """

    record_kind = "collections"
    _endpoint = "COLLECTION_BALANCES"
    template_fields: Sequence[str] = (*ACCOUNT_FIELDS, "token_address", *STORAGE_FIELDS)

    def __init__(self, *, token_address: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token_address = token_address
        self._validate(rendered=False)

    def _checks(self, rendered: bool) -> dict[str, Callable[[Any], object]]:
        return {
            **super()._checks(rendered),
            "token_address": lambda value: (
                value is None or core.check_address(value, "token_address")
            ),
        }

    def _filters(self) -> dict[str, Any]:
        return {"token_address": self.token_address, "non_zero": self.non_zero}

    def _query(self, account: AccountRef) -> dict[str, Any]:
        name, value = account
        # Resolved here (the hook caches it) because every record must name its account.
        if name == "account_id":
            return {"account_id": value, **self._filters()}
        account_id = self.hook.get_account(address=value).account_id
        return {"account_id": account_id, **self._filters()}

    def _first_page(self, account: AccountRef) -> FirstPage:
        query = self._query(account)
        page = self.hook.get_collections(**query)
        records = [
            {**item.to_dict(copy=False), "accountId": query["account_id"]} for item in page.items
        ]
        return self._log_first_page(account, FirstPage(page.total_num, records))

    def _iter_records(self, account: AccountRef, on_page: PageCallback) -> Iterator[Record]:
        query = self._query(account)
        for item in self.hook.iter_collections(**query, on_page=on_page):
            yield {**item.to_dict(copy=False), "accountId": query["account_id"]}
