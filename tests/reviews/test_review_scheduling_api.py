"""Scheduling a review over HTTP (SPEC §4 reviews/): admin, leader and reviewer
schedule a review of any scope, a manager only inside their own department subtree
(never the whole organization), a member never — a 201 with the review, or a 403 and
nothing changes, even for input that is also invalid. Bad input is a 400 on its field;
the period follows the cycle's cadence; a time without an offset is the organization's.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from reviews.models import Review

from ..api.helpers import API, client_for
from .helpers import REVIEW_FIELDS, WHO, at, fresh, instant, review_body, rows

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- creating, per role

SCOPES = {
    "whole organization": lambda acme, tree: {},
    "Customer Support": lambda acme, tree: {"department": acme.support.pk},
    "Support Tier 2": lambda acme, tree: {"department": acme.tier2.pk},
    "Marketing": lambda acme, tree: {"department": acme.marketing.pk},
    "Operations": lambda acme, tree: {"department": acme.ops.pk},
    "strategic goal": lambda acme, tree: {"goal": tree.strategic.pk},
    "Support's goal": lambda acme, tree: {"goal": tree.department.pk},
    "sam's goal": lambda acme, tree: {"goal": tree.individual.pk},
}
MAX_MAY = {"Customer Support", "Support Tier 2", "Support's goal", "sam's goal"}


def may(who: str, scope: str) -> bool:
    if who in ("admin", "leader", "reviewer"):
        return True
    if who == "manager":
        return scope in MAX_MAY
    if who == "marketing_manager":
        return scope == "Marketing"
    return False


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("who", WHO)
def test_create_a_review_per_role_and_scope(acme, tree, who, scope):
    me = getattr(acme, who)
    body = review_body(acme, **SCOPES[scope](acme, tree))
    before = rows()
    response = client_for(me).post(f"{API}/reviews/", body, format="json")
    if may(who, scope):
        assert response.status_code == 201, response.json()
        data = response.json()
        assert set(data) >= REVIEW_FIELDS
        assert data["state"] == "scheduled" and data["facilitator"] == me.pk
        review = Review.objects.get(pk=data["id"])
        assert review.created_by == me and review.organization == acme.org
    else:
        assert response.status_code == 403, response.json()
        assert rows() == before


@pytest.mark.parametrize("who", ["member", "marketing_manager", "tier2_member"])
def test_a_forbidden_and_invalid_create_is_a_403(acme, tree, who):
    before = rows()
    response = client_for(getattr(acme, who)).post(
        f"{API}/reviews/",
        {"department": acme.support.pk, "title": "", "period": "soon", "scheduled_for": "x"},
        format="json",
    )
    assert response.status_code == 403
    assert rows() == before


BAD_CREATES = {
    "period": {"period": "2027-03"},  # the cycle is quarterly
    "title": {"title": ""},
    "scheduled_for": {"scheduled_for": "next Tuesday"},
    "goal": {"goal": "abc"},
    "department": {"department": 99999},
    "cycle": {"cycle": None},
    "facilitator": {"facilitator": 99999},
}


@pytest.mark.parametrize("field", BAD_CREATES)
def test_bad_input_on_create_is_a_400_on_the_field(acme, tree, field):
    before = rows()
    response = client_for(acme.admin).post(
        f"{API}/reviews/", review_body(acme, **BAD_CREATES[field]), format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert rows() == before


def test_goal_and_department_together_is_a_400(acme, tree):
    response = client_for(acme.admin).post(
        f"{API}/reviews/",
        review_body(acme, goal=tree.department.pk, department=acme.support.pk),
        format="json",
    )
    assert response.status_code == 400
    assert Review.objects.count() == 0


def test_period_follows_a_monthly_cycles_cadence(acme, tree):
    acme.cycle.cadence = "monthly"
    acme.cycle.save()
    client = client_for(acme.admin)
    response = client.post(f"{API}/reviews/", review_body(acme, period="2027-Q1"), format="json")
    assert response.status_code == 400 and "period" in response.json()
    response = client.post(f"{API}/reviews/", review_body(acme, period="2027-03"), format="json")
    assert response.status_code == 201 and response.json()["period"] == "2027-03"


@pytest.mark.parametrize(
    ("zone", "utc_hour"), [("Asia/Tokyo", 1), ("America/New_York", 14), ("UTC", 10)]
)
def test_scheduled_for_without_offset_is_the_organizations_time(acme, tree, zone, utc_hour):
    acme.org.timezone = zone
    acme.org.save()
    client = client_for(acme.admin)
    response = client.post(
        f"{API}/reviews/", review_body(acme, scheduled_for="2027-03-29T10:00:00"), format="json"
    )
    assert response.status_code == 201, response.json()
    review = Review.objects.get(pk=response.json()["id"])
    assert review.scheduled_for == at(2027, 3, 29, utc_hour)
    assert instant(response.json()["scheduled_for"]) == at(2027, 3, 29, utc_hour)

    response = client.patch(
        f"{API}/reviews/{review.pk}/", {"scheduled_for": "2027-03-30T09:30"}, format="json"
    )
    assert response.status_code == 200, response.json()
    local = dt.datetime(2027, 3, 30, 9, 30, tzinfo=zoneinfo.ZoneInfo(zone))
    assert fresh(review).scheduled_for == local
    assert instant(response.json()["scheduled_for"]) == local

    # an explicit offset is kept
    response = client.patch(
        f"{API}/reviews/{review.pk}/",
        {"scheduled_for": "2027-03-30T09:30:00+02:00"},
        format="json",
    )
    assert response.status_code == 200
    assert fresh(review).scheduled_for == at(2027, 3, 30, 7, 30)
