"""The cycle as an import sees it (cycles/import_plan.py plans the rows against it):
its goals and KPIs, each with the plan of what the file does to it, the ways a row
finds them (by title under a parent, by external id), the organization's people and
departments by name, and the answers the validators ask for (goals/rules.py GoalFacts,
kpis/rules.py KpiFacts), from the cycle and the rows planned so far.

It reads the database once: a fixed number of queries whatever the file's size.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from goals.models import GOAL_FIELDS, Goal, GoalState, Level
from goals.rules import Holder, external_ids_held
from kpis.models import KPI_FIELDS, Kpi
from org.models import Department, Member

from .models import Cycle


def norm(text: str) -> str:
    """A title or name as matched: case-insensitive, whitespace collapsed."""
    return " ".join(text.split()).casefold()


def spaced(text: str) -> str:
    """A title or name as stored: runs of spaces made one (a tab or a line break is
    left for the validator to refuse, as everywhere)."""
    return re.sub(" {2,}", " ", text.strip(" "))


@dataclass(eq=False, kw_only=True)
class Planned:
    """A goal or KPI of the plan: stored already, or one the file creates."""

    original: dict[str, Any] | None  # its stored fields; None: the file creates it
    first_row: int | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field → (old, new)
    set_by: dict[str, int] = field(default_factory=dict)  # field → the row that set it

    @property
    def new(self) -> bool:
        return self.original is None


@dataclass(eq=False, kw_only=True)
class GoalPlan(Planned):
    """A goal of the plan."""

    goal: Goal
    kpis: dict[str, KpiPlan] = field(default_factory=dict)  # by normalized name

    @property
    def obj(self) -> Goal:
        return self.goal


@dataclass(eq=False, kw_only=True)
class KpiPlan(Planned):
    """A KPI of the plan."""

    kpi: Kpi

    @property
    def obj(self) -> Kpi:
        return self.kpi


def _stored(obj: Goal | Kpi, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


@dataclass
class Plan:
    """What an import would do: per row, and in total."""

    rows: list[dict[str, Any]]
    goals: list[GoalPlan]
    kpis: list[KpiPlan]
    # How the article's "Individual KPI" cells were read ({applied, message}); None
    # when the file has none (cycles/sheets.py, read_as).
    individual_kpi: dict[str, str] | None = None

    @property
    def errors(self) -> dict[str, dict[str, list[str]]]:
        return {str(row["row"]): row["errors"] for row in self.rows if row["errors"]}

    @property
    def totals(self) -> dict[str, int]:
        planned = [*self.goals, *self.kpis]
        return {
            "rows": len(self.rows),
            "create": sum(1 for o in planned if o.new),
            "change": sum(1 for o in planned if not o.new and o.changes),
            "unchanged": sum(1 for o in planned if not o.new and not o.changes),
            "errors": sum(1 for row in self.rows if row["errors"]),
            "goals_created": sum(1 for o in self.goals if o.new),
            "kpis_created": sum(1 for o in self.kpis if o.new),
        }

    def preview(self) -> dict[str, Any]:
        return {"rows": self.rows, "totals": self.totals, "individual_kpi": self.individual_kpi}


class Context:
    """What the plan reads of the database, once; and the validators' facts, answered
    from it and from what the rows planned so far."""

    def __init__(self, *, actor: Member, cycle: Cycle) -> None:
        self.actor, self.cycle = actor, cycle
        self._read_tree(cycle)
        org = cycle.organization_id
        self.goals_elsewhere = external_ids_held(
            Goal.objects.filter(organization_id=org).exclude(cycle=cycle), "cycle"
        )
        self.kpis_elsewhere = external_ids_held(
            Kpi.objects.filter(organization_id=org).exclude(goal__cycle=cycle), "goal__cycle"
        )
        self._read_people(org)
        self.departments = {norm(d.name): d for d in Department.objects.filter(organization_id=org)}
        self.department_of = {d.pk: d for d in self.departments.values()}
        self.new_objectives: list[GoalPlan] = []  # created by the rows so far

    def _read_tree(self, cycle: Cycle) -> None:
        """The cycle's goals and KPIs, each with its plan, and the ways rows find them."""
        # With who each goal and KPI is for: the validators read them (no query per row).
        goals = {
            goal.pk: goal
            for goal in Goal.objects.filter(cycle=cycle)
            .select_related("department", "owner")
            .order_by("id")
        }
        self.plan_of: dict[int, GoalPlan] = {}
        for goal in goals.values():
            goal.cycle = cycle
            if goal.parent_id in goals:  # (always: a parent is in its child's cycle)
                goal.parent = goals[goal.parent_id]
            self.plan_of[goal.pk] = GoalPlan(goal=goal, original=_stored(goal, GOAL_FIELDS))
        # (the parent's plan, level, normalized title) → the goal a row names
        self.by_title: dict[tuple[int, str, str], GoalPlan] = {}
        self.goal_ext: dict[str, GoalPlan] = {}
        for goal in goals.values():  # the first by id wins a tie of titles
            plan = self.plan_of[goal.pk]
            key = (id(self.plan_of[goal.parent_id]) if goal.parent_id else 0, goal.level)
            self.by_title.setdefault((*key, norm(goal.title)), plan)
            if goal.external_id:
                self.goal_ext[goal.external_id] = plan
        self.kpi_ext: dict[str, KpiPlan] = {}
        for kpi in Kpi.objects.filter(goal__cycle=cycle).select_related("owner").order_by("id"):
            plan = self.plan_of[kpi.goal_id]
            kpi.goal = plan.goal
            kpi_plan = KpiPlan(kpi=kpi, original=_stored(kpi, KPI_FIELDS))
            plan.kpis.setdefault(norm(kpi.name), kpi_plan)
            if kpi.external_id:
                self.kpi_ext[kpi.external_id] = kpi_plan
        self.active_stored = sum(
            1
            for goal in goals.values()
            if goal.level == Level.STRATEGIC and goal.state == GoalState.ACTIVE
        )

    def _read_people(self, org: int) -> None:
        """The organization's active people, found by username, or by an email only one
        of them has (a username wins over someone else's email)."""
        self.members: dict[str, Member] = {}
        self.member_of: dict[int, Member] = {}
        emails: Counter[str] = Counter()
        people = list(
            Member.objects.filter(organization_id=org, is_active=True).select_related("user")
        )
        for member in people:
            emails[member.user.email.casefold()] += 1
        for member in people:
            self.member_of[member.pk] = member
            email = member.user.email.casefold()
            if email and emails[email] == 1:
                self.members.setdefault(email, member)
        for member in people:
            self.members[member.user.username.casefold()] = member

    # -- the validators' facts (goals/rules.py GoalFacts, kpis/rules.py KpiFacts) -------

    def active_objectives(self, goal: Goal) -> int:
        # Asked of new goals only: an import changes no stored goal's level or state.
        return self.active_stored + sum(1 for p in self.new_objectives if p.goal is not goal)

    def external_id_holder(self, obj: Goal | Kpi) -> Holder | None:
        plan: GoalPlan | KpiPlan | None
        if isinstance(obj, Goal):
            plan, elsewhere = self.goal_ext.get(obj.external_id or ""), self.goals_elsewhere
        else:
            plan, elsewhere = self.kpi_ext.get(obj.external_id or ""), self.kpis_elsewhere
        if plan is not None and plan.obj is not obj:
            return Holder(self.cycle.pk, self.cycle.name)
        return elsewhere.get(obj.external_id or "")

    def children(self, goal: Goal) -> list[Goal]:
        return []  # an import moves no goal: none changes level or cycle

    def kpis_outside(self, goal: Goal, cycle: Cycle) -> list[str]:
        return []  # nor to another cycle
