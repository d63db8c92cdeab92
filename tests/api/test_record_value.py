"""Recording a value over HTTP (POST /api/v1/kpis/ID/updates/): any finite number,
dated today or before; bad input is a 400 on its field and records nothing. Who may
record is in test_permissions.py; the service behind it in tests/kpis/test_record_value.py."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from kpis.models import KpiUpdate

from .helpers import API, assert_field_errors, client_for, post_raw, unchanged

pytestmark = pytest.mark.django_db

UPDATE_CASES = {
    "text_value": ({"value": "lots"}, "value"),
    "nan_value": ({"value": "NaN"}, "value"),
    "nan_lowercase": ({"value": "nan"}, "value"),
    "infinite_value": ({"value": "Infinity"}, "value"),
    "negative_infinite_value": ({"value": "-inf"}, "value"),
    "empty_value": ({"value": ""}, "value"),
    "null_value": ({"value": None}, "value"),
    "missing_value": ({"note": "forgot the number"}, "value"),
    "object_value": ({"value": {"amount": 5}}, "value"),
    "list_value": ({"value": [5]}, "value"),
    "future_date": ({"value": 5, "date": "TOMORROW"}, "date"),
    "far_future_date": ({"value": 5, "date": "9999-12-31"}, "date"),
    "impossible_date": ({"value": 5, "date": "2026-02-30"}, "date"),
    "text_date": ({"value": 5, "date": "yesterday"}, "date"),
    "unknown_confidence": ({"value": 5, "confidence": "certain"}, "confidence"),
    "nul_in_note": ({"value": 5, "note": "a\x00b"}, "note"),
    # SPEC §8.1: bounds, and dates inside the KPI's cycle
    "value_beyond_1e12": ({"value": 1e12 + 1}, "value"),
    "huge_value": ({"value": 1.7e308}, "value"),
    "dated_before_the_cycle": ({"value": 5, "date": "2026-12-31"}, "date"),
}


@pytest.mark.parametrize("case", UPDATE_CASES)
def test_update_rejected(acme, tree, case):
    body, field = UPDATE_CASES[case]
    if body.get("date") == "TOMORROW":
        body = {**body, "date": (acme.org.today() + dt.timedelta(days=1)).isoformat()}
    kpi = tree.individual_kpi
    with unchanged():
        response = client_for(acme.member).post(
            f"{API}/kpis/{kpi.pk}/updates/", body, format="json"
        )
    assert_field_errors(response, field)


@pytest.mark.parametrize("raw", ["1e999", "-1e999"])
def test_update_rejects_an_infinite_json_number(acme, tree, raw):
    kpi = tree.individual_kpi
    with unchanged():
        response = post_raw(
            client_for(acme.member), f"{API}/kpis/{kpi.pk}/updates/", f'{{"value": {raw}}}'
        )
    assert_field_errors(response, "value")


@pytest.mark.parametrize("raw", ['{"value": NaN}', '{"value": Infinity}', '{"value": 5'])
def test_update_rejects_json_that_is_not_json(acme, tree, raw):
    kpi = tree.individual_kpi
    with unchanged():
        response = post_raw(client_for(acme.member), f"{API}/kpis/{kpi.pk}/updates/", raw)
    assert response.status_code == 400, response.content


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        pytest.param(-3.5, -3.5, id="negative"),
        pytest.param(0, 0.0, id="zero"),
        pytest.param(1e12, 1e12, id="the_largest"),
        pytest.param(-1e12, -1e12, id="the_smallest"),
    ],
)
def test_any_finite_number_is_a_value(acme, tree, value, stored):
    kpi = tree.individual_kpi
    response = client_for(acme.member).post(
        f"{API}/kpis/{kpi.pk}/updates/", {"value": value}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["value"] == stored
    assert KpiUpdate.objects.get(kpi=kpi).value == stored


def test_a_number_in_text_is_refused_as_the_schema_says(acme, tree):
    kpi = tree.individual_kpi
    response = client_for(acme.member).post(
        f"{API}/kpis/{kpi.pk}/updates/", {"value": "4.25"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"value": ["Must be a number."]}
    assert not KpiUpdate.objects.filter(kpi=kpi).exists()


def test_today_and_a_past_date_are_fine(acme, tree):
    kpi = tree.individual_kpi
    client = client_for(acme.member)
    for date in (acme.org.today(), dt.date(2027, 1, 1)):  # today, and the cycle's first day
        response = client.post(
            f"{API}/kpis/{kpi.pk}/updates/", {"value": 5, "date": date.isoformat()}, format="json"
        )
        assert response.status_code == 201, response.content
        assert response.json()["date"] == date.isoformat()


# ---------------------------------------------------------------- corrections (SPEC §8.1)


@pytest.fixture
def recorded(acme, tree):
    """sam's value 5 (hours; 6 → 4) on his KPI, March 1."""
    response = client_for(acme.member).post(
        f"{API}/kpis/{tree.individual_kpi.pk}/updates/",
        {"value": 5, "date": "2027-03-01"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def kpi_state(client, kpi) -> tuple:
    data = client.get(f"{API}/kpis/{kpi.pk}/").json()
    return data["current"], data["progress"]


def test_a_correction_replaces_the_value_and_the_history_keeps_both(acme, tree, recorded):
    client = client_for(acme.member)
    kpi = tree.individual_kpi
    response = client.post(
        f"{API}/kpis/{kpi.pk}/updates/{recorded['id']}/correct/",
        {"value": 4.5, "note": "Typo: 4.5"},
        format="json",
    )
    assert response.status_code == 201, response.content
    correction = response.json()
    assert (correction["replaces"], correction["value"], correction["date"]) == (
        recorded["id"],
        4.5,
        "2027-03-01",
    )
    assert kpi_state(client, kpi) == (4.5, 75.0)
    tree_ = client.get(f"{API}/goals/{tree.individual.pk}/tree/").json()
    assert tree_["progress"] == 75.0  # the goal moved before the answer
    history = client.get(f"{API}/kpis/{kpi.pk}/updates/").json()["results"]
    assert [(row["id"], row["replaced_by"], row["replaces"]) for row in history] == [
        (recorded["id"], correction["id"], None),
        (correction["id"], None, recorded["id"]),
    ]


def test_a_retraction_withdraws_the_value_and_says_who_and_why(acme, tree, recorded):
    client = client_for(acme.manager)
    kpi = tree.individual_kpi
    response = client.post(
        f"{API}/kpis/{kpi.pk}/updates/{recorded['id']}/retract/",
        {"reason": "Measured on the wrong queue"},
        format="json",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["retracted_by"], data["retract_reason"]) == (
        acme.manager.pk,
        "Measured on the wrong queue",
    )
    assert data["retracted_at"]
    assert kpi_state(client, kpi) == (None, 0.0)


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("correct", {"value": "lots"}, "value"),
        ("correct", {"value": 2e12}, "value"),
        ("correct", {"value": 5, "date": "2026-12-31"}, "date"),
        ("correct", {}, "value"),
        ("retract", {}, "reason"),
        ("retract", {"reason": ""}, "reason"),
    ],
)
def test_a_bad_correction_or_retraction_is_a_400_on_its_field(
    acme, tree, recorded, action, body, field
):
    url = f"{API}/kpis/{tree.individual_kpi.pk}/updates/{recorded['id']}/{action}/"
    with unchanged():
        response = client_for(acme.member).post(url, body, format="json")
    assert_field_errors(response, field)


