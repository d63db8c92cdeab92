"""Shared helpers of the service permission tests: the `acme` fixture's person of a
role, a fresh copy of a row, a refusal or a rejection that changes nothing, and the
people, department, cycle and KPI writes the tables of several modules make."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from cycles.models import Cycle
from cycles.services import cycle_create, cycle_update
from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from kpis.services import kpi_create
from org.models import Department, Member, Organization
from org.services import department_create, department_update, member_create, member_update


def actor(acme, role: str) -> Member:
    """The acme fixture's person of this role (the manager is `max`, the member `sam`)."""
    return getattr(acme, role)


def fresh(obj):
    """A new instance of the same row, so a service can't leave traces on the fixture's."""
    return type(obj).objects.get(pk=obj.pk)


def database() -> dict[str, list[dict]]:
    """Every row a service of this file can write, field by field."""
    models = (get_user_model(), Organization, Department, Member, Cycle, Goal, Kpi, KpiUpdate)
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


@contextmanager
def refused():
    """The block raises PermissionDenied and changes nothing at all."""
    before = database()
    with pytest.raises(PermissionDenied) as info:
        yield info
    assert database() == before, "a refused write changed the database"


@contextmanager
def rejected(field: str):
    """The block raises a ValidationError on exactly `field` and changes nothing."""
    before = database()
    with pytest.raises(ValidationError) as info:
        yield info
    assert set(info.value.message_dict) == {field}, info.value.message_dict
    assert database() == before, "a rejected write changed the database"


# -- the writes: (me, acme) for people, departments and cycles; (me, goal) for a KPI


def _create_member(me, acme):
    member_create(
        actor=me,
        username="nia",
        email="nia@example.com",
        role="member",
        department=acme.support,
        manager=acme.manager,
    )


def _change_role(me, acme):
    member_update(actor=me, member=fresh(acme.member), role="manager")


def _deactivate(me, acme):
    member_update(actor=me, member=fresh(acme.tier2_member), is_active=False)


def _create_department(me, acme):
    department_create(actor=me, name="Support Tier 3", parent=acme.tier2)


def _update_department(me, acme):
    department_update(
        actor=me, department=fresh(acme.marketing), name="Growth", parent=acme.support
    )


def _create_cycle(me, acme):
    cycle_create(actor=me, name="2028", start=dt.date(2028, 1, 1), end=dt.date(2028, 12, 31))


def _update_cycle(me, acme):
    cycle_update(actor=me, cycle=fresh(acme.cycle), name="FY 2027", cadence="monthly")


def _add_kpi(me, goal):
    return kpi_create(
        actor=me, goal=goal, name="Net promoter score", unit="points", baseline=20, target=40
    )
