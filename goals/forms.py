"""Forms parse what a person typed; the services decide whether it is allowed and valid."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from org.models import Department, Member

from .models import LEVEL_RANK, Goal, Level


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's per-field messages next to the fields (others at the top)."""
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class DateInput(forms.DateInput):
    input_type = "date"


class GoalForm(forms.Form):
    title = forms.CharField(max_length=300)
    rationale = forms.CharField(
        label="Why",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why this goal matters: the reason people will read.",
    )
    level = forms.ChoiceField(choices=Level.choices)
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False)
    owner = forms.ModelChoiceField(queryset=Member.objects.none(), required=False)
    weight = forms.FloatField(initial=1, help_text="How much it counts in its parent's progress.")
    start = forms.DateField(
        required=False, widget=DateInput, help_text="Default: the cycle's start."
    )
    due = forms.DateField(required=False, widget=DateInput, help_text="Default: the cycle's end.")

    def __init__(self, *args, organization, parent: Goal | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(organization=organization)
        self.fields["owner"].queryset = Member.objects.filter(
            organization=organization, is_active=True
        ).select_related("user")
        self.fields["owner"].label_from_instance = lambda member: member.display_name
        if parent is not None:
            below = [(v, label) for v, label in Level.choices if LEVEL_RANK[v] > parent.rank]
            self.fields["level"].choices = below
        else:
            self.fields["level"].choices = [(Level.STRATEGIC, Level.STRATEGIC.label)]
            self.fields["level"].initial = Level.STRATEGIC


class GoalEditForm(GoalForm):
    parent = forms.ModelChoiceField(
        queryset=Goal.objects.none(), required=False, help_text="Move the goal under another one."
    )
    state = forms.ChoiceField(
        choices=[("active", "Active"), ("done", "Done"), ("cancelled", "Cancelled")]
    )

    def __init__(self, *args, organization, goal: Goal, **kwargs):
        super().__init__(*args, organization=organization, **kwargs)
        self.fields["level"].choices = Level.choices
        self.fields["parent"].queryset = (
            Goal.objects.filter(cycle_id=goal.cycle_id, organization=organization)
            .exclude(pk=goal.pk)
            .exclude(level=Level.INDIVIDUAL)
        )
        self.fields["parent"].label_from_instance = lambda g: f"{g.title} ({g.level})"
