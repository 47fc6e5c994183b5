"""docs/reliability.md lists what these tests hold, as they stand: no row may go missing."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from tests.reliability import (
    test_bad_input,
    test_faults,
    test_secrets,
    test_snapshot_day,
    test_stores,
)

DOC = Path(__file__).parents[2] / "docs" / "reliability.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text()


def test_every_fault_has_its_row_and_status(doc):
    for case in test_faults.CASES:
        rows = [line for line in doc.splitlines() if line.startswith(f"| [`{case.id}`]")]
        assert len(rows) == 1, case.id
        statuses = [cell.strip().split()[0] for cell in rows[0].split("|")[-4:-1]]
        assert statuses == ["xfail" if case.defect else "pass"] * 3, case.id


def test_every_bad_input_row_is_listed(doc):
    labels = [
        *(label for _, label, _, _ in test_bad_input.HOOK_ROWS),
        *(label for _, label, _, _ in test_bad_input.OPERATOR_ROWS),
        *(label for _, label, _, _ in test_bad_input.SENSOR_ROWS),
        *(label for label, _, _ in test_bad_input.CONNECTION_ROWS),
        *(label for label, _, _ in test_bad_input.BACKOFF_ROWS),
        *(label for label, _, _, _ in test_bad_input.DECISIONS),
        *test_bad_input.TEMPLATED,
    ]
    assert [label for label in labels if f"`{label}`" not in doc] == []


def test_every_test_is_named(doc):
    modules = (test_faults, test_bad_input, test_secrets, test_stores, test_snapshot_day)
    names = [
        name
        for module in modules
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("test_") and inspect.getmodule(function) is module
    ]
    assert len(names) > 10
    assert [name for name in names if not re.search(rf"\b{name}\b", doc)] == []


def test_links_point_at_files_that_exist(doc):
    targets = set(re.findall(r"\]\((\.\./[^)#\s]+)", doc))
    assert targets
    assert [t for t in sorted(targets) if not (DOC.parent / t).resolve().exists()] == []
