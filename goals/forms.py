"""Forms parse what a person typed; the services decide whether it is allowed and valid.

A form offers only what the person may choose (SPEC §8.3, §9.3), as org/permissions.py
decides it, and pre-fills the obvious. It still parses every choice of the organization:
a choice sent by hand that was not offered reaches the service, which refuses it and
says what is allowed instead (a 403, like any write where one may not write), rather
than "not one of the choices".
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.db.models import Model, Q, QuerySet

from core.forms import DateInput, RuleForm
from org.forms import limit_to_departments, limit_to_people
from org.models import Department, Member, Organization
from org.permissions import can_edit_goal, goal_departments, only_own_goals, people_given_to

from .models import LEVEL_RANK, Goal, GoalState, Level


def offer_only[M: Model](field: forms.Field, queryset: QuerySet[M]) -> None:
    """Show `queryset`'s rows as a model choice field's choices, while it still parses
    every row it parsed before (see the module's docstring)."""
    shown = copy.copy(cast("forms.ModelChoiceField[M]", field))  # its widget is the field's
    shown.queryset = queryset
    # Lazy, as the field's own: a ModelChoiceIterator, read when the form is shown.
    cast(forms.Select, field.widget).choices = cast("Iterable[Any]", shown.choices)


def offer_levels(field: forms.Field, levels: list[tuple[str, str]]) -> None:
    """Show only these levels, while the field still parses every level."""
    cast(forms.Select, field.widget).choices = levels


def offer_owners(field: forms.Field, member: Member, keep: Member | None = None) -> None:
    """Offer as owners the people `member` may give goals and KPIs to, and the owner
    there already (`keep`: keeping one needs no one's leave). A member, who may give
    them only to themselves, is offered no empty choice."""
    owner = cast("forms.ModelChoiceField[Member]", field)
    people = cast("QuerySet[Member]", owner.queryset)  # set by limit_to_people
    allowed = people_given_to(member)
    if keep is not None and allowed:  # (an empty Q, everyone, takes no "or")
        allowed |= Q(pk=keep.pk)
    if only_own_goals(member) and (keep is None or keep.pk == member.pk):
        owner.empty_label = None
    offer_only(owner, people.filter(allowed))


def levels_for(
    member: Member, choices: object, department: Department | None
) -> list[tuple[str, str]]:
    """The levels of `choices` at which a goal (in `department`, or for an individual
    goal owned by `member`) would be theirs to hold."""
    # Django keeps them as (value, label) pairs, whatever they were given as.
    return [
        (value, label)
        for value, label in cast("Iterable[tuple[str, str]]", choices)
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


def offer_departments(field: forms.Field, member: Member) -> None:
    """Offer the departments whose goals `member` may hold (a manager: theirs)."""
    scope = goal_departments(member)
    if scope is not None:
        departments = cast("QuerySet[Department]", cast(forms.ModelChoiceField, field).queryset)
        offer_only(field, departments.filter(pk__in=scope))


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
        """Offer only what `member` may create below `parent` (SPEC §8.3, §9.3): the
        levels where such a goal would be theirs to hold, a manager their departments
        and the people in them, a member an individual goal of their own."""
        department = parent.department if parent.department_id else member.department
        level = self.fields["level"]
        allowed = levels_for(member, cast(forms.ChoiceField, level).choices, department)
        if allowed:
            offer_levels(level, allowed)
            level.initial = allowed[0][0]
        offer_owners(self.fields["owner"], member)
        if only_own_goals(member):
            del self.fields["department"]  # an individual goal's is its owner's
        else:
            offer_departments(self.fields["department"], member)

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

    def fit_to(self, member: Member, parent: Goal | None = None) -> None:
        """Offer only what `member` may make of this goal (SPEC §8.3, §9.3): the levels
        where it would still be theirs, a manager their departments, and as its owner
        the people they may give it to or the owner it has. A member, who holds only
        individual goals of their own, is not asked for a department."""
        goal = self.goal
        level = self.fields["level"]
        department = goal.department if goal.department_id else member.department
        offer_levels(level, levels_for(member, Level.choices, department))
        offer_owners(self.fields["owner"], member, keep=goal.owner)
        if only_own_goals(member) and goal.is_individual:
            del self.fields["department"]  # an individual goal's is its owner's
        else:
            offer_departments(self.fields["department"], member)

    def changes(self) -> dict[str, Any]:
        """What was typed, as goal_update's changes: blank dates keep the goal's."""
        data = self.cleaned_data
        changes = {name: data.get(name) for name in EDITED if name in self.fields}
        changes["start"] = data.get("start") or self.goal.start
        changes["due"] = data.get("due") or self.goal.due
        changes["rationale"] = changes["rationale"] or ""
        return changes
