"""Recording a value over HTTP (POST /api/v1/kpis/ID/updates/): any finite number,
dated today or before; bad input is a 400 on its field and records nothing. Who may
record is in test_permissions.py; the service behind it in tests/kpis/test_record_value.py."""

from __future__ import annotations

import datetime as dt

import pytest

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
        pytest.param("4.25", 4.25, id="numeric_string"),
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


def test_correcting_a_corrected_value_is_a_400_and_changes_nothing(acme, tree, recorded):
    client = client_for(acme.member)
    url = f"{API}/kpis/{tree.individual_kpi.pk}/updates/{recorded['id']}/"
    assert client.post(url + "correct/", {"value": 4.5}, format="json").status_code == 201
    with unchanged():
        again = client.post(url + "correct/", {"value": 4.2}, format="json")
        retract = client.post(url + "retract/", {"reason": "Oops"}, format="json")
    assert "correct the correction" in assert_field_errors(again, "update")["update"][0]
    assert_field_errors(retract, "update")


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
