"""Buttons on a Loopring task to its account and collection in Loopring's explorer.

The worker builds each link when the task ends (Airflow stores it as an XCom); a task
whose connection has no known explorer (see :mod:`.._core.explorer`) shows none. Only
``airflow.sdk`` is imported here: the operator modules import this one at DAG parse time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


def _explorer(operator: Any) -> str | None:
    from airflow_provider_loopring._core.explorer import explorer_url
    from airflow_provider_loopring._core.settings import base_url
    from airflow_provider_loopring.hooks.loopring import LoopringHook

    conn = LoopringHook.get_connection(operator.loopring_conn_id)
    return explorer_url(base_url(conn.host, conn.port), conn.extra_dejson)


def _first(value: Any) -> Any:
    """The first of a list or a comma-separated string, or the value itself."""
    if isinstance(value, str):
        value = value.split(",")[0].strip() or None
    elif isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return value


class LoopringAccountLink(BaseOperatorLink):
    """The task's account (the first, when it has many) in Loopring's explorer."""

    name = "Loopring account"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """:param operator: the task; :param ti_key: its task instance (unused)."""
        from airflow_provider_loopring._core.explorer import account_page

        account = next(
            (
                _first(getattr(operator, name, None))
                for name in ("account_id", "address", "accounts")
                if getattr(operator, name, None) not in (None, "", [])
            ),
            None,
        )
        explorer = _explorer(operator) if account is not None else None
        return "" if explorer is None else account_page(explorer, account)


class LoopringCollectionLink(BaseOperatorLink):
    """The task's collection in Loopring's explorer, when a contract address names it
    (``contract_address``, ``token_address``, or a single ``token_addrs``)."""

    name = "Loopring collection"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """:param operator: the task; :param ti_key: its task instance (unused)."""
        from airflow_provider_loopring._core.explorer import collection_page

        contract = getattr(operator, "contract_address", None) or getattr(
            operator, "token_address", None
        )
        if contract is None:
            token_addrs = getattr(operator, "token_addrs", None) or []
            many = token_addrs.split(",") if isinstance(token_addrs, str) else list(token_addrs)
            contract = many[0].strip() if len(many) == 1 else None
        explorer = _explorer(operator) if isinstance(contract, str) else None
        return "" if explorer is None or contract is None else collection_page(explorer, contract)


EXTRA_LINKS = (LoopringAccountLink(), LoopringCollectionLink())
