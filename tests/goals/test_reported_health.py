"""SPEC §9.3 "Health counts what has been reported": a goal's health grades the
weighted progress of only its parts that have data (KPIs with a value, child goals that
reported something, done children at 100) against the expected progress. A part without
a check-in yet still counts as 0 % in progress, and the goal page says so; it never
moves the goal's health, nor any ancestor's — after each write, in the whole-cycle
recompute, in the history and `as_of`, and in the API."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cycles.history import as_of, cycle_history
from cycles.models import GoalPoint
from goals.models import Goal, GoalState, Health
from goals.progress import goal_health, kpi_reported_progress, reported_progress
from goals.services import goal_create, goal_update
from kpis.models import Kpi
from kpis.rollup import cycle_rollup
from kpis.services import kpi_create, kpi_record_value

from ..api.helpers import API, client_for

JUN_1, JUN_15 = dt.date(2027, 6, 1), dt.date(2027, 6, 15)
JUL_7, JUL_8, JUL_9 = dt.date(2027, 7, 7), dt.date(2027, 7, 8), dt.date(2027, 7, 9)
# Expected progress is 49.7 % on July 1 of 2027 and 52.2 % on July 10: far enough along
# that a part counted as 0 % would drag a graded goal off track.
JULY_1 = dt.datetime(2027, 7, 1, 12, tzinfo=dt.UTC)
JULY_10 = dt.datetime(2027, 7, 10, 12, tzinfo=dt.UTC)

START, DUE = dt.date(2027, 1, 1), dt.date(2027, 12, 31)


# --- The formulas --------------------------------------------------------------------


def test_reported_progress_is_the_weighted_mean_of_the_parts_with_data_and_none_without():
    assert reported_progress([(1.0, 80.0), (3.0, 40.0)]) == 50.0
    assert reported_progress([]) is None  # nothing reported: no check-in yet
    assert kpi_reported_progress(None, 0.0) is None  # a KPI without a value reports nothing
    assert kpi_reported_progress(4.0, 0.0) == 0.0  # a value at the baseline reports 0 %


def test_goal_health_grades_the_reported_progress_not_the_progress():
    day = dt.date(2027, 7, 1)  # expected 49.7 %
    graded = dict(today=day, start=START, due=DUE)
    assert goal_health(progress=20.0, reported=80.0, **graded) == Health.ON_TRACK
    assert goal_health(progress=80.0, reported=20.0, **graded) == Health.OFF_TRACK
    assert goal_health(progress=0.0, reported=None, **graded) == Health.NO_DATA


def test_goal_health_is_done_on_progress_or_state_never_on_reported_progress_alone():
    day = dt.date(2027, 7, 1)
    graded = dict(today=day, start=START, due=DUE)
    assert goal_health(progress=50.0, reported=100.0, **graded) == Health.ON_TRACK
    assert goal_health(progress=100.0, reported=100.0, **graded) == Health.DONE
    assert goal_health(progress=10.0, reported=None, state=GoalState.DONE, **graded) == "done"
    assert goal_health(progress=0.0, reported=80.0, state="cancelled", **graded) == "cancelled"
    before = dict(today=dt.date(2026, 12, 31), start=START, due=DUE)
    assert goal_health(progress=0.0, reported=80.0, **before) == Health.NOT_STARTED


# --- Through the services, the roll-up and the page ------------------------------------


def figures(*goals: Goal) -> list[tuple[float, float | None, str]]:
    stored = {g.pk: g for g in Goal.objects.filter(pk__in=[goal.pk for goal in goals])}
    return [
        (
            round(stored[g.pk].progress, 1),
            None
            if stored[g.pk].reported_progress is None
            else round(stored[g.pk].reported_progress, 1),
            stored[g.pk].health,
        )
        for g in goals
    ]


@pytest.fixture
def on_track(acme, tree):
    """July 1 of 2027, the individual KPI at 80 % (4.4 hours from 6 toward 4) since
    June 1; the department's and the objective's own KPIs have no value yet."""
    with time_machine.travel(JULY_1, tick=True):
        kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=4.4, date=JUN_1)
        yield tree


@pytest.mark.django_db
def test_a_kpi_without_a_value_changes_progress_but_not_the_health_of_its_goal_or_above(
    acme, on_track, client
):
    tree = on_track
    chain = (tree.individual, tree.department, tree.strategic)
    # Each graded on what was reported: the individual KPI's 80 %, all the way up.
    assert figures(*chain) == [
        (80.0, 80.0, "on_track"),
        (40.0, 80.0, "on_track"),
        (20.0, 80.0, "on_track"),
    ]

    kpi_create(
        actor=acme.leader,
        goal=tree.individual,
        name="Tickets reopened",
        unit="tickets",
        baseline=40,
        target=10,
        direction="decrease",
        weight=3,
        owner=acme.member,
    )

    # Progress counts the new KPI as 0 % (80·1 / 4 = 20, and so on up); health does not.
    assert figures(*chain) == [
        (20.0, 80.0, "on_track"),
        (10.0, 80.0, "on_track"),
        (5.0, 80.0, "on_track"),
    ]
    assert cycle_rollup(acme.cycle) == 0  # the whole-cycle recompute agrees
    assert cycle_history(acme.cycle) == 0  # and so does the history

    client.force_login(acme.member.user)
    individual = client.get(f"/goals/{tree.individual.pk}/").content.decode()
    assert "1 KPI without a check-in counts as 0 % in progress" in individual
    assert "health grades only what has been reported (80.0%)" in individual
    assert "On track" in individual
    department = client.get(f"/goals/{tree.department.pk}/").content.decode()
    assert "1 KPI without a check-in counts as 0 % in progress" in department  # its own


@pytest.mark.django_db
def test_the_goal_page_counts_kpis_and_goals_without_a_check_in_in_one_line(acme, on_track, client):
    tree = on_track
    client.force_login(acme.leader.user)

    def line(goal: Goal) -> str:
        page = client.get(f"/goals/{goal.pk}/").content.decode()
        start = page.find('id="without-check-in"')
        return page[start : page.find("</p>", start)] if start >= 0 else ""

    with time_machine.travel(JULY_1, tick=True):
        assert line(tree.individual) == ""  # its only KPI has a value
        kpi_create(
            actor=acme.leader, goal=tree.department, name="Backlog", unit="tickets",
            baseline=100, target=20, direction="decrease",
        )  # fmt: skip
        assert "2 KPIs without a check-in count as 0 % in progress" in line(tree.department)
        empty = goal_create(
            actor=acme.leader,
            cycle=acme.cycle,
            level="team",
            title="Answer chats within a minute",
            parent=tree.department,
            department=acme.support,
        )
        assert "2 KPIs and 1 goal without a check-in count as 0 % in progress" in line(
            tree.department
        )
        assert figures(tree.department)[0][1:] == (80.0, "on_track")  # health unmoved
        goal_update(actor=acme.leader, goal=empty, state=GoalState.DONE)  # done: it counts 100
        assert "2 KPIs without a check-in count" in line(tree.department)
        assert figures(tree.department)[0][1] == 90.0  # (80 + 100) / 2: reported counts it
        assert cycle_rollup(acme.cycle) == 0


@pytest.mark.django_db
def test_a_done_or_cancelled_child_and_a_child_that_reported_nothing(acme, on_track):
    """A child goal with nothing reported below it is left out of its parent's reported
    progress (it still counts 0 % in progress); a cancelled one is left out of both."""
    tree = on_track
    with time_machine.travel(JULY_1, tick=True):
        team = goal_create(
            actor=acme.leader,
            cycle=acme.cycle,
            level="team",
            title="Tier 2 backlog",
            parent=tree.department,
            department=acme.support,
            weight=4,
        )
        kpi_create(
            actor=acme.leader, goal=team, name="Escalations", unit="tickets",
            baseline=50, target=10, direction="decrease",
        )  # fmt: skip
        assert figures(team, tree.department) == [
            (0.0, None, "no_data"),
            (13.3, 80.0, "on_track"),  # (0·1 + 80·1 + 0·4) / 6
        ]
        goal_update(actor=acme.leader, goal=team, state=GoalState.CANCELLED)
        assert figures(tree.department)[0] == (40.0, 80.0, "on_track")
        assert cycle_rollup(acme.cycle) == 0


# --- History and as_of ---------------------------------------------------------------


def graded_on(day: dt.date, *goals: Goal) -> list[tuple[float, str]]:
    """Each goal's progress (one decimal) and health as they stood at the end of `day`."""
    fresh = Goal.objects.filter(pk__in=[goal.pk for goal in goals])
    stood = {goal.pk: goal for goal in as_of(fresh, day)}
    return [(round(stood[goal.pk].progress, 1), stood[goal.pk].health) for goal in goals]


