"""`python -m airflow_provider_loopring.testing demo`: both example DAGs against a sandbox, offline.

It starts a sandbox on a free loopback port, makes a throwaway Airflow home (sqlite) under
`.demo/`, and runs the example DAGs with `dag.test()`: the daily NFT snapshot of three
accounts, then the deployment wait, with the sandbox scripted to move the collection
NOT_DEPLOYED -> DEPLOYING -> DEPLOYED while the sensor waits in its trigger. It prints what
was fetched and written, checks it against the sandbox's data, and exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import airflow_provider_loopring
from airflow_provider_loopring.testing.demo_output import (
    check,
    failed,
    recording_stdout,
    return_values,
    shown,
    step,
    written_records,
)
from airflow_provider_loopring.testing.sandbox import LoopringSandbox

SNAPSHOT_DAG = "loopring_nft_snapshot"
AWAIT_DAG = "loopring_await_deployment"
SCRIPTED = ["NOT_DEPLOYED", "DEPLOYING", "DEPLOYED"]
# An address no sandbox account has: the snapshot skips it and says so.
UNKNOWN_ADDRESS = "0x" + "5e" * 20
# The two days the demo snapshots (in the past, so they never clash with a real run's).
FIRST_DAY, SECOND_DAY = "2026-01-01", "2026-01-02"
# How the sensor and its trigger log a status change (issue 4: "0x.. NOT_DEPLOYED -> DEPLOYING").
TRANSITION = re.compile(
    r"(?P<what>(?:collection|NFT) \S+).*? (?P<old>[A-Z_]+) -> (?P<new>[A-Z_]+)$"
)


def add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command and its options; it runs :func:`demo`.

    :param commands: the subcommands of ``python -m airflow_provider_loopring.testing``.
    """
    parser = commands.add_parser(
        "demo", help="run the example DAGs against a sandbox, offline (`make demo`)"
    )
    parser.add_argument("--home", default=".demo", help="throwaway Airflow home goes here")
    parser.add_argument(
        "--dags-folder", default=None, help="the example DAGs (default: ./example_dags)"
    )
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--nfts-per-account", type=int, default=120)
    parser.set_defaults(run=demo)


def find_dags_folder(given: str | None) -> Path:
    """The example DAGs: as given, else the first of `dags_folder_candidates()` with both.

    :param given: ``--dags-folder``, or None.
    :raises SystemExit: no folder tried holds both example DAGs.
    """
    candidates = [Path(given)] if given is not None else dags_folder_candidates()
    for folder in candidates:
        if (folder / f"{SNAPSHOT_DAG}.py").is_file() and (folder / f"{AWAIT_DAG}.py").is_file():
            return folder.resolve()
    tried = ", ".join(str(folder) for folder in candidates)
    raise SystemExit(
        f"demo: the example DAGs ({SNAPSHOT_DAG}.py, {AWAIT_DAG}.py) are not in {tried}. "
        "Run `make demo` in a checkout of airflow-provider-loopring, or pass --dags-folder."
    )


def dags_folder_candidates() -> list[Path]:
    """./example_dags, the copy the wheel ships in the package, the source checkout's."""
    package = Path(airflow_provider_loopring.__file__).parent
    return [Path.cwd() / "example_dags", package / "example_dags", package.parent / "example_dags"]


def quiet_airflow_env(home: Path, dags_folder: Path) -> dict[str, str]:
    """A throwaway Airflow: sqlite in `home`, our DAGs, warnings only, but our INFO lines.

    :param home: the Airflow home to use; its database goes there.
    :param dags_folder: the folder of the example DAGs.
    :return: the environment variables to set before anything imports Airflow.
    """
    from cryptography.fernet import Fernet

    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING" if _has_namespace_levels() else "INFO",
        # The provider's own progress lines (pages, transitions) are what the demo is about.
        "AIRFLOW__LOGGING__NAMESPACE_LEVELS": (
            "airflow_provider_loopring=INFO airflow.task.operators.airflow_provider_loopring=INFO"
        ),
        "AIRFLOW__LOGGING__LOG_FORMAT": "    | %(message)s",
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
        # Deferred tasks' trigger arguments are stored encrypted.
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        # The sandbox moves on per response, not per minute: no need to wait a minute per check.
        "LOOPRING_DEPLOYMENT_POKE_INTERVAL": "1",
    }


