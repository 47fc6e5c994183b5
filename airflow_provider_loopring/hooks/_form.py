"""The connection form as Airflow 3.1 asks a hook for it, made from the provider info.

Airflow 3.2+ reads the form from the provider info's ``ui-field-behaviour`` and
``conn-fields``; 3.1 reads only the hook's ``get_ui_field_behaviour`` and
``get_connection_form_widgets``. Both come from the one declaration in
:mod:`airflow_provider_loopring._provider_info`. wtforms, flask_appbuilder and flask_babel are
imported when Airflow asks (its UI service stands in mocks for them where FAB is not
installed): a DAG file never needs them.
"""

from __future__ import annotations

from typing import Any


def _connection_type() -> dict[str, Any]:
    from airflow_provider_loopring._provider_info import PROVIDER_INFO

    (connection_type,) = PROVIDER_INFO["connection-types"]
    return connection_type


def ui_field_behaviour() -> dict[str, Any]:
    """The hidden, relabelled and prefilled standard fields, in the keys 3.1 expects.

    :return: ``hidden_fields``, ``relabeling`` and ``placeholders``.
    """
    behaviour = _connection_type()["ui-field-behaviour"]
    return {key.replace("-", "_"): value for key, value in behaviour.items()}


def connection_form_widgets() -> dict[str, Any]:
    """The extras' fields: label, description and default, as the provider info has them.

    Airflow 3.1 takes only text, integer, password and boolean fields: a number (a rate, a
    timeout) is a text field, its default written out; the hook reads "5" as it reads 5.

    :return: a wtforms field for each extra, by the extra's name.
    """
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import IntegerField, StringField
    from wtforms.validators import Optional

    classes = {"integer": IntegerField, "number": StringField, "string": StringField}
    widgets = {}
    for name, field in _connection_type()["conn-fields"].items():
        kind = field["schema"]["type"][0]  # [kind, "null"]: every extra may be left empty
        default = field["schema"].get("default")
        if kind == "number" and default is not None:
            default = str(default)
        widgets[name] = classes[kind](
            lazy_gettext(field["label"]),
            description=field["description"],
            default=default,
            validators=[Optional()],
            widget=BS3TextFieldWidget(),
        )
    return widgets
