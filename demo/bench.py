"""The benchmarks' organization "Bench N": N people in departments and teams, five
strategic objectives cascaded to every department, team and person, two KPIs a goal
and ten values a KPI. Written with COPY and bulk inserts (PostgreSQL), then rolled up
once: it skips the services on purpose, for speed, and is only for measuring."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from core.periods import Cadence
from cycles.history import cycle_history
from cycles.models import Cycle
from goals.models import Goal, Health, Level
from kpis.models import KPI_FIELDS, Aggregation, Direction, Kpi, KpiState
from kpis.rollup import cycle_rollup
from org.models import Department, Member, Organization, Role

PASSWORD = "bench-cascade"
TEAMS_PER_DEPARTMENT = 9
GOALS_PER_UNIT = 5  # one per strategic objective, for every department and team
KPIS_PER_GOAL = 2
UPDATES_PER_KPI = 10
# The people who are neither managers nor members, in this order.
STAFF = [Role.ADMIN, Role.LEADER, Role.LEADER] + [Role.REVIEWER] * 10


def org_name(people: int) -> str:
    return f"Bench {people}"


@dataclass
class Units:
    tops: list[Department]  # departments
    teams: list[Department]  # teams, TEAMS_PER_DEPARTMENT below each department

    @property
    def all(self) -> list[Department]:
        return self.tops + self.teams


@dataclass
class People:
    leader: Member
    heads: dict[int, Member]  # department id → its manager
    everyone: list[Member]

    @property
    def count(self) -> int:
        return len(self.everyone)


@transaction.atomic
def build(people: int, rng: random.Random, say) -> dict[str, int]:
    """Departments, people, the goal tree, KPIs and their history, then a roll-up."""
    today = timezone.localdate()
    org = Organization.objects.create(name=org_name(people))
    cycle = Cycle.objects.create(
        organization=org,
        name=f"FY {today.year}",
        start=dt.date(today.year, 1, 1),
        end=dt.date(today.year, 12, 31),
        cadence=Cadence.QUARTERLY,
    )
    units = _departments(org, people)
    say(f"  {len(units.all)} departments and teams")
    staff = _people(org, people, units)
    say(f"  {staff.count:,} people")
    goals = _goals(org, cycle, units, staff)
    say(f"  {len(goals):,} goals")
    kpis = _kpis(org, cycle, goals)
    say(f"  {len(kpis):,} KPIs")
    _history(cycle, kpis, rng, today)
    say(f"  {len(kpis) * UPDATES_PER_KPI:,} KPI values")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    cycle_rollup(cycle)
    cycle_history(cycle)
    return {
        "people": staff.count,
        "departments and teams": len(units.all),
        "goals": len(goals),
        "KPIs": len(kpis),
        "KPI values": len(kpis) * UPDATES_PER_KPI,
    }


def _departments(org: Organization, people: int) -> Units:
    """One department per 250 people (at least 4), each with its teams."""
    tops = Department.objects.bulk_create(
        [
            Department(organization=org, name=f"Department {d + 1}")
            for d in range(max(4, people // 250))
        ]
    )
    teams = Department.objects.bulk_create(
        [
            Department(organization=org, name=f"Department {d + 1} · Team {t + 1}", parent=top)
            for d, top in enumerate(tops)
            for t in range(TEAMS_PER_DEPARTMENT)
        ]
    )
    return Units(tops=tops, teams=teams)


def _people(org: Organization, people: int, units: Units) -> People:
    """Admins, leaders and reviewers; a manager heading each department and team; the
    rest members spread over the teams. All with the password PASSWORD."""
    User = get_user_model()
    password = make_password(PASSWORD)
    prefix = f"b{people}-"
    users = User.objects.bulk_create(
        [
            User(
                username=f"{prefix}{n}",
                email=f"{prefix}{n}@bench.example",
                password=password,
                first_name="Person",
                last_name=str(n),
            )
            for n in range(people)
        ],
        batch_size=2000,
    )
    managed = units.all
    staff_users = users[: len(STAFF)]
    manager_users = users[len(STAFF) : len(STAFF) + len(managed)]
    member_users = users[len(STAFF) + len(managed) :]
    rows = [
        Member(organization=org, user=u, role=r) for u, r in zip(staff_users, STAFF, strict=True)
    ]
    rows += [
        Member(organization=org, user=u, role=Role.MANAGER, department=d)
        for u, d in zip(manager_users, managed, strict=True)
    ]
    first_member = len(STAFF) + len(managed)
    rows += [
        Member(
            organization=org,
            user=u,
            role=Role.MEMBER,
            department=units.teams[(first_member + n) % len(units.teams)],
        )
        for n, u in enumerate(member_users)
    ]
    rows = Member.objects.bulk_create(rows, batch_size=2000)
    managers = rows[len(STAFF) : first_member]
    heads = {m.department_id: m for m in managers}
    for unit in managed:
        unit.head = heads[unit.pk]
    Department.objects.bulk_update(managed, ["head"], batch_size=1000)
    return People(leader=rows[1], heads=heads, everyone=rows)


def _goals(org: Organization, cycle: Cycle, units: Units, staff: People) -> list[Goal]:
    """Five objectives, one goal per objective for every department and team, and
    two or three individual goals for everyone in a team under the team's goals."""

    def goal(**fields) -> Goal:
        return Goal(organization=org, cycle=cycle, start=cycle.start, due=cycle.end, **fields)

    strategic = Goal.objects.bulk_create(
        [
            goal(
                level=Level.STRATEGIC,
                title=f"Strategic objective {s + 1}",
                owner=staff.leader,
                rationale="Why it matters, in a sentence or two.",
            )
            for s in range(GOALS_PER_UNIT)
        ]
    )
    dept_goals = Goal.objects.bulk_create(
        [
            goal(
                level=Level.DEPARTMENT,
                title=f"{top.name}: objective {s + 1}",
                parent=parent,
                department=top,
                owner=staff.heads[top.pk],
            )
            for top in units.tops
            for s, parent in enumerate(strategic)
        ]
    )
    by_top = {(g.department_id, i % GOALS_PER_UNIT): g for i, g in enumerate(dept_goals)}
    team_goals = Goal.objects.bulk_create(
        [
            goal(
                level=Level.TEAM,
                title=f"{team.name}: objective {s + 1}",
                parent=by_top[(team.parent_id, s)],
                department=team,
                owner=staff.heads[team.pk],
            )
            for team in units.teams
            for s in range(GOALS_PER_UNIT)
        ],
        batch_size=2000,
    )
    individual = Goal.objects.bulk_create(
        _individual_goals(goal, team_goals, staff), batch_size=5000
    )
    return strategic + dept_goals + team_goals + individual


