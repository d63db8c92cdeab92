"""The roll-up job through a real worker, and writes that survive a broker outage."""

from __future__ import annotations

import datetime as dt
import logging
import socket

import pytest

from cycles.tasks import cycle_rollup_task, rollup_all_cycles
from goals.models import Goal
from goals.progress import child_goal_contribution, goal_health, goal_progress, reported_progress
from kpis.models import Kpi, KpiUpdate
from kpis.services import kpi_record_value

from ..factories import GoalFactory, KpiFactory
from .conftest import broker_at, wait


def from_scratch(cycle, today: dt.date) -> dict[int, tuple[float, str]]:
    """Every goal's progress and health computed here, from KPI rows and the pure formulas
    only: the reference the stored numbers must equal."""
    goals = {g.pk: g for g in Goal.objects.filter(cycle=cycle)}
    pairs: dict[int, list] = {pk: [] for pk in goals}
    reported: dict[int, list] = {pk: [] for pk in goals}  # the parts with data (§9.3)
    for kpi in Kpi.objects.filter(goal__cycle=cycle, state="active"):
        pairs[kpi.goal_id].append((kpi.weight, kpi.progress))
        if kpi.current is not None:
            reported[kpi.goal_id].append((kpi.weight, kpi.progress))
    result = {}
    for goal in sorted(goals.values(), key=lambda g: -g.rank):
        done = goal.state == "done"
        progress = 100.0 if done else goal_progress(pairs[goal.pk])
        graded = 100.0 if done else reported_progress(reported[goal.pk])
        result[goal.pk] = (
            progress,
            goal_health(
                progress=progress,
                reported=graded,
                today=today,
                start=goal.start,
                due=goal.due,
                state=goal.state,
            ),
        )
        share = child_goal_contribution(goal.state, progress)
        if goal.parent_id and share is not None:
            pairs[goal.parent_id].append((goal.weight, share))
        graded_share = child_goal_contribution(goal.state, graded)
        if goal.parent_id and graded_share is not None:
            reported[goal.parent_id].append((goal.weight, graded_share))
    return result


def test_rollup_task_repairs_corrupted_progress_through_the_worker(acme, tree, worker):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)
    kpi_record_value(actor=acme.manager, kpi=tree.department_kpi, value=9.5)
    more = GoalFactory(
        cycle=acme.cycle, level="team", parent=tree.department, department=acme.tier2, weight=2
    )
    KpiFactory(goal=more, owner=acme.manager)
    Goal.objects.update(progress=42.0, health="off_track")  # drift, as after a bad import

    assert wait([cycle_rollup_task.delay(acme.cycle.pk)]) != [0]

    expected = from_scratch(acme.cycle, acme.org.today())
    stored = {g.pk: (g.progress, g.health) for g in Goal.objects.filter(cycle=acme.cycle)}
    assert stored.keys() == expected.keys()
    for pk, (progress, state) in expected.items():
        assert stored[pk][0] == pytest.approx(progress) and stored[pk][1] == state
    assert round(Goal.objects.get(pk=tree.individual.pk).progress, 1) == 50.0


def test_scheduled_rollup_of_all_cycles_runs_on_the_worker(acme, tree, worker):
    Goal.objects.update(progress=13.0)
    assert wait([rollup_all_cycles.delay()])[0] > 0
    assert not Goal.objects.filter(progress=13.0).exists()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # free now, and nothing listens on it


def test_recording_a_value_with_redis_down_still_saves_and_logs_the_failed_enqueue(
    acme, tree, broker, caplog
):
    """The broker is unreachable: the value is saved, the KPI and every ancestor are
    refreshed, and the task that could not be sent is logged clearly (a warning: what it
    would have done waits in the outbox, tests/jobs/test_outbox.py)."""
    caplog.set_level(logging.WARNING, logger="cascade.tasks")
    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"):
        update = kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=4)  # done

    assert KpiUpdate.objects.filter(pk=update.pk, value=4).exists()
    tree.individual_kpi.refresh_from_db()
    assert (tree.individual_kpi.progress, tree.individual_kpi.health) == (100.0, "done")
    assert Goal.objects.get(pk=tree.individual.pk).progress == 100.0
    assert Goal.objects.get(pk=tree.department.pk).progress == 50.0
    assert round(Goal.objects.get(pk=tree.strategic.pk).progress, 1) == 25.0
    assert not [r for r in caplog.records if r.name == "cascade.tasks"]  # done: nobody told

    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"):
        kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=9)  # slips
    [record] = [r for r in caplog.records if r.name == "cascade.tasks"]
    assert record.levelname == "WARNING"  # nothing is lost: the outbox holds it
    assert "Could not enqueue org.outbox.do_owed_job" in record.getMessage()
    assert "broker unreachable" in record.getMessage()
    assert "it stays owed in the outbox, and the sweep does it" in record.getMessage()


def test_with_the_broker_up_the_health_change_reaches_the_goal_owner(acme, tree, worker):
    from org.models import Notification

    goal = tree.individual
    goal.owner = acme.manager
    goal.save()
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=4)  # not_started → done
    # done is no slip: no notification; a slip needs a cycle that has started
    assert not Notification.objects.filter(kind="kpi_health").exists()
