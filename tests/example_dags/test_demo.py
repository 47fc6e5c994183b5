"""`make demo`: both example DAGs against a sandbox, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.example_dags.snapshot_day import read_partition

REPO = Path(__file__).resolve().parents[2]
DEMO = [sys.executable, "-m", "airflow_provider_loopring.testing", "demo"]


def test_the_demo_runs_both_example_dags_and_shows_what_they_did(tmp_path: Path) -> None:
    result = subprocess.run(
        [*DEMO, "--home", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "WRONG" not in out and "  FAILED" not in out
    root = tmp_path / "airflow" / "loopring" / "snapshots"
    days = sorted(p.name.removeprefix("dt=") for p in (root / "summary").iterdir())
    assert len(days) == 2  # two days, with changes between them
    for day in days:
        _, (summary,) = read_partition(root, "summary", day)
        assert (summary["accounts"], summary["skipped_accounts"]) == (3, 1)
        for kind in ("balances", "collections"):
            manifest, _ = read_partition(root, kind, day)
            assert f"{manifest['records']} {kind} records, complete" in out
            for item in manifest["files"]:
                assert f"{item['name']}  ({item['records']} records" in out  # each file shown
        assert f"summary: {summary['nfts']} NFTs in {summary['collections']} collections" in out
    assert [p.suffix for p in (root / "balances" / f"dt={days[1]}").glob("part-*")] == [
        ".parquet"
    ] * 4  # the second day in Parquet
    changes, _ = read_partition(root, "changes", days[1])
    assert summary["changes"]["previous_day"] == days[0] == changes["previous_day"]
    assert "changes, exactly those made between the days" in out
    assert ": NOT_DEPLOYED -> DEPLOYING\n" in out
    assert ": DEPLOYING -> DEPLOYED\n" in out
    assert out.rstrip().splitlines()[-1].startswith("Done in ")


def test_without_the_example_dags_the_demo_says_where_it_looked(tmp_path: Path) -> None:
    missing = tmp_path / "no-dags-here"
    result = subprocess.run(
        [*DEMO, "--home", str(tmp_path), "--dags-folder", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert str(missing) in result.stderr
    assert "--dags-folder" in result.stderr
    assert not (tmp_path / "airflow").exists()  # it stopped before making anything
