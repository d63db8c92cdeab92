"""How services report bad input: every message for every field, raised at once as
one ValidationError (a 400 in the API, messages beside the fields on a page)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from .numbers import MAX_MAGNITUDE, is_finite_number

MAX_WEIGHT = 100
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # CR, LF, tab, NUL, …
MAGNITUDE = f"{MAX_MAGNITUDE:,.0f}"
# The messages of rules every app shares: each written once, here. A form field, a
# serializer field and a service that check the same rule say it with these.
ONE_LINE = "Keep it to one line: no line breaks, tabs or other control characters."
NOT_A_NUMBER = "Enter a finite number, such as 42 or -3.5."
DATE_FORMAT = "Enter a date as YYYY-MM-DD."
NOT_FOUND = "Not found in your organization."
TITLE_REQUIRED = "A title is required."
NAME_REQUIRED = "A name is required."
START_REQUIRED = "A start date is required."
DUE_REQUIRED = "A due date is required."
AFTER_START = "Must be after the start date."


def too_long(limit: int) -> str:
    """A text longer than its column takes."""
    return f"At most {limit:,} characters."


def one_of(values: Iterable[str]) -> str:
    """A choice that is not one of the choices."""
    return f"Must be one of: {', '.join(values)}."


def external_id_taken(noun: str, other_cycle: str | None) -> str:
    """An external id another goal or KPI of the organization holds: in another cycle
    (`other_cycle`, its name), or in the same one (None)."""
    where = f", in the cycle “{other_cycle}”," if other_cycle else ""
    return f"Another {noun}{where} already has this external id."


class Errors:
    """Collects messages per field and raises them together."""

    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.messages.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.messages:
            raise ValidationError(self.messages)


def by_field(error: ValidationError) -> dict[str, list[str]]:
    """A service's messages per field; one about the whole write goes under
    `non_field_errors` (the API's name for it, and no form field's)."""
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"non_field_errors": error.messages}


class Conflict(ValidationError):
    """A write refused by the state of what it touches (a closed cycle), not by its input."""


class RowErrors(Exception):
    """Messages for the rows of a list sent at once (a bulk recording), by row index:
    {"3": {"value": ["…"]}}; a conflict (409) when every row's trouble is its state."""

    def __init__(self, by_row: dict[str, dict[str, list[str]]], *, conflict: bool = False) -> None:
        super().__init__(by_row)
        self.by_row, self.conflict = by_row, conflict


def refuse_unless(allowed: bool, message: str) -> None:
    """Refuse (a 403 on a page or in the API) unless `allowed`: a verdict of
    org/permissions.py, the one place that decides."""
    if not allowed:
        raise PermissionDenied(message)


def check_same_organization(errors: Errors, organization_id: int, **objects: Any) -> None:
    """An object of another organization is reported as unknown, never revealed."""
    for field, obj in objects.items():
        if obj is not None and obj.organization_id != organization_id:
            errors.add(field, NOT_FOUND)


def check_weight(errors: Errors, weight: Any) -> None:
    """0 < weight ≤ 100: how much a goal or KPI counts beside its siblings."""
    if not is_finite_number(weight) or not 0 < weight <= MAX_WEIGHT:
        errors.add("weight", f"Must be a number greater than 0 and at most {MAX_WEIGHT}.")


def check_amount(errors: Errors, field: str, value: Any) -> None:
    """A baseline, target or value: a finite number no larger than ±1e12."""
    if not is_finite_number(value):
        errors.add(field, NOT_A_NUMBER)
    elif abs(value) > MAX_MAGNITUDE:
        errors.add(field, f"Must lie between -{MAGNITUDE} and {MAGNITUDE} (±1e12).")


def check_unique_name(errors: Errors, obj: Any, noun: str, max_length: int | None = None) -> None:
    """A required one-line name that no other row of the organization has (cycles,
    departments), at most `max_length` characters (else what its column holds)."""
    max_length = max_length or type(obj)._meta.get_field("name").max_length
    check_text(errors, "name", obj.name, required=NAME_REQUIRED, max_length=max_length)
    if "name" not in errors.messages and (
        type(obj)
        .objects.filter(organization_id=obj.organization_id, name=obj.name)
        .exclude(pk=obj.pk)
        .exists()
    ):
        errors.add("name", f"Another {noun} already has this name.")


def check_external_id(errors: Errors, obj: Any) -> bool:
    """An integration's own id for a goal or KPI (SPEC §8.4): optional (an empty one is
    none), one line of at most 200 characters. True when the object has one to look
    for among the organization's others (the caller says who holds it: external_id_taken)."""
    value = obj.external_id
    if value is None or value == "":
        obj.external_id = None
        return False
    if not isinstance(value, str) or not value.strip() or len(value) > 200 or CONTROL.search(value):
        errors.add("external_id", "Up to 200 characters on one line (or leave it out).")
        return False
    return True


def check_text(
    errors: Errors, field: str, text: str | None, *, required: str, max_length: int = 300
) -> None:
    """A required single-line text (a title, a name, a unit) that fits its column."""
    line = text or ""
    if not line.strip():
        errors.add(field, required)
    elif len(line) > max_length:
        errors.add(field, too_long(max_length))
    elif CONTROL.search(line):
        errors.add(field, ONE_LINE)


def fit(text: str, max_length: int) -> str:
    """Text built from what people typed (a notification title, an email subject),
    made to fit: control characters become spaces, and what is too long is cut with
    "…". Never an error."""
    text = CONTROL.sub(" ", text)
    return text if len(text) <= max_length else text[: max_length - 1].rstrip() + "…"