@pytest.mark.parametrize("who", ["reviewer", "marketing_member", "tier2_member"])
def test_others_may_not_correct_or_retract(acme, tree, recorded, who):
    url = f"{API}/kpis/{tree.individual_kpi.pk}/updates/{recorded['id']}/"
    client = client_for(getattr(acme, who))
    with unchanged():
        assert client.post(url + "correct/", {"value": 1}, format="json").status_code == 403
        assert client.post(url + "retract/", {"reason": "x"}, format="json").status_code == 403
        # forbidden and invalid: still a 403
        assert client.post(url + "correct/", {"value": "x"}, format="json").status_code == 403


def test_a_value_of_another_kpi_or_organization_is_not_found(acme, tree, recorded, outsider):
    other_kpi = f"{API}/kpis/{tree.department_kpi.pk}/updates/{recorded['id']}/correct/"
    with unchanged():
        assert (
            client_for(acme.leader).post(other_kpi, {"value": 1}, format="json").status_code == 404
        )
        mine = f"{API}/kpis/{tree.individual_kpi.pk}/updates/{recorded['id']}/correct/"
        assert client_for(outsider).post(mine, {"value": 1}, format="json").status_code == 404
        huge = f"{API}/kpis/{tree.individual_kpi.pk}/updates/{10**20}/retract/"
        assert client_for(acme.leader).post(huge, {"reason": "x"}, format="json").status_code == 404