def _has_namespace_levels() -> bool:
    """Whether Airflow knows ``[logging] namespace_levels`` (3.2+); without it the demo logs INFO.

    The one version check outside ``version_compat``: Airflow reads its logging configuration
    when it is first imported, so this must be known before anything imports airflow.
    """
    from importlib.metadata import version

    from packaging.version import Version

    return Version(version("apache-airflow-core")) >= Version("3.2")


def demo(args: argparse.Namespace) -> int:
    """Run both example DAGs against a fresh sandbox and check what they did.

    :param args: the command's options: ``home``, ``dags_folder``, ``accounts``,
        ``nfts_per_account``.
    :return: the exit status: 0 when every check passed, else 1.
    """
    started = time.monotonic()
    dags_folder = find_dags_folder(args.dags_folder)
    home = Path(args.home).resolve() / "airflow"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    os.environ.update(quiet_airflow_env(home, dags_folder))  # before anything imports airflow
    # Airflow's own dependencies warn about each other at import; nothing a demo user can fix.
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    sandbox = LoopringSandbox(accounts=args.accounts, nfts_per_account=args.nfts_per_account)
    with sandbox:
        os.environ["AIRFLOW_CONN_LOOPRING_DEFAULT"] = json.dumps(
            {"conn_type": "loopring", "host": sandbox.url, "password": sandbox.api_key}
        )
        print(
            f"Loopring sandbox at {sandbox.url}: {args.accounts} accounts of made-up NFTs.\n"
            f"Airflow home {shown(home)} (sqlite), DAGs from {shown(dags_folder)}.\n"
        )
        dags = _load_dags(dags_folder)
        ok = run_snapshot(dags[SNAPSHOT_DAG], sandbox)
        ok = run_await_deployment(dags[AWAIT_DAG], sandbox) and ok
    verdict = "Done" if ok else "FAILED"
    print(
        f"\n{verdict} in {time.monotonic() - started:.0f} s; the sandbox is stopped. "
        f"The files and Airflow's database stay in {shown(home)}."
    )
    return 0 if ok else 1


def _load_dags(dags_folder: Path) -> dict[str, Any]:
    from airflow.utils import db

    from airflow_provider_loopring.version_compat import dag_bag_class

    with step("Creating the metadata database"):
        db.initdb()
    bag = dag_bag_class()(dag_folder=str(dags_folder))
    if bag.import_errors:
        raise SystemExit(f"demo: the example DAGs do not import: {bag.import_errors}")
    return {dag_id: bag.get_dag(dag_id) for dag_id in (SNAPSHOT_DAG, AWAIT_DAG)}


# --- the snapshot ------------------------------------------------------------------------


def run_snapshot(dag: Any, sandbox: LoopringSandbox) -> bool:
    """Two days of the snapshot, with a few changes between them; the second in Parquet.

    The second day is in JSON Lines when pyarrow is not installed.

    :param dag: the snapshot DAG.
    :param sandbox: the running sandbox it reads.
    :return: whether every check passed.
    """
    import importlib.util

    accounts = sandbox.accounts
    # One account by its owner address, to show the DAG resolving it; the others by id; and
    # an address Loopring does not know, which the DAG skips and counts.
    wanted: list[int | str] = [account["accountId"] for account in accounts]
    if len(wanted) > 1:
        wanted[1] = accounts[1]["owner"]
    wanted.append(UNKNOWN_ADDRESS)
    second = "parquet" if importlib.util.find_spec("pyarrow") else "jsonl"
    ok = _snapshot_day(dag, sandbox, wanted, FIRST_DAY, "jsonl")
    mutations = _mutate(sandbox)
    print(f"\n   between the days, the sandbox changes: {'; '.join(m[0] for m in mutations)}")
    ok = _snapshot_day(dag, sandbox, wanted, SECOND_DAY, second) and ok
    if second == "jsonl":
        print("   (install airflow-provider-loopring[parquet] to see a day in Parquet)")
    return _show_changes(dag, mutations) and ok


