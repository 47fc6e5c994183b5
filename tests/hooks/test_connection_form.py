"""The connection form, the README's table and the hook's reading of a connection agree.

The form is declared once, in the provider info. Airflow 3.2+ reads it there; 3.1 asks the
hook (``get_ui_field_behaviour``, ``get_connection_form_widgets``), which builds it from that
declaration. What Airflow's UI service answers is checked on whichever Airflow runs the tests.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_loopring import get_provider_info
from airflow_provider_loopring._core.explorer import explorer_url
from airflow_provider_loopring._core.settings import connection_settings
from airflow_provider_loopring.hooks.loopring import LoopringHook
from airflow_provider_loopring.version_compat import HAS_PROVIDER_CONN_FIELDS

README = Path(__file__).resolve().parents[2] / "README.md"
(CONNECTION,) = get_provider_info()["connection-types"]
FIELDS: dict[str, Any] = CONNECTION["conn-fields"]
BEHAVIOUR: dict[str, Any] = CONNECTION["ui-field-behaviour"]
NO_EXTRAS = connection_settings(None, None, None, {})


class _Recording(dict):
    """Extras that remember which names were asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)


def _extras_read() -> set[str]:
    """Every extra the hook's settings and its tasks' links read from a connection."""
    extra = _Recording()
    explorer_url(connection_settings(None, None, None, extra).base_url, extra)
    return extra.read


def _readme_section() -> str:
    text = README.read_text()
    return text[text.index("<!-- connection-start -->") : text.index("<!-- connection-end -->")]


def _readme_extras() -> dict[str, str]:
    return dict(re.findall(r"^\| Extra `(\w+)` \| (.+) \|$", _readme_section(), flags=re.M))


def test_every_extra_the_hook_reads_is_a_form_field_and_a_readme_row():
    read = _extras_read()
    assert set(FIELDS) == read
    assert set(_readme_extras()) == read


def test_the_form_and_the_readme_give_the_hook_s_defaults():
    rows = _readme_extras()
    for name, field in FIELDS.items():
        default = field["schema"].get("default")
        # explorer_url is no setting: empty means the host's explorer, if it has one.
        assert default == getattr(NO_EXTRAS, name, None), name
        if default is not None:
            assert re.search(rf"\bdefault {default}\b", rows[name]), (name, rows[name])
    section = _readme_section()
    for field, title in BEHAVIOUR["relabeling"].items():
        assert f'| {field.capitalize()} ("{title}") |' in section, field


# In a fresh process, as the API server's: 3.1's UI service mocks wtforms around the process's
# ProvidersManager, which shows no widgets once hooks were imported without those mocks.
UI_SERVICE = """
import json, sys
import airflow.sdk
before = set(sys.modules)
import airflow_provider_loopring.hooks.loopring
parse_time = sorted({m.split(".")[0] for m in set(sys.modules) - before})
from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
(form,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "loopring"]
print(json.dumps({"parse_time": parse_time, "form": form.model_dump(mode="json")}))
"""


@pytest.fixture(scope="module")
def ui_service() -> dict[str, Any]:
    """What Airflow's UI service (``HookMetaService``) says of the Loopring form."""
    done = subprocess.run(
        [sys.executable, "-c", UI_SERVICE], capture_output=True, text=True, check=True, timeout=180
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_airflow_s_ui_shows_the_declared_form(ui_service):
    form = ui_service["form"]
    assert form["hook_name"] == CONNECTION["hook-name"]
    standard = form["standard_fields"]
    assert standard is not None, "Airflow sees no form for loopring"
    for field in ("host", "password"):  # the standard password field: the UI masks the key
        assert standard[field] == {
            "hidden": False,
            "title": BEHAVIOUR["relabeling"][field],
            "placeholder": BEHAVIOUR["placeholders"][field],
        }, field
    assert [f for f in ("login", "url_schema", "port") if not standard[f]["hidden"]] == []

    extras = form["extra_fields"]
    assert list(extras) == list(FIELDS)
    for name, field in FIELDS.items():
        shown = extras[name]
        assert (shown["schema"]["title"], shown["description"]) == (
            field["label"],
            field["description"],
        ), name
        assert (shown["value"] is None) == (field["schema"].get("default") is None), name
    # What the form saves untouched (3.1 keeps a number as text) reads as no extras at all.
    prefilled = {name: shown["value"] for name, shown in extras.items()}
    assert connection_settings(None, None, None, prefilled) == NO_EXTRAS
    assert explorer_url(NO_EXTRAS.base_url, prefilled) == explorer_url(NO_EXTRAS.base_url, {})


def test_the_hook_answers_for_its_form_only_where_airflow_asks_it(ui_service):
    asked = not HAS_PROVIDER_CONN_FIELDS  # 3.1; 3.2+ deprecate the methods
    for method in ("get_ui_field_behaviour", "get_connection_form_widgets"):
        assert (method in LoopringHook.__dict__) is asked, method
    heavy = {"wtforms", "flask_appbuilder", "flask_babel"}
    assert heavy.isdisjoint(ui_service["parse_time"]), ui_service["parse_time"]
