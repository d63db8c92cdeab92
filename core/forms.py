"""Form helpers: forms parse what a person typed; the services decide whether it is
allowed and valid, and their messages land beside the fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from .errors import by_field, one_of, too_long


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's per-field messages next to the fields (others at the top)."""
    for field, messages in by_field(error).items():
        form.add_error(field if field in form.fields else None, messages)


def save_form[T](form: forms.Form, save: Callable[[dict[str, Any]], T]) -> T | None:
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


class RuleForm(forms.Form):
    """A form whose fields say a rule they check before the service does (a text too
    long for its column, a choice that is none of the choices) with the message the
    service gives for it (core/errors.py), not Django's own."""

    def full_clean(self) -> None:
        # When it is judged, not when made: a form may narrow its choices in between.
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and field.max_length is not None:
                field.error_messages["max_length"] = too_long(field.max_length)
            if type(field) is forms.ChoiceField:  # a model's choice is a lookup: not this
                # Django keeps them as (value, label) pairs, whatever they were given as.
                choices = cast("Iterable[tuple[object, object]]", field.choices)
                values = [str(value) for value, _label in choices if value != ""]
                field.error_messages["invalid_choice"] = one_of(values)
        super().full_clean()


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)