def _snapshot_day(
    dag: Any, sandbox: LoopringSandbox, wanted: list[int | str], day: str, output_format: str
) -> bool:
    from airflow_provider_loopring.storage import snapshots

    print(f"== {SNAPSHOT_DAG} for {day} ({output_format}), accounts={json.dumps(wanted)}")
    # Full nights: the demo's second day changes a deployment status, which no block names.
    conf = {"accounts": wanted, "output_format": output_format, "mode": "full"}
    run, took = _test(dag, conf, day)
    summary = return_values(run).get(("summarize", -1))
    print(f"  run {run.state} in {took:.1f} s")
    if run.state != "success" or not isinstance(summary, dict):
        return failed(run)
    root, accounts = dag.params["output_root"], sandbox.accounts
    checks = []
    for kind, count in (
        ("balances", lambda a: len(sandbox.balances(a, non_zero=True))),
        ("collections", lambda a: len(sandbox.collections(a))),
    ):
        folder = snapshots.partition(root, kind, day)
        manifest = snapshots.read_manifest(folder) or {"files": [], "records": None}
        expected = sum(count(account["accountId"]) for account in accounts)
        print(f"  {shown(folder)}/")
        for item in manifest["files"]:
            print(f"    {item['name']}  ({item['records']} records, {item['bytes']:,} bytes)")
        print(f"    {snapshots.MANIFEST}")
        checks.append(
            check(
                f"    {manifest['records']} {kind} records, complete",
                manifest["records"] == expected,
                f"the sandbox holds {expected}",
            )
        )
    statuses = ", ".join(f"{n} {s}" for s, n in summary["nfts_per_deployment_status"].items())
    print(f"  summary: {summary['nfts']} NFTs in {summary['collections']} collections; {statuses}")
    checks.append(
        check(
            f"  {summary['accounts']} accounts; skipped: {', '.join(summary['skipped'])}",
            summary["accounts"] == len(accounts) and summary["skipped"] == [UNKNOWN_ADDRESS],
            f"expected {len(accounts)} accounts and {UNKNOWN_ADDRESS} skipped",
        )
    )
    return all(checks)


def _mutate(sandbox: LoopringSandbox) -> list[tuple[str, int, str, str]]:
    """A few changes between the days: (what, accountId, nftData, expected change)."""
    first, second = (account["accountId"] for account in sandbox.accounts[:2])
    held = sandbox.balances(first, non_zero=True)
    other = sandbox.balances(second, non_zero=True)
    mint = "0x" + "0d" * 32
    changes = [
        (f"account {first} now holds 3 more of one NFT", first, held[0]["nftData"], "amount"),
        (f"account {first} no longer holds another", first, held[1]["nftData"], "removed"),
        (f"a new NFT minted into account {second}", second, mint, "added"),
    ]
    sandbox.set_balance(first, held[0]["nftData"], str(int(held[0]["total"]) + 3))
    sandbox.set_balance(first, held[1]["nftData"], "0")
    sandbox.set_balance(second, mint, "7")
    sandbox.set_nft_status(other[0]["nftData"], "DEPLOY_FAILED")  # in every account holding it
    for account in sandbox.accounts:
        if any(b["nftData"] == other[0]["nftData"] for b in sandbox.balances(account["accountId"])):
            what = f"one NFT of account {account['accountId']} failed to deploy"
            changes.append((what, account["accountId"], other[0]["nftData"], "status"))
    return changes


