"""core.db.bulk_write: one statement per table on PostgreSQL, and on SQLite an UPDATE …
FROM a VALUES list in as few statements as its parameter limit allows (Django's
bulk_update took minutes there for a cycle of thousands of goals)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import db
from goals.models import Goal

from .factories import GoalFactory

pytestmark = pytest.mark.django_db


def test_bulk_write_stores_every_kind_of_value_in_few_statements(acme, monkeypatch):
    goals = [GoalFactory(cycle=acme.cycle, title=f"G{n}") for n in range(7)]
    monkeypatch.setattr(db, "SQLITE_PARAMETERS", 12)  # 2 rows of 6 parameters a statement
    when = dt.datetime(2027, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
    health = ["on_track", "at_risk"]
    rows = [
        (goal.pk, n * 10.5, health[n % 2], bool(n % 2), dt.date(2027, 2, n + 1), when)
        for n, goal in enumerate(goals)
    ]

    with CaptureQueriesContext(connection) as queries:
        db.bulk_write(Goal, ["progress", "health", "has_data", "due", "updated_at"], rows)

    stored = list(
        Goal.objects.order_by("id").values_list(
            "id", "progress", "health", "has_data", "due", "updated_at"
        )
    )
    assert stored == rows
    if connection.vendor == "sqlite":
        assert len(queries.captured_queries) == 4  # 7 rows, 2 a statement
    else:
        assert len(queries.captured_queries) == 1
