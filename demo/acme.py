"""The demo organization "Acme": the example table of the spec, built through the
services, safe to run again (it only adds what is missing)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction

from core.periods import Cadence, period_containing
from cycles.history import cycle_history
from cycles.models import Cycle
from goals.models import Goal, Level
from goals.services import goal_create
from kpis.models import Kpi
from kpis.services import kpi_create, kpi_record_value
from org.models import Department, Member, Organization, Role
from reviews.models import Review
from reviews.services import review_create

PASSWORD = "cascade-demo"

# username, role, department, full name
PEOPLE = [
    ("ada", Role.ADMIN, None, "Ada Admin"),
    ("lena", Role.LEADER, None, "Lena Leader"),
    ("max", Role.MANAGER, "Customer Support", "Max Moreno"),
    ("mia", Role.MANAGER, "Marketing", "Mia Meyer"),
    ("ian", Role.MANAGER, "Innovation", "Ian Ito"),
    ("sam", Role.MEMBER, "Customer Support", "Sam Silva"),
    ("lee", Role.MEMBER, "Marketing", "Lee Larsen"),
    ("ivy", Role.MEMBER, "Innovation", "Ivy Ibsen"),
    ("rey", Role.REVIEWER, None, "Rey Reviewer"),
]
# Each department's head, who is also the manager of everyone else in it.
HEADS = {"Customer Support": "max", "Marketing": "mia", "Innovation": "ian"}
DJANGO_ADMINS = {"ada"}  # also staff and superuser: the demo's operator of /admin/

# The spec's table: strategic objective → department goal → individual goal, each with a KPI:
# (name, unit, direction, aggregation, baseline, target, monthly values so far).
CASCADE = [
    {
        "title": "Improve customer experience",
        "why": "Customers who get fast, helpful answers stay longer and recommend us.",
        "kpi": ("Customer satisfaction score", "%", "increase", "latest", 78, 90, [84, 86, 87, 88]),
        "department": "Customer Support",
        "manager": "max",
        "goal": "Reduce average response time by 20%",
        "goal_why": "Response time is the first thing customers notice.",
        "goal_kpi": (
            "Average first response time",
            "hours",
            "decrease",
            "latest",
            10,
            8,
            [9.0, 8.7, 8.4, 8.3],
        ),
        "member": "sam",
        "own": "Resolve support tickets within 4 hrs avg",
        "own_kpi": (
            "Average ticket resolution time",
            "hours",
            "decrease",
            "latest",
            6,
            4,
            [5.2, 4.8, 4.5, 4.3],
        ),
    },
    {
        "title": "Expand market presence",
        "why": "Three new regions double the customers we can reach.",
        "kpi": (
            "Customers won in new regions",
            "customers",
            "increase",
            "sum",
            0,
            120,
            [20, 22, 21, 25],
        ),
        "department": "Marketing",
        "manager": "mia",
        "goal": "Launch 3 regional campaigns",
        "goal_why": "A campaign per region opens the door for sales.",
        "goal_kpi": (
            "Regional campaigns launched",
            "campaigns",
            "increase",
            "sum",
            0,
            3,
            [1, 0, 1, 0],
        ),
        "member": "lee",
        "own": "Generate 100 qualified leads/month",
        "own_kpi": (
            "Qualified leads per month",
            "leads",
            "increase",
            "latest",
            40,
            100,
            [70, 75, 82, 84],
        ),
    },
    {
        "title": "Strengthen innovation culture",
        "why": "Tomorrow's products come from ideas people feel safe to share today.",
        "kpi": (
            "Staff taking part in an innovation lab",
            "%",
            "increase",
            "latest",
            10,
            60,
            [30, 38, 45, 49],
        ),
        "department": "Innovation",
        "manager": "ian",
        "goal": "Host 6 innovation labs per year",
        "goal_why": "Labs turn ideas into prototypes within a week.",
        "goal_kpi": ("Innovation labs hosted", "labs", "increase", "sum", 0, 6, [1, 0, 1, 1]),
        "member": "ivy",
        "own": "Submit 2 ideas per quarter",
        "own_kpi": (
            "Ideas submitted to the idea board",
            "ideas",
            "increase",
            "sum",
            0,
            8,
            [1, 1, 0, 1],
        ),
    },
]


def _month_dates(today: dt.date, count: int) -> list[dt.date]:
    """The 15th of the last `count` months, oldest first, none after today."""
    dates, year, month = [], today.year, today.month
    if today.day < 15:
        month -= 1
    for _ in range(count):
        if month < 1:
            year, month = year - 1, month + 12
        dates.append(dt.date(year, month, 15))
        month -= 1
    return sorted(dates)


class DemoConflict(Exception):
    """A demo login already belongs to someone outside the demo: nothing was changed."""


@transaction.atomic
def build_demo() -> Organization:
    """Create what is missing of the demo organization; return it.

    0. Refuse (DemoConflict) if a demo login exists outside Acme: it is someone's.
    1. The organization, its departments and people (heads manage their departments).
    2. This year's cycle.
    3. The spec's table: objective → department goal → individual goal, a KPI each,
       with four monthly values.
    4. A check-in of Customer Support two days from now.
    """
    _refuse_foreign_logins()
    org, _ = Organization.objects.get_or_create(name="Acme", defaults={"timezone": "UTC"})
    departments = {
        name: Department.objects.get_or_create(organization=org, name=name)[0] for name in HEADS
    }
    people = _people(org, departments)
    cycle = _cycle(org)
    # Four monthly values so far (early in the year, the first ones on the cycle's start).
    dates = [max(day, cycle.start) for day in _month_dates(org.today(), 4)]
    for row in CASCADE:
        parent = None
        for level, who, title, why, department, kpi in _levels(row, people, departments):
            parent = _goal(
                cycle,
                who,
                level=level,
                title=title,
                rationale=why,
                parent=parent,
                owner=who,
                department=department,
            )
            _kpi(parent, who, kpi, dates)
    _review(org, cycle, people["rey"], departments["Customer Support"])
    cycle_history(cycle)  # a demo built before history was kept gets its past filled in
    return org


def _levels(row: dict, people: dict[str, Member], departments: dict[str, Department]):
    """One row of the table, top down: (level, owner, title, why, department, KPI)."""
    manager, member = people[row["manager"]], people[row["member"]]
    return [
        (Level.STRATEGIC, people["lena"], row["title"], row["why"], None, row["kpi"]),
        (
            Level.DEPARTMENT,
            manager,
            row["goal"],
            row["goal_why"],
            departments[row["department"]],
            row["goal_kpi"],
        ),
        (Level.INDIVIDUAL, member, row["own"], "", None, row["own_kpi"]),
    ]


def _refuse_foreign_logins() -> None:
    """Every demo login that exists must be a member of Acme and of nothing else:
    anyone else's account is never touched (its password, its rights)."""
    User = get_user_model()
    logins = [username for username, *_ in PEOPLE]
    ours = set(
        Member.objects.filter(user__username__in=logins, organization__name="Acme").values_list(
            "user__username", flat=True
        )
    )
    elsewhere = set(
        Member.objects.filter(user__username__in=logins)
        .exclude(organization__name="Acme")
        .values_list("user__username", flat=True)
    )
    existing = set(User.objects.filter(username__in=logins).values_list("username", flat=True))
    foreign = sorted((existing - ours) | elsewhere)
    if foreign:
        raise DemoConflict(
            f"The demo logins {', '.join(foreign)} already belong to someone outside the demo "
            "organization “Acme”; nothing was changed. Run the demo on a database of its own."
        )