def _show_changes(dag: Any, mutations: list[tuple[str, int, str, str]]) -> bool:
    from airflow_provider_loopring.storage import snapshots

    folder = snapshots.partition(dag.params["output_root"], "changes", SECOND_DAY)
    manifest = snapshots.read_manifest(folder) or {"files": []}
    found = []
    for item in manifest["files"]:
        found += written_records(f"{folder}/{item['name']}")
    print(f"\n  {shown(folder)}/: what changed since {FIRST_DAY}")
    for record in found:
        print(
            f"    account {record['accountId']} {record['nftData'][:12]}..: {record['change']}"
            f" (total {record['totalBefore']} -> {record['totalAfter']}, status"
            f" {record['deploymentStatusBefore']} -> {record['deploymentStatusAfter']})"
        )
    seen = {(r["accountId"], r["nftData"].lower(), r["change"]) for r in found}
    wanted = {(account, nft.lower(), change) for _, account, nft, change in mutations}
    return check(
        f"  {len(found)} changes, exactly those made between the days",
        seen == wanted and len(found) == len(wanted),
        f"expected {sorted(wanted)}",
    )


# --- the deployment wait -----------------------------------------------------------------


def run_await_deployment(dag: Any, sandbox: LoopringSandbox) -> bool:
    """The deployment wait, the sandbox moving a collection one status per check.

    :param dag: the deployment-wait DAG.
    :param sandbox: the running sandbox it reads.
    :return: whether the sensor saw every scripted transition and the NFTs were fetched.
    """
    account_id = sandbox.accounts[0]["accountId"]
    held = sandbox.collections(account_id)[0]
    collection = held["collection"]
    contract = collection["contractAddress"].lower()
    expected = [
        nft
        for nft in sandbox.balances(account_id, non_zero=True)
        if nft["tokenAddress"].lower() == contract
    ]
    sandbox.schedule_collection_status(collection["id"], SCRIPTED, every=1)
    conf = {"account_id": account_id, "collection_id": collection["id"]}
    print(
        f"\n== {AWAIT_DAG}, {json.dumps(conf)}: {collection['name']!r}; the sandbox "
        f"answers {' -> '.join(SCRIPTED)}, one step per check"
    )
    with recording_stdout() as output:
        run, took = _test(dag, conf)
    print(f"  run {run.state} in {took:.1f} s")
    if run.state != "success":
        return failed(run)
    seen = _transitions(output.getvalue())
    print("  the sensor saw:")
    for what, old, new in seen:
        print(f"    {what}: {old} -> {new}")
    wanted = list(itertools.pairwise(SCRIPTED))
    fetched = return_values(run).get(("deployed_nfts", -1)) or []
    checks = [
        check(
            "  every scripted transition seen",
            [(old, new) for _, old, new in seen] == wanted,
            f"expected {wanted}",
        ),
        check(
            f"  then deployed_nfts fetched {len(fetched)} NFTs of contract {contract}",
            len(fetched) == len(expected),
            f"the account holds {len(expected)}",
        ),
    ]
    return all(checks)


def _transitions(log: str) -> list[tuple[str, str, str]]:
    """Status changes in the log, each once (the trigger logs them, the sensor repeats them)."""
    found: dict[tuple[str, str, str], None] = {}
    for line in log.splitlines():
        match = TRANSITION.search(line.strip())
        if match:
            found.setdefault((match["what"], match["old"], match["new"]), None)
    return list(found)


# --- helpers -----------------------------------------------------------------------------


def _test(dag: Any, conf: dict[str, Any], day: str | None = None) -> tuple[Any, float]:
    """One run; with ``day``, as if triggered on that day (the snapshot's partition)."""
    import pendulum

    started = time.monotonic()
    if day is None:
        run = dag.test(run_conf=conf)
    else:
        when = pendulum.parse(f"{day}T06:00:00+00:00")
        run = dag.test(run_conf=conf, logical_date=when, run_after=when)
    return run, time.monotonic() - started
