"""LoopringHook: the connection, the two transports, and thin public methods over the core.

Every decision (what a request is, what a response means, when to retry, how to page) is
the core's (:mod:`airflow_provider_loopring._core`); the hook adds the I/O: requests for tasks,
httpx for triggers. Each endpoint's query is declared once (``NftBalancesQuery``,
``CollectionsQuery``) and taken by its sync and async methods alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_loopring import _core as core
from airflow_provider_loopring._core.retry import BackoffPolicy
from airflow_provider_loopring.exceptions import LoopringApiError, LoopringInvalidParameterError
from airflow_provider_loopring.hooks import _form
from airflow_provider_loopring.hooks._client import _deprecated
from airflow_provider_loopring.hooks.balances import BalanceReads
from airflow_provider_loopring.hooks.blocks import BlockReads
from airflow_provider_loopring.hooks.history import HistoryReads
from airflow_provider_loopring.hooks.nfts import NftReads
from airflow_provider_loopring.version_compat import HAS_PROVIDER_CONN_FIELDS

if TYPE_CHECKING:
    pass

__all__ = ["BackoffPolicy", "LoopringHook"]


class LoopringHook(BlockReads, HistoryReads, NftReads, BalanceReads):
    """Talks to Loopring's REST API through an Airflow connection.

    The connection's host is the API's base URL (default ``https://api3.loopring.io``; a port
    goes in the URL, as the form has no port field), its password the API key. Extras:
    ``requests_per_second`` (default 5; the client-side limit, shared by every hook on this
    connection in the process), ``rate_limit_conn_id`` (an Airflow connection to Redis: then
    that limit is one budget for every process on every machine; needs the ``[redis]``
    extra), ``max_retries`` (default 5), ``timeout`` (seconds for a whole request, body
    included, default 30), ``max_response_bytes`` (the largest decoded body, default 32 MiB),
    ``max_pages`` (the most pages of one listing, default 10,000) and ``explorer_url`` (where
    the tasks' extra links point; default Loopring's explorer for the mainnet host, no link
    for others).

    :param loopring_conn_id: the Airflow connection to use.
    :param backoff: overrides how failed requests (429, 5xx, network errors) are sent again
        within a try: a :class:`BackoffPolicy` (importable from this module). Not Airflow's
        task ``retry_policy``, which the operators and sensors take.
    :param retry_policy: the old name of ``backoff`` (deprecated; gone in 0.3).
    """

    conn_type = "loopring"
    hook_name = "Loopring"
    if not HAS_PROVIDER_CONN_FIELDS:  # Airflow 3.1 asks the hook for its connection form

        @classmethod
        def get_ui_field_behaviour(cls) -> dict[str, Any]:
            """The provider info's ``ui-field-behaviour``, for Airflow 3.1's connection form."""
            return _form.ui_field_behaviour()

        @classmethod
        def get_connection_form_widgets(cls) -> dict[str, Any]:
            """The provider info's ``conn-fields``, for Airflow 3.1's connection form."""
            return _form.connection_form_widgets()
    # --- connection test -----------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Tell a wrong host (no Loopring API there) from a wrong key."""
        probe = core.account_request(account_id=1)
        try:
            self._sync.send(probe, self.settings, self._headers(probe))
        except LoopringInvalidParameterError as exc:
            return False, str(exc)
        except LoopringApiError as exc:
            if exc.code is None:
                return False, f"No Loopring API at {self.settings.base_url}: {exc}"
        try:
            keyed = core.nft_balances_request(account_id=1, limit=1)
            self._sync.send(keyed, self.settings, self._headers(keyed))
        except LoopringInvalidParameterError as exc:
            return False, str(exc)
        except LoopringApiError as exc:
            if exc.code in (104001, 104002) or exc.http_status in (401, 403):
                return False, f"The API key was rejected by {self.settings.base_url}: {exc}"
            if exc.code is None:
                return False, str(exc)
        return True, f"Connected to the Loopring API at {self.settings.base_url}; the key works."


def __getattr__(name: str) -> object:
    """``RetryPolicy``, the HTTP backoff's old name here, for one release."""
    if name == "RetryPolicy":
        _deprecated("airflow_provider_loopring.hooks.loopring.RetryPolicy", "BackoffPolicy")
        return BackoffPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
