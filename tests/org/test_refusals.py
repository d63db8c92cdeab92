"""Refusals that come before anything else, through the real services: a write that
is both forbidden and invalid is a PermissionDenied, never a ValidationError (the same
invalid write by someone allowed is the ValidationError); and a deactivated person is
refused every write they could make while active, until reactivated.

Every refusal leaves every row of the database as it was.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cycles.services import cycle_create, cycle_update
from goals.services import goal_create, goal_update
from kpis.models import KpiUpdate
from kpis.services import kpi_create, kpi_edit, kpi_record_value
from org.services import department_create, member_create, member_update
from tests.factories import MemberFactory

from .helpers import (
    _add_kpi,
    _change_role,
    _create_cycle,
    _create_department,
    _create_member,
    actor,
    fresh,
    refused,
    rejected,
)

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- permission before validation


# Forbidden and invalid at once: (role, the write).
FORBIDDEN_AND_INVALID = {
    "member_creates_a_strategic_goal_without_a_title": (
        "member",
        lambda me, a, p: goal_create(actor=me, cycle=a.cycle, level="strategic", title=""),
    ),
    "manager_creates_a_marketing_goal_without_title_or_parent": (
        "manager",
        lambda me, a, p: goal_create(
            actor=me, cycle=a.cycle, level="department", title=" ", department=a.marketing, weight=0
        ),
    ),
    "manager_retitles_a_marketing_goal_to_nothing": (
        "manager",
        lambda me, a, p: goal_update(actor=me, goal=fresh(p.marketing), title="", weight=-1),
    ),
    "reviewer_sets_an_unknown_state": (
        "reviewer",
        lambda me, a, p: goal_update(actor=me, goal=fresh(p.individual), state="paused"),
    ),
    "member_adds_a_nameless_kpi_to_a_department_goal": (
        "member",
        lambda me, a, p: kpi_create(
            actor=me, goal=fresh(p.department), name="", unit="", baseline=5, target=5
        ),
    ),
    "member_points_a_colleagues_kpi_the_wrong_way": (
        "member",
        lambda me, a, p: kpi_edit(actor=me, kpi=fresh(p.kpis["tia_individual"]), target=-10),
    ),
    "reviewer_records_a_non_number": (
        "reviewer",
        lambda me, a, p: kpi_record_value(actor=me, kpi=fresh(p.individual_kpi), value="lots"),
    ),
    "member_records_a_future_value_on_a_colleagues_kpi": (
        "member",
        lambda me, a, p: kpi_record_value(
            actor=me, kpi=fresh(p.kpis["tia_individual"]), value=1, date=dt.date(2999, 1, 1)
        ),
    ),
    "leader_creates_a_nameless_department": (
        "leader",
        lambda me, a, p: department_create(actor=me, name=""),
    ),
    "manager_creates_a_member_with_a_taken_username": (
        "manager",
        lambda me, a, p: member_create(actor=me, username="sam", role="emperor"),
    ),
    "leader_makes_a_member_their_own_manager": (
        "leader",
        lambda me, a, p: member_update(actor=me, member=fresh(a.member), manager=a.member),
    ),
    "manager_creates_a_cycle_ending_before_it_starts": (
        "manager",
        lambda me, a, p: cycle_create(
            actor=me, name="", start=dt.date(2028, 12, 31), end=dt.date(2028, 1, 1)
        ),
    ),
    "member_renames_a_cycle_to_nothing": (
        "member",
        lambda me, a, p: cycle_update(actor=me, cycle=fresh(a.cycle), name="", cadence="daily"),
    ),
}


@pytest.mark.parametrize("write", FORBIDDEN_AND_INVALID)
def test_forbidden_and_invalid_write_is_refused_not_rejected(acme, places, write):
    role, do = FORBIDDEN_AND_INVALID[write]
    with refused():
        do(actor(acme, role), acme, places)


def test_the_same_invalid_write_by_someone_allowed_is_a_validation_error(acme, places):
    with rejected("title"):
        goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="")
    with rejected("value"):
        kpi_record_value(actor=acme.member, kpi=fresh(places.individual_kpi), value="lots")


# ---------------------------------------------------------------- deactivated people


def _org_write(do):
    """Adapt an (me, acme) people/department/cycle write to (me, acme, places)."""
    return lambda me, a, p: do(me, a)


# What each role may do while active: (role, the write).
WHILE_ACTIVE = {
    "admin_creates_a_cycle": ("admin", _org_write(_create_cycle)),
    "admin_creates_a_department": ("admin", _org_write(_create_department)),
    "admin_creates_a_member": ("admin", _org_write(_create_member)),
    "admin_changes_a_role": ("admin", _org_write(_change_role)),
    "leader_creates_a_strategic_goal": (
        "leader",
        lambda me, a, p: goal_create(
            actor=me, cycle=a.cycle, level="strategic", title="Strengthen innovation culture"
        ),
    ),
    "leader_edits_a_strategic_kpi": (
        "leader",
        lambda me, a, p: kpi_edit(actor=me, kpi=fresh(p.strategic_kpi), name="CSAT"),
    ),
    "manager_retitles_a_support_goal": (
        "manager",
        lambda me, a, p: goal_update(actor=me, goal=fresh(p.department), title="Faster replies"),
    ),
    "manager_records_on_a_support_kpi": (
        "manager",
        lambda me, a, p: kpi_record_value(actor=me, kpi=fresh(p.department_kpi), value=9),
    ),
    "manager_creates_a_tier2_team_goal": (
        "manager",
        lambda me, a, p: goal_create(
            actor=me,
            cycle=a.cycle,
            level="team",
            title="Tier 2 SLA",
            parent=p.department,
            department=a.tier2,
        ),
    ),
    "member_records_on_their_kpi": (
        "member",
        lambda me, a, p: kpi_record_value(actor=me, kpi=fresh(p.individual_kpi), value=5),
    ),
    "member_retitles_their_goal": (
        "member",
        lambda me, a, p: goal_update(actor=me, goal=fresh(p.individual), title="Faster tickets"),
    ),
    "member_adds_a_kpi_to_their_goal": (
        "member",
        lambda me, a, p: _add_kpi(me, fresh(p.individual)),
    ),
}


@pytest.mark.parametrize("write", WHILE_ACTIVE)
def test_deactivated_person_is_refused_what_they_could_do_while_active(acme, places, write):
    role, do = WHILE_ACTIVE[write]
    other_admin = MemberFactory(organization=acme.org, role="admin", user__username="adele")
    me = fresh(actor(acme, role))
    member_update(actor=other_admin, member=fresh(me), is_active=False)
    me.refresh_from_db()
    assert not me.is_active
    with refused():
        do(me, acme, places)


@pytest.mark.parametrize("write", WHILE_ACTIVE)
def test_the_same_write_is_allowed_while_active(acme, places, write):
    """The control for the test above: only the deactivation makes the difference."""
    role, do = WHILE_ACTIVE[write]
    do(fresh(actor(acme, role)), acme, places)


def test_reactivated_member_may_record_again(acme, places):
    member_update(actor=acme.admin, member=fresh(acme.member), is_active=False)
    with refused():
        kpi_record_value(actor=fresh(acme.member), kpi=fresh(places.individual_kpi), value=5)
    member_update(actor=acme.admin, member=fresh(acme.member), is_active=True)
    kpi_record_value(actor=fresh(acme.member), kpi=fresh(places.individual_kpi), value=5)
    assert KpiUpdate.objects.filter(kpi=places.individual_kpi).count() == 1
