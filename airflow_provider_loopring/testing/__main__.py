"""Command line: `python -m airflow_provider_loopring.testing <command> ...`.

A command is a function that adds its sub-parser and sets `run`; list it in COMMANDS.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from airflow_provider_loopring.testing.demo import add_demo
from airflow_provider_loopring.testing.sandbox import LoopringSandbox
from airflow_provider_loopring.testing.sandbox.generate import DEFAULT_SEED


def add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "serve",
        help="run a sandbox until SIGINT/SIGTERM",
        description=(
            "Serve a Loopring API sandbox. Prints one JSON line with its url and api_key: the "
            "key is a throwaway test key for made-up data, not a secret."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--nfts-per-account", type=int, default=120)
    parser.add_argument("--collections-per-account", type=int, default=3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--api-key", default=None, help="default: derived from --seed")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to responses")
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second")
    parser.set_defaults(run=serve)


def serve(args: argparse.Namespace) -> int:
    """Run the sandbox in the foreground; exit 0 on SIGINT or SIGTERM."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sandbox = LoopringSandbox(
        accounts=args.accounts,
        nfts_per_account=args.nfts_per_account,
        collections_per_account=args.collections_per_account,
        seed=args.seed,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        latency=args.latency,
        rate_limit=args.rate_limit,
    )
    with sandbox:
        # The parent process reads this line to learn the port; the key is a test key.
        print(json.dumps({"url": sandbox.url, "api_key": sandbox.api_key}), flush=True)
        while not stopping.wait(1.0):  # a timed wait lets the signal handler run promptly
            pass
    return 0


COMMANDS: Sequence[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = (
    add_serve,
    add_demo,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_loopring.testing")
    commands = parser.add_subparsers(dest="command", required=True)
    for add_command in COMMANDS:
        add_command(commands)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
