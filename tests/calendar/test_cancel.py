"""Cancelling a review (SPEC §9.6): whoever may change a review may call a scheduled one
off — POST /api/v1/reviews/{id}/cancel/ or the review page's "Cancel this check-in"
(asked first) — and everyone invited is sent a cancellation. Only a scheduled review:
a started, completed or cancelled one is a 409 (a 400 page) and nothing changes; the
wrong person is refused (403) and nothing changes; another organization's is a 404.
A cancelled review is marked so in lists, is never reminded nor started, and changes
no more."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from reviews.invitations import invitations_send
from reviews.models import Review, ReviewInvitation, ReviewReminder, ReviewState
from reviews.reminders import review_reminders_send_due
from reviews.services import review_cancel, review_complete, review_start

from ..api.helpers import API, client_for
from ..reviews.helpers import fresh, rows, schedule

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def everything() -> dict:
    """Every row a review write could touch, the owed invitations included."""
    return {**rows(), "ReviewInvitation": list(ReviewInvitation.objects.order_by("pk").values())}


def cancel_api(member, review):
    return client_for(member).post(f"{API}/reviews/{review.pk}/cancel/")


@pytest.mark.parametrize("who", ["reviewer", "admin", "leader", "manager"])
def test_whoever_may_change_the_review_cancels_it_through_the_api(acme, review, who):
    answer = cancel_api(getattr(acme, who), review)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["state"] == "cancelled" and body["cancelled_at"]
    row = fresh(review)
    assert (row.state, row.sequence) == (ReviewState.CANCELLED, 1)
    assert row.cancelled_at.isoformat().replace("+00:00", "Z") == body["cancelled_at"]


@pytest.mark.parametrize("who", ["member", "marketing_manager", "tier2_member"])
def test_whoever_may_not_change_it_is_refused_and_nothing_changes(acme, review, who):
    before = everything()
    answer = cancel_api(getattr(acme, who), review)
    assert answer.status_code == 403
    assert "You may not cancel this review." in answer.json()["detail"]
    assert everything() == before


def test_another_organizations_review_is_not_found(acme, review, outsider):
    before = everything()
    assert cancel_api(outsider, review).status_code == 404
    assert everything() == before


def test_the_anonymous_are_refused(acme, review, client):
    assert client.post(f"{API}/reviews/{review.pk}/cancel/").status_code == 401
    assert fresh(review).state == ReviewState.SCHEDULED


@pytest.mark.parametrize("state", ["in_progress", "completed", "cancelled"])
def test_only_a_scheduled_review_is_cancelled_else_409_and_nothing_changes(acme, review, state):
    if state in ("in_progress", "completed"):
        review_start(actor=acme.reviewer, review=review)
    if state == "completed":
        review_complete(actor=acme.reviewer, review=review)
    if state == "cancelled":
        review_cancel(actor=acme.reviewer, review=review)
    before = everything()
    answer = cancel_api(acme.reviewer, review)
    assert answer.status_code == 409
    label = {"in_progress": "in progress"}.get(state, state)
    assert answer.json()["state"] == [
        f"Only a scheduled review can be cancelled; this one is {label}."
    ]
    assert everything() == before


def test_a_cancelled_review_changes_no_more_and_never_starts(acme, review):
    review_cancel(actor=acme.reviewer, review=review)
    before = everything()
    api = client_for(acme.reviewer)
    changed = api.patch(f"{API}/reviews/{review.pk}/", {"title": "Back on"}, format="json")
    assert changed.status_code == 409
    assert changed.json()["state"] == ["This review is cancelled: it can't change."]
    started = api.post(f"{API}/reviews/{review.pk}/start/")
    assert started.status_code == 409
    assert started.json()["state"] == ["Only a scheduled review can start; this one is cancelled."]
    action = api.post(
        f"{API}/reviews/{review.pk}/actions/",
        {"title": "Call", "owner": acme.member.pk, "due": "2027-04-01"},
        format="json",
    )
    assert action.status_code == 409
    assert everything() == before


def test_a_cancelled_review_is_never_reminded(acme, review, django_capture_on_commit_callbacks):
    review_cancel(actor=acme.reviewer, review=review)
    with django_capture_on_commit_callbacks(execute=True):
        assert review_reminders_send_due(day=dt.date(2027, 3, 27)) == 0
    assert not ReviewReminder.objects.exists()
    assert not [m for m in mail.outbox if m.subject.startswith("Cascade check-in soon")]


# -- The page -----------------------------------------------------------------------------


def test_the_page_offers_cancelling_a_scheduled_review_to_those_who_may_asking_first(
    client, acme, review
):
    client.force_login(acme.reviewer.user)
    html = client.get(f"/reviews/{review.pk}/").content.decode()
    assert f'action="/reviews/{review.pk}/cancel/"' in html
    assert ">Cancel this check-in</button>" in html
    assert (
        'hx-confirm="Cancel “Support Q1 check-in”? Everyone invited is sent a cancellation' in html
    )
    client.force_login(acme.member.user)  # sam takes part, may not change it
    assert "Cancel this check-in" not in client.get(f"/reviews/{review.pk}/").content.decode()
    review_start(actor=acme.reviewer, review=review)
    client.force_login(acme.reviewer.user)
    assert "Cancel this check-in" not in client.get(f"/reviews/{review.pk}/").content.decode()


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
def test_cancelling_on_the_page_shows_the_review_cancelled(client, acme, review, headers):
    invitations_send()
    client.force_login(acme.reviewer.user)
    answer = client.post(f"/reviews/{review.pk}/cancel/", headers=headers)
    if headers:
        assert answer.status_code == 204 and answer["HX-Location"] == f"/reviews/{review.pk}/"
    else:
        assert answer.status_code == 302 and answer["Location"] == f"/reviews/{review.pk}/"
    assert fresh(review).state == ReviewState.CANCELLED
    html = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "<small>Cancelled</small>" in html and "This check-in was cancelled on" in html
    assert "Start the review" not in html and "Cancel this check-in" not in html
    assert ReviewInvitation.objects.filter(method="CANCEL").count() == 4


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
def test_the_page_refuses_a_completed_review_and_the_wrong_person(client, acme, review, headers):
    review_complete(actor=acme.reviewer, review=review_start(actor=acme.reviewer, review=review))
    client.force_login(acme.reviewer.user)
    before = everything()
    answer = client.post(f"/reviews/{review.pk}/cancel/", headers=headers)
    assert answer.status_code == 400
    assert "Only a scheduled review can be cancelled; this one is completed." in (
        answer.content.decode()
    )
    assert everything() == before
    other = schedule(acme.reviewer, cycle=acme.cycle, title="Another", department=acme.support)
    client.force_login(acme.member.user)
    before = everything()
    assert client.post(f"/reviews/{other.pk}/cancel/", headers=headers).status_code == 403
    assert everything() == before


def test_the_list_shows_cancelled_reviews_apart_and_the_dashboard_leaves_them_out(
    client, acme, review
):
    kept = schedule(acme.reviewer, cycle=acme.cycle, title="Still on", department=acme.support)
    review_cancel(actor=acme.reviewer, review=review)
    client.force_login(acme.reviewer.user)
    html = client.get("/reviews/").content.decode()
    upcoming = html[html.index('id="upcoming-h"') : html.index('id="past-h"')]
    assert "Still on" in upcoming and "Support Q1 check-in" not in upcoming
    cancelled = html[html.index('id="cancelled-h"') :]
    assert "Support Q1 check-in" in cancelled and 'state-cancelled">Cancelled<' in cancelled
    dashboard = client.get("/").content.decode()
    soon = dashboard[dashboard.index('id="upcoming-h"') :]
    assert kept.title in soon and "Support Q1 check-in" not in soon
    assert Review.objects.count() == 2
