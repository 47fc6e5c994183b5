"""Sensors that wait until Loopring NFTs or a collection reach a layer-1 deployment status.

DAG files import this module at every parse: what building a sensor needs (its argument checks,
what it selects) is imported here; the verdict, the hook (requests, httpx) and the trigger are
imported when a task runs.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_loopring._core.selections import SELECTIONS, Selection, check_status_sets
from airflow_provider_loopring._core.settings import DEFAULT_CONN_ID
from airflow_provider_loopring._core.validation import check_flag
from airflow_provider_loopring.exceptions import LoopringApiError, LoopringTriggerError
from airflow_provider_loopring.links.loopring import EXTRA_LINKS
from airflow_provider_loopring.retry_policy import fail_fast, with_retry_policy
from airflow_provider_loopring.templates import unrendered
from airflow_provider_loopring.version_compat import (
    HAS_TASK_STATE_STORE,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    conf,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_loopring._core.verdicts import Verdict
    from airflow_provider_loopring.hooks.loopring import LoopringHook

# Where reschedule mode keeps the statuses it last saw: each reschedule is a new process.
_SEEN_KEY = "loopring_deployment_statuses"
# The scheduler's own deferral timeout, a backstop in case the trigger never reports: it
# leaves the trigger time for its last check after the deadline (see the trigger).
_DEFER_BACKSTOP = timedelta(minutes=2)


class _LoopringDeploymentSensor(BaseSensorOperator):
    """What both sensors share: one check for poke, reschedule and deferrable mode.

    :param target_statuses: the wait ends when everything selected is in one of these.
    :param failure_statuses: the task fails at once, without retries, when anything selected
        is in one of these (with ``soft_fail`` it is skipped, as the base sensor does).
    :param deferrable: check once, then wait in the triggerer instead of a worker slot.
    :param loopring_conn_id: the Loopring connection.
    :param kwargs: ``BaseSensorOperator``'s; ``retry_policy`` defaults to
        :class:`~airflow_provider_loopring.retry_policy.LoopringRetryPolicy`, as for the operators.
    """

    ui_color = "#c7e6f9"
    operator_extra_links = EXTRA_LINKS

    def __init__(
        self,
        *,
        target_statuses: Any = ("DEPLOYED",),
        failure_statuses: Any = ("DEPLOY_FAILED",),
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        loopring_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        kwargs, fails_fast = with_retry_policy(kwargs)
        super().__init__(**kwargs)
        self._fail_fast = fails_fast

        self.target_statuses, self.failure_statuses = check_status_sets(
            target_statuses, failure_statuses
        )
        self.deferrable = check_flag(deferrable, "deferrable")
        self.loopring_conn_id = loopring_conn_id
        self._seen: dict[str, str | None] = {}
        self._deadline: float | None = None

    # --- what subclasses say -------------------------------------------------------------

    # What is waited on: a kind of selection (selections.SELECTIONS) and the attributes
    # that select it (template fields too, rendered before a check).
    _selection_kind: ClassVar[str]
    _selector_fields: ClassVar[tuple[str, ...]] = ()

    def _selection(self) -> Selection:
        """The selection from the (rendered) selector fields, validated."""

        # The core's checks also undo native rendering (render_template_as_native_obj reads
        # "0x.." as a hex int), so rendered values go through as they are.
        fields = {name: getattr(self, name) for name in self._selector_fields}
        return SELECTIONS[self._selection_kind].build(**fields)

    def _validate_literals(self) -> None:
        """Reject a wrong selector at construction, unless a template or XCom supplies it."""

        if not any(unrendered(getattr(self, name)) for name in self._selector_fields):
            self._selection()

    # --- one check -----------------------------------------------------------------------

    @cached_property
    def hook(self) -> LoopringHook:
        """The hook of ``loopring_conn_id``, made at the first check and kept for the others."""
        from airflow_provider_loopring.hooks.loopring import LoopringHook

        return LoopringHook(loopring_conn_id=self.loopring_conn_id)

    def execute(self, context: Context) -> Any:
        """Wait in the mode set; an error another try cannot cure fails the task at once.

        :param context: the task's context; deferring in reschedule mode, its task instance
            gives the first try's start, from which ``timeout`` counts.
        :return: what the wait ends with (XCom), as the sensor's description says.
        """
        if self.deferrable:
            # Absolute, and from the first try of a reschedule: the trigger keeps it across
            # triggerer restarts, so the wait never lasts longer than ``timeout``.
            self._deadline = self._started_at(context) + self.timeout
        with fail_fast(self._fail_fast):
            return super().execute(context)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One check; the base sensor's loop handles waiting, timeout and soft_fail.

        :param context: the task's context; in reschedule mode its task state store keeps the
            statuses the previous check saw (Airflow 3.3+).
        :return: done, with what the sensor returns as XCom, or False to check again (with
            ``deferrable``, it defers instead).
        :raises AirflowFailException: something selected is in one of ``failure_statuses``.
        """
        from airflow_provider_loopring._core.verdicts import DONE, FAILED

        selection = self._selection()
        verdict = self._check(selection, context)
        if verdict is not None and verdict.state == FAILED:
            raise AirflowFailException(verdict.message)
        if verdict is not None and verdict.state == DONE:
            return PokeReturnValue(True, selection.returned(verdict.records))
        if self.deferrable:
            self._defer(selection)
        return False

    def _check(self, selection: Selection, context: Context) -> Verdict | None:
        """Fetch and judge; None when a transient API error left us without an answer."""
        from airflow_provider_loopring._core.verdicts import judge, log_verdict
        from airflow_provider_loopring.hooks.selections import fetch

        try:
            fetched = fetch(self.hook, selection)
        except LoopringApiError as error:
            if not error.retryable:
                raise
            # The hook already retried; the trigger tolerates this too, so all modes agree.
            self.log.warning("%s Still waiting; the next check tries again.", error)
            return None
        seen = self._load_seen(context)
        verdict = judge(selection, fetched, self.target_statuses, self.failure_statuses, seen)
        log_verdict(self.log, verdict)
        if verdict.statuses != seen:
            self._save_seen(context, verdict.statuses)
        return verdict

    def _load_seen(self, context: Context) -> dict[str, str | None]:
        store = self._state_store(context)
        if store is None:
            return self._seen
        stored = store.get(_SEEN_KEY)
        return dict(stored) if isinstance(stored, dict) else {}

    def _save_seen(self, context: Context, statuses: dict[str, str | None]) -> None:
        self._seen = statuses
        store = self._state_store(context)
        if store is not None:
            store.set(_SEEN_KEY, statuses)

    def _state_store(self, context: Context) -> Any:
        """The task state store in reschedule mode, where memory does not last.

        Before Airflow 3.3 there is none: each reschedule then starts without the statuses the
        previous check saw, so it logs where the wait is but no transitions.
        """
        if not (self.reschedule and HAS_TASK_STATE_STORE):
            return None
        return context.get("task_state_store")

    def _started_at(self, context: Context) -> float:
        if self.reschedule:
            first = context["ti"].get_first_reschedule_date(context)
            if first is not None:
                return first.timestamp()
        return time.time()

    # --- deferrable mode -----------------------------------------------------------------

    def _defer(self, selection: Selection) -> NoReturn:
        from airflow_provider_loopring.triggers.loopring import LoopringDeploymentTrigger

        deadline = self._deadline if self._deadline is not None else time.time() + self.timeout
        trigger = LoopringDeploymentTrigger(
            selection=selection.to_dict(),
            target_statuses=list(self.target_statuses),
            failure_statuses=list(self.failure_statuses),
            deadline=deadline,
            poke_interval=self.poke_interval,
            loopring_conn_id=self.loopring_conn_id,
            last_seen=self._seen,
            silent_fail=self.silent_fail,
            exponential_backoff=self.exponential_backoff,
            max_wait=None if self.max_wait is None else self.max_wait.total_seconds(),
        )
        backstop = timedelta(seconds=max(deadline - time.time(), 0)) + _DEFER_BACKSTOP
        self.defer(trigger=trigger, method_name="execute_complete", timeout=backstop)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: same outcomes as the poke loop for the same situation.

        :param context: the task's context (not used).
        :param event: the trigger's payload (see ``verdicts.event``); anything else
            is an error.
        """
        from airflow_provider_loopring._core.verdicts import check_event

        checked = check_event(event)
        for line in checked["transitions"]:
            self.log.info("Seen by the trigger: %s", line)
        status, message = checked["status"], checked["message"]
        if status == "success":
            self.log.info("%s", message)
            return self._selection().returned(checked["records"])
        if status == "failure":
            self._give_up(AirflowFailException(message))
        if status == "timeout":
            self._give_up(AirflowSensorTimeout(message))
        # A permanent API error fails the task even with soft_fail, as in poke mode (see
        # LoopringTriggerError for why it is no AirflowException), and without its retries
        # when the trigger says another try would get the same answer.
        if self.never_fail:
            raise AirflowSkipException(f"Skipping due to never_fail: {message}")

        with fail_fast(self._fail_fast):
            raise LoopringTriggerError(message, retryable=not checked["final"])

    def _give_up(self, error: Exception) -> NoReturn:
        # Raised here rather than left to Airflow's resume_execution: some 3.1 releases do not
        # skip a deferred sensor's timeout under soft_fail (apache/airflow#61130).
        if self.soft_fail:
            raise AirflowSkipException(f"Skipping due to soft_fail: {error}") from error
        raise error


class LoopringNftDeploymentSensor(_LoopringDeploymentSensor):
    """Wait until every selected NFT of an account is deployed (``deploymentStatus``).

    Without ``nft_datas`` and ``token_addrs`` every NFT the account holds is awaited. Named
    ``nft_datas`` must all be held by the account before the wait can end. Returns (XCom) a list
    of ``{"nftData", "tokenAddress", "deploymentStatus"}``.

    :param account_id: (templated) the account holding the NFTs (or ``address``; exactly one).
    :param address: (templated) the account's layer-1 address.
    :param nft_datas: (templated) only these NFTs: a list or a comma-separated string.
    :param token_addrs: (templated) only NFTs of these token contracts.
    :param target_statuses: statuses that end the wait; default ``("DEPLOYED",)``.
    :param failure_statuses: statuses that fail the task at once; default ``("DEPLOY_FAILED",)``.
    :param deferrable: wait in the triggerer; default ``[operators] default_deferrable``.
    :param loopring_conn_id: (templated) the Loopring connection.
    """

    _selection_kind = "nft"
    _selector_fields = ("account_id", "address", "nft_datas", "token_addrs")
    template_fields = (*_selector_fields, "loopring_conn_id")

    def __init__(
        self,
        *,
        account_id: int | str | None = None,
        address: str | None = None,
        nft_datas: list[str] | str | None = None,
        token_addrs: list[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.account_id = account_id
        self.address = address
        self.nft_datas = nft_datas
        self.token_addrs = token_addrs
        self._validate_literals()


class LoopringCollectionDeploymentSensor(_LoopringDeploymentSensor):
    """Wait until a collection of an account is deployed (``deployStatus``).

    Returns (XCom) the collection record, with Loopring's field names.

    :param account_id: (templated) the account (or ``address``; exactly one).
    :param address: (templated) the account's layer-1 address (resolved to its account first).
    :param collection_id: (templated) the collection's id (or ``contract_address``; exactly one).
    :param contract_address: (templated) the collection's contract address.
    :param target_statuses: statuses that end the wait; default ``("DEPLOYED",)``.
    :param failure_statuses: statuses that fail the task at once; default ``("DEPLOY_FAILED",)``.
    :param deferrable: wait in the triggerer; default ``[operators] default_deferrable``.
    :param loopring_conn_id: (templated) the Loopring connection.
    """

    _selection_kind = "collection"
    _selector_fields = ("account_id", "address", "collection_id", "contract_address")
    template_fields = (*_selector_fields, "loopring_conn_id")

    def __init__(
        self,
        *,
        account_id: int | str | None = None,
        address: str | None = None,
        collection_id: int | str | None = None,
        contract_address: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.account_id = account_id
        self.address = address
        self.collection_id = collection_id
        self.contract_address = contract_address
        self._validate_literals()
