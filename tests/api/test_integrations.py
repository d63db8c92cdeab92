"""SPEC §8.4, for an integration syncing a BI tool every night: bulk recording (all or
none, errors by index, idempotent), external ids, the list filters, `updated_since`,
`ordering`, `page_size`, `Location` on a 201, and 409 for a state conflict."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cycles.services import cycle_set_state
from goals.models import Goal
from kpis.models import Kpi, KpiUpdate

from .helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# Bulk recording --------------------------------------------------------------------


def test_bulk_records_every_value_and_rolls_up_once(acme, tree):
    rows = [
        {"kpi": tree.individual_kpi.pk, "value": 5.5, "date": "2027-03-01"},
        {"kpi": tree.individual_kpi.pk, "value": 5, "note": "nightly sync"},
        {"kpi": tree.department_kpi.pk, "value": 9, "confidence": "high"},
    ]
    response = client_for(acme.leader).post(f"{API}/kpis/updates/", rows)
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(u["kpi"], u["value"]) for u in body] == [(r["kpi"], r["value"]) for r in rows]
    assert body[1]["date"] == "2027-03-15" and body[1]["note"] == "nightly sync"
    individual = Kpi.objects.get(pk=tree.individual_kpi.pk)
    assert (individual.current, individual.progress) == (5, 50)
    assert Kpi.objects.get(pk=tree.department_kpi.pk).progress == 50  # 10 → 8 h, at 9
    assert Goal.objects.get(pk=tree.department.pk).progress == 50  # (50 + 50) / 2


def test_bulk_with_bad_rows_records_nothing_and_names_each_row(acme, tree):
    rows = [
        {"kpi": tree.individual_kpi.pk, "value": 5},
        {"kpi": tree.individual_kpi.pk, "value": "five"},
        {"kpi": tree.department_kpi.pk, "value": 9, "date": "2030-01-01"},
        {"kpi": 10**9, "value": 1},
    ]
    with unchanged():
        response = client_for(acme.leader).post(f"{API}/kpis/updates/", rows)
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"1", "3"}  # fields first: the service checks the rest after
    assert "value" in errors["1"] and "kpi" in errors["3"]
    rows = rows[:1] + rows[2:3]
    with unchanged():
        response = client_for(acme.leader).post(f"{API}/kpis/updates/", rows)
    assert response.status_code == 400
    assert list(response.json()) == ["1"] and "later than today" in str(response.json())


@pytest.mark.parametrize("rows", [[], {"kpi": 1, "value": 1}, "x"])
def test_bulk_needs_a_list_of_one_to_500(acme, tree, rows):
    with unchanged():
        response = client_for(acme.leader).post(f"{API}/kpis/updates/", rows)
    assert response.status_code == 400
    assert "1 to 500" in str(response.json())


def test_bulk_of_501_values_is_refused(acme, tree):
    rows = [{"kpi": tree.individual_kpi.pk, "value": 5}] * 501
    with unchanged():
        assert client_for(acme.leader).post(f"{API}/kpis/updates/", rows).status_code == 400


def test_bulk_with_a_kpi_the_caller_may_not_record_on_is_a_403(acme, places):
    rows = [
        {"kpi": places.kpis["sam_individual"].pk, "value": 5},
        {"kpi": places.kpis["lee_individual"].pk, "value": "not even a number"},
    ]
    with unchanged():
        response = client_for(acme.manager).post(f"{API}/kpis/updates/", rows)
    assert response.status_code == 403
    assert "rows 1" in response.json()["detail"]


def test_bulk_into_a_closed_cycle_is_a_409(acme, tree):
    cycle_set_state(actor=acme.leader, cycle=acme.cycle, state="closed")
    with unchanged():
        response = client_for(acme.leader).post(
            f"{API}/kpis/updates/", [{"kpi": tree.individual_kpi.pk, "value": 5}]
        )
    assert response.status_code == 409
    assert "This cycle is closed" in response.json()["0"]["non_field_errors"][0]


def test_changing_a_retracted_or_corrected_value_is_a_409(acme, tree):
    client = client_for(acme.member)
    base = f"{API}/kpis/{tree.individual_kpi.pk}/updates"
    first = client.post(f"{base}/", {"value": 5}).json()["id"]
    assert client.post(f"{base}/{first}/correct/", {"value": 6}).status_code == 201
    second = client.post(f"{base}/", {"value": 7}).json()["id"]
    assert client.post(f"{base}/{second}/retract/", {"reason": "typo"}).status_code == 200
    with unchanged():
        again = client.post(f"{base}/{first}/correct/", {"value": 8})
        retracted = client.post(f"{base}/{second}/retract/", {"reason": "twice"})
    assert again.status_code == retracted.status_code == 409
    assert "corrected already" in again.json()["update"][0]
    assert "retracted" in retracted.json()["update"][0]


def test_bulk_is_idempotent_with_a_key(acme, tree):
    client = client_for(acme.leader)
    rows = [{"kpi": tree.individual_kpi.pk, "value": 5}]
    first = client.post(f"{API}/kpis/updates/", rows, headers={"Idempotency-Key": "night-1"})
    again = client.post(f"{API}/kpis/updates/", rows, headers={"Idempotency-Key": "night-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert KpiUpdate.objects.count() == 1
    other = client.post(
        f"{API}/kpis/updates/",
        [{"kpi": tree.individual_kpi.pk, "value": 4}],
        headers={"Idempotency-Key": "night-1"},
    )
    assert other.status_code == 409
    assert KpiUpdate.objects.count() == 1


# External ids, filters, updated_since, ordering, page size ---------------------------


def test_external_ids_are_kept_filtered_on_and_unique_per_organization(acme, tree, outsider):
    leader = client_for(acme.leader)
    response = leader.patch(f"{API}/kpis/{tree.individual_kpi.pk}/", {"external_id": "bi-42"})
    assert response.status_code == 200 and response.json()["external_id"] == "bi-42"
    assert ids(leader.get(f"{API}/kpis/", {"external_id": "bi-42"})) == [tree.individual_kpi.pk]
    with unchanged():
        taken = leader.patch(f"{API}/kpis/{tree.department_kpi.pk}/", {"external_id": "bi-42"})
    assert taken.status_code == 400
    assert taken.json() == {"external_id": ["Another KPI already has this external id."]}
    goal = leader.post(
        f"{API}/goals/",
        {"cycle": acme.cycle.pk, "level": "strategic", "title": "Grow", "external_id": "g-1"},
    )
    assert goal.status_code == 201 and goal.json()["external_id"] == "g-1"
    assert ids(leader.get(f"{API}/goals/", {"external_id": "g-1"})) == [goal.json()["id"]]
    theirs = client_for(outsider).post(
        f"{API}/goals/",
        {
            "cycle": outsider.cycle.pk,
            "level": "strategic",
            "title": "Theirs",
            "external_id": "g-1",
        },
    )
    assert theirs.status_code == 201  # another organization's ids are its own


def test_kpi_filters_owner_cycle_and_health(acme, places):
    client = client_for(acme.reviewer)
    owned = set(ids(client.get(f"{API}/kpis/", {"owner": acme.member.pk, "page_size": 200})))
    assert owned == set(Kpi.objects.filter(owner=acme.member).values_list("pk", flat=True))
    assert ids(client.get(f"{API}/kpis/", {"cycle": acme.cycle.pk + 1000})) == []
    everything = set(ids(client.get(f"{API}/kpis/", {"cycle": acme.cycle.pk, "page_size": 50})))
    assert everything == set(Kpi.objects.values_list("pk", flat=True))
    no_data = set(ids(client.get(f"{API}/kpis/", {"health": "no_data", "page_size": 50})))
    assert no_data == everything  # nothing recorded yet
    bad = client.get(f"{API}/kpis/", {"health": "splendid"})
    assert bad.status_code == 400 and "health" in bad.json()


def test_updated_since_returns_only_what_changed_after_it(acme, tree):
    client = client_for(acme.leader)
    with time_machine.travel(dt.datetime(2027, 3, 16, 9, tzinfo=dt.UTC)):
        client.post(f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5})
    since = {"updated_since": "2027-03-16T08:00:00Z"}
    assert ids(client.get(f"{API}/kpis/", since)) == [tree.individual_kpi.pk]
    changed_goals = set(ids(client.get(f"{API}/goals/", since)))
    assert changed_goals == {tree.individual.pk, tree.department.pk, tree.strategic.pk}
    history = client.get(f"{API}/kpis/{tree.individual_kpi.pk}/updates/", since).json()
    assert history["count"] == 1
    later = {"updated_since": "2027-03-16T10:00:00+00:00"}
    assert ids(client.get(f"{API}/kpis/", later)) == []
    bad = client.get(f"{API}/goals/", {"updated_since": "yesterday"})
    assert bad.status_code == 400 and "updated_since" in bad.json()


def test_ordering_and_page_size(acme, tree):
    client = client_for(acme.reviewer)
    titles = [
        g["title"] for g in client.get(f"{API}/goals/", {"ordering": "-title"}).json()["results"]
    ]
    assert titles == sorted(titles, reverse=True)
    page = client.get(f"{API}/goals/", {"page_size": 2}).json()
    assert (page["count"], len(page["results"])) == (3, 2) and page["next"]
    capped = client.get(f"{API}/goals/", {"page_size": 5000})
    assert capped.status_code == 200 and len(capped.json()["results"]) == 3  # at most 200


def test_a_page_that_is_not_a_whole_number_is_a_400_and_one_past_the_end_a_404(acme, tree):
    client = client_for(acme.reviewer)
    for bad in ("", "0", "last", "x"):
        response = client.get(f"{API}/goals/", {"page": bad})
        assert response.status_code == 400, bad
        assert response.json() == {"page": ["Must be a whole number of at least 1."]}
    assert client.get(f"{API}/goals/", {"page": 9}).status_code == 404


def test_ordering_by_several_terms_and_refusing_an_unknown_one(acme, tree):
    client = client_for(acme.reviewer)
    goals = client.get(f"{API}/goals/", {"ordering": "level,-title"}).json()["results"]
    levels = [g["level"] for g in goals]
    assert levels == sorted(levels)
    for level in set(levels):
        titles = [g["title"] for g in goals if g["level"] == level]
        assert titles == sorted(titles, reverse=True)
    for bad in ("secret", "title,", "--title", "-"):
        response = client.get(f"{API}/goals/", {"ordering": bad})
        assert response.status_code == 400, bad
        assert response.json()["ordering"][0].startswith("Order by id, title, level")


# Location --------------------------------------------------------------------------


def test_a_201_says_where_the_new_row_lives(acme, tree):
    client = client_for(acme.leader)
    goal = client.post(
        f"{API}/goals/", {"cycle": acme.cycle.pk, "level": "strategic", "title": "Grow"}
    )
    assert goal["Location"].endswith(f"{API}/goals/{goal.json()['id']}/")
    assert client.get(goal["Location"]).json()["title"] == "Grow"
    value = client.post(f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5})
    assert value["Location"].endswith(
        f"{API}/kpis/{tree.individual_kpi.pk}/updates/{value.json()['id']}/"
    )
    assert client.get(value["Location"]).json() == value.json()


def test_bulk_rows_of_any_shape_are_answered_by_index(acme, tree):
    rows = [{"kpi": [1], "value": 5}, {"kpi": {"id": 1}, "value": 5}, 7, None]
    with unchanged():
        response = client_for(acme.leader).post(f"{API}/kpis/updates/", rows)
    assert response.status_code == 400
    assert set(response.json()) == {"0", "1", "2", "3"}


def test_bulk_costs_a_fixed_number_of_queries_whatever_the_rows(
    acme, tree, django_assert_max_num_queries
):
    client = client_for(acme.leader)
    kpis = [tree.individual_kpi.pk, tree.department_kpi.pk, tree.strategic_kpi.pk]

    def send(count: int) -> None:
        rows = [{"kpi": kpis[i % 3], "value": 5 + (i % 2)} for i in range(count)]
        assert client.post(f"{API}/kpis/updates/", rows).status_code == 201

    send(6)  # warm up: the same last values, so no health changes in what is measured

    with CaptureQueriesContext(connection) as small:
        send(6)
    with CaptureQueriesContext(connection) as large:
        send(300)
    assert len(small) == len(large), (len(small), len(large))


@pytest.mark.parametrize(
    "since",
    ["3119-11-30T11:08:41-18:51", "9999-12-31T23:59:59-23:00", "0001-01-01T00:00:00+23:00"],
)
def test_updated_since_with_odd_offsets_is_answered_not_a_500(acme, tree, since):
    response = client_for(acme.leader).get(f"{API}/kpis/", {"updated_since": since})
    assert response.status_code in (200, 400), response.content


def test_options_on_the_bulk_endpoint_describes_it(acme):
    response = client_for(acme.leader).options(f"{API}/kpis/updates/")
    assert response.status_code == 200
