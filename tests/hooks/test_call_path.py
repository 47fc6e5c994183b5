"""What one ``iter_nft_balances`` call runs (issue 22's bound, docs/architecture.md).

Measured as docs/architecture.md says: the package modules whose Python functions run during
the second of two calls (the first loads what is loaded once), and the package modules on the
stack when a request is written to the socket.
"""

from __future__ import annotations

import sys
import threading
from types import FrameType
from typing import Any

from airflow_provider_loopring.hooks.loopring import LoopringHook

P = "airflow_provider_loopring"
RUN = {
    f"{P}.hooks.balances",
    f"{P}.hooks._client",
    f"{P}.hooks.transport",
    f"{P}.hooks._cutoff",
    f"{P}.hooks.budget",
    f"{P}._core.endpoint",
    f"{P}._core.validation",
    f"{P}._core.paging",
    f"{P}._core.responses",
    f"{P}._core.retry",
    f"{P}._core.ratelimit",
    f"{P}.models.fields",
    f"{P}.models.nft",
    f"{P}.models.status",
}
PATH = (f"{P}.hooks.balances", f"{P}.hooks._client", f"{P}.hooks.transport", f"{P}.hooks._cutoff")


def _ours(frame: FrameType) -> str:
    name = frame.f_globals.get("__name__", "")
    return name if name == P or name.startswith(f"{P}.") else ""


def test_one_balances_call_runs_in_the_modules_the_architecture_names(sandbox: Any) -> None:
    account = sandbox.accounts[0]["accountId"]
    hook = LoopringHook()
    assert list(hook.iter_nft_balances(account_id=account))  # the first call loads
    ran: set[str] = set()
    paths: set[tuple[str, ...]] = set()
    me = threading.get_ident()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if threading.get_ident() != me:
            return
        if module := _ours(frame):
            ran.add(module)
        if event == "c_call" and getattr(arg, "__name__", "") in ("sendall", "send"):
            stack, at = [], frame
            while at is not None:
                if (module := _ours(at)) and module not in stack:
                    stack.append(module)
                at = at.f_back
            paths.add(tuple(reversed(stack)))

    sys.setprofile(profile)
    try:
        items = list(hook.iter_nft_balances(account_id=account))
    finally:
        sys.setprofile(None)
    assert items
    assert ran == RUN
    # The generator's frames are resumed from the test, not from hooks.balances: the named
    # method returns at once, so it is on the path at the first request only (not measured).
    assert paths == {PATH[1:]}
