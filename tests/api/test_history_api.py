"""goals/{id}/history/ and goals/{id}/tree/?as_of=: the tree as it stood on a past day."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from kpis.services import kpi_edit, kpi_record_value

from .helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db

JAN_1, JAN_20, FEB_3 = dt.date(2027, 1, 1), dt.date(2027, 1, 20), dt.date(2027, 2, 3)


@pytest.fixture
def example(acme, tree):
    """The worked example over three days (tests/cycles/test_history.py)."""
    leader = acme.leader
    kpi_edit(actor=leader, kpi=tree.department_kpi, weight=3)
    kpi_record_value(actor=leader, kpi=tree.department_kpi, value=8.4, date=JAN_1)
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5.5, date=JAN_20)
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5, date=FEB_3)
    return tree


def test_history_lists_each_day_the_goal_changed_with_the_expected_progress(acme, example):
    response = client_for(acme.member).get(f"{API}/goals/{example.department.pk}/history/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "date": "2027-01-01",
            "progress": 60.0,
            "has_data": True,
            "expected": 0.0,
            "health": "on_track",
        },
        {
            "date": "2027-01-20",
            "progress": 66.2,
            "has_data": True,
            "expected": 5.2,
            "health": "on_track",
        },
        {
            "date": "2027-02-03",
            "progress": 72.5,
            "has_data": True,
            "expected": 9.1,
            "health": "on_track",
        },
    ]


def test_tree_as_of_shows_each_goal_and_kpi_as_it_stood_that_day(acme, example):
    client = client_for(acme.reviewer)
    url = f"{API}/goals/{example.strategic.pk}/tree/"
    now, jan = client.get(url).json(), client.get(url, {"as_of": "2027-01-25"}).json()
    department, individual = jan["children"][0], jan["children"][0]["children"][0]
    assert (department["progress"], individual["progress"]) == (
        66.2,
        25.0,
    )  # 66.25, as floats hold it
    assert individual["kpis"][0]["current"] == 5.5
    assert now["children"][0]["progress"] == 72.5
    assert client.get(url, {"as_of": "2099-01-01"}).json() == now  # nothing is dated later
    before = client.get(url, {"as_of": "2026-12-31"}).json()  # before the cycle: nothing yet
    assert before["progress"] == 0.0 and before["health"] == "not_started"
    assert before["children"][0]["kpis"][0]["current"] is None


@pytest.mark.parametrize(
    "as_of, message",
    [
        ("last week", "Use a date as YYYY-MM-DD"),
        ("2027-02-30", "Use a date"),
        ("", "Use a date"),
        ("9" * 400, "Use a date"),
    ],
)
def test_a_bad_as_of_is_a_400_that_says_what_to_send(acme, example, as_of, message):
    with unchanged():
        response = client_for(acme.member).get(
            f"{API}/goals/{example.strategic.pk}/tree/", {"as_of": as_of}
        )
    assert response.status_code == 400
    assert message in response.json()["as_of"][0]


def test_another_organizations_goal_history_is_a_404_and_anonymous_a_401(acme, example, outsider):
    assert (
        client_for(outsider).get(f"{API}/goals/{example.strategic.pk}/history/").status_code == 404
    )
    assert (
        client_for(outsider)
        .get(f"{API}/goals/{example.strategic.pk}/tree/?as_of=2027-02-01")
        .status_code
        == 404
    )
    assert APIClient().get(f"{API}/goals/{example.strategic.pk}/history/").status_code == 401