# ---------------------------------------------------------------- Idempotency-Key (SPEC §8.1)


def post_value(client, kpi, body: dict, key: str | None = None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(f"{API}/kpis/{kpi.pk}/updates/", body, format="json", headers=headers)


@pytest.fixture
def sum_kpi(acme, tree):
    response = client_for(acme.leader).post(
        f"{API}/kpis/",
        {"goal": tree.individual.pk, "name": "Tickets closed", "unit": "tickets",
         "aggregation": "sum", "baseline": 0, "target": 100, "owner": acme.member.pk},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return type(tree.individual_kpi).objects.get(pk=response.json()["id"])


def test_a_retried_post_records_once_and_answers_as_the_first_time(acme, tree, sum_kpi):
    client = client_for(acme.member)
    first = post_value(client, sum_kpi, {"value": 10}, key="nightly-2027-03-15")
    retry = post_value(client, sum_kpi, {"value": 10}, key="nightly-2027-03-15")
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert KpiUpdate.objects.filter(kpi=sum_kpi).count() == 1
    assert client.get(f"{API}/kpis/{sum_kpi.pk}/").json()["current"] == 10  # not 20


def test_the_same_key_with_another_body_is_a_409_and_records_nothing(acme, tree, sum_kpi):
    client = client_for(acme.member)
    post_value(client, sum_kpi, {"value": 10}, key="k-1")
    with unchanged():
        response = post_value(client, sum_kpi, {"value": 11}, key="k-1")
    assert response.status_code == 409
    assert "another request" in response.json()["idempotency_key"][0]


def test_other_keys_no_key_or_another_caller_record_again(acme, tree, sum_kpi):
    member, leader = client_for(acme.member), client_for(acme.leader)
    post_value(member, sum_kpi, {"value": 1}, key="a")
    post_value(member, sum_kpi, {"value": 1}, key="b")
    post_value(member, sum_kpi, {"value": 1})
    post_value(member, sum_kpi, {"value": 1})
    post_value(leader, sum_kpi, {"value": 1}, key="a")  # keys are each caller's own
    assert KpiUpdate.objects.filter(kpi=sum_kpi).count() == 5


def test_a_key_is_kept_for_a_day(acme, tree, sum_kpi):
    client = client_for(acme.member)
    post_value(client, sum_kpi, {"value": 1}, key="daily")
    with time_machine.travel(dt.datetime(2027, 3, 16, 11, 59, tzinfo=dt.UTC)):
        post_value(client, sum_kpi, {"value": 1}, key="daily")
    assert KpiUpdate.objects.filter(kpi=sum_kpi).count() == 1
    with time_machine.travel(dt.datetime(2027, 3, 16, 12, 1, tzinfo=dt.UTC)):
        post_value(client, sum_kpi, {"value": 1}, key="daily")
    assert KpiUpdate.objects.filter(kpi=sum_kpi).count() == 2


def test_a_refused_request_keeps_nothing_so_a_fixed_one_may_reuse_its_key(acme, tree, sum_kpi):
    client = client_for(acme.member)
    assert post_value(client, sum_kpi, {"value": "ten"}, key="k").status_code == 400
    assert post_value(client, sum_kpi, {"value": 10}, key="k").status_code == 201
    assert KpiUpdate.objects.filter(kpi=sum_kpi).count() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "line\nbreak"])
def test_an_unusable_key_is_a_400(acme, tree, sum_kpi, key):
    with unchanged():
        response = post_value(client_for(acme.member), sum_kpi, {"value": 1}, key=key)
    assert_field_errors(response, "idempotency_key")


@pytest.mark.django_db(transaction=True)
def test_two_posts_with_one_key_at_once_record_one_value(acme, tree, together, require_postgres):
    kpi = tree.individual_kpi
    clients = [client_for(acme.member), client_for(acme.member)]
    responses = together(
        [lambda c=c: post_value(c, kpi, {"value": 5}, key="at-once") for c in clients]
    )
    assert sorted(r.status_code for r in responses) == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert KpiUpdate.objects.filter(kpi=kpi).count() == 1
