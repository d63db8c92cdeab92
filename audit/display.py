"""An entry's changes as a person reads them: one line per field, old → new."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple

from django.utils import timezone

SHOWN_ITEMS = 20  # of a bulk write's list; the rest are counted
NOTHING = "—"
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")  # an ISO instant, as diff() keeps one


class ChangeRow(NamedTuple):
    field: str
    old: str
    new: str


def change_rows(changes: dict[str, Any]) -> list[ChangeRow]:
    """{field: [old, new]} as lines of text (a value that is not a pair: all new)."""
    rows = []
    for field, values in changes.items():
        if isinstance(values, list) and len(values) == 2:
            old, new = values
        else:
            old, new = None, values
        rows.append(ChangeRow(field.replace("_", " "), shown(old), shown(new)))
    return rows


def shown(value: Any) -> str:
    """One value as text: a related row by its label, a list by its first items."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # a weight of 2, not 2.0
    if isinstance(value, dict):
        if "label" in value:
            return str(value["label"]) or f"#{value.get('id')}"
        if "id" in value:
            return f"#{value['id']}"
        return ", ".join(f"{key}: {shown(item)}" for key, item in value.items())
    if isinstance(value, list):
        if not value:
            return "none"
        listed = ", ".join(shown(item) for item in value[:SHOWN_ITEMS])
        more = len(value) - SHOWN_ITEMS
        return f"{listed} and {more} more ({len(value)} in all)" if more > 0 else listed
    if isinstance(value, str) and INSTANT.match(value):
        return _instant(value)
    return str(value)


def _instant(text: str) -> str:
    """An ISO instant in the reader's time zone, to the minute (as the page's times)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return f"{moment:%Y-%m-%d %H:%M}"
