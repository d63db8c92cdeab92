"""Fixtures of the audit log's tests: a goal and a KPI nothing hangs on, and reading
the entries about one object."""

from __future__ import annotations

import pytest

from audit.models import Entry
from goals.services import goal_create
from kpis.services import kpi_create


def entries_about(obj, action: str | None = None) -> list[Entry]:
    """The entries about `obj` (by its model name and id), oldest first."""
    found = Entry.objects.filter(object_type=obj._meta.model_name, object_id=str(obj.pk))
    if action is not None:
        found = found.filter(action=action)
    return list(found.order_by("at", "id"))


@pytest.fixture
def goal(acme, tree):
    """A department goal of Customer Support with no KPI and nothing below it."""
    return goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="department",
        title="Open a second site",
        parent=tree.strategic,
        department=acme.support,
        owner=acme.manager,
    )


@pytest.fixture
def kpi(acme, goal):
    return kpi_create(
        actor=acme.leader,
        goal=goal,
        name="Sites open",
        unit="sites",
        baseline=1,
        target=3,
        owner=acme.manager,
    )
