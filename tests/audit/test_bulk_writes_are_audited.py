"""SPEC §9.2 for writes of many rows at once — an import, a bulk recording of values, a
roll-over: one entry per operation, listing what it made or changed (never one entry
per row); a dry run, or a preview, records nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import Entry
from cycles.models import ImportJob
from goals.models import Goal
from kpis.models import Kpi

from ..api.helpers import API, client_for
from ..cycles.imports import EXAMPLE
from ..factories import CycleFactory, DepartmentFactory, MemberFactory

pytestmark = pytest.mark.django_db

CSV_TYPE = "text/csv"


@pytest.fixture
def innovation(acme):
    DepartmentFactory(organization=acme.org, name="Innovation")
    MemberFactory(organization=acme.org, user__username="ivy")
    return acme


def import_file(member, cycle, text: str, query: str = ""):
    return client_for(member).post(
        f"{API}/cycles/{cycle.pk}/import/{query}", text.encode(), content_type=CSV_TYPE
    )


def listed(entry: Entry, name: str) -> list:
    """The list an entry of one operation carries under `name` ([None, list])."""
    old, new = entry.changes[name]
    assert old is None
    return new


def test_an_import_is_one_entry_listing_the_goals_it_created(innovation):
    acme = innovation
    response = import_file(acme.admin, acme.cycle, EXAMPLE)
    assert response.status_code == 201, response.content
    [entry] = Entry.objects.filter(action="cycle.imported")
    assert (entry.object_type, entry.object_id) == ("cycle", str(acme.cycle.pk))
    assert (entry.actor_id, entry.organization_id) == (acme.admin.pk, acme.org.pk)
    created = listed(entry, "goals_created")
    goals = Goal.objects.filter(cycle=acme.cycle)
    assert sorted(item["id"] for item in created) == sorted(goals.values_list("pk", flat=True))
    assert {
        "id": goals.get(title="Expand market presence").pk,
        "label": "Expand market presence",
    } in (created)
    kpis = Kpi.objects.filter(goal__cycle=acme.cycle)  # each individual KPI, a KPI
    assert sorted(item["id"] for item in listed(entry, "kpis_created")) == sorted(
        kpis.values_list("pk", flat=True)
    )
    assert len(created) == 6 and kpis.count() == 3
    assert listed(entry, "goals_updated") == []
    # one entry for the operation, none per goal
    assert not Entry.objects.filter(action="goal.created").exists()


def test_an_import_that_changes_goals_lists_each_with_old_and_new(innovation):
    acme = innovation
    as_goals = "?individual_kpi=goal"  # each individual KPI an individual goal
    import_file(acme.admin, acme.cycle, EXAMPLE, as_goals)
    changed = EXAMPLE.replace("Customer Support,sam", "Customer Support,tia")
    response = import_file(acme.admin, acme.cycle, changed, as_goals)
    assert response.status_code == 201, response.content
    first, second = Entry.objects.filter(action="cycle.imported").order_by("id")
    assert listed(second, "goals_created") == []
    [goal] = listed(second, "goals_updated")
    individual = Goal.objects.get(title="Resolve support tickets within 4 hrs avg")
    assert (goal["id"], goal["label"]) == (individual.pk, individual.title)
    assert goal["changes"] == {"owner": ["sam", "tia"]}  # as the import names people


def test_a_dry_run_import_records_nothing(innovation):
    acme = innovation
    before = Entry.objects.count()
    response = import_file(acme.leader, acme.cycle, EXAMPLE, query="?dry_run=true")
    assert response.status_code == 200, response.content
    assert Entry.objects.count() == before


def test_the_import_page_records_nothing_until_confirmed_then_one_entry(client, innovation):
    acme = innovation
    client.force_login(acme.leader.user)
    before = Entry.objects.count()
    upload = SimpleUploadedFile("cascade.csv", EXAMPLE.encode())
    assert client.post(f"/cycles/{acme.cycle.pk}/import/", {"file": upload}).status_code == 302
    assert Entry.objects.count() == before  # the preview
    job = ImportJob.objects.get()
    confirmed = client.post(f"/cycles/{acme.cycle.pk}/import/{job.pk}/confirm/")
    assert confirmed.status_code == 302
    [entry] = Entry.objects.filter(action="cycle.imported")
    assert len(listed(entry, "goals_created")) == 6  # and a KPI on each department goal
    assert entry.actor_id == acme.leader.pk


def test_a_bulk_recording_is_one_entry_listing_every_value(acme, tree):
    kpis = [tree.strategic_kpi, tree.department_kpi, tree.individual_kpi]
    rows = [{"kpi": kpi.pk, "value": 5 + n} for n, kpi in enumerate(kpis)]
    response = client_for(acme.leader).post(f"{API}/kpis/updates/", rows, format="json")
    assert response.status_code == 201, response.content
    [entry] = Entry.objects.filter(action="kpi.values_recorded")
    values = listed(entry, "values")
    assert [value["id"] for value in values] == [row["id"] for row in response.json()]
    assert values[0]["kpi"] == {"id": tree.strategic_kpi.pk, "label": tree.strategic_kpi.name}
    assert [value["value"] for value in values] == [5.0, 6.0, 7.0]
    assert values[0]["date"] == acme.org.today().isoformat()
    assert entry.actor_id == acme.leader.pk


def test_a_refused_bulk_recording_records_nothing(acme, tree):
    before = Entry.objects.count()
    rows = [
        {"kpi": tree.individual_kpi.pk, "value": 1},
        {"kpi": tree.strategic_kpi.pk, "value": "x"},
    ]
    response = client_for(acme.leader).post(f"{API}/kpis/updates/", rows, format="json")
    assert response.status_code == 400
    assert Entry.objects.count() == before


@pytest.fixture
def next_year(acme):
    return CycleFactory(
        organization=acme.org, name="2028", start=dt.date(2028, 1, 1), end=dt.date(2028, 12, 31)
    )


@pytest.mark.parametrize("channel", ["page", "api"])
def test_a_roll_over_is_one_entry_listing_the_goals_and_kpis_it_copied(
    channel, acme, tree, next_year, client
):
    body = {"to_cycle": next_year.pk, "goals": [tree.individual.pk]}
    if channel == "api":
        response = client_for(acme.leader).post(
            f"{API}/cycles/{acme.cycle.pk}/rollover/", body, format="json"
        )
        assert response.status_code == 201, response.content
    else:
        client.force_login(acme.leader.user)
        response = client.post(f"/cycles/{acme.cycle.pk}/rollover/", body)
        assert response.status_code == 302, response.content
    [entry] = Entry.objects.filter(action="cycle.rolled_over")
    assert (entry.object_type, entry.object_id) == ("cycle", str(next_year.pk))
    assert entry.changes["from_cycle"] == [None, {"id": acme.cycle.pk, "label": "2027"}]
    copies = Goal.objects.filter(cycle=next_year)
    assert sorted(g["id"] for g in listed(entry, "goals_created")) == sorted(
        copies.values_list("pk", flat=True)
    )
    assert len(copies) == 3  # sam's goal and the two above it
    kpis = Kpi.objects.filter(goal__cycle=next_year)
    assert sorted(k["id"] for k in listed(entry, "kpis_created")) == sorted(
        kpis.values_list("pk", flat=True)
    )
    assert not Entry.objects.filter(action__in=["goal.created", "kpi.created"], at__gte=entry.at)
