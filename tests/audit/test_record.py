"""audit.record: what an entry keeps of a change — old → new in values JSON keeps,
related rows by id and label — and who acted when nobody did."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from audit.display import change_rows
from audit.record import diff, json_safe, record
from goals.models import GoalState

pytestmark = pytest.mark.django_db


def test_diff_names_only_the_fields_that_changed(acme):
    before = {"title": "A", "owner": acme.manager, "weight": 1.0, "due": dt.date(2027, 6, 30)}
    same_owner = type(acme.manager).objects.get(pk=acme.manager.pk)  # another object, same row
    after = {"title": "B", "owner": same_owner, "weight": 1, "due": dt.date(2027, 7, 31)}
    assert diff(before, after) == {"title": ["A", "B"], "due": ["2027-06-30", "2027-07-31"]}
    assert diff(before, dict(before)) == {}


def test_values_are_kept_as_json_keeps_them(acme):
    assert json_safe(acme.support) == {"id": acme.support.pk, "label": "Customer Support"}
    assert json_safe(Decimal("1.50")) == "1.50"
    assert json_safe(GoalState.DONE) == "done"
    assert json_safe(dt.datetime(2027, 3, 15, 9, tzinfo=dt.UTC)) == "2027-03-15T09:00:00+00:00"
    assert json_safe(float("inf")) == "inf"
    assert json_safe((1, acme.ops)) == [1, {"id": acme.ops.pk, "label": "Operations"}]


def test_a_job_is_recorded_as_the_system_with_no_address(acme):
    entry = record(None, "cycle.updated", acme.cycle, changes={"is_current": [False, True]})
    assert (entry.actor, entry.actor_id, entry.ip) == ("system", None, None)
    assert entry.organization_id == acme.org.pk  # the object's
    assert (entry.object_type, entry.object_id, entry.object_label) == (
        "cycle",
        str(acme.cycle.pk),
        "2027",
    )


def test_a_change_reads_as_one_line_per_field():
    rows = change_rows(
        {
            "owner": [{"id": 3, "label": "max"}, {"id": 5, "label": "sam"}],
            "weight": [1.0, 2.5],
            "is_active": [True, False],
            "goals_created": [None, [{"id": n, "label": f"Goal {n}"} for n in range(25)]],
            "events": [None, ["kpi.update_recorded"]],
            "expiry": [None, "2027-06-02T00:00:00+00:00"],
        }
    )
    assert [tuple(row) for row in rows[:3]] == [
        ("owner", "max", "sam"),
        ("weight", "1", "2.5"),
        ("is active", "yes", "no"),
    ]
    assert rows[3].old == "—"
    assert rows[3].new.startswith("Goal 0, Goal 1")
    assert rows[3].new.endswith("Goal 19 and 5 more (25 in all)")
    assert rows[4].new == "kpi.update_recorded"  # a short list: just its items
    assert rows[5].new == "2027-06-02 00:00"  # an instant to the minute (UTC here)
