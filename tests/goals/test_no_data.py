"""SPEC §8.3 `no_data`: a KPI with no value yet, and a goal with no value recorded on
any KPI at or below it, read "No check-in yet" rather than "Off track"; their 0 %
still counts in the weighted mean above. Through the roll-up (after each write and
whole-cycle, which agree), the API (`expected`), the pages and the dashboard."""

from __future__ import annotations

import datetime as dt

import pytest

from goals.models import Goal
from goals.services import goal_create, goal_update
from kpis.models import Kpi
from kpis.rollup import cycle_rollup
from kpis.services import kpi_record_value

from ..api.helpers import API, client_for

pytestmark = pytest.mark.django_db


def healths(tree) -> dict[str, str]:
    goals = {g.pk: g.health for g in Goal.objects.all()}
    kpis = {k.pk: k.health for k in Kpi.objects.all()}
    return {
        "strategic": goals[tree.strategic.pk],
        "department": goals[tree.department.pk],
        "individual": goals[tree.individual.pk],
        "strategic_kpi": kpis[tree.strategic_kpi.pk],
        "department_kpi": kpis[tree.department_kpi.pk],
        "individual_kpi": kpis[tree.individual_kpi.pk],
    }


def test_a_tree_with_no_values_has_had_no_check_in_yet(acme, tree):
    assert set(healths(tree).values()) == {"no_data"}
    assert cycle_rollup(acme.cycle) == 0  # the whole-cycle recompute agrees


def test_one_value_grades_its_kpi_and_every_goal_above_but_not_its_siblings(acme, tree):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5, date=dt.date(2027, 3, 1))
    found = healths(tree)
    assert found["individual_kpi"] == "on_track"  # 50 % where 20 % was expected
    assert found["individual"] == found["department"] == found["strategic"] != "no_data"
    assert found["department_kpi"] == found["strategic_kpi"] == "no_data"
    assert cycle_rollup(acme.cycle) == 0
    # the siblings' 0 % still counts: department = (50·1 + 0·1) / 2
    assert Goal.objects.get(pk=tree.department.pk).progress == 25.0


def test_a_new_goal_without_kpis_reads_no_check_in_and_a_done_one_gives_data(acme, tree):
    empty = goal_create(
        actor=acme.leader, cycle=acme.cycle, level="strategic", title="Open a second office"
    )
    child = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="department",
        title="Sign the lease",
        parent=empty,
        department=acme.ops,
    )
    assert Goal.objects.get(pk=empty.pk).health == "no_data"
    goal_update(actor=acme.leader, goal=child, state="done")
    assert Goal.objects.get(pk=empty.pk).health == "done"  # 100 %: its only child is done
    assert cycle_rollup(acme.cycle) == 0


def test_the_api_gives_health_and_the_expected_progress(acme, tree):
    client = client_for(acme.member)
    kpi = client.get(f"{API}/kpis/{tree.individual_kpi.pk}/").json()
    goal = client.get(f"{API}/goals/{tree.strategic.pk}/").json()
    assert (kpi["health"], kpi["expected"]) == ("no_data", 20.1)  # March 15 of 2027
    assert (goal["health"], goal["expected"]) == ("no_data", 20.1)


def test_pages_say_no_check_in_yet_and_the_dashboard_lists_those_kpis(client, acme, tree):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=6, date=dt.date(2027, 3, 1))
    client.force_login(acme.member.user)
    page = client.get(f"/goals/{tree.department.pk}/").content.decode()
    assert "No check-in yet" in page  # its own KPI
    assert "expected 20.1% by today" in page  # the graded ones say what they compare with
    dashboard = client.get("/").content.decode()
    assert "2 KPIs with no check-in yet" in dashboard
    assert "Customer satisfaction score" in dashboard and "First response time" in dashboard
