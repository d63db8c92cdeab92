"""How services report bad input: every message for every field, raised at once as
one ValidationError (a 400 in the API, messages beside the fields on a page)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from .numbers import is_finite_number


class Errors:
    """Collects messages per field and raises them together."""

    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.messages.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.messages:
            raise ValidationError(self.messages)


def refuse_unless(allowed: bool, message: str) -> None:
    """Refuse (a 403 on a page or in the API) unless `allowed`: a verdict of
    org/permissions.py, the one place that decides."""
    if not allowed:
        raise PermissionDenied(message)


def check_same_organization(errors: Errors, organization_id: int, **objects: Any) -> None:
    """An object of another organization is reported as unknown, never revealed."""
    for field, obj in objects.items():
        if obj is not None and obj.organization_id != organization_id:
            errors.add(field, "Not found in your organization.")


def check_weight(errors: Errors, weight: Any) -> None:
    if not is_finite_number(weight) or not weight > 0:
        errors.add("weight", "Must be a number greater than 0.")


def check_unique_name(errors: Errors, obj: Any, noun: str) -> None:
    """A required name that no other row of the organization has (cycles, departments)."""
    if not (obj.name or "").strip():
        errors.add("name", "A name is required.")
    elif (
        type(obj)
        .objects.filter(organization_id=obj.organization_id, name=obj.name)
        .exclude(pk=obj.pk)
        .exists()
    ):
        errors.add("name", f"Another {noun} already has this name.")


def check_text(
    errors: Errors, field: str, text: str | None, *, required: str, max_length: int = 300
) -> None:
    """A required single-line text (a title, a name) that fits its column."""
    if not (text or "").strip():
        errors.add(field, required)
    elif len(text) > max_length:
        errors.add(field, f"At most {max_length} characters.")
