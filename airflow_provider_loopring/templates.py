"""What Airflow has not rendered yet: operators and sensors check such arguments later."""

from __future__ import annotations


def unrendered(value: object) -> bool:
    """Whether an argument is still a Jinja template or an XCom reference.

    Operators and sensors check such values after rendering, every other value when built.

    :param value: an argument as given; a list or tuple is unrendered if any item is.
    """
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, (list, tuple)):
        return any(unrendered(item) for item in value)
    from airflow.sdk import XComArg  # already imported wherever a task is built

    return isinstance(value, XComArg)
