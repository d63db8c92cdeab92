"""The database form of the S.M.A.R.T. check picks exactly the KPIs kpi_smart() fails."""

from __future__ import annotations

import datetime as dt

import pytest

from kpis.models import Kpi
from kpis.smart import failing_smart_filter, kpi_smart, with_change

from ..factories import GoalFactory, KpiFactory

pytestmark = pytest.mark.django_db

CASES = [
    {"name": "Growth"},  # one vague word
    {"name": "Growth", "description": "New paying customers a month"},
    {"name": "Tickets closed per week"},
    {"name": "Churn", "description": "   "},  # a blank description says nothing
    {"name": "Leads generated", "baseline": 10, "target": 150},  # a 14× stretch
    {"name": "Leads generated", "baseline": 10, "target": 110},  # exactly 10×: fine
    {"name": "Leads generated", "baseline": 0, "target": 1000},  # no baseline to compare
    {"name": "Leads generated", "baseline": -5, "target": 60},  # 13× of |−5|
    {"name": "Error rate", "direction": "decrease", "baseline": 2, "target": 1},
    {"name": "Error-rate\tweekly"},  # a tab separates words too
]


def test_failing_filter_matches_kpi_smart_for_every_case(acme):
    strategic = GoalFactory(cycle=acme.cycle, level="strategic")
    goal = GoalFactory(
        cycle=acme.cycle, level="department", parent=strategic, department=acme.support
    )
    kpis = [KpiFactory(goal=goal, owner=acme.manager, **case) for case in CASES]
    # a KPI whose dates lie outside its cycle (as after the cycle was shortened)
    short = KpiFactory(goal=goal, owner=acme.manager, name="Visits per day")
    Kpi.objects.filter(pk=short.pk).update(due=dt.date(2028, 1, 31))
    kpis.append(short)

    expected = {
        kpi.pk
        for kpi in Kpi.objects.select_related("goal__cycle", "goal__parent__parent__parent")
        if not all(v["ok"] for v in kpi_smart(kpi).values())
    }
    found = set(
        with_change(Kpi.objects.all()).filter(failing_smart_filter()).values_list("id", flat=True)
    )
    assert found == expected
    assert short.pk in found and kpis[0].pk in found and kpis[2].pk not in found
