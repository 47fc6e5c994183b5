"""The provider as Airflow sees it: entry point, schema, the real CLI (the form: hooks/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import airflow

from airflow_provider_loopring import __version__, get_provider_info


def test_provider_info_is_valid_for_this_airflow():
    import jsonschema

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == "airflow-provider-loopring"
    assert info["versions"] == [__version__]


def test_the_airflow_cli_lists_the_provider_and_its_hook(tmp_path):
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    airflow_cli = Path(sys.executable).with_name("airflow")

    def cli(*args: str) -> str:
        done = subprocess.run(
            [str(airflow_cli), *args, "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    providers = json.loads(cli("providers", "list"))
    assert {"package_name": "airflow-provider-loopring", "version": __version__}.items() <= next(
        p for p in providers if p["package_name"] == "airflow-provider-loopring"
    ).items()
    hooks = json.loads(cli("providers", "hooks"))
    (ours,) = [h for h in hooks if h["connection_type"] == "loopring"]
    assert ours["class"] == "airflow_provider_loopring.hooks.loopring.LoopringHook"


def test_the_changelog_top_release_is_the_package_version():
    import re

    changelog = (Path(__file__).resolve().parents[1] / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d[^\]]*)\] - \d{4}-\d{2}-\d{2}$", changelog, flags=re.M)
    assert released and released[0] == __version__, released
    assert f"[{__version__}]: " in changelog  # the release's link at the bottom


def test_the_how_to_guides_are_pages_of_the_docs_site():
    from airflow_provider_loopring._provider_info import DOCS_URL, HOW_TO_GUIDES

    (integration,) = get_provider_info()["integrations"]
    docs = Path(__file__).resolve().parents[1] / "docs"
    for page, url in zip(HOW_TO_GUIDES, integration["how-to-guide"], strict=True):
        assert url == f"{DOCS_URL}howto/{page}.html"
        assert (docs / "howto" / f"{page}.md").is_file(), page
    assert sorted(HOW_TO_GUIDES) == sorted(p.stem for p in (docs / "howto").glob("*.md"))
