"""Apache Airflow provider for Loopring's NFT API."""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Tell Airflow's ProvidersManager what this package provides."""
    from airflow_provider_loopring._provider_info import PROVIDER_INFO

    return PROVIDER_INFO