def _individual_goals(
    goal: Callable[..., Goal], team_goals: list[Goal], staff: People
) -> list[Goal]:
    """Two or three individual goals (unsaved) for everyone in a team, under its goals."""
    by_team: dict[int, list[Goal]] = {}
    for g in team_goals:
        by_team.setdefault(g.department_id, []).append(g)
    individual = []
    for n, member in enumerate(staff.everyone):
        if member.department_id not in by_team:
            continue
        options = by_team[member.department_id]
        for k in range(3 if n % 5 < 4 else 2):  # 2.8 goals a person on average
            individual.append(
                goal(
                    level=Level.INDIVIDUAL,
                    title=f"Personal goal {k + 1} of {n}",
                    parent=options[(n + k) % len(options)],
                    owner=member,
                )
            )
    return individual


# The columns of a KPI row as COPY writes them: the fields a person writes, between
# its organization and what the roll-up will fill in.
KPI_COLUMNS = [
    "organization_id",
    *(f"{name}_id" if name in ("goal", "owner") else name for name in KPI_FIELDS),
    "current",
    "progress",
    "health",
    "created_at",
    "updated_at",
]


def _kpis(org: Organization, cycle: Cycle, goals: list[Goal]) -> list[tuple]:
    """Two KPIs a goal, owned by its owner: one increasing (latest value), one
    decreasing (sum of values). Returns (id, aggregation, owner id) of each."""
    now = timezone.now()
    rows = []
    for g in goals:
        for k in range(KPIS_PER_GOAL):
            decrease = k == 1
            baseline, target = (10.0, 5.0) if decrease else (0.0, 100.0)
            rows.append(
                (
                    org.pk,
                    g.pk,
                    f"Measure {k + 1} of goal {g.pk}",
                    "",
                    "units",
                    Direction.DECREASE if decrease else Direction.INCREASE,
                    Aggregation.LATEST if k == 0 else Aggregation.SUM,
                    baseline,
                    target,
                    1.0,
                    g.owner_id,
                    cycle.start,
                    cycle.end,
                    KpiState.ACTIVE,
                    None,  # external_id
                    None,  # current: the roll-up fills it
                    0.0,
                    Health.NOT_STARTED,
                    now,
                    now,
                )
            )
    _copy("kpis_kpi", KPI_COLUMNS, rows)
    return list(Kpi.objects.filter(organization=org).values_list("id", "aggregation", "owner_id"))


def _history(cycle: Cycle, kpis: list[tuple], rng: random.Random, today: dt.date) -> None:
    """UPDATES_PER_KPI values a KPI, spread from the cycle's start to today."""
    now = timezone.now()
    span = max((min(today, cycle.end) - cycle.start).days, 1)

    def rows():
        for kpi_id, aggregation, owner_id in kpis:
            for u in range(UPDATES_PER_KPI):
                day = cycle.start + dt.timedelta(days=span * (u + 1) // UPDATES_PER_KPI)
                latest = aggregation == Aggregation.LATEST
                value = rng.uniform(0, 95) if latest else rng.uniform(0, 0.6)
                yield (kpi_id, round(value, 2), day, "", "medium", owner_id, "", "", "", now, now)

    _copy(
        "kpis_kpiupdate",
        [
            *("kpi_id", "value", "date", "note", "confidence", "author_id", "author_token"),
            *("source_name", "retract_reason", "created_at", "updated_at"),
        ],
        rows(),
    )


def _copy(table: str, columns: list[str], rows) -> None:
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