def _people(org: Organization, departments: dict[str, Department]) -> dict[str, Member]:
    """The demo logins with their memberships; heads manage their departments. An
    account created earlier by the demo keeps its password and rights."""
    User = get_user_model()
    people: dict[str, Member] = {}
    for username, role, department, full_name in PEOPLE:
        first, last = full_name.split(" ", 1)
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@acme.example", "first_name": first, "last_name": last},
        )
        if created:
            user.set_password(PASSWORD)
            user.is_staff = user.is_superuser = username in DJANGO_ADMINS
            user.save()
        people[username], _ = Member.objects.get_or_create(
            organization=org,
            user=user,
            defaults={"role": role, "department": departments.get(department)},
        )
    for name, head_username in HEADS.items():
        head, department = people[head_username], departments[name]
        for member in people.values():
            if member.department_id == department.pk and member != head:
                member.manager = head
                member.save(update_fields=["manager"])
        Department.objects.filter(pk=department.pk).update(head=head)
    return people


def _cycle(org: Organization) -> Cycle:
    """This calendar year, checked in quarterly."""
    today = org.today()
    cycle, _ = Cycle.objects.get_or_create(
        organization=org,
        name=f"FY {today.year}",
        defaults={
            "start": dt.date(today.year, 1, 1),
            "end": dt.date(today.year, 12, 31),
            "cadence": Cadence.QUARTERLY,
        },
    )
    return cycle


def _review(org: Organization, cycle: Cycle, reviewer: Member, department: Department) -> None:
    """A quarterly check-in of Customer Support, two days from today at 10:00."""
    title = f"{department.name} check-in"
    if Review.objects.filter(organization=org, title=title).exists():
        return
    day = min(org.today() + dt.timedelta(days=2), cycle.end)
    review_create(
        actor=reviewer,
        cycle=cycle,
        title=title,
        department=department,
        period=period_containing(cycle.cadence, day).key,
        scheduled_for=dt.datetime.combine(day, dt.time(10, 0)),
        facilitator=reviewer,
    )


def _goal(cycle: Cycle, actor: Member, *, title: str, **fields) -> Goal:
    goal = Goal.objects.filter(cycle=cycle, title=title).first()
    return goal or goal_create(actor=actor, cycle=cycle, title=title, **fields)


def _kpi(goal: Goal, owner: Member, spec: tuple, dates: list[dt.date]) -> Kpi:
    name, unit, direction, aggregation, baseline, target, values = spec
    kpi = Kpi.objects.filter(goal=goal, name=name).first()
    if kpi is None:
        kpi = kpi_create(
            actor=owner,
            goal=goal,
            name=name,
            unit=unit,
            direction=direction,
            aggregation=aggregation,
            baseline=baseline,
            target=target,
            owner=owner,
            description=f"{name}, measured in {unit}.",
        )
    if not kpi.updates.exists():
        confidences = ["medium", "medium", "high", "high"]
        for date, value, confidence in zip(dates, values, confidences, strict=False):
            kpi_record_value(
                actor=owner,
                kpi=kpi,
                value=value,
                date=date,
                note="Monthly check-in",
                confidence=confidence,
            )
    return kpi