@pytest.mark.django_db
def test_as_of_grades_what_had_been_reported_on_that_day_before_and_after_the_kpi(acme, on_track):
    tree = on_track
    chain = (tree.individual, tree.department, tree.strategic)
    with time_machine.travel(JULY_10, tick=True):
        before = graded_on(JUN_15, *chain)
        assert before == [(80.0, "on_track"), (40.0, "on_track"), (20.0, "on_track")]
        reopened = kpi_create(
            actor=acme.leader,
            goal=tree.individual,
            name="Tickets reopened",
            unit="tickets",
            baseline=40,
            target=10,
            direction="decrease",
            weight=3,
            owner=acme.member,
        )
        # The history is of today's tree: the new KPI counts 0 % in every past day's
        # progress, and in no past day's health.
        assert graded_on(JUN_15, *chain) == [
            (20.0, "on_track"),
            (10.0, "on_track"),
            (5.0, "on_track"),
        ]
        assert [health for _p, health in graded_on(JUL_7, *chain)] == ["on_track"] * 3
        # Its first value, at its baseline (0 %), is dated July 8: from that day on it is
        # reported, and the goal is graded on (80·1 + 0·3) / 4 = 20 % of an expected 51.9 %.
        kpi_record_value(actor=acme.member, kpi=reopened, value=40, date=JUL_8)
        assert graded_on(JUL_7, *chain)[0] == (20.0, "on_track")  # as it stood that day
        assert graded_on(JUL_9, *chain)[0] == (20.0, "off_track")
        points = GoalPoint.objects.filter(goal=tree.individual).order_by("day")
        assert [(p.day, round(p.reported_progress, 1)) for p in points] == [
            (JUN_1, 80.0),
            (JUL_8, 20.0),
        ]
        assert cycle_history(acme.cycle) == 0
        assert Goal.objects.get(pk=tree.individual.pk).health == "off_track"  # today too


