"""The demo organization "Acme": the example table of the spec, built through the
services, safe to run again (it only adds what is missing)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from core.periods import Cadence, period_containing
from cycles.history import cycle_history
from cycles.models import Cycle
from goals.models import Goal, Level
from goals.progress import expected_progress
from goals.services import goal_create
from kpis.models import Kpi
from kpis.services import kpi_create, kpi_record_value
from org.models import Department, Member, Organization, Role
from reviews.models import Review
from reviews.services import review_complete, review_create, review_start

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


# Department goals that carry an objective beyond the department it started in, so the
# dashboard's heatmap has departments under several objectives: (objective, department,
# manager, title, why, KPI). A KPI here is (name, unit, baseline, target, behind, step):
# its values, recorded week by week, keep its progress `behind` points below the
# progress expected by each value's day (negative: ahead), rounded to `step` — so it is
# on track, at risk or off track alike whatever day the demo is built on (but early in
# the cycle, when nothing can be far behind yet).
ACROSS = [
    (
        "Improve customer experience",
        "Marketing",
        "mia",
        "Answer the top 20 customer questions in the help centre",
        "Customers who find the answer themselves do not wait for one.",
        ("Help-centre articles published", "articles", 0, 20, -4, 1),
    ),
    (
        "Improve customer experience",
        "Innovation",
        "ian",
        "Prototype a self-service assistant",
        "An assistant answers the simple questions at any hour.",
        ("Questions the assistant answers unaided", "%", 0, 40, 30, 0.1),
    ),
    (
        "Expand market presence",
        "Innovation",
        "ian",
        "Localise the product for three regions",
        "People buy what speaks their language.",
        ("Product text translated for the new regions", "%", 0, 100, 16, 0.1),
    ),
    (
        "Strengthen innovation culture",
        "Marketing",
        "mia",
        "Tell the story of every innovation lab",
        "Stories of what a lab made bring the next people to one.",
        ("Lab stories published", "stories", 0, 12, 2, 1),
    ),
]
WEEKS_AGO = [56, 42, 28, 21, 12, 5, 2]  # the days before today a weekly value is dated
# People who have not checked in this period yet: their values stop before it began.
LATE = {"lee", "ivy"}
REVIEW_DAYS_AGO = 21  # the leadership check-in the dashboard counts its movement since


@dataclass(frozen=True)
class Value:
    """A value the demo records on a KPI it has just made."""

    kpi: Kpi
    owner: Member
    date: dt.date
    value: float
    confidence: str
    note: str


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
       with four monthly values; and department goals that carry another department's
       objective (ACROSS), with weekly values. Lee and Ivy have not checked in this
       period yet (LATE).
    4. A leadership check-in three weeks ago, completed (values dated after it are
       recorded after it), and a check-in of Customer Support two days from now.
    """
    _refuse_foreign_logins()
    org, _ = Organization.objects.get_or_create(name="Acme", defaults={"timezone": "UTC"})
    departments = {
        name: Department.objects.get_or_create(organization=org, name=name)[0] for name in HEADS
    }
    people = _people(org, departments)
    cycle = _cycle(org)
    today = org.today()
    period = period_containing(cycle.cadence, today)
    # Four monthly values so far (early in the year, the first ones on the cycle's start).
    dates = sorted({max(day, cycle.start) for day in _month_dates(today, 4)})
    values: list[Value] = []
    objectives = {}
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
            objectives.setdefault(row["title"], parent)
            values += _kpi(parent, who, kpi, _dated(dates, who.user.username, period))
    weeks = sorted({max(today - dt.timedelta(days=days), cycle.start) for days in WEEKS_AGO})
    for objective, department, manager, title, why, kpi in ACROSS:
        who = people[manager]
        goal = _goal(
            cycle,
            who,
            level=Level.DEPARTMENT,
            title=title,
            rationale=why,
            parent=objectives[objective],
            owner=who,
            department=departments[department],
        )
        values += _paced_kpi(goal, who, kpi, _dated(weeks, manager, period))
    review_day = max(today - dt.timedelta(days=REVIEW_DAYS_AGO), cycle.start)
    _record([value for value in values if value.date <= review_day])
    _past_review(org, cycle, people["lena"], review_day)
    _record([value for value in values if value.date > review_day])
    _review(org, cycle, people["rey"], departments["Customer Support"])
    cycle_history(cycle)  # a demo built before history was kept gets its past filled in
    return org


def _dated(dates: list[dt.date], username: str, period) -> list[dt.date]:
    """The days someone records a value on: a LATE person none in this period."""
    return [day for day in dates if username not in LATE or day < period.start]


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


def _past_review(org: Organization, cycle: Cycle, leader: Member, day: dt.date) -> None:
    """The leadership check-in of the whole organization on `day`, run and completed
    (its agenda snapshots the goals as they stood: the values dated later come after)."""
    title = "Leadership check-in"
    if Review.objects.filter(organization=org, title=title).exists():
        return
    review = review_create(
        actor=leader,
        cycle=cycle,
        title=title,
        period=period_containing(cycle.cadence, day).key,
        scheduled_for=dt.datetime.combine(day, dt.time(10, 0)),
        facilitator=leader,
    )
    review_complete(actor=leader, review=review_start(actor=leader, review=review))
    # It took place on `day` (the services stamp the moment they run).
    zone = zoneinfo.ZoneInfo(org.timezone)
    Review.objects.filter(pk=review.pk).update(
        started_at=dt.datetime.combine(day, dt.time(10, 0), tzinfo=zone),
        completed_at=dt.datetime.combine(day, dt.time(11, 0), tzinfo=zone),
    )


def _kpi(goal: Goal, owner: Member, spec: tuple, dates: list[dt.date]) -> list[Value]:
    """The KPI (made if missing) and, if it has no values yet, the monthly ones to record."""
    name, unit, direction, aggregation, baseline, target, values = spec
    kpi = _kpi_of(goal, owner, name, unit, direction, aggregation, baseline, target)
    if kpi.updates.exists():
        return []
    confidences = ["medium", "medium", "high", "high"]
    return [
        Value(kpi, owner, date, value, confidence, "Monthly check-in")
        for date, value, confidence in zip(dates, values, confidences, strict=False)
    ]


def _paced_kpi(goal: Goal, owner: Member, spec: tuple, dates: list[dt.date]) -> list[Value]:
    """An ACROSS KPI and its weekly values, each `behind` points below the progress
    expected by its day (see ACROSS)."""
    name, unit, baseline, target, behind, step = spec
    kpi = _kpi_of(goal, owner, name, unit, "increase", "latest", baseline, target)
    if kpi.updates.exists():
        return []
    values = []
    for date in dates:
        share = min(max(expected_progress(date, kpi.start, kpi.due) - behind, 0.0), 100.0) / 100
        value = round((baseline + (target - baseline) * share) / step) * step
        confidence = "high" if behind <= 5 else "medium"
        values.append(Value(kpi, owner, date, round(value, 1), confidence, "Weekly check-in"))
    return values


def _kpi_of(
    goal: Goal,
    owner: Member,
    name: str,
    unit: str,
    direction: str,
    aggregation: str,
    baseline: float,
    target: float,
) -> Kpi:
    kpi = Kpi.objects.filter(goal=goal, name=name).first()
    return kpi or kpi_create(
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


def _record(values: list[Value]) -> None:
    for value in sorted(values, key=lambda value: (value.date, value.kpi.pk)):
        kpi_record_value(
            actor=value.owner,
            kpi=value.kpi,
            value=value.value,
            date=value.date,
            note=value.note,
            confidence=value.confidence,
        )
