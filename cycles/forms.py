"""The Cycles page's forms: a cycle, a roll-over, an import's upload. Forms parse what a
person typed; the services decide whether it is allowed and valid."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.http import QueryDict

from core.forms import DateInput, RuleForm
from core.periods import Cadence
from goals.models import Goal

from .models import Cycle
from .rollover import PICK_GOALS
from .services import MAX_NAME
from .sheets import EMPTY_FILE


class CycleForm(RuleForm):
    name = forms.CharField(max_length=MAX_NAME, help_text="For example “Q1 2027” or “FY 2027”.")
    start = forms.DateField(widget=DateInput)
    end = forms.DateField(widget=DateInput)
    cadence = forms.ChoiceField(
        choices=Cadence.choices,
        initial=Cadence.QUARTERLY,
        help_text="How often check-ins are due and reviews are held.",
    )

    @classmethod
    def editing(cls, cycle: Cycle, data: QueryDict | None = None) -> CycleForm:
        fields = ("name", "start", "end", "cadence")
        return cls(data, initial={name: getattr(cycle, name) for name in fields})


class RolloverForm(forms.Form):
    """Roll over (SPEC §8.3): goals of `source` to copy into another cycle."""

    to_cycle = forms.ModelChoiceField(
        queryset=Cycle.objects.none(), label="Into cycle", empty_label="Pick a cycle"
    )
    goals = forms.ModelMultipleChoiceField(
        queryset=Goal.objects.none(),
        error_messages={"required": PICK_GOALS},
    )

    def __init__(self, *args: Any, source: Cycle, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        others = Cycle.objects.filter(organization_id=source.organization_id).exclude(pk=source.pk)
        to_cycle = cast("forms.ModelChoiceField[Cycle]", self.fields["to_cycle"])
        to_cycle.queryset = others.order_by("-start")
        goals = cast("forms.ModelMultipleChoiceField[Goal]", self.fields["goals"])
        goals.queryset = Goal.objects.filter(cycle=source)


class ImportForm(forms.Form):
    """The Import page's upload: one CSV or XLSX file."""

    file = forms.FileField(
        label="Spreadsheet",
        error_messages={"empty": EMPTY_FILE},  # as the API and the reading say it
        help_text="CSV or XLSX, with the template's columns. Nothing is written until you "
        "confirm the preview.",
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument."
                "spreadsheetml.sheet"
            }
        ),
    )