@pytest.mark.django_db
def test_the_api_tree_as_of_a_past_day_follows_the_same_rule(acme, on_track):
    tree = on_track
    client = client_for(acme.member)
    url = f"{API}/goals/{tree.strategic.pk}/tree/"
    with time_machine.travel(JULY_10, tick=True):
        kpi_create(
            actor=acme.leader, goal=tree.individual, name="Tickets reopened", unit="tickets",
            baseline=40, target=10, direction="decrease", weight=3,
        )  # fmt: skip
        past = client.get(url, {"as_of": JUN_15.isoformat()}).json()
        now = client.get(url).json()
    for tree_json in (past, now):
        department = tree_json["children"][0]
        individual = department["children"][0]
        assert [node["health"] for node in (tree_json, department, individual)] == ["on_track"] * 3
        assert individual["progress"] == 20.0


# --- The API --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_gives_each_goal_its_reported_progress_beside_its_progress(acme, on_track):
    tree = on_track
    kpi_create(
        actor=acme.leader, goal=tree.individual, name="Tickets reopened", unit="tickets",
        baseline=40, target=10, direction="decrease", weight=2,
    )  # fmt: skip
    client = client_for(acme.member)
    goal = client.get(f"{API}/goals/{tree.individual.pk}/").json()
    assert (goal["progress"], goal["reported_progress"], goal["health"]) == (26.7, 80.0, "on_track")
    listed = {g["id"]: g for g in client.get(f"{API}/goals/").json()["results"]}
    assert listed[tree.department.pk]["reported_progress"] == 80.0
    empty = goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="Grow")
    assert client.get(f"{API}/goals/{empty.pk}/").json()["reported_progress"] is None


@pytest.mark.django_db
def test_reported_progress_is_read_only_in_the_api(acme, tree):
    client = client_for(acme.leader)
    response = client.patch(
        f"{API}/goals/{tree.strategic.pk}/", {"reported_progress": 99}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["reported_progress"] is None
    assert Goal.objects.get(pk=tree.strategic.pk).reported_progress is None


@pytest.mark.django_db
def test_the_schema_gives_reported_progress_as_a_nullable_read_only_number():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    field = schema["components"]["schemas"]["Goal"]["properties"]["reported_progress"]
    assert field["type"] == "number" and field["nullable"] and field["readOnly"]


# --- The migrations ---------------------------------------------------------------------


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_a_database_migrated_from_before_reported_progress_reads_as_a_rollup_would(acme, on_track):
    """goals 0008 fills reported progress and grades health anew; cycles 0002 rebuilds
    the goal points with their reported progress: nothing is left to repair."""
    tree = on_track
    with time_machine.travel(JULY_1, tick=True):
        kpi_create(
            actor=acme.leader, goal=tree.individual, name="Tickets reopened", unit="tickets",
            baseline=40, target=10, direction="decrease", weight=3,
        )  # fmt: skip
        goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="Grow")
        stored = list(
            Goal.objects.order_by("pk").values_list("pk", "progress", "reported_progress", "health")
        )
        points = list(
            GoalPoint.objects.order_by("goal_id", "day").values_list(
                "goal_id", "day", "progress", "has_data", "reported_progress"
            )
        )
        migrate([("goals", "0007_cycles_move_out"), ("cycles", "0001_initial")])
        Goal.objects.update(health="off_track")  # as the old rule graded the individual goal
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        assert (
            list(
                Goal.objects.order_by("pk").values_list(
                    "pk", "progress", "reported_progress", "health"
                )
            )
            == stored
        )
        assert (
            list(
                GoalPoint.objects.order_by("goal_id", "day").values_list(
                    "goal_id", "day", "progress", "has_data", "reported_progress"
                )
            )
            == points
        )
        assert cycle_rollup(acme.cycle) == 0
        assert cycle_history(acme.cycle) == 0
    assert Kpi.objects.filter(current__isnull=True).count() == 3
