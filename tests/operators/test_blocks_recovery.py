"""A blocks day whose re-run failed is run again, whatever its checkpoint could take back.

A same-day re-run writes its checkpoint (the ranges it took back) before it removes the day's
manifest; if it then fails before its ranges reach the cursor's last block, the next run of
that day must still go on (reading again every block after the checkpoint), never be stuck.
"""

from __future__ import annotations

import pytest

from airflow_provider_loopring.exceptions import LoopringBlockError
from tests.operators.test_blocks import _gap, activity, operator

pytestmark = pytest.mark.loopring_sandbox(accounts=6, nfts_per_account=4, collections_per_account=1)
DAY = "2026-12-01"


def _blocks_read(sandbox) -> list[str]:
    return [r.query.get("id") for r in sandbox.requests if r.path.endswith("getBlock")]


def test_a_damaged_range_then_a_failed_rerun_then_the_day_again(sandbox, tmp_path):
    day1 = activity(sandbox, seed=18)
    operator(tmp_path, start_block=day1[0], day=DAY, blocks_per_range=2).execute({})
    folder = tmp_path / "nft_activity" / f"dt={DAY}"
    files = sorted(p for p in folder.iterdir() if not p.name.startswith("_"))
    files[1].write_bytes(files[1].read_bytes() + b"x")  # the second range: not taken back
    sandbox.add_fault(_gap(day1[2]))  # the re-read of it fails
    with pytest.raises(LoopringBlockError, match="gap"):
        operator(tmp_path, day=DAY, blocks_per_range=2).execute({})
    sandbox.clear_faults()
    sandbox.clear_requests()
    done = operator(tmp_path, day=DAY, blocks_per_range=2).execute({})
    assert (done["first_block"], done["last_block"]) == (day1[0], day1[-1])
    assert [b for b in _blocks_read(sandbox) if b != "finalized"] == [str(b) for b in day1[2:-1]]


def test_a_rerun_in_another_format_that_failed_then_the_day_again(sandbox, tmp_path):
    day1 = activity(sandbox, seed=18)
    operator(tmp_path, start_block=day1[0], day=DAY, blocks_per_range=2).execute({})
    sandbox.add_fault(_gap(day1[3]))  # the Parquet re-run fails after its first range
    with pytest.raises(LoopringBlockError, match="gap"):
        operator(tmp_path, day=DAY, blocks_per_range=2, output_format="parquet").execute({})
    sandbox.clear_faults()
    done = operator(tmp_path, day=DAY, blocks_per_range=2, output_format="parquet").execute({})
    assert (done["first_block"], done["last_block"]) == (day1[0], day1[-1])
    day2 = activity(sandbox, seed=19)
    result = operator(tmp_path, day="2026-12-02", output_format="parquet").execute({})
    assert (result["first_block"], result["last_block"]) == (day2[0], day2[-1])
