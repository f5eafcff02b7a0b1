"""The pages' names for enumerated values: the library's labels (:mod:`ceasefire.labels`), and
the one value that is not an enumeration of its own (an assessment that names no party)."""

from __future__ import annotations

from ceasefire.i18n import pgettext
from ceasefire.labels import label


def attribution_name(value: str | None) -> str:
    if value is None:
        return "-"
    return (
        pgettext("attribution", "could not be attributed") if value == "not_attributed" else value
    )


def shown(kind: str, value: str | None) -> str:
    """``label`` for a template: "-" for a missing value."""
    return "-" if value is None else label(kind, value)


__all__ = ["attribution_name", "shown"]
