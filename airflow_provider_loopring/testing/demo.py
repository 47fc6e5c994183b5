"""`python -m airflow_provider_loopring.testing demo`: a snapshot of every sandbox account.

Offline: it starts a sandbox on a free loopback port, points a throwaway Airflow home at
it and reads every account's NFTs and collections through LoopringHook, as a DAG would.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from airflow_provider_loopring.testing.sandbox import LoopringSandbox


def add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("demo", help="read every account of a sandbox, offline")
    parser.add_argument("--home", default=".demo", help="throwaway AIRFLOW_HOME (default .demo)")
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--nfts-per-account", type=int, default=120)
    parser.set_defaults(run=demo)


def demo(args: argparse.Namespace) -> int:
    home = Path(args.home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-", dir=home)
    with LoopringSandbox(accounts=args.accounts, nfts_per_account=args.nfts_per_account) as sandbox:
        os.environ["AIRFLOW_CONN_LOOPRING_DEFAULT"] = json.dumps(
            {
                "conn_type": "loopring",
                "host": sandbox.url,
                "password": sandbox.api_key,
                "extra": {"requests_per_second": 20},
            }
        )
        print(f"Loopring sandbox at {sandbox.url} ({args.accounts} accounts)")
        from airflow_provider_loopring.hooks.loopring import LoopringHook

        hook = LoopringHook()
        started = time.monotonic()
        for listed in sandbox.accounts:
            account = hook.get_account(address=listed["owner"])
            balances = list(hook.iter_nft_balances(account_id=account.account_id))
            collections = list(hook.iter_collections(account_id=account.account_id))
            statuses = Counter(str(b.deployment_status) for b in balances)
            print(
                f"  account {account.account_id} {account.owner}: {len(balances)} NFTs "
                f"in {len(collections)} collections; "
                + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
            )
        took = time.monotonic() - started
        print(f"{len(sandbox.requests)} requests in {took:.1f} s, rate-limited to 20/s; done.")
    return 0
