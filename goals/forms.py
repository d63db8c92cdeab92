"""Forms parse what a person typed; the services decide whether it is allowed and valid."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from core.forms import DateInput, RuleForm
from org.forms import limit_to_departments, limit_to_people
from org.models import Department, Member, Organization
from org.permissions import can_edit_goal, goal_departments, only_own_goals

from .models import LEVEL_RANK, Goal, GoalState, Level


class GoalForm(RuleForm):
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

    def __init__(
        self,
        *args: Any,
        organization: Organization,
        parent: Goal | None = None,
        weighs: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not weighs:  # only who may edit the goal above sets its weight
            del self.fields["weight"]
        limit_to_departments(
            cast("forms.ModelChoiceField[Department]", self.fields["department"]), organization
        )
        limit_to_people(cast("forms.ModelChoiceField[Member]", self.fields["owner"]), organization)
        level = cast(forms.ChoiceField, self.fields["level"])
        if parent is not None:
            below = [(v, label) for v, label in Level.choices if LEVEL_RANK[v] > parent.rank]
            level.choices = below
        else:
            level.choices = [(Level.STRATEGIC, Level.STRATEGIC.label)]
            level.initial = Level.STRATEGIC

    def fit_to(self, member: Member, parent: Goal) -> None:
        """Offer only what `member` may create below `parent` (SPEC §8.3): the levels
        where such a goal would be theirs to hold, and for a member only themselves as
        the owner of their individual goal."""
        department = parent.department if parent.department_id else member.department
        level = cast(forms.ChoiceField, self.fields["level"])
        # Django keeps them as (value, label) pairs, whatever they were given as.
        choices = cast("Iterable[tuple[str, str]]", level.choices)
        allowed = [
            (value, label)
            for value, label in choices
            if can_edit_goal(
                member,
                Goal(
                    organization_id=member.organization_id,
                    level=value,
                    department=None if value == Level.INDIVIDUAL else department,
                    owner=member,
                ),
            )
        ]
        if allowed:
            level.choices = allowed
            level.initial = allowed[0][0]
        owner = cast("forms.ModelChoiceField[Member]", self.fields["owner"])
        people = cast("QuerySet[Member]", owner.queryset)  # set by limit_to_people
        if only_own_goals(member):
            owner.queryset = people.filter(pk=member.pk)
            owner.empty_label = None
            del self.fields["department"]  # an individual goal's is its owner's
        elif (scope := goal_departments(member)) is not None:
            # A manager: their departments, and the people in them (SPEC §9.3).
            field = cast("forms.ModelChoiceField[Department]", self.fields["department"])
            departments = cast("QuerySet[Department]", field.queryset)
            field.queryset = departments.filter(pk__in=scope)
            owner.queryset = people.filter(department_id__in=scope)

    def goal_fields(self) -> dict[str, Any]:
        """What was typed, as goal_create's arguments: blanks left to its defaults."""
        data = self.cleaned_data
        fields = {
            name: data.get(name)
            for name in ("level", "title", "department", "owner", "weight", "start", "due")
        }
        typed = {name: value for name, value in fields.items() if value not in (None, "")}
        return typed | {"rationale": data.get("rationale") or ""}


EDITED = ("title", "rationale", "level", "department", "owner", "weight", "parent", "state")


class GoalEditForm(GoalForm):
    parent = forms.ModelChoiceField(
        queryset=Goal.objects.none(), required=False, help_text="Move the goal under another one."
    )
    state = forms.ChoiceField(choices=GoalState.choices)

    def __init__(
        self,
        *args: Any,
        organization: Organization,
        goal: Goal,
        weighs: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "initial", {name: getattr(goal, name) for name in (*EDITED, "start", "due")}
        )
        super().__init__(*args, organization=organization, weighs=weighs, **kwargs)
        self.goal = goal
        cast(forms.ChoiceField, self.fields["level"]).choices = Level.choices
        parent = cast("forms.ModelChoiceField[Goal]", self.fields["parent"])
        parent.queryset = (
            Goal.objects.filter(cycle_id=goal.cycle_id, organization=organization)
            .exclude(pk=goal.pk)
            .exclude(level=Level.INDIVIDUAL)
        )
        # Django relabels a field's choices through this method; mypy takes no
        # function in its place on one instance.
        parent.label_from_instance = lambda g: f"{g.title} ({g.level})"  # type: ignore[method-assign, assignment]

    def changes(self) -> dict[str, Any]:
        """What was typed, as goal_update's changes: blank dates keep the goal's."""
        data = self.cleaned_data
        changes = {name: data.get(name) for name in EDITED if name in self.fields}
        changes["start"] = data.get("start") or self.goal.start
        changes["due"] = data.get("due") or self.goal.due
        changes["rationale"] = changes["rationale"] or ""
        return changes
