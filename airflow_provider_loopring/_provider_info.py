"""What Airflow's ProvidersManager reads about this package (kept apart so it stays import-free)."""

from __future__ import annotations

from typing import Any

from airflow_provider_loopring import __version__

_INTEGRATION = "Loopring"
# The documentation site (pyproject's [project.urls] Documentation); docs/howto/ builds these.
DOCS_URL = "https://airflow-provider-loopring.readthedocs.io/en/latest/"
HOW_TO_GUIDES = (
    "nft_balances_operator",
    "collections_operator",
    "nft_deployment_sensor",
    "collection_deployment_sensor",
    "deployment_trigger",
    "snapshot_changes_operator",
    "deployment_event_trigger",
    "holdings_event_trigger",
    "blocks_operator",
    "nft_holders_operator",
    "nft_transactions_operator",
)


def _modules(role: str, *names: str) -> list[dict[str, Any]]:
    return [
        {
            "integration-name": _INTEGRATION,
            "python-modules": [
                f"airflow_provider_loopring.{role}.{n}" for n in names or ["loopring"]
            ],
        }
    ]


def _field(label: str, description: str, kind: str, default: float | None) -> dict[str, Any]:
    return {
        "label": label,
        "description": description,
        "schema": {"type": [kind, "null"], "default": default},
    }


PROVIDER_INFO: dict[str, Any] = {
    "package-name": "airflow-provider-loopring",
    "name": "Loopring",
    "description": "Loopring's NFT API: balances, collections and their layer-1 deployment status.",
    "versions": [__version__],
    "integrations": [
        {
            "integration-name": _INTEGRATION,
            "external-doc-url": "https://docs-protocol.loopring.io/",
            "how-to-guide": [f"{DOCS_URL}howto/{page}.html" for page in HOW_TO_GUIDES],
            "tags": ["service"],
        }
    ],
    "hooks": _modules("hooks"),
    "operators": _modules("operators", "loopring", "changes", "blocks", "holders", "transactions"),
    "sensors": _modules("sensors"),
    "triggers": [
        {
            "integration-name": _INTEGRATION,
            "python-modules": [
                "airflow_provider_loopring.triggers.loopring",
                "airflow_provider_loopring.triggers.events",
            ],
        }
    ],
    # loopring://<host>/account/<id>[/collection/<id>]: one spelling per asset (issue 13).
    "asset-uris": [
        {
            "schemes": ["loopring"],
            "handler": "airflow_provider_loopring.assets.loopring.sanitize_uri",
            "factory": "airflow_provider_loopring.assets.loopring.create_asset",
        }
    ],
    "extra-links": [
        "airflow_provider_loopring.links.loopring.LoopringAccountLink",
        "airflow_provider_loopring.links.loopring.LoopringCollectionLink",
        "airflow_provider_loopring.links.loopring.LoopringBlockLink",
        "airflow_provider_loopring.links.loopring.LoopringTransactionLink",
    ],
    "connection-types": [
        {
            "connection-type": "loopring",
            "hook-class-name": "airflow_provider_loopring.hooks.loopring.LoopringHook",
            "hook-name": "Loopring",
            "ui-field-behaviour": {
                "hidden-fields": ["schema", "login", "port"],
                "relabeling": {"password": "API Key", "host": "API URL"},
                "placeholders": {
                    "host": "https://api3.loopring.io",
                    "password": "your Loopring API key (X-API-KEY)",
                    "extra": '{"requests_per_second": 5, "max_retries": 5, "timeout": 30}',
                },
            },
            "conn-fields": {
                "requests_per_second": _field(
                    "Requests per second",
                    "Client-side rate limit, shared by every task thread in a process.",
                    "number",
                    5,
                ),
                "max_retries": _field(
                    "Max retries",
                    "Retries of a call after 429, 5xx or a network error.",
                    "integer",
                    5,
                ),
                "timeout": _field(
                    "Timeout",
                    "Seconds for a whole request: connecting, headers and body.",
                    "number",
                    30,
                ),
                "max_response_bytes": _field(
                    "Max response bytes",
                    "The largest response body accepted, once decoded (32 MiB); a larger one "
                    "fails the call, not retried.",
                    "integer",
                    32 * 1024 * 1024,
                ),
                "max_pages": _field(
                    "Max pages",
                    "The most pages one listing may take before it fails.",
                    "integer",
                    10_000,
                ),
                # The shared rate budget (issue 12): a connection id, no default.
                "rate_limit_conn_id": {
                    "label": "Rate limit Redis connection",
                    "description": "An Airflow connection to Redis: the requests per second "
                    "become one budget for every worker and triggerer (the [redis] extra).",
                    "schema": {"type": ["string", "null"]},
                },
                "explorer_url": _field(
                    "Explorer URL",
                    "Where the tasks' extra links point; empty: https://explorer.loopring.io "
                    "for the mainnet API, no link for other hosts.",
                    "string",
                    None,
                ),
            },
        }
    ],
}
