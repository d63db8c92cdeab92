"""The roll-up stays correct under concurrent writers and its query count does not
grow with the size of the tree."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from kpis.rollup import cycle_rollup
from kpis.services import kpi_record_value

from ..factories import GoalFactory, KpiFactory


def build_tree(acme, width: int) -> list[Kpi]:
    """3 strategic objectives × `width` department goals × `width` individual goals,
    one KPI on every goal; returns the individual KPIs."""
    leaves = []
    for s in range(3):
        strategic = GoalFactory(cycle=acme.cycle, level="strategic", title=f"Objective {s}")
        KpiFactory(goal=strategic, owner=acme.leader)
        for d in range(width):
            department = GoalFactory(
                cycle=acme.cycle,
                level="department",
                parent=strategic,
                department=acme.support,
                title=f"Dept goal {s}.{d}",
            )
            KpiFactory(goal=department, owner=acme.manager)
            for i in range(width):
                individual = GoalFactory(
                    cycle=acme.cycle,
                    level="individual",
                    parent=department,
                    owner=acme.member,
                    title=f"Own goal {s}.{d}.{i}",
                )
                leaves.append(KpiFactory(goal=individual, owner=acme.member))
    cycle_rollup(acme.cycle)
    return leaves


def count_queries(func) -> int:
    with CaptureQueriesContext(connection) as ctx:
        func()
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_recording_a_value_costs_the_same_queries_in_a_small_and_a_large_tree(acme):
    small = build_tree(acme, width=2)
    small_count = count_queries(lambda: kpi_record_value(actor=acme.member, kpi=small[0], value=40))
    large = build_tree(acme, width=8)  # 3 + 24 + 192 goals more
    large_count = count_queries(
        lambda: kpi_record_value(actor=acme.member, kpi=large[-1], value=40)
    )
    assert small_count == large_count
    # savepoint, lock (PostgreSQL), insert, KPI read + write, goal read + write, history:
    # two reads and the day's points upserted (one statement per table), the webhooks
    # read once (the outbox is written in the write's transaction; none listen here),
    # release
    assert large_count <= 14
    again = count_queries(lambda: kpi_record_value(actor=acme.member, kpi=large[-1], value=50))
    assert again <= 14  # the day's points already exist: changed in place


@pytest.mark.django_db
def test_cycle_rollup_costs_the_same_queries_at_two_tree_sizes(acme, django_assert_max_num_queries):
    build_tree(acme, width=2)
    Goal.objects.update(progress=1)
    Kpi.objects.update(progress=1)
    small_count = count_queries(lambda: cycle_rollup(acme.cycle))
    build_tree(acme, width=6)
    Goal.objects.update(progress=1)
    Kpi.objects.update(progress=1)
    assert Goal.objects.count() > 100
    large_count = count_queries(lambda: cycle_rollup(acme.cycle))
    assert small_count == large_count
    with django_assert_max_num_queries(6):
        cycle_rollup(acme.cycle)


def stored_progress() -> dict[int, float]:
    return dict(Goal.objects.values_list("id", "progress"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_values_on_sibling_kpis_leave_parents_equal_to_a_full_recompute(
    acme, together, require_postgres
):
    """Threads record values on sibling KPIs at the same moment, round after round;
    every goal then equals what a from-scratch cycle_rollup computes."""
    strategic = GoalFactory(cycle=acme.cycle, level="strategic")
    department = GoalFactory(
        cycle=acme.cycle, level="department", parent=strategic, department=acme.support
    )
    individual = GoalFactory(
        cycle=acme.cycle, level="individual", parent=department, owner=acme.member
    )
    siblings = [
        KpiFactory(goal=individual, owner=acme.member, name=f"Sibling KPI {n}") for n in range(4)
    ]
    cousins = [
        KpiFactory(goal=department, owner=acme.manager, name=f"Cousin KPI {n}") for n in range(2)
    ]
    kpis = siblings + cousins
    rounds = 15

    def writer(index: int, kpi: Kpi, round_: int):
        actor = acme.member if kpi in siblings else acme.manager
        value = (index * 7 + round_ * 13) % 100
        return lambda: kpi_record_value(actor=actor, kpi=kpi, value=value)

    for round_ in range(rounds):
        together([writer(index, kpi, round_) for index, kpi in enumerate(kpis)])

    assert KpiUpdate.objects.count() == rounds * len(kpis)
    written = stored_progress()
    cycle_rollup(acme.cycle)
    recomputed = stored_progress()
    assert written == pytest.approx(recomputed, abs=1e-9)
    assert recomputed[strategic.pk] > 0
