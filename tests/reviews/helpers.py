"""Shared helpers of the review tests: scheduling through the service, a wider goal
tree around the `tree` fixture, and a snapshot of every row a review write can touch."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from cycles.models import Cycle
from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from org.models import Department, Member, Notification, Organization
from reviews.models import ActionItem, Review, ReviewItem, ReviewReminder
from reviews.services import review_create, review_start

from ..factories import CycleFactory, GoalFactory

UTC = dt.UTC
ROLES = ("admin", "leader", "manager", "reviewer", "member")


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """An aware moment in UTC."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def schedule(actor: Member, *, cycle: Cycle, **fields) -> Review:
    """A review scheduled through the service (defaults: 2027-Q1, March 29 10:00 UTC)."""
    data = {"title": "Check-in", "period": "2027-Q1", "scheduled_for": at(2027, 3, 29)} | fields
    return review_create(actor=actor, cycle=cycle, **data)


def fresh(obj):
    """The same row read again."""
    return type(obj).objects.get(pk=obj.pk)


def rows() -> dict[str, list[dict]]:
    """Every row a review write (or a goal or KPI write) could touch, field by field."""
    models = (
        get_user_model(),
        Organization,
        Department,
        Member,
        Cycle,
        Goal,
        Kpi,
        KpiUpdate,
        Review,
        ReviewItem,
        ActionItem,
        ReviewReminder,
        Notification,
    )
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


class Wide:
    """Goals around the `tree` fixture, for scopes and participants.

    2027 cycle:  Improve customer experience (strategic)
                 ├── Reduce average response time (department, Support)
                 │   ├── sam's individual goal (tree.individual)
                 │   ├── team       (team, Tier 2)
                 │   │   └── tia    (individual, tia in Tier 2)
                 │   ├── cancelled  (team, Support, cancelled)
                 │   └── done       (individual, sam, done)
                 ├── marketing      (department, Marketing)
                 │   ├── lee        (individual, lee in Marketing)
                 │   └── sam_abroad (individual, sam — in Support — under Marketing's goal)
                 └── ops            (department, Operations)
    Another cycle: other_cycle (department, Support).
    """


def widen(acme, tree) -> Wide:
    w = Wide()
    w.strategic, w.department, w.individual = tree.strategic, tree.department, tree.individual
    cycle = acme.cycle
    w.team = GoalFactory(
        cycle=cycle, level="team", parent=tree.department, department=acme.tier2, title="Team"
    )
    w.tia = GoalFactory(
        cycle=cycle, level="individual", parent=w.team, owner=acme.tier2_member, title="Tia's"
    )
    w.cancelled = GoalFactory(
        cycle=cycle,
        level="team",
        parent=tree.department,
        department=acme.support,
        state="cancelled",
        title="Cancelled",
    )
    w.done = GoalFactory(
        cycle=cycle,
        level="individual",
        parent=tree.department,
        owner=acme.member,
        state="done",
        title="Done",
    )
    w.marketing = GoalFactory(
        cycle=cycle,
        level="department",
        parent=tree.strategic,
        department=acme.marketing,
        owner=acme.marketing_manager,
        title="Launch 3 regional campaigns",
    )
    w.lee = GoalFactory(
        cycle=cycle,
        level="individual",
        parent=w.marketing,
        owner=acme.marketing_member,
        title="Lee",
    )
    w.sam_abroad = GoalFactory(
        cycle=cycle, level="individual", parent=w.marketing, owner=acme.member, title="Sam abroad"
    )
    w.ops = GoalFactory(
        cycle=cycle, level="department", parent=tree.strategic, department=acme.ops, title="Ops"
    )
    other = CycleFactory(organization=acme.org, name="2027 bis")
    other_root = GoalFactory(cycle=other, title="Other cycle's objective")
    w.other_cycle = GoalFactory(
        cycle=other,
        level="department",
        parent=other_root,
        department=acme.support,
        title="Other cycle",
    )
    return w


# -- through the services (test_review_services.py, test_review_lifecycle.py) -------

D = dt.date


def agenda_goals(review: Review) -> list[int]:
    return list(review.items.order_by("position").values_list("goal_id", flat=True))


def started(actor, cycle, **scope) -> Review:
    return review_start(actor=actor, review=schedule(actor, cycle=cycle, **scope))


# -- over HTTP (test_review_api.py, test_review_scheduling_api.py) --------------------

REVIEW_FIELDS = {"id", "cycle", "title", "goal", "department", "period", "scheduled_for",
                 "facilitator", "state"}  # fmt: skip
WHO = (*ROLES, "marketing_manager", "tier2_member")


def instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def review_body(acme, **fields) -> dict:
    return {
        "cycle": acme.cycle.pk,
        "title": "Support Q1 check-in",
        "period": "2027-Q1",
        "scheduled_for": "2027-03-29T10:00:00Z",
    } | fields
