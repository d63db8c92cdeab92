"""Form helpers: forms parse what a person typed; the services decide whether it is
allowed and valid, and their messages land beside the fields."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError

from .errors import by_field


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's per-field messages next to the fields (others at the top)."""
    for field, messages in by_field(error).items():
        form.add_error(field if field in form.fields else None, messages)


def save_form[T](form: forms.Form, save: Callable[[dict], T]) -> T | None:
    """Once the form is valid, call its service: `save(form.cleaned_data)`. The
    service's result, or None (an unbound or invalid form, or the service's
    messages now shown beside the fields)."""
    if not form.is_valid():
        return None
    try:
        return save(form.cleaned_data)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)
