"""Build a large organization for the benchmarks (see benchmarks/README.md)."""

from __future__ import annotations

import datetime as dt
import random
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from goals.models import Cycle, Goal
from goals.rollup import cycle_rollup
from kpis.models import Kpi
from org.models import Department, Member, Organization

PASSWORD = "bench-cascade"
TEAMS_PER_DEPARTMENT = 9
GOALS_PER_UNIT = 5  # one per strategic objective, for every department and team
KPIS_PER_GOAL = 2
UPDATES_PER_KPI = 10


def org_name(people: int) -> str:
    return f"Bench {people}"


class Command(BaseCommand):
    help = (
        "Build the benchmark organization “Bench N”: N people in departments and teams, "
        "5 strategic objectives, ~3 goals, 6 KPIs and 60 values per person. PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=10000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--reset", action="store_true", help="delete and rebuild it if it exists"
        )

    def handle(self, *args, people, seed, reset, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_seed writes with COPY: point DATABASE_URL at PostgreSQL.")
        if people < 50:
            raise CommandError("--people must be at least 50.")
        existing = Organization.objects.filter(name=org_name(people)).first()
        if existing and not reset:
            self.stdout.write(f"“{existing.name}” exists already (use --reset to rebuild).")
            return
        started = time.perf_counter()
        if existing:
            self._delete(existing)
        counts = build(people, random.Random(seed), self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS(
                f"Built “{org_name(people)}” in {time.perf_counter() - started:.0f} s: "
                + ", ".join(f"{n:,} {what}" for what, n in counts.items())
            )
        )

    def _delete(self, organization: Organization) -> None:
        with connection.cursor() as cursor:
            org = organization.pk
            cursor.execute(
                "DELETE FROM kpis_kpiupdate WHERE kpi_id IN "
                "(SELECT id FROM kpis_kpi WHERE organization_id = %s)",
                [org],
            )
            for table in ("kpis_checkinreminder", "org_notification"):
                cursor.execute(
                    f"DELETE FROM {table} WHERE member_id IN "
                    "(SELECT id FROM org_member WHERE organization_id = %s)",
                    [org],
                )
            cursor.execute("DELETE FROM kpis_kpi WHERE organization_id = %s", [org])
            cursor.execute(
                "UPDATE goals_goal SET parent_id = NULL, level = 'strategic' "
                "WHERE organization_id = %s",
                [org],
            )
            cursor.execute("DELETE FROM goals_goal WHERE organization_id = %s", [org])
        users = list(
            Member.objects.filter(organization=organization).values_list("user_id", flat=True)
        )
        Department.objects.filter(organization=organization).update(head=None, parent=None)
        organization.delete()
        get_user_model().objects.filter(pk__in=users).delete()


def _copy(table: str, columns: list[str], rows) -> None:
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


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
        cadence="quarterly",
    )
    now = timezone.now()

    top_count = max(4, people // 250)
    tops = Department.objects.bulk_create(
        [Department(organization=org, name=f"Department {d + 1}") for d in range(top_count)]
    )
    teams = Department.objects.bulk_create(
        [
            Department(organization=org, name=f"Department {d + 1} · Team {t + 1}", parent=top)
            for d, top in enumerate(tops)
            for t in range(TEAMS_PER_DEPARTMENT)
        ]
    )
    say(f"  {len(tops) + len(teams)} departments and teams")

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
    roles = ["admin", "leader", "leader"] + ["reviewer"] * 10
    roles += ["manager"] * (len(tops) + len(teams))
    roles += ["member"] * (people - len(roles))
    units = tops + teams
    members = []
    for n, (user, role) in enumerate(zip(users, roles, strict=True)):
        if role == "manager":
            department = units[n - 13]
        elif role == "member":
            department = teams[n % len(teams)]
        else:
            department = None
        members.append(Member(organization=org, user=user, role=role, department=department))
    members = Member.objects.bulk_create(members, batch_size=2000)
    heads = {m.department_id: m for m in members if m.role == "manager"}
    for unit in units:
        unit.head = heads[unit.pk]
    Department.objects.bulk_update(units, ["head"], batch_size=1000)
    say(f"  {len(members):,} people")

    def goal(**fields) -> Goal:
        return Goal(organization=org, cycle=cycle, start=cycle.start, due=cycle.end, **fields)

    leader = members[1]
    strategic = Goal.objects.bulk_create(
        [
            goal(
                level="strategic",
                title=f"Strategic objective {s + 1}",
                owner=leader,
                rationale="Why it matters, in a sentence or two.",
            )
            for s in range(GOALS_PER_UNIT)
        ]
    )
    dept_goals = Goal.objects.bulk_create(
        [
            goal(
                level="department",
                title=f"{top.name}: objective {s + 1}",
                parent=parent,
                department=top,
                owner=heads[top.pk],
            )
            for top in tops
            for s, parent in enumerate(strategic)
        ]
    )
    by_top = {(g.department_id, i % GOALS_PER_UNIT): g for i, g in enumerate(dept_goals)}
    team_goals = Goal.objects.bulk_create(
        [
            goal(
                level="team",
                title=f"{team.name}: objective {s + 1}",
                parent=by_top[(team.parent_id, s)],
                department=team,
                owner=heads[team.pk],
            )
            for team in teams
            for s in range(GOALS_PER_UNIT)
        ],
        batch_size=2000,
    )
    by_team: dict[int, list[Goal]] = {}
    for g in team_goals:
        by_team.setdefault(g.department_id, []).append(g)
    individual = []
    for n, member in enumerate(members):
        if member.department_id not in by_team:
            continue
        options = by_team[member.department_id]
        for k in range(3 if n % 5 < 4 else 2):  # 2.8 goals a person on average
            individual.append(
                goal(
                    level="individual",
                    title=f"Personal goal {k + 1} of {n}",
                    parent=options[(n + k) % len(options)],
                    owner=member,
                )
            )
    individual = Goal.objects.bulk_create(individual, batch_size=5000)
    goals = strategic + dept_goals + team_goals + individual
    say(f"  {len(goals):,} goals")

    kpi_columns = [
        "organization_id",
        "goal_id",
        "name",
        "description",
        "unit",
        "direction",
        "aggregation",
        "baseline",
        "target",
        "weight",
        "owner_id",
        "start",
        "due",
        "current",
        "progress",
        "health",
        "created_at",
        "updated_at",
    ]
    kpi_rows = []
    for g in goals:
        for k in range(KPIS_PER_GOAL):
            decrease = k == 1
            baseline, target = (10.0, 5.0) if decrease else (0.0, 100.0)
            kpi_rows.append(
                (
                    org.pk,
                    g.pk,
                    f"Measure {k + 1} of goal {g.pk}",
                    "",
                    "units",
                    "decrease" if decrease else "increase",
                    "latest" if k == 0 else "sum",
                    baseline,
                    target,
                    1.0,
                    g.owner_id,
                    cycle.start,
                    cycle.end,
                    None,
                    0.0,
                    "not_started",
                    now,
                    now,
                )
            )
    _copy("kpis_kpi", kpi_columns, kpi_rows)
    kpis = list(Kpi.objects.filter(organization=org).values_list("id", "aggregation", "owner_id"))
    say(f"  {len(kpis):,} KPIs")

    span = max((min(today, cycle.end) - cycle.start).days, 1)

    def history():
        for kpi_id, aggregation, owner_id in kpis:
            for u in range(UPDATES_PER_KPI):
                day = cycle.start + dt.timedelta(days=span * (u + 1) // UPDATES_PER_KPI)
                value = rng.uniform(0, 95) if aggregation == "latest" else rng.uniform(0, 0.6)
                yield (kpi_id, round(value, 2), day, "", "medium", owner_id, now)

    _copy(
        "kpis_kpiupdate",
        ["kpi_id", "value", "date", "note", "confidence", "author_id", "created_at"],
        history(),
    )
    say(f"  {len(kpis) * UPDATES_PER_KPI:,} KPI values")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    started = time.perf_counter()
    cycle_rollup(cycle)
    say(f"  roll-up in {time.perf_counter() - started:.1f} s")
    return {
        "people": len(members),
        "departments and teams": len(units),
        "goals": len(goals),
        "KPIs": len(kpis),
        "KPI values": len(kpis) * UPDATES_PER_KPI,
    }
