"""SPEC §9.3 "Bounds people meet": a cycle lasts at most 5 years, and a review's action
items fall due within its cycle, give or take 90 days. Beyond a bound is a 400 on the
field, naming the days that are allowed, and changes nothing; the bound itself is fine."""

from __future__ import annotations

import datetime as dt

import pytest

from cycles.models import Cycle
from reviews.models import ActionItem
from reviews.services import review_create

from .api.helpers import API, client_for
from .factories import CycleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def q1(acme):
    """Q1 2027, with a review whose actions the tests give due days."""
    cycle = CycleFactory(
        organization=acme.org, name="Q1 2027", start=dt.date(2027, 1, 1), end=dt.date(2027, 3, 31)
    )
    cycle.review = review_create(
        actor=acme.leader,
        cycle=cycle,
        title="March check-in",
        period="2027-Q1",
        scheduled_for=dt.datetime(2027, 3, 20, 10, tzinfo=dt.UTC),
    )
    return cycle


def test_a_cycle_of_exactly_five_years_is_made(acme):
    leader = client_for(acme.leader)
    answer = leader.post(
        f"{API}/cycles/", {"name": "Strategy 2027-31", "start": "2027-01-01", "end": "2032-01-01"}
    )
    assert answer.status_code == 201, answer.content


def test_a_cycle_longer_than_five_years_is_a_400_naming_its_last_day_and_nothing_is_made(acme):
    leader = client_for(acme.leader)
    before = Cycle.objects.count()
    answer = leader.post(
        f"{API}/cycles/", {"name": "Forever", "start": "2027-01-01", "end": "2032-01-02"}
    )
    assert answer.status_code == 400
    assert "at most 5 years: end it by 2032-01-01" in answer.json()["end"][0]
    assert Cycle.objects.count() == before


def test_stretching_a_cycle_past_five_years_is_refused_and_it_keeps_its_dates(acme, q1):
    leader = client_for(acme.leader)
    answer = leader.patch(f"{API}/cycles/{q1.pk}/", {"end": "2099-12-31"}, format="json")
    assert answer.status_code == 400
    assert "end it by 2032-01-01" in answer.json()["end"][0]
    q1.refresh_from_db()
    assert q1.end == dt.date(2027, 3, 31)


def test_a_five_year_cycle_from_29_february_ends_by_28_february(acme):
    leader = client_for(acme.leader)
    answer = leader.post(
        f"{API}/cycles/", {"name": "Leap", "start": "2028-02-29", "end": "2033-03-01"}
    )
    assert answer.status_code == 400
    assert "end it by 2033-02-28" in answer.json()["end"][0]


@pytest.mark.parametrize("due", ["2026-10-03", "2027-06-29"])
def test_an_action_due_90_days_around_its_cycle_is_made(acme, q1, due):
    leader = client_for(acme.leader)
    answer = leader.post(
        f"{API}/reviews/{q1.review.pk}/actions/",
        {"title": "Call back", "owner": acme.leader.pk, "due": due},
    )
    assert answer.status_code == 201, answer.content
    assert ActionItem.objects.get().due == dt.date.fromisoformat(due)


@pytest.mark.parametrize("due", ["2026-10-02", "2027-06-30", "2099-01-01", "2000-01-01"])
def test_an_action_due_further_from_its_cycle_is_a_400_naming_the_days_allowed(acme, q1, due):
    leader = client_for(acme.leader)
    answer = leader.post(
        f"{API}/reviews/{q1.review.pk}/actions/",
        {"title": "Call back", "owner": acme.leader.pk, "due": due},
    )
    assert answer.status_code == 400
    assert answer.json()["due"] == [
        "Actions of a review in “Q1 2027” fall due between 2026-10-03 and 2027-06-29 "
        "(the cycle, give or take 90 days)."
    ]
    assert not ActionItem.objects.exists()


def test_moving_an_action_out_of_the_window_is_refused_and_it_keeps_its_day(acme, q1):
    leader = client_for(acme.leader)
    made = leader.post(
        f"{API}/reviews/{q1.review.pk}/actions/",
        {"title": "Call back", "owner": acme.leader.pk, "due": "2027-04-15"},
    )
    assert made.status_code == 201, made.content
    action = ActionItem.objects.get()
    answer = leader.patch(
        f"{API}/reviews/{q1.review.pk}/actions/{action.pk}/", {"due": "2028-01-01"}, format="json"
    )
    assert answer.status_code == 400, answer.content
    assert "fall due between 2026-10-03 and 2027-06-29" in answer.json()["due"][0]
    action.refresh_from_db()
    assert action.due == dt.date(2027, 4, 15)


def test_a_cycle_name_over_60_characters_is_a_400_and_60_is_fine(acme):
    leader = client_for(acme.leader)
    dates = {"start": "2027-01-01", "end": "2027-03-31"}
    long = leader.post(f"{API}/cycles/", {"name": "Q" * 61, **dates})
    assert long.status_code == 400
    assert long.json()["name"] == ["At most 60 characters."]
    assert not Cycle.objects.filter(name__startswith="QQ").exists()
    fits = leader.post(f"{API}/cycles/", {"name": "Q" * 60, **dates})
    assert fits.status_code == 201, fits.content


def test_a_review_title_over_200_characters_is_a_400_and_200_is_fine(acme, q1):
    leader = client_for(acme.leader)
    body = {"cycle": q1.pk, "period": "2027-Q1", "scheduled_for": "2027-03-21T10:00:00Z"}
    long = leader.post(f"{API}/reviews/", {"title": "R" * 201, **body}, format="json")
    assert long.status_code == 400
    assert long.json()["title"] == ["At most 200 characters."]
    fits = leader.post(f"{API}/reviews/", {"title": "R" * 200, **body}, format="json")
    assert fits.status_code == 201, fits.content
