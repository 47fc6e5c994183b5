"""Buttons on a Loopring task to its account, collection or transaction in Loopring's explorer.

The worker builds each link when the task ends (Airflow stores it as an XCom); a task
whose connection has no known explorer (see :mod:`.._core.explorer`) shows none. The operator
and sensor modules import this one at DAG parse time: the hook, and the operators' account
checks (with storage's), come in when a link is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

from airflow_provider_loopring import _core as core
from airflow_provider_loopring._core import explorer as explorers
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


def _explorer(operator: Any) -> str | None:
    from airflow_provider_loopring.hooks.loopring import LoopringHook

    conn = LoopringHook.get_connection(operator.loopring_conn_id)
    return explorers.explorer_url(core.base_url(conn.host, conn.port), conn.extra_dejson)


def _account(operator: Any) -> object | None:
    """The task's first account, read by the check the task uses: a template rendered in
    native mode turns "0x…" text into an int, which the check turns back into the address."""
    from airflow_provider_loopring.operators.arguments import check_accounts

    fields = (getattr(operator, name, None) for name in ("account_id", "address", "accounts"))
    try:
        return check_accounts(*fields)[0][1]
    except LoopringInvalidParameterError:  # the task failed on it; it has no page to show
        return None


def _contract(operator: Any) -> str | None:
    """The task's one collection contract, checked as the task checks it (see `_account`)."""
    try:
        for name in ("contract_address", "token_address"):
            if getattr(operator, name, None) is not None:
                return core.check_address(getattr(operator, name), name)
        many = core.check_list(
            getattr(operator, "token_addrs", None), "token_addrs", core.check_address
        )
    except LoopringInvalidParameterError:
        return None
    return many[0] if many is not None and len(many) == 1 else None


class LoopringAccountLink(BaseOperatorLink):
    """The task's account (the first, when it has many) in Loopring's explorer."""

    name = "Loopring account"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """:param operator: the task; :param ti_key: its task instance (unused)."""
        account = _account(operator)
        explorer = _explorer(operator) if account is not None else None
        return "" if explorer is None else explorers.account_page(explorer, account)


class LoopringCollectionLink(BaseOperatorLink):
    """The task's collection in Loopring's explorer, when a contract address names it
    (``contract_address``, ``token_address``, or a single ``token_addrs``)."""

    name = "Loopring collection"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """:param operator: the task; :param ti_key: its task instance (unused)."""
        contract = _contract(operator)
        explorer = _explorer(operator) if contract is not None else None
        return (
            ""
            if explorer is None or contract is None
            else explorers.collection_page(explorer, contract)
        )


class LoopringTransactionLink(BaseOperatorLink):
    """The latest transaction a task wrote, in Loopring's explorer (``/tx/<blockId>-<index>``),
    when Loopring gave its block; the task sets it as ``latest_block`` while it runs."""

    name = "Loopring transaction"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """:param operator: the task; :param ti_key: its task instance (unused)."""
        block = getattr(operator, "latest_block", None)
        explorer = _explorer(operator) if block is not None else None
        if explorer is None or block is None:
            return ""
        return explorers.transaction_page(explorer, block[0], block[1])


EXTRA_LINKS = (LoopringAccountLink(), LoopringCollectionLink())


class LoopringBlockLink(BaseOperatorLink):
    """The last block a blocks task read, in Loopring's explorer (from the task's XCom)."""

    name = "Loopring block"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """:param operator: the task; :param ti_key: its task instance, whose XCom is read."""
        from airflow.providers.common.compat.sdk import XCom

        result = XCom.get_value(ti_key=ti_key, key="return_value")
        last = result.get("last_block") if isinstance(result, dict) else None
        if type(last) is not int or last < 1:
            return ""  # no block read, or a value that is no block
        explorer = _explorer(operator)
        return "" if explorer is None else explorers.block_page(explorer, last)


BLOCK_LINKS = (LoopringBlockLink(),)
