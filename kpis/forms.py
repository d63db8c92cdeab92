from __future__ import annotations

from typing import Any, cast

from django import forms

from core.errors import NOT_A_NUMBER
from core.forms import DateInput, RuleForm
from goals.forms import offer_owners
from goals.models import Goal
from org.forms import limit_to_people
from org.models import Member, Organization
from org.permissions import can_give_to

from .models import KPI_FIELDS, Aggregation, Confidence, Direction, Kpi


class KpiForm(RuleForm):
    name = forms.CharField(
        max_length=300, help_text="What changes, e.g. “Average ticket resolution time”."
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    unit = forms.CharField(max_length=32, help_text="%, hours, leads, …")
    direction = forms.ChoiceField(choices=Direction.choices)
    aggregation = forms.ChoiceField(
        choices=Aggregation.choices,
        help_text="Latest: the newest value counts. Sum: values add up.",
    )
    baseline = forms.FloatField(error_messages={"invalid": NOT_A_NUMBER})
    target = forms.FloatField(error_messages={"invalid": NOT_A_NUMBER})
    weight = forms.FloatField(initial=1)
    owner = forms.ModelChoiceField(
        queryset=Member.objects.none(), required=False, help_text="Default: you."
    )
    start = forms.DateField(
        required=False, widget=DateInput, help_text="Default: the goal's start."
    )
    due = forms.DateField(
        required=False, widget=DateInput, help_text="Default: the goal's due date."
    )

    def __init__(
        self, *args: Any, organization: Organization, kpi: Kpi | None = None, **kwargs: Any
    ) -> None:
        if kpi is not None:
            kwargs.setdefault(
                "initial", {name: getattr(kpi, name) for name in KPI_FIELDS if name != "goal"}
            )
        super().__init__(*args, **kwargs)
        self.kpi = kpi
        limit_to_people(cast("forms.ModelChoiceField[Member]", self.fields["owner"]), organization)

    def fit_to(self, member: Member, goal: Goal) -> None:
        """Offer as owners only the people `member` may give KPIs to (SPEC §9.3), and
        the KPI's owner when editing one; a new KPI's owner is its goal's owner where
        they may give it to them, else themselves."""
        keep = self.kpi.owner if self.kpi is not None else None
        offer_owners(self.fields["owner"], member, keep=keep)
        if self.kpi is None and not self.is_bound:
            owner = (
                goal.owner if goal.owner is not None and can_give_to(member, goal.owner) else member
            )
            self.initial["owner"] = owner.pk

    def typed(self) -> dict[str, Any]:
        """What was typed, blanks left out (the service's defaults apply to them)."""
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}

    def changes(self) -> dict[str, Any]:
        """What was typed, as kpi_edit's changes: an emptied description is emptied."""
        return self.typed() | {"description": self.cleaned_data.get("description") or ""}


class RecordForm(forms.Form):
    value = forms.FloatField(
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8, "placeholder": "Value"})
    )
    date = forms.DateField(required=False, widget=DateInput, help_text="Default: today.")
    note = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": "Note (optional)"}),
    )
    confidence = forms.ChoiceField(
        choices=[("", "Confidence…"), *Confidence.choices], required=False
    )


class RetractForm(forms.Form):
    reason = forms.CharField(
        max_length=1000,
        label="Why",
        widget=forms.TextInput(attrs={"placeholder": "Why it no longer counts", "size": 30}),
    )


CONFIDENCES = cast(forms.ChoiceField, RecordForm.base_fields["confidence"]).choices
