"""An import and a roll-over are one write each, and still tell webhooks of every goal
and KPI they make: one `goal.created` / `kpi.created` delivery each, with the goal as
the write left it (its rolled-up progress), in the write's transaction."""

from __future__ import annotations

import datetime as dt

import pytest

from cycles.importing import import_commit
from cycles.rollover import cycle_rollover
from cycles.sheets import read_rows
from goals.models import Goal
from kpis.models import Kpi
from org.models import Webhook, WebhookDelivery

from ..factories import CycleFactory, DepartmentFactory, MemberFactory
from .imports import EXAMPLE

pytestmark = pytest.mark.django_db


def hearing(acme, *events: str) -> Webhook:
    return Webhook.objects.create(
        organization=acme.org, url="https://hooks.example.com/", secret="s" * 32, events=events
    )


def told(event: str) -> list[dict]:
    deliveries = WebhookDelivery.objects.filter(event=event).order_by("id")
    return [delivery.payload["data"] for delivery in deliveries]


def test_an_import_tells_each_goal_and_kpi_it_created(acme):
    DepartmentFactory(organization=acme.org, name="Innovation")
    MemberFactory(organization=acme.org, user__username="ivy")
    hearing(acme, "goal.created", "kpi.created")
    cycle = acme.cycle
    import_commit(actor=acme.leader, cycle=cycle, rows=read_rows(EXAMPLE.encode(), "csv"))
    goals = Goal.objects.filter(cycle=cycle).order_by("id")
    kpis = Kpi.objects.filter(goal__cycle=cycle).order_by("id")
    assert goals and kpis
    assert [data["goal"] for data in told("goal.created")] == [g.pk for g in goals]
    assert [data["kpi"] for data in told("kpi.created")] == [k.pk for k in kpis]
    first = told("goal.created")[0]
    assert first["progress"] == round(goals[0].progress, 1) and first["cycle"] == cycle.pk


def test_a_rollover_tells_each_copy_and_a_webhook_not_listening_hears_nothing(acme, tree):
    hearing(acme, "goal.created", "kpi.created")
    deaf = hearing(acme, "cycle.closed")
    next_cycle = CycleFactory(
        organization=acme.org, name="2028", start=dt.date(2028, 1, 1), end=dt.date(2028, 12, 31)
    )
    copies = cycle_rollover(
        actor=acme.leader, source=acme.cycle, to_cycle=next_cycle, goals=[tree.individual]
    )
    assert [data["goal"] for data in told("goal.created")] == sorted(c.pk for c in copies)
    copied_kpis = Kpi.objects.filter(goal__cycle=next_cycle).order_by("id")
    assert [data["kpi"] for data in told("kpi.created")] == [k.pk for k in copied_kpis]
    assert not WebhookDelivery.objects.filter(webhook=deaf).exists()
