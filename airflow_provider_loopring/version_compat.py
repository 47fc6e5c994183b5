"""Everything that differs between the Airflow versions we support (3.1, 3.2, 3.3), in one place.

Airflow 3.2 moved the exceptions a task raises, the configuration and the hook lineage
collector into the Task SDK (``airflow.sdk``); 3.1 has them only in ``airflow.exceptions``,
``airflow.configuration`` and ``airflow.lineage.hook``. Airflow 3.3 added the task state store,
which reschedule mode needs to remember what it saw between checks. Import these names from
here, never from those modules, so one test run per Airflow minor (``make test-matrix``)
proves every path. Only what ``import airflow`` already loads is imported at the top: DAG files
import the sensors, and through them this module, at every parse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow import __version__ as _AIRFLOW_VERSION


def _version_tuple(version: str) -> tuple[int, int]:
    from packaging.version import Version

    parsed = Version(version)
    return parsed.major, parsed.minor


AIRFLOW_VERSION = _version_tuple(_AIRFLOW_VERSION)
AIRFLOW_V_3_2_PLUS = AIRFLOW_VERSION >= (3, 2)
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= (3, 3)

#: Whether tasks get ``task_state_store`` in their context (Airflow 3.3+): state that outlives
#: the process, which reschedule mode needs to remember the statuses it saw between checks.
HAS_TASK_STATE_STORE = AIRFLOW_V_3_3_PLUS
#: Whether tasks take a ``retry_policy`` (Airflow 3.3+), which lets a task fail at once on an
#: error another try cannot cure; older Airflow gets ``AirflowFailException`` instead.
HAS_RETRY_POLICY = AIRFLOW_V_3_3_PLUS
#: Whether the triggerer runs asset watchers with one shared stream per key (Airflow 3.3+);
#: before, each watcher runs alone (``run``) and polls for itself.
HAS_SHARED_STREAMS = AIRFLOW_V_3_3_PLUS
#: Whether Airflow reads the connection form from the provider info (``conn-fields`` and
#: ``ui-field-behaviour``, 3.2+): then it never calls the hook's ``get_connection_form_widgets``
#: and ``get_ui_field_behaviour`` (it deprecates them), which 3.1 reads instead.
HAS_PROVIDER_CONN_FIELDS = AIRFLOW_V_3_2_PLUS

if TYPE_CHECKING or AIRFLOW_V_3_2_PLUS:
    from airflow.sdk import conf
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferred,
    )
else:
    from airflow.configuration import conf
    from airflow.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferred,
    )

if TYPE_CHECKING or HAS_RETRY_POLICY:
    from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy
else:
    RetryDecision = RetryPolicy = None


def get_hook_lineage_collector() -> Any:
    """The process's hook lineage collector (imported on first use: it is not cheap).

    :return: the collector that lineage listeners (OpenLineage) read assets from.
    """
    if AIRFLOW_V_3_2_PLUS:
        from airflow.sdk.lineage import get_hook_lineage_collector as collector
    else:
        from airflow.lineage.hook import get_hook_lineage_collector as collector  # type: ignore[no-redef]
    return collector()


def dag_bag_class() -> type:
    """Airflow's ``DagBag``, which moved to ``airflow.dag_processing.dagbag`` in 3.2.

    :return: the class; imported on first use, as it loads most of Airflow's scheduler code.
    """
    if AIRFLOW_V_3_2_PLUS:
        from airflow.dag_processing.dagbag import DagBag
    else:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    return DagBag


def serde() -> Any:
    """The module that serializes trigger arguments between the task runner and the triggerer.

    :return: ``airflow.sdk.serde`` (3.2+) or ``airflow.serialization.serde`` (3.1), whose
        ``serialize`` and ``deserialize`` a trigger's kwargs must survive.
    """
    import importlib

    return importlib.import_module(
        "airflow.sdk.serde" if AIRFLOW_V_3_2_PLUS else "airflow.serialization.serde"
    )


__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "HAS_PROVIDER_CONN_FIELDS",
    "HAS_RETRY_POLICY",
    "HAS_SHARED_STREAMS",
    "HAS_TASK_STATE_STORE",
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "RetryDecision",
    "RetryPolicy",
    "TaskDeferred",
    "conf",
    "dag_bag_class",
    "get_hook_lineage_collector",
    "serde",
]
