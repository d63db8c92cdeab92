"""The Reviews pages' POSTs (SPEC §5) — schedule, start, walk an item, add an action,
tick it off, complete — and who may make them.

Anonymous visitors go to the login page; another organization's reviews do not exist
(404); a role that may not run the review gets a 403 and nothing changes; whoever may
run it can, with or without htmx; invalid input comes back with the message; a review
in the wrong state refuses with a 400.

What the pages show, state by state, and what they cost in queries:
test_review_page_contents.py (which uses this module's fixtures).
"""

from __future__ import annotations

import datetime as dt

import pytest

from reviews.models import ActionItem, Review
from reviews.services import action_create, review_complete, review_item_update, review_start

from ..pages.helpers import parse
from .helpers import fresh, rows, schedule

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
D = dt.date


@pytest.fixture
def scheduled(acme, tree):
    """Customer Support's Q1 check-in (max's department), scheduled by the reviewer."""
    return schedule(acme.reviewer, cycle=acme.cycle, department=acme.support, title="Support Q1")


@pytest.fixture
def running(acme, scheduled):
    """Started; an action for sam on the first item."""
    review = review_start(actor=acme.reviewer, review=scheduled)
    action_create(
        actor=acme.reviewer, review=review, title="Share the playbook", owner=acme.member,
        due=D(2027, 4, 15), item=first_item(review),
    )  # fmt: skip
    return fresh(review)


@pytest.fixture
def completed(acme, tree, running):
    items = list(running.items.order_by("position").select_related("goal"))
    review_item_update(actor=acme.reviewer, item=items[0], assessment="on_track", win=True,
                       notes="Response time fell two weeks in a row.")  # fmt: skip
    review_item_update(actor=acme.reviewer, item=items[1], assessment="off_track",
                       decision="Add a second shift on Mondays.")  # fmt: skip
    action_create(actor=acme.reviewer, review=running, title="Draft the Monday rota",
                  owner=acme.manager, due=D(2027, 4, 20), item=items[1])  # fmt: skip
    return fresh(review_complete(actor=acme.reviewer, review=running))


def first_item(review: Review):
    return review.items.order_by("position").first()


def item_data(item, **fields) -> dict:
    data = {"assessment": "at_risk", "win": "on", "notes": "Better", "decision": "Go"} | fields
    return {f"item{item.pk}-{k}": v for k, v in data.items() if v is not None}


def action_data(item, owner, **fields) -> dict:
    data = {"title": "Call the vendor", "owner": owner.pk, "due": "2027-04-01"} | fields
    return {f"act{item.pk}-{k}": v for k, v in data.items()}


def schedule_data(**fields) -> dict:
    return {"title": "Marketing Q1", "goal": "", "department": "", "period": "2027-Q1",
            "scheduled_for": "2027-03-29T10:00", "facilitator": ""} | fields  # fmt: skip


def posts(acme, review: Review) -> dict[str, tuple[str, dict]]:
    """Every POST of the review pages, as (URL, valid data), for a review in progress."""
    item = first_item(review)
    action = review.actions.order_by("id").first()
    return {
        "start": (f"/reviews/{review.pk}/start/", {}),
        "complete": (f"/reviews/{review.pk}/complete/", {}),
        "item": (f"/reviews/{review.pk}/items/{item.pk}/", item_data(item)),
        "action": (
            f"/reviews/{review.pk}/items/{item.pk}/actions/",
            action_data(item, acme.member),
        ),
        "action done": (f"/reviews/actions/{action.pk}/done/", {"done": "on"}),
        "schedule": ("/reviews/", schedule_data(department=acme.support.pk)),
    }


POSTS = ["start", "complete", "item", "action", "action done", "schedule"]


# ---------------------------------------------------------------- anonymous


