"""SPEC §9.3, the article's table as written: a sheet with an `Individual KPI` column and
no `KPI` column is read as the person chooses — each individual KPI a KPI of the
department goal, owned by its Owner (the default), or an individual goal. The preview
says which reading it applied; the import does exactly what the preview showed; a
preview writes nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core.errors import too_long
from cycles.import_plan import COUNTS_DONE
from cycles.importing import import_commit, import_plan
from cycles.sheets import AS_GOAL, AS_KPI, INDIVIDUAL_KPI_READINGS, read_rows
from goals.models import Goal
from kpis.models import Kpi

from ..factories import DepartmentFactory, MemberFactory
from ..pages.helpers import snapshot
from .imports import EXAMPLE, xlsx

pytestmark = pytest.mark.django_db

OBJECTIVES = {
    "Improve customer experience": ("Reduce average response time by 20%", "Customer Support"),
    "Expand market presence": ("Launch 3 regional campaigns", "Marketing"),
    "Strengthen innovation culture": ("Host 6 innovation labs per year", "Innovation"),
}
# The table's individual KPIs: (its department goal, its Owner).
INDIVIDUAL_KPIS = {
    "Resolve support tickets within 4 hrs avg": ("Reduce average response time by 20%", "sam"),
    "Generate 100 qualified leads/month": ("Launch 3 regional campaigns", "lee"),
    "Submit 2 ideas per quarter": ("Host 6 innovation labs per year", "ivy"),
}


@pytest.fixture
def innovation(acme):
    """The demo's third department and its member, as in the SPEC's table."""
    acme.innovation = DepartmentFactory(organization=acme.org, name="Innovation")
    acme.ivy = MemberFactory(
        organization=acme.org, department=acme.innovation, user__username="ivy"
    )
    return acme


def rows_of(text: str, fmt: str = "csv"):
    return read_rows(text.encode() if fmt == "csv" else xlsx(text), fmt)


def goals_of(cycle) -> list[tuple]:
    """(level, title, parent's title, department, owner) of every goal of the cycle."""
    return sorted(
        (
            goal.level,
            goal.title,
            goal.parent.title if goal.parent else None,
            goal.department.name if goal.department else None,
            goal.owner.user.username if goal.owner else None,
        )
        for goal in Goal.objects.filter(cycle=cycle).select_related(
            "parent", "department", "owner__user"
        )
    )


def kpis_of(cycle) -> list[tuple]:
    """(name, its goal's level and title, owner, unit, baseline, target) of every KPI."""
    return sorted(
        (kpi.name, kpi.goal.level, kpi.goal.title, kpi.owner.user.username, kpi.unit)
        + (kpi.baseline, kpi.target, kpi.direction, kpi.start, kpi.due)
        for kpi in Kpi.objects.filter(goal__cycle=cycle).select_related("goal", "owner__user")
    )


STRATEGIC_AND_DEPARTMENT_GOALS = [
    ("strategic", objective, None, None, None) for objective in OBJECTIVES
] + [
    ("department", goal, objective, department, None)
    for objective, (goal, department) in OBJECTIVES.items()
]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_by_default_each_individual_kpi_is_a_kpi_of_its_department_goal_owned_by_its_owner(
    innovation, fmt
):
    acme = innovation
    preview = import_plan(actor=acme.leader, cycle=acme.cycle, rows=rows_of(EXAMPLE, fmt))
    assert preview.individual_kpi == {
        "applied": AS_KPI,
        "message": "The “Individual KPI” column, as chosen: make each individual KPI a KPI "
        "of the department goal, owned by its Owner (the default).",
    }
    assert preview.totals["errors"] == 0, preview.errors
    assert (preview.totals["goals_created"], preview.totals["kpis_created"]) == (6, 3)
    for row in preview.rows:
        assert [(a["object"], a["level"]) for a in row["actions"]] == [
            ("goal", "strategic"),
            ("goal", "department"),
            ("kpi", None),
        ]
        assert row["smart"]["measurable"]["ok"] is True
        assert row["warnings"] == [COUNTS_DONE]  # measured 0 → 100 % until set

    import_commit(actor=acme.leader, cycle=acme.cycle, rows=rows_of(EXAMPLE, fmt))

    assert goals_of(acme.cycle) == sorted(STRATEGIC_AND_DEPARTMENT_GOALS)
    cycle = acme.cycle
    assert kpis_of(cycle) == sorted(
        (name, "department", goal, owner, "%", 0, 100, "increase", cycle.start, cycle.end)
        for name, (goal, owner) in INDIVIDUAL_KPIS.items()
    )
    kpi = Kpi.objects.get(name="Submit 2 ideas per quarter")
    assert (kpi.owner, kpi.health) == (acme.ivy, "no_data")  # rolled up


def test_chosen_so_each_individual_kpi_is_an_individual_goal_owned_by_its_owner(innovation):
    acme = innovation
    rows = rows_of(EXAMPLE)
    preview = import_plan(actor=acme.leader, cycle=acme.cycle, rows=rows, individual_kpi=AS_GOAL)
    assert preview.individual_kpi == {
        "applied": AS_GOAL,
        "message": "The “Individual KPI” column, as chosen: make each individual KPI an "
        "individual goal, owned by its Owner.",
    }
    assert preview.totals["errors"] == 0, preview.errors
    assert (preview.totals["goals_created"], preview.totals["kpis_created"]) == (9, 0)
    for row in preview.rows:
        assert [a["level"] for a in row["actions"]] == ["strategic", "department", "individual"]
        assert row["smart"]["measurable"]["ok"] is False  # no KPI yet: a warning

    import_commit(actor=acme.leader, cycle=acme.cycle, rows=rows, individual_kpi=AS_GOAL)

    assert goals_of(acme.cycle) == sorted(
        STRATEGIC_AND_DEPARTMENT_GOALS
        + [
            ("individual", title, goal, None, owner)
            for title, (goal, owner) in INDIVIDUAL_KPIS.items()
        ]
    )
    assert not Kpi.objects.exists()


@pytest.mark.parametrize("reading", list(INDIVIDUAL_KPI_READINGS))
def test_a_preview_of_either_reading_writes_nothing(innovation, reading):
    acme = innovation
    before = snapshot()
    preview = import_plan(
        actor=acme.leader, cycle=acme.cycle, rows=rows_of(EXAMPLE), individual_kpi=reading
    )
    assert preview.totals["create"] == 9  # six goals and three KPIs, or nine goals
    assert snapshot() == before


def test_importing_the_article_twice_changes_nothing_the_second_time(innovation):
    acme = innovation
    import_commit(actor=acme.leader, cycle=acme.cycle, rows=rows_of(EXAMPLE))
    kpi = Kpi.objects.get(name="Generate 100 qualified leads/month")
    kpi.unit, kpi.baseline, kpi.target = "leads", 40, 100  # its owner measures it now
    kpi.save()
    before = snapshot()

    again = import_plan(actor=acme.leader, cycle=acme.cycle, rows=rows_of(EXAMPLE))
    import_commit(actor=acme.leader, cycle=acme.cycle, rows=rows_of(EXAMPLE))

    assert (again.totals["create"], again.totals["change"], again.totals["unchanged"]) == (0, 0, 9)
    assert all(row["warnings"] == [] for row in again.rows)
    assert snapshot() == before


def test_an_unknown_reading_is_refused_and_writes_nothing(innovation):
    acme = innovation
    before = snapshot()
    with pytest.raises(ValidationError) as refused:
        import_commit(
            actor=acme.leader, cycle=acme.cycle, rows=rows_of(EXAMPLE), individual_kpi="both"
        )
    assert refused.value.message_dict == {"individual_kpi": ["Must be one of: kpi, goal."]}
    assert snapshot() == before


def test_the_rows_say_their_errors_in_the_files_own_columns(acme):
    """No ivy and no Innovation here: row 4's Owner is the KPI's owner, said of "Owner"."""
    preview = import_plan(actor=acme.leader, cycle=acme.cycle, rows=rows_of(EXAMPLE))
    assert set(preview.errors) == {"4"}
    assert set(preview.errors["4"]) == {"Department", "Owner"}
    assert "No active member" in preview.errors["4"]["Owner"][0]
    long_name = EXAMPLE.replace("Submit 2 ideas per quarter", "x" * 301)
    errors = import_plan(actor=acme.leader, cycle=acme.cycle, rows=rows_of(long_name)).errors
    assert errors["4"]["Individual KPI"] == [too_long(300)]


def test_a_row_that_measures_its_individual_kpi_keeps_its_own_unit_baseline_and_target(
    innovation,
):
    acme = innovation
    text = (
        "Strategic goal,Department goal,Individual KPI,Department,Owner,Unit,Baseline,Target,"
        "Direction\n"
        "Improve customer experience,Reduce average response time by 20%,"
        "Resolve support tickets within 4 hrs avg,Customer Support,sam,hours,6,4,decrease\n"
    )
    preview = import_plan(actor=acme.leader, cycle=acme.cycle, rows=rows_of(text))
    assert preview.totals["errors"] == 0, preview.errors
    assert preview.rows[0]["warnings"] == []

    import_commit(actor=acme.leader, cycle=acme.cycle, rows=rows_of(text))

    kpi = Kpi.objects.get()
    assert (kpi.name, kpi.goal.title, kpi.owner, kpi.unit, kpi.baseline, kpi.target) == (
        "Resolve support tickets within 4 hrs avg",
        "Reduce average response time by 20%",
        acme.member,
        "hours",
        6,
        4,
    )
    assert kpi.direction == "decrease"


def test_with_a_kpi_column_individual_kpi_is_the_individual_goal_and_nothing_is_asked(acme):
    text = (
        "Strategic goal,Department goal,Individual KPI,Department,Owner,KPI,Unit,Baseline,"
        "Target\n"
        "Improve customer experience,Reduce average response time by 20%,"
        "Resolve support tickets within 4 hrs avg,Customer Support,sam,"
        "Average ticket resolution time,hours,6,4\n"
    )
    preview = import_plan(actor=acme.leader, cycle=acme.cycle, rows=rows_of(text))
    assert preview.individual_kpi is None
    assert preview.preview()["individual_kpi"] is None
    [row] = preview.rows
    assert [a["level"] for a in row["actions"]] == ["strategic", "department", "individual", None]
    assert row["actions"][2]["title"] == "Resolve support tickets within 4 hrs avg"
