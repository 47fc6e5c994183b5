"""The sinks on their own: framing, the cap, and what a failed commit leaves (nothing)."""

from __future__ import annotations

import json
import os

import pytest

from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.storage import (
    ObjectStorageWriter,
    XComRecords,
    check_output_path,
)
from airflow_provider_loopring.version_compat import AirflowFailException
from tests.operators.conftest import leftover_parts

RECORDS = [{"accountId": 1, "n": 1}, {"accountId": 1, "n": 2}, {"accountId": 3, "n": "é\n"}]


def write(url, output_format, groups, conn_id=None):
    """Records grouped by account through a writer; returns the reference."""
    with ObjectStorageWriter(url, conn_id=conn_id, output_format=output_format) as writer:
        parts = []
        for group in groups:
            part = writer.new_part()
            for record in group:
                part.write(record)
            part.close()
            parts.append(part)
        return writer.commit(parts, fetched_at="2024-01-01T00:00:00+00:00")


@pytest.mark.parametrize("output_format", ["jsonl", "json"])
def test_records_come_out_in_the_parts_order_and_parse_back(tmp_path, output_format):
    target = tmp_path / f"out.{output_format}"
    groups = [RECORDS[:2], [], RECORDS[2:]]  # an account with nothing adds nothing
    reference = write(f"file://{target}", output_format, groups)
    data = target.read_bytes()
    if output_format == "jsonl":
        assert [json.loads(line) for line in data.splitlines()] == RECORDS
    else:
        assert json.loads(data) == RECORDS
    assert (reference["records"], reference["accounts"], reference["bytes"]) == (3, 3, len(data))


@pytest.mark.parametrize(("output_format", "expected"), [("jsonl", b""), ("json", b"[]\n")])
def test_no_records_is_still_a_valid_file(tmp_path, output_format, expected):
    target = tmp_path / "empty"
    write(f"file://{target}", output_format, [[]])
    assert target.read_bytes() == expected


def test_parts_live_in_the_scratch_folder_until_the_writer_closes(tmp_path, scratch):
    with ObjectStorageWriter(
        f"file://{tmp_path}/x.jsonl", conn_id=None, output_format="jsonl"
    ) as w:
        w.new_part().close()
        assert len(leftover_parts(scratch)) == 1
    assert leftover_parts(scratch) == []


def failing_commit(url, conn_id=None):
    """A commit that breaks while concatenating: a part file vanished."""
    with ObjectStorageWriter(url, conn_id=conn_id, output_format="jsonl") as writer:
        good, lost = writer.new_part(), writer.new_part()
        for part in (good, lost):
            part.write(RECORDS[0])
            part.close()
        os.unlink(lost.path)
        with pytest.raises(FileNotFoundError):
            writer.commit([good, lost], fetched_at="now")


def test_a_failed_commit_leaves_no_file_and_no_temporary(tmp_path, scratch):
    failing_commit(f"file://{tmp_path}/out/x.jsonl")
    assert list((tmp_path / "out").iterdir()) == []
    assert leftover_parts(scratch) == []


def test_a_failed_commit_leaves_no_object_and_no_temporary(s3):
    failing_commit(s3.url("commit-failed/x.jsonl"), conn_id=s3.conn_id)
    assert s3.keys("commit-failed/") == []


def test_the_xcom_cap():
    sink = XComRecords(max_records=2)
    parts = [sink.new_part(), sink.new_part()]
    for part, record in zip(parts, RECORDS, strict=False):
        part.write(record)
    assert sink.commit(parts) == RECORDS[:2]
    parts[1].write(RECORDS[2])
    with pytest.raises(AirflowFailException, match=r"at least 3 records.*max_xcom_records=2"):
        sink.commit(parts)


@pytest.mark.parametrize(
    "url", ["nfts.jsonl", "s3://bucket", "s3:///key.jsonl", "file://relative/x", "file:///tmp/"]
)
def test_urls_that_name_no_object(url):
    with pytest.raises(LoopringInvalidParameterError, match=r"^Invalid output_path:"):
        check_output_path(url)


def test_a_directory_target_is_refused(tmp_path, scratch):
    folder = tmp_path / "already-a-folder"
    folder.mkdir()
    with pytest.raises(LoopringInvalidParameterError, match=r"^Invalid output_path: .*folder"):
        write(f"file://{folder}", "jsonl", [RECORDS])
    assert list(folder.iterdir()) == []  # no hidden temporary inside it either
    assert leftover_parts(scratch) == []