@pytest.mark.parametrize("url", ["/reviews/", "/reviews/{pk}/", "/reviews/{pk}/?item=1"])
def test_anonymous_visitor_is_sent_to_the_login_page(client, running, url):
    response = client.get(url.format(pk=running.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("post", POSTS)
def test_anonymous_post_is_sent_to_the_login_page_and_changes_nothing(client, acme, running, post):
    url, data = posts(acme, running)[post]
    before = rows()
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert rows() == before


# ---------------------------------------------------------------- another organization


@pytest.mark.parametrize("url", ["/reviews/{pk}/", "/reviews/{pk}/?item={item}"])
def test_another_organization_finds_no_such_review(client, acme, running, outsider, url):
    client.force_login(outsider.user)
    response = client.get(url.format(pk=running.pk, item=first_item(running).pk))
    assert response.status_code == 404


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
@pytest.mark.parametrize("post", [p for p in POSTS if p != "schedule"])
def test_another_organizations_post_is_a_404_and_changes_nothing(
    client, acme, running, outsider, post, headers
):
    client.force_login(outsider.user)
    url, data = posts(acme, running)[post]
    before = rows()
    assert client.post(url, data, headers=headers).status_code == 404
    assert rows() == before


def test_another_organizations_reviews_are_not_listed(client, acme, running, outsider):
    client.force_login(outsider.user)
    response = client.get("/reviews/")
    assert response.status_code == 200
    assert b"Support Q1" not in response.content


def test_scheduling_with_another_organizations_department_is_refused(client, acme, tree, outsider):
    client.force_login(acme.admin.user)
    before = rows()
    response = client.post("/reviews/", schedule_data(department=outsider.department.pk))
    assert response.status_code == 400
    assert rows() == before


# ---------------------------------------------------------------- forbidden roles


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
@pytest.mark.parametrize("who", ["member", "tier2_member", "marketing_manager", "marketing_member"])
@pytest.mark.parametrize("post", ["start", "complete", "item", "action", "action done"])
def test_a_role_that_may_not_run_the_review_gets_403_and_nothing_changes(
    client, acme, tree, scheduled, post, who, headers
):
    review = scheduled
    if post != "start":
        review = review_start(actor=acme.reviewer, review=scheduled)
        action_create(
            actor=acme.reviewer, review=review, title="The reviewer's own", owner=acme.reviewer,
            due=D(2027, 4, 1),
        )  # fmt: skip
    client.force_login(getattr(acme, who).user)
    if post == "start":
        url = f"/reviews/{review.pk}/start/"
        data = {}
    else:
        url, data = posts(acme, fresh(review))[post]
    before = rows()
    response = client.post(url, data, headers=headers)
    assert response.status_code == 403, response.content[:300]
    assert rows() == before


@pytest.mark.parametrize(
    ("who", "data"),
    [
        ("member", {}),
        ("tier2_member", {"department": "tier2"}),
        ("marketing_manager", {"department": "support"}),  # not their department
        ("manager", {}),  # the whole organization: not for a manager
        ("manager", {"department": "marketing"}),
    ],
)
def test_scheduling_outside_ones_reach_is_a_403(client, acme, tree, who, data):
    client.force_login(getattr(acme, who).user)
    fields = {k: getattr(acme, v).pk for k, v in data.items()}
    before = rows()
    response = client.post("/reviews/", schedule_data(**fields))
    assert response.status_code == 403
    assert rows() == before


def test_a_forbidden_and_invalid_post_is_a_403(client, acme, running):
    client.force_login(acme.marketing_manager.user)
    item = first_item(running)
    before = rows()
    for url, data in (
        (f"/reviews/{running.pk}/items/{item.pk}/", item_data(item, assessment="brilliant")),
        (
            f"/reviews/{running.pk}/items/{item.pk}/actions/",
            action_data(item, acme.member, due="x"),
        ),
    ):
        assert client.post(url, data, headers=HTMX).status_code == 403
    assert rows() == before


# ---------------------------------------------------------------- allowed roles


@pytest.mark.parametrize("who", ["admin", "leader", "reviewer", "manager"])
def test_whoever_may_run_the_review_walks_it_from_schedule_to_summary(client, acme, tree, who):
    client.force_login(getattr(acme, who).user)
    response = client.post(
        "/reviews/", schedule_data(title="Support Q1", department=acme.support.pk)
    )
    assert response.status_code == 302, response.content[:500]
    review = Review.objects.get(title="Support Q1")
    assert response["Location"] == f"/reviews/{review.pk}/"
    assert (review.department, review.facilitator) == (acme.support, getattr(acme, who))

    response = client.post(f"/reviews/{review.pk}/start/")
    assert response.status_code == 302
    review = fresh(review)
    assert review.state == "in_progress" and review.items.count() == 2
    item = first_item(review)

    response = client.post(f"/reviews/{review.pk}/items/{item.pk}/", item_data(item), headers=HTMX)
    assert response.status_code == 200 and b"Saved." in response.content
    item = fresh(item)
    assert (item.assessment, item.win, item.notes, item.decision) == (
        "at_risk",
        True,
        "Better",
        "Go",
    )

    response = client.post(
        f"/reviews/{review.pk}/items/{item.pk}/actions/",
        action_data(item, acme.member),
        headers=HTMX,
    )
    assert response.status_code == 200 and b"Call the vendor" in response.content
    action = ActionItem.objects.get(review=review)
    assert (action.owner, action.due, action.item) == (acme.member, D(2027, 4, 1), item)

    response = client.post(f"/reviews/actions/{action.pk}/done/", {"done": "on"}, headers=HTMX)
    assert response.status_code == 200 and fresh(action).done

    response = client.post(f"/reviews/{review.pk}/complete/")
    assert response.status_code == 302
    assert fresh(review).state == "completed"


def test_without_htmx_the_posts_redirect_back_to_the_walked_item(client, acme, running):
    client.force_login(acme.manager.user)
    item = first_item(running)
    url = f"/reviews/{running.pk}/items/{item.pk}/"
    response = client.post(url, item_data(item, win=None, notes="Plain form"))
    assert response.status_code == 302
    assert response["Location"] == f"/reviews/{running.pk}/?item={item.pk}"
    assert fresh(item).notes == "Plain form" and not fresh(item).win
    response = client.post(f"{url}actions/", action_data(item, acme.manager, title="Plain"))
    assert response.status_code == 302
    assert response["Location"] == f"/reviews/{running.pk}/?item={item.pk}"
    assert running.actions.filter(title="Plain", owner=acme.manager).exists()


def test_the_owner_ticks_an_action_off_from_my_work(client, acme, running):
    action = running.actions.get()
    client.force_login(acme.member.user)  # sam runs no reviews but owns the action
    response = client.post(f"/reviews/actions/{action.pk}/done/", {"done": "on", "next": "/my/"})
    assert response.status_code == 302 and response["Location"] == "/my/"
    assert fresh(action).done and fresh(action).done_at is not None
    response = client.post(f"/reviews/actions/{action.pk}/done/", {}, headers=HTMX)
    assert response.status_code == 200 and not fresh(action).done


@pytest.mark.parametrize(("field", "value"), [("assessment", "brilliant"), ("notes", "x" * 10001)])
def test_invalid_item_input_comes_back_with_the_message_and_saves_nothing(
    client, acme, running, field, value
):
    client.force_login(acme.reviewer.user)
    item = first_item(running)
    before = rows()
    response = client.post(
        f"/reviews/{running.pk}/items/{item.pk}/", item_data(item, **{field: value}), headers=HTMX
    )
    assert response.status_code == 400
    assert b"field-error" in response.content
    assert rows() == before


def test_invalid_item_input_without_htmx_says_why_in_words(client, acme, running):
    client.force_login(acme.reviewer.user)
    item = first_item(running)
    before = rows()
    response = client.post(
        f"/reviews/{running.pk}/items/{item.pk}/", item_data(item, assessment="brilliant")
    )
    assert response.status_code == 400
    errors = parse(response).find(**{"class": "error"}).text
    assert "brilliant" in errors and "invalid_choice" not in errors and "{" not in errors
    assert rows() == before


def test_the_next_address_after_ticking_an_action_stays_on_this_site(client, acme, running):
    action = running.actions.get()
    client.force_login(acme.member.user)
    response = client.post(
        f"/reviews/actions/{action.pk}/done/", {"done": "on", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/reviews/{running.pk}/"
    assert fresh(action).done


def test_invalid_action_input_comes_back_with_the_message_and_saves_nothing(client, acme, running):
    client.force_login(acme.reviewer.user)
    item = first_item(running)
    before = rows()
    response = client.post(
        f"/reviews/{running.pk}/items/{item.pk}/actions/",
        action_data(item, acme.member, title="", due="someday"),
        headers=HTMX,
    )
    assert response.status_code == 400
    page = parse(response)
    assert page.find(id=f"id_act{item.pk}-title") is not None
    assert b"field-error" in response.content
    assert rows() == before


def test_invalid_schedule_comes_back_with_the_message(client, acme, tree):
    client.force_login(acme.reviewer.user)
    before = rows()
    response = client.post("/reviews/", schedule_data(period="2027-03"))  # quarterly cycle
    assert response.status_code == 400
    assert b"checks in quarterly" in response.content
    assert rows() == before


# ---------------------------------------------------------------- state refusals


def test_start_and_complete_refuse_the_wrong_state_with_a_400(client, acme, scheduled):
    client.force_login(acme.reviewer.user)
    before = rows()
    response = client.post(f"/reviews/{scheduled.pk}/complete/")
    assert response.status_code == 400 and b"Nothing changed" in response.content
    assert rows() == before
    assert client.post(f"/reviews/{scheduled.pk}/start/").status_code == 302
    before = rows()
    assert client.post(f"/reviews/{scheduled.pk}/start/").status_code == 400
    assert rows() == before


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
@pytest.mark.parametrize("post", ["start", "complete", "item", "action"])
def test_a_completed_review_refuses_every_post_with_a_400(client, acme, completed, post, headers):
    client.force_login(acme.reviewer.user)
    url, data = posts(acme, completed)[post]
    before = rows()
    response = client.post(url, data, headers=headers)
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert rows() == before


def test_a_completed_reviews_action_may_still_be_ticked_off(client, acme, completed):
    action = completed.actions.get(owner=acme.member)
    client.force_login(acme.member.user)
    response = client.post(f"/reviews/actions/{action.pk}/done/", {"done": "on"}, headers=HTMX)
    assert response.status_code == 200
    assert fresh(action).done and fresh(completed).state == "completed"
