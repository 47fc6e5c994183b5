"""Where an operator's records go, and what survives a failed try.

- :mod:`.xcom`: the records themselves as XCom, capped;
- :mod:`.objects`: one JSON Lines / JSON object in object storage, whole or not at all;
- :mod:`.staging`: checkpoints of finished accounts, so a retry fetches only the rest;
- :mod:`.accounts`: addresses resolved to account ids, kept across runs;
- :mod:`.snapshots`: the day-partitioned snapshot layout and its manifests.

Standard library only at import time: fsspec and ``ObjectStoragePath`` come in when a task
writes, so DAG files that import the operators stay cheap to parse.
"""

from airflow_provider_loopring.storage.formats import FORMATS, check_output_format
from airflow_provider_loopring.storage.objects import (
    FilePart,
    ObjectStorageWriter,
    check_output_path,
)
from airflow_provider_loopring.storage.xcom import ListPart, XComRecords

__all__ = [
    "FORMATS",
    "FilePart",
    "ListPart",
    "ObjectStorageWriter",
    "XComRecords",
    "check_output_format",
    "check_output_path",
]
