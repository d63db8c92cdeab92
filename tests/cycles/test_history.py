"""Progress history (cycles/history.py): a point per goal and KPI per day it changed,
kept by every write, rebuilt exactly from the KPI updates."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from cycles.history import cycle_history, stored_points
from cycles.models import GoalPoint, KpiPoint
from goals.models import Goal, GoalState
from goals.services import goal_create, goal_update
from kpis.models import Kpi
from kpis.services import kpi_edit, kpi_record_value, kpi_value_correct, kpi_value_retract

from ..writes import random_writes

pytestmark = pytest.mark.django_db

JAN_1, JAN_20, FEB_3 = dt.date(2027, 1, 1), dt.date(2027, 1, 20), dt.date(2027, 2, 3)


def points(obj) -> list[tuple]:
    """A goal's (day, progress 1 decimal, has data) or a KPI's (day, current, progress)."""
    if isinstance(obj, Goal):
        rows = GoalPoint.objects.filter(goal=obj).order_by("day")
        return [(p.day, round(p.progress, 1), p.has_data) for p in rows]
    rows = KpiPoint.objects.filter(kpi=obj).order_by("day")
    return [(p.day, p.current, round(p.progress, 1)) for p in rows]


def test_the_worked_example_over_time_keeps_a_point_per_day_its_progress_changed(acme, tree):
    """SPEC §2 on three days: the department goal's own KPI at 80.0 from Jan 1 (weight
    3), its individual goal's KPI 6→4 hrs at 5.5 on Jan 20 (25.0), at 5 on Feb 3 (50.0):
    the department goal reads 60.0, 66.25, 72.5 on those days."""
    leader = acme.leader
    kpi_edit(actor=leader, kpi=tree.department_kpi, weight=3)
    kpi_record_value(actor=leader, kpi=tree.department_kpi, value=8.4, date=JAN_1)  # 80.0
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5.5, date=JAN_20)
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5, date=FEB_3)

    assert points(tree.individual_kpi) == [(JAN_20, 5.5, 25.0), (FEB_3, 5.0, 50.0)]
    assert points(tree.individual) == [(JAN_20, 25.0, True), (FEB_3, 50.0, True)]
    assert points(tree.department) == [
        (JAN_1, 60.0, True),
        (JAN_20, 66.2, True),  # 66.25 at full precision
        (FEB_3, 72.5, True),
    ]
    assert GoalPoint.objects.get(goal=tree.department, day=JAN_20).progress == pytest.approx(66.25)
    # The objective has no value of its own: only its child (weight 1) moves it.
    assert points(tree.strategic) == [
        (JAN_1, 30.0, True),
        (JAN_20, 33.1, True),
        (FEB_3, 36.2, True),
    ]


def test_a_day_without_a_change_adds_no_point(acme, tree):
    """Compact: the same value again (that day or later) changes no progress, so no
    row; goals with no value at or below them have no rows at all."""
    leader = acme.leader
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5, date=JAN_20)
    before = (KpiPoint.objects.count(), GoalPoint.objects.count())
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5, date=JAN_20)
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5, date=FEB_3)
    assert (KpiPoint.objects.count(), GoalPoint.objects.count()) == before == (1, 3)
    other = goal_create(actor=leader, cycle=acme.cycle, level="strategic", title="Quiet objective")
    assert points(other) == []


def test_a_correction_rewrites_the_history_from_the_corrected_day(acme, tree):
    """A corrected value never counted: its day's point goes, the correction's day
    gets one; a retraction removes the point the value made."""
    leader = acme.leader
    first = kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5.5, date=JAN_20)
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5, date=FEB_3)
    kpi_value_correct(actor=leader, update=first, value=4, date=JAN_1)
    assert points(tree.individual_kpi) == [(JAN_1, 4.0, 100.0), (FEB_3, 5.0, 50.0)]
    assert points(tree.individual) == [(JAN_1, 100.0, True), (FEB_3, 50.0, True)]
    latest = tree.individual_kpi.updates.get(date=FEB_3)
    kpi_value_retract(actor=leader, update=latest, reason="Typed into the wrong KPI")
    assert points(tree.individual_kpi) == [(JAN_1, 4.0, 100.0)]
    assert cycle_history(acme.cycle) == 0


def test_a_done_goal_reads_100_from_its_start_and_a_moved_goal_takes_its_history_along(acme, tree):
    leader = acme.leader
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5, date=FEB_3)
    second = goal_create(actor=leader, cycle=acme.cycle, level="strategic", title="Second")
    goal_update(actor=leader, goal=tree.department, parent=second)
    assert points(tree.strategic) == []  # only its own KPI, with no value
    assert points(second)[-1] == (FEB_3, 25.0, True)  # the department goal: (50 + 0) / 2
    goal_update(actor=leader, goal=tree.individual, state=GoalState.DONE)
    assert points(tree.individual) == [(JAN_1, 100.0, True)]
    assert points(tree.department) == [(JAN_1, 50.0, True)]
    assert cycle_history(acme.cycle) == 0


def test_after_random_writes_the_stored_history_equals_a_rebuild_from_the_updates(acme, tree):
    """Values on several days, corrections (moving values to other days), retractions,
    goals moved, done and cancelled, KPIs archived: after every step, rebuilding the
    history from the KPI updates finds nothing to change; and a rebuild from nothing
    writes the very same rows. The latest point of each goal is its stored progress."""
    steps = list(random_writes(acme, tree, seed=20261203, steps=60, run=lambda s: s()))
    for name, _wrote in steps:
        assert cycle_history(acme.cycle) == 0, name
    assert sum(wrote for _name, wrote in steps) >= 40
    kept = stored_points(acme.cycle)
    assert sum(len(series) for part in kept for series in part.values()) > 10
    KpiPoint.objects.all().delete()
    GoalPoint.objects.all().delete()
    assert cycle_history(acme.cycle) > 0
    assert stored_points(acme.cycle) == kept
    for goal in Goal.objects.filter(cycle=acme.cycle):
        series = kept[1].get(goal.pk, [])
        assert goal.progress == pytest.approx(series[-1][1] if series else 0.0, abs=1e-9)


def test_random_writes_step_by_step_keep_the_history_exact(acme, tree):
    """The same, checked after each write rather than at the end."""
    for name, _wrote in random_writes(acme, tree, seed=7, steps=40, run=lambda s: s()):
        assert cycle_history(acme.cycle) == 0, name


def test_rollup_history_command_rebuilds_what_was_lost_or_tampered_with(acme, tree):
    leader = acme.leader
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5.5, date=JAN_20)
    kpi_record_value(actor=leader, kpi=tree.strategic_kpi, value=80, date=FEB_3)
    kept = stored_points(acme.cycle)
    GoalPoint.objects.filter(goal=tree.department).delete()
    KpiPoint.objects.filter(kpi=tree.strategic_kpi).update(progress=99)
    out = run_command("rollup", "--history")
    assert "history points rewritten" in out
    assert stored_points(acme.cycle) == kept
    assert "0 history points rewritten." in run_command("rollup", "--history")


def test_an_archived_kpi_keeps_its_points_but_leaves_its_goals_history(acme, tree):
    leader = acme.leader
    kpi_record_value(actor=leader, kpi=tree.strategic_kpi, value=80, date=JAN_20)
    assert points(tree.strategic)[-1][1] == 25.0  # (50 + 0) / 2
    kpi_edit(actor=leader, kpi=Kpi.objects.get(pk=tree.strategic_kpi.pk), state="archived")
    assert points(tree.strategic_kpi) == [(JAN_20, 80.0, 50.0)]
    assert points(tree.strategic) == []
    assert cycle_history(acme.cycle) == 0


def run_command(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_kpi_moved_to_another_goal_moves_its_days_with_it(acme, tree):
    leader = acme.leader
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5, date=JAN_20)
    assert points(tree.individual) == [(JAN_20, 50.0, True)]
    kpi_edit(actor=leader, kpi=Kpi.objects.get(pk=tree.individual_kpi.pk), goal=tree.strategic)
    assert points(tree.individual) == []  # it never had a value of its own
    # its own KPI (0), the moved one (50) and the department goal below it (0)
    assert points(tree.strategic) == [(JAN_20, 16.7, True)]
    assert cycle_history(acme.cycle) == 0
