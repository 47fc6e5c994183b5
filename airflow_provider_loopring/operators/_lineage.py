"""What an accounts operator read and wrote, as OpenLineage datasets and facets.

Imported only by the operators' ``get_openlineage_facets_on_*`` methods, which only the
OpenLineage provider calls: without it installed, nothing here is ever imported.

- Input: the Loopring endpoint read, namespace ``loopring://<host>`` (the connection's host,
  with its port), name the endpoint's path; the accounts and filters go in a run facet
  (``loopring``). The API key is never part of either: it is not in the host, the path or
  the operator's arguments.
- Output: the object written (``output_path``), named as OpenLineage names files and
  object stores (namespace ``file`` and the absolute path; ``s3://bucket`` and the key),
  with a schema facet listing the record's columns. Without ``output_path`` the records
  go to XCom, which is no dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs
from airflow.providers.common.compat.openlineage.facet import (
    Dataset,
    RunFacet,
    SchemaDatasetFacet,
    SchemaDatasetFacetFields,
)
from airflow.providers.openlineage.extractors import OperatorLineage

from airflow_provider_loopring import __version__

# A run facet names this many accounts at most, and counts them all: an event's size must
# not grow with a task of 10,000 accounts (462 KB), which lineage backends refuse or choke on.
MAX_FACET_ACCOUNTS = 20
PRODUCER = f"https://github.com/airflow-provider-loopring/airflow-provider-loopring/{__version__}"


@attrs.define
class LoopringRunFacet(RunFacet):
    """Which Loopring accounts a run read, and with which filters (never the key).

    :param accounts: the first :data:`MAX_FACET_ACCOUNTS` account ids and owner addresses,
        as given.
    :param accountCount: how many accounts the run read, all of them.
    :param filters: the endpoint's other parameters (``nft_datas``, ``non_zero``, ...).
    """

    accounts: list[str] = attrs.field(factory=list)
    accountCount: int = 0  # camelCase, as OpenLineage spells facet fields
    filters: dict[str, Any] = attrs.field(factory=dict)

    @staticmethod
    def _get_schema() -> str:
        return f"{PRODUCER}/LoopringRunFacet.json"


def endpoint_dataset(base_url: str, path: str) -> Dataset:
    """The Loopring endpoint read: ``loopring://api3.loopring.io`` and ``/api/v3/...``.

    :param base_url: the connection's base URL (its path prefix, if any, joins the name).
    :param path: the endpoint's path.
    """
    url = urlsplit(base_url)
    return Dataset(namespace=f"loopring://{url.netloc}", name=f"{url.path}{path}")


def object_dataset(output_path: str, columns: Sequence[tuple[str, str]]) -> Dataset:
    """The object written, as OpenLineage names it, with a schema facet of its columns.

    :param output_path: the ``ObjectStoragePath`` URL (or a plain local path).
    :param columns: (name, type) of each column of a record.
    """
    url = urlsplit(output_path)
    if url.scheme in ("", "file", "local"):
        namespace, name = "file", url.path
    else:
        namespace, name = f"{url.scheme}://{url.netloc}", url.path.lstrip("/")
    schema = SchemaDatasetFacet(
        fields=[SchemaDatasetFacetFields(name=column, type=kind) for column, kind in columns]
    )
    return Dataset(namespace=namespace, name=name, facets={"schema": schema})


def operator_lineage(
    *,
    base_url: str,
    endpoint: str,
    accounts: Sequence[object],
    filters: dict[str, Any],
    output_path: str | None,
    columns: Sequence[tuple[str, str]],
) -> OperatorLineage:
    """The lineage of one accounts operator's task (see the module's docstring).

    :param base_url: the Loopring connection's base URL.
    :param endpoint: the path of the endpoint the operator reads.
    :param accounts: the accounts, as given (ids and addresses).
    :param filters: the endpoint's other parameters.
    :param output_path: where the records were written, or None for XCom.
    :param columns: the columns of a record.
    """
    outputs = [] if output_path is None else [object_dataset(output_path, columns)]
    facet = LoopringRunFacet(
        accounts=[str(account) for account in accounts[:MAX_FACET_ACCOUNTS]],
        accountCount=len(accounts),
        filters={name: value for name, value in filters.items() if value is not None},
    )
    return OperatorLineage(
        inputs=[endpoint_dataset(base_url, endpoint)],
        outputs=outputs,
        run_facets={"loopring": facet},
    )
