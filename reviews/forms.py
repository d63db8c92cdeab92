from __future__ import annotations

from django import forms

from core.errors import too_long
from core.forms import DateInput, DateTimeInput
from goals.forms import offer_only
from goals.models import Goal, GoalState, Level
from org.forms import limit_to_departments, limit_to_people
from org.models import Department, Member
from org.permissions import review_departments

from .models import Assessment
from .services import MAX_TITLE


class ReviewForm(forms.Form):
    title = forms.CharField(
        max_length=MAX_TITLE, error_messages={"max_length": too_long(MAX_TITLE)}
    )
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
            .exclude(level=Level.INDIVIDUAL)
            .order_by("id")
        )
        limit_to_departments(self.fields["department"], organization)
        limit_to_people(self.fields["facilitator"], organization)

    def fit_to(self, member):
        """Offer only the scopes `member` may review (SPEC §9.3): a manager their
        departments and the goals there, never the whole organization. Every scope is
        still parsed: one sent by hand is the service's to refuse, saying what is allowed."""
        scope = review_departments(member)
        if scope is None:
            return
        offer_only(
            self.fields["goal"], self.fields["goal"].queryset.filter(department_id__in=scope)
        )
        offer_only(
            self.fields["department"], self.fields["department"].queryset.filter(pk__in=scope)
        )
        self.fields["department"].help_text = "One of your departments, or a goal of theirs above."


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
        limit_to_people(self.fields["owner"], organization)
