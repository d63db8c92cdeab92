"""The leader's dashboard (SPEC §9.3): the heatmap of objectives × departments, check-in
compliance for the period shown and each objective's movement equal a recount from the
stored rows, on a random cycle across three departments; and the period shown follows
the cycle (clamped into it)."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest
import time_machine
from django.utils import timezone

from cycles import leader
from cycles.models import GoalPoint
from cycles.summary import dashboard_summary, shown_period
from goals.models import Goal, GoalState
from goals.services import goal_create, goal_update
from kpis.models import Kpi, KpiUpdate
from kpis.services import kpi_create, kpi_record_value, kpi_value_correct, kpi_value_retract
from reviews.models import Review, ReviewState

from ..factories import CycleFactory, MemberFactory

pytestmark = pytest.mark.django_db

# Mid-May 2027: the 2027 cycle's second quarter, so values dated in January to March lie
# in an earlier period and only April and May count for compliance.
TODAY = dt.date(2027, 5, 20)
PERIOD = (dt.date(2027, 4, 1), dt.date(2027, 6, 30))
REVIEW_DAY = dt.date(2027, 4, 28)


@pytest.fixture
def late_may():
    with time_machine.travel(dt.datetime(2027, 5, 20, 12, tzinfo=dt.UTC), tick=False):
        yield


def random_cycle(acme, seed: int) -> dict:
    """Three objectives; department, team and individual goals of Support, Tier 2 and
    Marketing under them (a team may hang under another department's goal); one or two
    KPIs a goal with random owners, weights and values on random days; some values
    corrected or retracted, some goals done or cancelled. All through the services."""
    chance = random.Random(seed)
    lead, cycle = acme.leader, acme.cycle
    departments = [acme.support, acme.tier2, acme.marketing]
    people = {
        department.pk: [
            MemberFactory(
                organization=acme.org, department=department, user__username=f"p{seed}-{i}-{n}"
            )
            for n in range(3)
        ]
        for i, department in enumerate(departments)
    }
    everyone = [person for group in people.values() for person in group]
    objectives = [
        goal_create(actor=lead, cycle=cycle, level="strategic", title=f"Objective {n}")
        for n in range(3)
    ]
    goals: list[Goal] = list(objectives)
    for objective in objectives:
        for department in chance.sample(departments, chance.randint(1, 3)):
            department_goal = goal_create(
                actor=lead,
                cycle=cycle,
                level="department",
                title=f"{department.name} under {objective.title} {chance.random():.6f}",
                parent=objective,
                department=department,
                owner=chance.choice(people[department.pk]),
                weight=chance.choice([1, 2, 3]),
            )
            goals.append(department_goal)
            for _ in range(chance.randint(0, 2)):  # teams: often another department's
                team_department = chance.choice(departments)
                team = goal_create(
                    actor=lead,
                    cycle=cycle,
                    level="team",
                    title=f"Team of {team_department.name} {chance.random():.6f}",
                    parent=department_goal,
                    department=team_department,
                    owner=chance.choice(people[team_department.pk]),
                    weight=chance.choice([1, 2]),
                )
                goals.append(team)
                for _ in range(chance.randint(0, 2)):
                    goals.append(
                        goal_create(
                            actor=lead,
                            cycle=cycle,
                            level="individual",
                            title=f"Own goal {chance.random():.6f}",
                            parent=team,
                            owner=chance.choice(everyone),
                        )
                    )
            if chance.random() < 0.5:
                goals.append(
                    goal_create(
                        actor=lead,
                        cycle=cycle,
                        level="individual",
                        title=f"Own goal {chance.random():.6f}",
                        parent=department_goal,
                        owner=chance.choice(everyone),
                    )
                )
    days = [cycle.start + dt.timedelta(days=n) for n in range((TODAY - cycle.start).days + 1)]
    updates: list[KpiUpdate] = []
    for goal in goals:
        for n in range(chance.randint(1, 2)):
            kpi = kpi_create(
                actor=lead,
                goal=goal,
                name=f"Measure {n} of {goal.title}",
                unit="%",
                baseline=0,
                target=100,
                weight=chance.choice([1, 2]),
                owner=chance.choice(everyone + [lead]),
            )
            for day in sorted(chance.sample(days, chance.choice([0, 0, 1, 2, 3]))):
                updates.append(
                    kpi_record_value(actor=lead, kpi=kpi, value=chance.uniform(0, 100), date=day)
                )
    for update in chance.sample(updates, len(updates) // 6):
        if chance.random() < 0.5:
            kpi_value_retract(actor=lead, update=update, reason="Entered twice")
        else:
            kpi_value_correct(actor=lead, update=update, value=chance.uniform(0, 100))
    below = [goal for goal in goals if not goal.is_strategic]
    for goal in chance.sample(below, len(below) // 8):
        goal.refresh_from_db()
        goal_update(actor=lead, goal=goal, state=chance.choice([GoalState.DONE, "cancelled"]))
    review = Review.objects.create(
        organization=acme.org,
        cycle=cycle,
        title="Q2 check-in",
        period="2027-Q2",
        scheduled_for=timezone.now(),
        facilitator=lead,
        state=ReviewState.COMPLETED,
        completed_at=dt.datetime.combine(REVIEW_DAY, dt.time(15), tzinfo=dt.UTC),
    )
    return {"objectives": objectives, "review": review}


# --- The recount: from the stored rows, written out here -----------------------------


def recount_heatmap(cycle) -> dict[tuple[int, int], tuple[float, str, int]]:
    """{(objective, department): (progress, health, goals)} from the goal rows."""
    goals = {goal.pk: goal for goal in Goal.objects.filter(cycle=cycle).select_related("owner")}

    def department_of(goal: Goal) -> int | None:
        if goal.level == "individual":
            return goal.owner.department_id if goal.owner else None
        return goal.department_id

    parts: dict[tuple[int, int], list[Goal]] = defaultdict(list)
    for goal in goals.values():
        if goal.level == "strategic" or goal.state == "cancelled":
            continue
        ancestors, parent_id = [], goal.parent_id
        while parent_id is not None:
            ancestors.append(goals[parent_id])
            parent_id = goals[parent_id].parent_id
        objective = ancestors[-1]
        mine = department_of(goal)
        if mine is None or any(a.state == "cancelled" for a in ancestors[:-1]):
            continue
        if any(a.department_id == mine for a in ancestors[:-1]):
            continue  # it counts in the goal of its department above it
        parts[objective.pk, mine].append(goal)
    cells = {}
    for key, members in parts.items():
        weight = sum(goal.weight for goal in members)
        progress = sum(
            goal.weight * (100 if goal.state == "done" else goal.progress) for goal in members
        )
        progress /= weight
        reported_parts = [
            (goal.weight, 100.0 if goal.state == "done" else goal.reported_progress)
            for goal in members
            if goal.state == "done" or goal.reported_progress is not None
        ]
        reported = (
            sum(w * p for w, p in reported_parts) / sum(w for w, _ in reported_parts)
            if reported_parts
            else None
        )
        start = min(goal.start for goal in members)
        due = max(goal.due for goal in members)
        cells[key] = (progress, health(progress, reported, start, due), len(members))
    return cells


def health(progress: float, reported: float | None, start: dt.date, due: dt.date) -> str:
    if progress >= 100 - 1e-9:
        return "done"
    if start > TODAY:
        return "not_started"
    if reported is None:
        return "no_data"
    expected = 100 * min(max((TODAY - start).days / (due - start).days, 0), 1)
    if reported >= expected - 10:
        return "on_track"
    return "at_risk" if reported >= expected - 25 else "off_track"


def recount_compliance(cycle) -> dict[int | None, tuple[int, int, set[int]]]:
    """{department: (KPIs owing a value, KPIs with one in the period, people owing one)}."""
    rows: dict[int | None, tuple[int, int, set[int]]] = {}
    kpis = Kpi.objects.filter(goal__cycle=cycle).select_related("goal", "owner")
    for kpi in kpis:
        if kpi.state != "active" or kpi.goal.state != "active" or kpi.start > TODAY:
            continue
        values = KpiUpdate.objects.filter(kpi=kpi, retracted_at__isnull=True)
        live_days = [u.date for u in values if not KpiUpdate.objects.filter(replaces=u).exists()]
        has_one = any(PERIOD[0] <= day <= PERIOD[1] for day in live_days)
        owing, done, missing = rows.get(kpi.owner.department_id, (0, 0, set()))
        if not has_one:
            missing = missing | {kpi.owner_id}
        rows[kpi.owner.department_id] = (owing + 1, done + has_one, missing)
    return rows


def standing(points: list[GoalPoint], day: dt.date) -> float:
    before = [point for point in points if point.day <= day]
    return before[-1].progress if before else 0.0


# --- The tests ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_heatmap_compliance_and_movement_equal_a_recount_from_the_rows(acme, late_may, seed):
    made = random_cycle(acme, seed)
    cycle = acme.cycle
    summary = dashboard_summary(cycle)
    objectives = made["objectives"]
    shown = leader.leader_dashboard(objectives, summary.heatmap, summary.compliance, TODAY)

    # The heatmap: every cell of the recount, and no other.
    cells = {
        (row.objective.pk, cell.department.pk): (cell.progress, cell.health, cell.goals)
        for row in shown.heatmap.rows
        for cell in row.cells
        if cell is not None
    }
    expected = recount_heatmap(cycle)
    assert cells.keys() == expected.keys()
    for key, (progress, state, count) in expected.items():
        assert cells[key][0] == pytest.approx(progress), key
        assert cells[key][1:] == (state, count), key
    assert {d.pk for d in shown.heatmap.departments} == {d for _, d in expected}
    assert len(expected) >= 4  # a real spread over objectives and departments

    # Compliance, per department, with who still owes a value.
    compliance = {
        row.department_id: (row.kpis, row.checked_in, {m.pk for m in row.missing})
        for row in shown.compliance
    }
    assert compliance == recount_compliance(cycle)
    assert any(done < owing for owing, done, _ in compliance.values())  # some still owe one

    # Movement: since the review's day and over 7 days, from the history points.
    review_day = made["review"].completed_at.date()
    moves = leader.movements(cycle, objectives, TODAY, review_day)
    for move in moves:
        points = list(GoalPoint.objects.filter(goal=move.objective).order_by("day"))
        now = standing(points, TODAY)
        assert move.now == pytest.approx(now)
        assert move.since_review == pytest.approx(now - standing(points, REVIEW_DAY))
        assert move.week == pytest.approx(now - standing(points, TODAY - dt.timedelta(days=7)))
        move.objective.refresh_from_db()  # the history ends where the objective stands
        assert move.now == pytest.approx(move.objective.progress)


def test_a_cell_is_the_weighted_mean_of_the_departments_topmost_goals(acme, tree, late_may):
    """Support's department goal (weight 1) and a Marketing team goal under it: Support's
    cell is its department goal alone (the team counts in it), Marketing's is the team."""
    lead = acme.leader
    team = goal_create(
        actor=lead,
        cycle=acme.cycle,
        level="team",
        title="Campaign team",
        parent=tree.department,
        department=acme.marketing,
        owner=acme.marketing_manager,
    )
    kpi = kpi_create(
        actor=lead, goal=team, name="Posts", unit="posts", baseline=0, target=10, owner=lead
    )
    kpi_record_value(actor=lead, kpi=kpi, value=4, date=dt.date(2027, 5, 1))
    second = goal_create(
        actor=lead,
        cycle=acme.cycle,
        level="department",
        title="Second support goal",
        parent=tree.strategic,
        department=acme.support,
        owner=acme.manager,
        weight=3,
    )
    other = kpi_create(
        actor=lead, goal=second, name="Calls", unit="calls", baseline=0, target=10, owner=lead
    )
    kpi_record_value(actor=lead, kpi=other, value=8, date=dt.date(2027, 5, 2))
    tree.department.refresh_from_db()
    heat = dashboard_summary(acme.cycle).heatmap[str(tree.strategic.pk)]
    assert heat[str(acme.marketing.pk)]["progress"] == pytest.approx(40.0)
    assert heat[str(acme.marketing.pk)]["goals"] == 1
    support = heat[str(acme.support.pk)]
    assert support["goals"] == 2
    assert support["progress"] == pytest.approx((1 * tree.department.progress + 3 * 80.0) / 4)
    assert str(acme.tier2.pk) not in heat  # no goal there: the page shows "—"


@pytest.mark.parametrize(
    ("today", "period"),
    [
        (dt.date(2026, 12, 7), "2027-Q1"),  # before the cycle: its first period
        (dt.date(2027, 5, 20), "2027-Q2"),  # inside it: the one holding today
        (dt.date(2028, 2, 1), "2027-Q4"),  # after it: its last
    ],
)
def test_the_period_shown_is_todays_clamped_into_the_cycle(acme, today, period):
    assert shown_period(acme.cycle, today).key == period


def test_a_future_cycle_does_not_say_up_to_date_for_todays_quarter(client, acme):
    """Viewed in March 2027, a cycle of 2028 speaks of its own first quarter."""
    future = CycleFactory(
        organization=acme.org, name="2028", start=dt.date(2028, 1, 1), end=dt.date(2028, 12, 31)
    )
    client.force_login(acme.leader.user)
    page = client.get(f"/?cycle={future.pk}").content.decode()
    assert "2027-Q1" not in page
    assert "Check-ins for 2028-Q1" in page
