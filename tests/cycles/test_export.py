"""Issue 17: a cycle's export (CSV and XLSX) has the import's columns plus progress,
health, current value and last update, and imports back as the same tree."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cycles.exporting import cycle_export, export_rows
from cycles.sheets import EXPORT_COLUMNS
from goals.models import Goal
from goals.services import goal_create
from kpis.models import Kpi
from kpis.services import kpi_record_value

from ..factories import CycleFactory
from ..pages.helpers import snapshot
from .imports import commit, plan
from .test_import import grown


def read_csv(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def shape(cycle) -> list[tuple]:
    """The tree as a person sees it: every goal by its path of titles, with level,
    department and (for individual goals) owner; every KPI with its fields."""
    goals = {g.pk: g for g in Goal.objects.filter(cycle=cycle).select_related("owner__user")}

    def path(goal):
        titles = []
        while goal is not None:
            titles.insert(0, goal.title)
            goal = goals.get(goal.parent_id)
        return tuple(titles)

    rows = [
        (
            "goal",
            path(g),
            g.level,
            g.department_id,
            g.owner.user.username if g.is_individual else None,
            g.due,
        )
        for g in goals.values()
    ]
    rows += [
        (
            "kpi",
            path(goals[k.goal_id]),
            k.name,
            k.unit,
            k.direction,
            k.aggregation,
            k.baseline,
            k.target,
            k.owner_id,
            k.due,
            k.external_id,
        )
        for k in Kpi.objects.filter(goal__cycle=cycle)
    ]
    return sorted(rows, key=repr)


@pytest.fixture
def recorded(acme, places):
    """The tests' tree (worked example, team goals, several KPIs per goal), with values."""
    kpi_record_value(actor=acme.member, kpi=places.individual_kpi, value=5)
    kpi_record_value(actor=acme.manager, kpi=places.department_kpi, value=9.5)
    return places


def test_the_export_has_a_row_per_kpi_and_per_bare_leaf_goal_with_the_figures(acme, recorded):
    rows = read_csv(cycle_export(acme.cycle, "csv"))

    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert len(rows) == Kpi.objects.count()  # every goal of the tree has a KPI
    resolve = next(r for r in rows if r["KPI"] == "Average ticket resolution time")
    assert resolve["Strategic goal"] == "Improve customer experience"
    assert resolve["Department goal"] == "Reduce average response time by 20%"
    assert resolve["Department"] == "Customer Support"
    assert resolve["Individual goal"] == "Resolve support tickets within 4 hrs avg"
    assert resolve["Owner"] == "sam"
    assert (resolve["Baseline"], resolve["Target"], resolve["Direction"]) == ("6", "4", "decrease")
    assert (resolve["Progress"], resolve["Health"], resolve["Current"]) == ("50.0", "On track", "5")
    assert resolve["Last update"] == "2027-03-15"
    team = next(r for r in rows if r["KPI"] == "Escalations cleared")
    assert (team["Team goal"], team["Team"]) == ("Clear the escalation backlog", "Support Tier 2")


def test_a_goal_without_kpis_or_children_has_its_own_row(acme):
    goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="Bare")
    rows = export_rows(acme.cycle)
    assert [(r["Strategic goal"], r.get("KPI")) for r in rows] == [("Bare", None)]


def test_cells_that_would_start_a_formula_are_quoted_and_import_back_exactly(acme):
    goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="=HYPERLINK(1)")
    goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="@SUM(A1)")
    content = cycle_export(acme.cycle, "csv")
    titles = [row["Strategic goal"] for row in read_csv(content)]
    assert titles == ["'=HYPERLINK(1)", "'@SUM(A1)"]
    book = openpyxl.load_workbook(io.BytesIO(cycle_export(acme.cycle, "xlsx")))
    assert book.active["A2"].value == "'=HYPERLINK(1)"
    assert book.active["A2"].data_type == "s"
    assert plan(acme.leader, acme.cycle, content).totals == {
        "rows": 2,
        "create": 0,
        "change": 0,
        "unchanged": 2,
        "errors": 0,
        "goals_created": 0,
        "kpis_created": 0,
    }


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_export_imports_into_an_empty_cycle_as_the_same_tree(acme, recorded, fmt):
    content = cycle_export(acme.cycle, fmt)
    empty = CycleFactory(organization=acme.org, name="2027 again")

    commit(acme.leader, empty, content, fmt)

    assert shape(empty) == shape(acme.cycle)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_importing_the_export_into_its_own_cycle_changes_nothing(acme, recorded, fmt):
    Kpi.objects.filter(pk=recorded.strategic_kpi.pk).update(external_id="CSAT")
    Goal.objects.filter(pk=recorded.department.pk).update(external_id="FRT-GOAL")
    content = cycle_export(acme.cycle, fmt)
    preview = plan(acme.leader, acme.cycle, content, fmt)
    assert preview.totals["create"] == preview.totals["change"] == preview.totals["errors"] == 0
    before = snapshot()

    commit(acme.leader, acme.cycle, content, fmt)

    assert snapshot() == before


def test_the_export_costs_the_same_queries_for_a_small_and_a_large_tree(acme):
    counts = []
    for name, size in (("Small", 3), ("Large", 30)):
        cycle = CycleFactory(organization=acme.org, name=name)
        commit(acme.leader, cycle, grown(size, name))
        for fmt in ("csv", "xlsx"):
            with CaptureQueriesContext(connection) as captured:
                cycle_export(cycle, fmt)
            counts.append((fmt, len(captured.captured_queries)))
    assert counts[:2] == counts[2:], counts
