"""PUT /api/v1/goals/by-external-id/{external_id}/ and the same for KPIs (SPEC §9.7):
create (201) or update (200) with the rules of POST and PATCH, through their own
permissions, checks and services; a refusal changes nothing."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from goals.models import Goal
from goals.services import goal_create
from kpis.models import Kpi
from org.models import Change

from .helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db


def goal_url(external_id: str) -> str:
    return f"{API}/goals/by-external-id/{external_id}/"


def kpi_url(external_id: str) -> str:
    return f"{API}/kpis/by-external-id/{external_id}/"


@contextmanager
def nothing_written():
    """No row changes, and the changes feed gets nothing."""
    changes = Change.objects.count()
    with unchanged():
        yield
    assert Change.objects.count() == changes


def test_put_by_external_id_creates_a_goal_then_updates_the_same_goal(acme, tree):
    client = client_for(acme.leader)
    body = {
        "cycle": acme.cycle.pk,
        "level": "department",
        "title": "Answer every call",
        "parent": tree.strategic.pk,
        "department": acme.support.pk,
    }
    created = client.put(goal_url("HR-17"), body, format="json")
    assert created.status_code == 201, created.content
    goal = Goal.objects.get(organization=acme.org, external_id="HR-17")
    assert created.json()["id"] == goal.pk and created.json()["external_id"] == "HR-17"
    assert created["Location"].endswith(f"{API}/goals/{goal.pk}/")

    updated = client.put(goal_url("HR-17"), {**body, "title": "Answer every call in 2 rings"})
    assert updated.status_code == 200, updated.content
    assert updated.json()["id"] == goal.pk
    assert updated.json()["title"] == "Answer every call in 2 rings"
    assert "ETag" in updated  # as PATCH answers it
    # Fields left out keep their values, as PATCH.
    assert client.put(goal_url("HR-17"), {"weight": 2}).json()["title"].endswith("2 rings")
    assert Goal.objects.filter(external_id="HR-17").count() == 1


def test_put_by_external_id_creates_a_kpi_then_updates_the_same_kpi(acme, tree):
    client = client_for(acme.leader)
    body = {
        "goal": tree.department.pk,
        "name": "Calls answered",
        "unit": "%",
        "baseline": 50,
        "target": 95,
    }
    created = client.put(kpi_url("BI/calls"), body, format="json")  # a slash in an external id
    assert created.status_code == 201, created.content
    kpi = Kpi.objects.get(organization=acme.org, external_id="BI/calls")
    assert created.json()["id"] == kpi.pk
    assert created["Location"].endswith(f"{API}/kpis/{kpi.pk}/")

    updated = client.put(kpi_url("BI/calls"), {**body, "target": 99}, format="json")
    assert updated.status_code == 200, updated.content
    assert updated.json()["id"] == kpi.pk and updated.json()["target"] == 99
    assert Kpi.objects.filter(external_id="BI/calls").count() == 1


def test_a_forbidden_upsert_is_403_and_changes_nothing(acme, tree):
    sam = client_for(acme.member)  # a member: no strategic goals, no one else's goal
    strategic = {"cycle": acme.cycle.pk, "level": "strategic", "title": "Take over"}
    with nothing_written():
        assert sam.put(goal_url("NEW-1"), strategic, format="json").status_code == 403
    goal_create(
        actor=acme.leader, cycle=acme.cycle, level="strategic", title="Ours", external_id="OURS"
    )
    with nothing_written():
        response = sam.put(goal_url("OURS"), {"title": "Mine now"}, format="json")
        assert response.status_code == 403
        # Forbidden and invalid: the permission answers first.
        assert sam.put(goal_url("OURS"), {"weight": "heavy"}, format="json").status_code == 403
    with nothing_written():
        kpi = {"goal": tree.strategic.pk, "name": "X", "unit": "%", "baseline": 0, "target": 1}
        assert sam.put(kpi_url("K-1"), kpi, format="json").status_code == 403


def test_a_bad_upsert_is_400_and_changes_nothing(acme, tree):
    client = client_for(acme.leader)
    goal_create(
        actor=acme.leader, cycle=acme.cycle, level="strategic", title="Ours", external_id="OURS"
    )
    with nothing_written():
        missing = client.put(goal_url("NEW-2"), {"cycle": acme.cycle.pk}, format="json")
        assert missing.status_code == 400 and "title" in missing.json()
        bad = client.put(goal_url("OURS"), {"weight": -1}, format="json")
        assert bad.status_code == 400 and "weight" in bad.json()
        other = client.put(goal_url("OURS"), {"external_id": "THEIRS"}, format="json")
        assert other.status_code == 400 and list(other.json()) == ["external_id"]
        too_long = client.put(goal_url("x" * 201), {"title": "Long"}, format="json")
        assert too_long.status_code == 400
        kpi = {"goal": tree.strategic.pk, "name": "X", "unit": "%", "baseline": 5, "target": 1}
        assert client.put(kpi_url("K-2"), kpi, format="json").status_code == 400


def test_another_organizations_external_id_is_never_touched(acme, outsider):
    theirs = goal_create(
        actor=outsider, cycle=outsider.cycle, level="strategic", title="Theirs", external_id="SAME"
    )
    client = client_for(acme.leader)
    body = {"cycle": acme.cycle.pk, "level": "strategic", "title": "Ours"}
    response = client.put(goal_url("SAME"), body, format="json")
    assert response.status_code == 201  # not theirs: a new goal of ours
    assert response.json()["id"] != theirs.pk
    theirs.refresh_from_db()
    assert theirs.title == "Theirs" and theirs.organization_id == outsider.organization_id
    # Naming their cycle: unknown here, a 400 on the field, and theirs still untouched.
    with nothing_written():
        foreign = client.put(goal_url("SAME"), {"cycle": outsider.cycle.pk}, format="json")
        assert foreign.status_code == 400 and "cycle" in foreign.json()


def test_an_upsert_with_a_stale_if_match_is_412_and_changes_nothing(acme):
    client = client_for(acme.leader)
    body = {"cycle": acme.cycle.pk, "level": "strategic", "title": "Ours"}
    with nothing_written():  # nothing to match yet: If-Match can't hold
        response = client.put(goal_url("E-1"), body, format="json", headers={"If-Match": "*"})
        assert response.status_code == 412
    created = client.put(goal_url("E-1"), body, format="json")
    assert created.status_code == 201
    with nothing_written():
        stale = client.put(
            goal_url("E-1"), {"title": "Changed"}, format="json", headers={"If-Match": '"nope"'}
        )
        assert stale.status_code == 412
    current = client.get(f"{API}/goals/{created.json()['id']}/")["ETag"]
    fresh = client.put(
        goal_url("E-1"), {"title": "Changed"}, format="json", headers={"If-Match": current}
    )
    assert fresh.status_code == 200 and fresh.json()["title"] == "Changed"
