from __future__ import annotations

from django import forms

from goals.forms import DateInput
from goals.models import Goal, GoalState
from org.models import Department, Member

from .models import Assessment


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _people(organization):
    return Member.objects.filter(organization=organization, is_active=True).select_related("user")


class ReviewForm(forms.Form):
    title = forms.CharField(max_length=300)
    goal = forms.ModelChoiceField(
        queryset=Goal.objects.none(),
        required=False,
        label="Scope: a goal and everything below it",
        empty_label="— not a goal —",
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(),
        required=False,
        label="…or a department",
        empty_label="— not a department —",
        help_text="Neither: the whole organization.",
    )
    period = forms.CharField(
        max_length=8, help_text="2027-03 (monthly cycles) or 2027-Q1 (quarterly)."
    )
    scheduled_for = forms.DateTimeField(
        widget=DateTimeInput, label="When", help_text="In your organization's time zone."
    )
    facilitator = forms.ModelChoiceField(
        queryset=Member.objects.none(), required=False, help_text="Default: you."
    )

    def __init__(self, *args, organization, cycle, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["goal"].queryset = (
            Goal.objects.filter(cycle=cycle, state=GoalState.ACTIVE)
            .exclude(level="individual")
            .order_by("id")
        )
        self.fields["department"].queryset = Department.objects.filter(organization=organization)
        self.fields["facilitator"].queryset = _people(organization)
        self.fields["facilitator"].label_from_instance = lambda m: m.display_name


class ItemForm(forms.Form):
    assessment = forms.ChoiceField(
        choices=[("", "Not assessed"), *Assessment.choices], required=False
    )
    win = forms.BooleanField(required=False, label="A win to celebrate")
    notes = forms.CharField(
        required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3})
    )
    decision = forms.CharField(
        required=False,
        max_length=10000,
        label="Decision / course correction",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ActionForm(forms.Form):
    title = forms.CharField(max_length=300, label="Action")
    owner = forms.ModelChoiceField(queryset=Member.objects.none())
    due = forms.DateField(widget=DateInput)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _people(organization)
        self.fields["owner"].label_from_instance = lambda m: m.display_name
