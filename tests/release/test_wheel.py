"""What `pip install airflow-provider-loopring` gives a user, away from this checkout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request

from airflow_provider_loopring import __version__
from airflow_provider_loopring.testing.client import SandboxClient

PACKAGE = "airflow_provider_loopring"


def test_the_wheel_holds_the_package_its_types_license_and_example_dags(wheel_files):
    assert f"{PACKAGE}/py.typed" in wheel_files
    assert f"{PACKAGE}/example_dags/loopring_nft_snapshot.py" in wheel_files
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in wheel_files)
    top = {name.split("/")[0] for name in wheel_files}
    assert top == {PACKAGE, f"{PACKAGE}-{__version__}.dist-info"}, top
    assert not [name for name in wheel_files if "/tests/" in name or "benchmarks" in name]
    assert not [name for name in wheel_files if "__pycache__" in name or name.endswith(".pyc")]


# Modules that need what only an extra (or another provider) brings, and what that is: the
# wheel is installed bare, as `pip install airflow-provider-loopring` installs it.
NEEDS = {
    f"{PACKAGE}.hooks.redis_budget": "redis",  # the [redis] extra
    f"{PACKAGE}.operators._lineage": "airflow.providers.openlineage",  # read by that provider
}


def test_every_module_imports_from_the_installed_package(installed):
    script = textwrap.dedent(
        f"""
        import importlib, json, pkgutil, {PACKAGE} as package
        names = [info.name for info in pkgutil.walk_packages(package.__path__, "{PACKAGE}.")]
        files, missing = [], {{}}
        for name in names:
            try:
                files.append(importlib.import_module(name).__file__)
            except ModuleNotFoundError as error:
                missing[name] = error.name
        print(json.dumps({{"names": names, "files": files, "missing": missing}}))
        """
    )
    done = installed.run(str(installed.python), "-c", script)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for module in (
        "hooks.loopring",
        "operators.loopring",
        "sensors.loopring",
        "triggers.loopring",
        "testing.pytest_plugin",
        "version_compat",
    ):
        assert f"{PACKAGE}.{module}" in found["names"]
    # Only the modules of an extra miss something, and only what that extra brings.
    assert set(found["missing"]) <= set(NEEDS), found["missing"]
    for name, dependency in found["missing"].items():
        assert dependency.startswith(NEEDS[name].split(".")[0]), (name, dependency)
    site = str(installed.root / "venv")
    assert all(path.startswith(site) for path in found["files"]), found["files"]


def test_without_the_redis_extra_a_shared_budget_says_what_to_install(installed):
    # Nothing listens on 127.0.0.1:9: the error must come before any request is sent.
    script = textwrap.dedent(
        f"""
        import importlib.util, json, os
        os.environ["AIRFLOW_CONN_LOOPRING_DEFAULT"] = json.dumps({{"conn_type": "loopring",
            "host": "https://127.0.0.1:9", "password": "k",
            "extra": {{"rate_limit_conn_id": "redis_default", "max_retries": 0}}}})
        from {PACKAGE}.hooks.loopring import LoopringHook
        try:
            LoopringHook().get_collections(account_id=1)
        except Exception as error:
            found = importlib.util.find_spec("redis") is not None
            print(json.dumps([found, type(error).__name__, str(error)]))
        """
    )
    done = installed.run(str(installed.python), "-c", script)
    assert done.returncode == 0, done.stderr
    has_redis, kind, message = json.loads(done.stdout.strip().splitlines()[-1])
    assert not has_redis  # the bare wheel and Airflow bring no redis-py
    assert kind == "LoopringInvalidParameterError", message
    assert "pip install 'airflow-provider-loopring[redis]'" in message


def test_airflow_lists_the_provider_its_hook_and_trigger(installed):
    def cli(*args: str):
        done = installed.run("airflow", *args, "--output", "json", timeout=180)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    (provider,) = [
        p for p in cli("providers", "list") if p["package_name"] == PACKAGE.replace("_", "-")
    ]
    assert provider["version"] == __version__
    hooks = {h["connection_type"]: h["class"] for h in cli("providers", "hooks")}
    assert hooks["loopring"] == f"{PACKAGE}.hooks.loopring.LoopringHook"
    triggers = {t["class"] for t in cli("providers", "triggers")}
    assert f"{PACKAGE}.triggers.loopring" in triggers  # Airflow lists the trigger's module


def test_serve_runs_a_sandbox_that_answers_with_its_key(installed):
    server = subprocess.Popen(
        [str(installed.python), "-m", f"{PACKAGE}.testing", "serve", "--port", "0"],
        cwd=installed.root,
        env=installed.env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        started = json.loads(server.stdout.readline())
        sandbox = SandboxClient(started["url"])
        account_id = sandbox.accounts[0]["accountId"]
        url = f"{started['url']}/api/v3/user/nft/balances?accountId={account_id}&nonZero=true"
        assert get(url, {})["code"] == 104001  # no key, no data
        page = get(url, {"X-API-KEY": started["api_key"]})
        assert page["totalNum"] == len(sandbox.balances(account_id, non_zero=True)) > 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        assert server.wait(timeout=60) == 0


def get(url: str, headers: dict[str, str]) -> dict:
    """Loopring's answer as JSON, its error envelope included (no proxy: the server is local)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=30) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read()).get("resultInfo", {})


def test_the_demo_runs_the_example_dags_shipped_in_the_wheel(installed):
    done = installed.run(
        str(installed.python), "-m", f"{PACKAGE}.testing", "demo", "--home", "demo"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The demo shows paths relative to where it runs: the venv's, not a checkout's.
    line = next(line for line in done.stdout.splitlines() if "DAGs from" in line)
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert f"DAGs from venv/lib/{python}/site-packages/{PACKAGE}/example_dags." in line, line
    assert "Done in" in done.stdout and "WRONG" not in done.stdout


def test_the_pytest_plugin_gives_a_users_tests_the_sandbox(installed):
    (installed.root / "test_mine.py").write_text(
        textwrap.dedent(
            """
            import json
            import pytest
            from airflow_provider_loopring.hooks.loopring import LoopringHook

            @pytest.mark.loopring_sandbox(accounts=1, nfts_per_account=7)
            def test_my_dag(loopring_sandbox, monkeypatch):
                connection = {"conn_type": "loopring", "host": loopring_sandbox.url,
                              "password": loopring_sandbox.api_key}
                monkeypatch.setenv("AIRFLOW_CONN_LOOPRING_DEFAULT", json.dumps(connection))
                (account,) = loopring_sandbox.accounts
                held = LoopringHook().iter_nft_balances(account_id=account["accountId"])
                expected = loopring_sandbox.balances(account["accountId"], non_zero=True)
                assert len(list(held)) == len(expected) > 0
            """
        )
    )
    done = installed.run(
        str(installed.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
