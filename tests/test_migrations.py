"""Migrations carry data: a populated database migrated from the previous state shows
the same figures as after a full roll-up, without waiting for one."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from goals.models import Goal, GoalState
from goals.services import goal_create, goal_update
from kpis.models import Kpi
from kpis.rollup import cycle_rollup
from kpis.services import kpi_record_value

BEFORE = [("kpis", "0012_external_ids_and_updated_at")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def figures(client) -> str:
    """The dashboard as a person sees it, without what changes on every request."""
    html = client.get("/").content.decode()
    return re.sub(r'(nonce|value)="[^"]*"|csrftoken": "[^"]*"', "", html)


@pytest.mark.django_db(transaction=True)
def test_a_database_migrated_from_before_last_update_on_shows_what_a_rollup_would(
    acme, tree, client
):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)
    kpi_record_value(actor=acme.manager, kpi=tree.department_kpi, value=3)
    # What 0004 left on an existing database: the column, empty.
    Kpi.objects.update(last_update_on=None)
    migrate(BEFORE)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    client.force_login(acme.leader.user)
    migrated = figures(client)
    stored = dict(Kpi.objects.values_list("pk", "last_update_on"))
    assert all(stored[k.pk] is not None for k in (tree.individual_kpi, tree.department_kpi))

    call_command("rollup", stdout=io.StringIO())
    assert dict(Kpi.objects.values_list("pk", "last_update_on")) == stored
    assert figures(client) == migrated


@pytest.mark.django_db(transaction=True)
def test_a_database_migrated_from_before_has_data_needs_no_repair(acme, tree):
    """0016 fills `Goal.has_data` as the roll-up keeps it: a value below, a done goal
    below, or neither."""
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)
    other = goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title="Grow")
    finished = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="department",
        title="Open the Lisbon office",
        parent=other,
        department=acme.support,
        owner=acme.manager,
    )
    goal_update(actor=acme.leader, goal=finished, state=GoalState.DONE)
    migrate([("kpis", "0015_cycle_summary"), ("goals", "0005_external_ids_and_updated_at")])
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    flags = dict(Goal.objects.values_list("pk", "has_data"))
    assert flags[tree.department.pk] and flags[other.pk]  # a value below; a done goal below
    assert not flags[finished.pk]
    assert cycle_rollup(acme.cycle) == 0


@pytest.mark.django_db
def test_the_migrations_hold_every_model_change():
    """A model changed without its migration would reach a database by surprise: the
    next `makemigrations` would write it."""
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
