"""Deprecated: the task retry policy is now :mod:`airflow_provider_loopring.retry_policy`.

This module stays for one release so that DAG files importing it keep working; importing it
emits a ``DeprecationWarning`` naming the new module. The names are the same objects.
"""

from __future__ import annotations

import warnings

from airflow_provider_loopring.retry_policy import (
    HAS_RETRY_POLICY,
    fail_fast,
    retry_can_help,
    with_retry_policy,
)

if HAS_RETRY_POLICY:
    from airflow_provider_loopring.retry_policy import LoopringRetryPolicy  # noqa: F401

# stacklevel 2: the module that imports this one (the import machinery's frames are skipped).
warnings.warn(
    "airflow_provider_loopring.fail_fast is deprecated: import LoopringRetryPolicy, fail_fast, "
    "with_retry_policy and retry_can_help from airflow_provider_loopring.retry_policy.",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["HAS_RETRY_POLICY", "fail_fast", "retry_can_help", "with_retry_policy"]
