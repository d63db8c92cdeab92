"""The stored roll-up: refreshed by every write, repaired by cycle_rollup."""

from __future__ import annotations

import datetime as dt

import pytest

from goals.models import Goal
from goals.services import goal_create, goal_update
from kpis.models import Kpi
from kpis.rollup import cycle_rollup
from kpis.services import kpi_create, kpi_edit, kpi_record_value

from ..writes import random_writes

pytestmark = pytest.mark.django_db


def stored(obj) -> float:
    obj.refresh_from_db()
    return round(obj.progress, 1)


def test_worked_example_reads_50_50_72_5_from_stored_progress(acme):
    """SPEC §2: KPI 6→4 hrs at 5 is 50.0; its individual goal 50.0; the department
    goal with that goal (weight 1) and its own KPI at 80.0 (weight 3) is 72.5."""
    strategic = goal_create(
        actor=acme.leader, cycle=acme.cycle, level="strategic", title="Improve customer experience"
    )
    department = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="department",
        title="Reduce average response time by 20%",
        parent=strategic,
        department=acme.support,
    )
    individual = goal_create(
        actor=acme.manager,
        cycle=acme.cycle,
        level="individual",
        title="Resolve support tickets",
        parent=department,
        owner=acme.member,
    )
    tickets = kpi_create(
        actor=acme.member,
        goal=individual,
        name="Resolve support tickets within 4 hrs avg",
        unit="hours",
        direction="decrease",
        baseline=6,
        target=4,
    )
    own = kpi_create(
        actor=acme.manager,
        goal=department,
        name="Average first response time",
        unit="hours",
        direction="decrease",
        baseline=10,
        target=5,
        weight=3,
    )

    kpi_record_value(actor=acme.member, kpi=tickets, value=5)
    kpi_record_value(actor=acme.manager, kpi=own, value=6)  # (6-10)/(5-10) = 80 %

    assert stored(tickets) == 50.0
    assert stored(own) == 80.0
    assert stored(individual) == 50.0
    assert stored(department) == 72.5
    assert stored(strategic) == 72.5


def test_cancelling_a_child_drops_it_from_the_parent_and_done_counts_100(acme, tree):
    kpi_record_value(actor=acme.manager, kpi=tree.department_kpi, value=9)  # 50 %
    assert stored(tree.department) == 25.0  # (50 + 0) / 2
    goal_update(actor=acme.manager, goal=tree.individual, state="cancelled")
    assert stored(tree.department) == 50.0
    goal_update(actor=acme.manager, goal=tree.individual, state="done")
    assert stored(tree.individual) == 100.0
    assert stored(tree.department) == 75.0
    goal_update(actor=acme.manager, goal=tree.individual, state="active")
    assert stored(tree.individual) == 0.0
    assert stored(tree.department) == 25.0


def test_moving_a_goal_refreshes_the_old_and_the_new_parent(acme, tree):
    other = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="department",
        title="Faster onboarding",
        parent=tree.strategic,
        department=acme.support,
    )
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=4)  # 100 %
    assert stored(tree.department) == 50.0
    goal_update(actor=acme.manager, goal=tree.individual, parent=other)
    assert stored(tree.department) == 0.0
    assert stored(other) == 100.0


def test_changing_a_goal_weight_refreshes_its_parent(acme, tree):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=4)  # 100 %
    goal_update(actor=acme.manager, goal=tree.individual, weight=3)
    assert stored(tree.department) == 75.0


def test_moving_a_kpi_refreshes_both_goals(acme, tree):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=4)
    kpi_edit(actor=acme.manager, kpi=tree.individual_kpi, goal=tree.department)
    assert stored(tree.individual) == 0.0
    assert stored(tree.department) == pytest.approx(33.3)


def test_cycle_rollup_repairs_corrupted_stored_progress(acme, tree):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)
    expected = {g.pk: (g.progress, g.health) for g in Goal.objects.all()}
    expected_kpis = {k.pk: (k.current, k.progress) for k in Kpi.objects.all()}
    Goal.objects.update(progress=99, health="done")
    Kpi.objects.update(progress=1, current=1234)

    changed = cycle_rollup(acme.cycle)

    assert changed == 6
    assert {g.pk: (g.progress, g.health) for g in Goal.objects.all()} == expected
    assert {k.pk: (k.current, k.progress) for k in Kpi.objects.all()} == expected_kpis
    assert cycle_rollup(acme.cycle) == 0  # nothing left to repair


def test_cycle_rollup_moves_health_with_the_calendar(acme, tree):
    kpi = tree.department_kpi  # a first check-in at the baseline: 0 %, graded from now on
    kpi_record_value(actor=acme.admin, kpi=kpi, value=kpi.baseline, date=dt.date(2027, 1, 1))
    cycle_rollup(acme.cycle, today=dt.date(2026, 12, 1))
    assert Goal.objects.get(pk=tree.department.pk).health == "not_started"
    cycle_rollup(acme.cycle, today=dt.date(2027, 1, 20))
    assert Goal.objects.get(pk=tree.department.pk).health == "on_track"
    cycle_rollup(acme.cycle, today=dt.date(2027, 7, 1))
    assert Goal.objects.get(pk=tree.department.pk).health == "off_track"


def test_after_a_random_series_of_writes_every_stored_figure_equals_a_full_recompute(acme, tree):
    """What each write keeps along its chain — progress, health, and `has_data` (a value
    or a done goal at or below, which a write reads from the children instead of
    scanning the subtree) — equals what the whole-cycle recompute finds, step by step."""
    goals = Goal.objects.filter(cycle=acme.cycle)
    done = 0
    for name, wrote in random_writes(acme, tree, seed=20261203, steps=60, run=lambda s: s()):
        done += wrote
        before = list(goals.order_by("id").values_list("id", "progress", "health", "has_data"))
        assert cycle_rollup(acme.cycle) == 0, name
        assert list(goals.order_by("id").values_list("id", "progress", "health", "has_data")) == (
            before
        )
    assert done >= 40
    assert goals.filter(has_data=True).exists() and goals.filter(has_data=False).exists()
