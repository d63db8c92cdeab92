"""The reviews/ API (SPEC §4): every endpoint, every role, over HTTP.

Allowed writes answer 201/200; a forbidden one 403 and the database is unchanged;
another organization's review is a 404; anonymous callers get a 401; bad input and
any change to a completed review (except marking an action done) are a 400.

Who may schedule a review of which scope, and the input scheduling refuses:
test_review_scheduling_api.py; what the reads cost in queries: test_review_api_query_counts.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from kpis.models import KpiUpdate
from kpis.rollup import cycle_rollup
from reviews.models import Review, ReviewItem
from reviews.services import action_create, review_complete, review_start

from ..api.helpers import API, client_for, is_id, is_number
from ..factories import GoalFactory
from .helpers import REVIEW_FIELDS, WHO, at, fresh, instant, review_body, rows, schedule

pytestmark = pytest.mark.django_db

ITEM_FIELDS = {"id", "goal", "progress_snapshot", "health_snapshot", "progress", "health",
               "assessment", "win", "notes", "decision"}  # fmt: skip
ACTION_FIELDS = {"id", "title", "owner", "due", "done"}


@pytest.fixture
def support_review(acme, tree):
    """A scheduled review of Customer Support (max's department), by the reviewer."""
    return schedule(acme.reviewer, cycle=acme.cycle, department=acme.support)


@pytest.fixture
def running(acme, support_review):
    """The same review started, with one action owned by sam."""
    review = review_start(actor=acme.reviewer, review=support_review)
    action_create(
        actor=acme.reviewer, review=review, title="Share the playbook", owner=acme.member,
        due=dt.date(2027, 4, 15), item=review.items.order_by("position").first(),
    )  # fmt: skip
    return review


@pytest.fixture
def completed(acme, running):
    return review_complete(actor=acme.reviewer, review=running)


def urls(review: Review) -> dict[str, str]:
    item = review.items.order_by("position").first()
    action = review.actions.first()
    base = f"{API}/reviews/{review.pk}"
    return {
        "review": f"{base}/",
        "start": f"{base}/start/",
        "complete": f"{base}/complete/",
        "items": f"{base}/items/",
        "item": f"{base}/items/{item.pk if item else 0}/",
        "actions": f"{base}/actions/",
        "action": f"{base}/actions/{action.pk if action else 0}/",
    }


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("who", WHO)
def test_everyone_in_the_organization_reads_reviews_items_and_actions(acme, running, who):
    client = client_for(getattr(acme, who))
    u = urls(running)
    listing = client.get(f"{API}/reviews/")
    assert listing.status_code == 200
    body = listing.json()
    assert set(body) >= {"count", "next", "previous", "results"}
    assert [r["id"] for r in body["results"]] == [running.pk]
    for name in ("review", "items", "actions", "action"):
        assert client.get(u[name]).status_code == 200, name


def test_a_review_reads_as_spec_fields(acme, running):
    data = client_for(acme.member).get(urls(running)["review"]).json()
    assert set(data) >= REVIEW_FIELDS
    assert data["state"] == "in_progress" and data["department"] == acme.support.pk
    assert data["goal"] is None and data["facilitator"] == acme.reviewer.pk
    assert all(is_id(data[f]) for f in ("id", "cycle", "facilitator"))
    assert instant(data["scheduled_for"]) == at(2027, 3, 29)


def test_items_expose_exactly_the_spec_fields_in_agenda_order(acme, tree, running):
    data = client_for(acme.member).get(urls(running)["items"]).json()
    assert data["count"] == 2
    items = data["results"]
    assert all(set(item) == ITEM_FIELDS for item in items)
    positions = dict(ReviewItem.objects.filter(review=running).values_list("pk", "position"))
    assert [positions[i["id"]] for i in items] == sorted(positions.values())
    by_goal = {item["goal"]: item for item in items}
    assert set(by_goal) == {tree.department.pk, tree.individual.pk}
    for item in items:
        assert is_number(item["progress_snapshot"]) and is_number(item["progress"])
        assert item["assessment"] == "" and item["win"] is False


def test_items_show_the_snapshot_beside_the_live_numbers(acme, tree, running):
    client = client_for(acme.member)
    KpiUpdate.objects.create(
        kpi=tree.individual_kpi, value=5, date=dt.date(2026, 1, 1), author=acme.member
    )
    cycle_rollup(acme.cycle)
    item = next(
        i
        for i in client.get(urls(running)["items"]).json()["results"]
        if i["goal"] == tree.individual.pk
    )
    assert item["progress_snapshot"] == 0.0 and item["progress"] == 50.0
    assert item["health"] == fresh(tree.individual).health
    assert item["health_snapshot"] == ReviewItem.objects.get(pk=item["id"]).health_snapshot


def test_actions_read_as_spec_fields(acme, running):
    client = client_for(acme.member)
    listing = client.get(urls(running)["actions"]).json()
    assert listing["count"] == 1
    one = client.get(urls(running)["action"]).json()
    assert listing["results"][0] == one
    assert set(one) >= ACTION_FIELDS
    assert one["owner"] == acme.member.pk and one["due"] == "2027-04-15" and one["done"] is False


# ---------------------------------------------------------------- anonymous, other org

ENDPOINTS = [
    ("get", "list"), ("post", "list"), ("get", "review"), ("patch", "review"),
    ("post", "start"), ("post", "complete"), ("get", "items"), ("patch", "item"),
    ("get", "actions"), ("post", "actions"), ("get", "action"), ("patch", "action"),
]  # fmt: skip


def call(client, method, url, body=None):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, body or {}, format="json")


@pytest.mark.parametrize(("method", "name"), ENDPOINTS)
def test_anonymous_callers_get_401_and_nothing_changes(acme, running, method, name):
    url = f"{API}/reviews/" if name == "list" else urls(running)[name]
    before = rows()
    response = call(APIClient(), method, url, {"title": "X", "done": True})
    assert response.status_code == 401
    assert rows() == before


@pytest.mark.parametrize(("method", "name"), [e for e in ENDPOINTS if e[1] != "list"])
def test_another_organizations_admin_finds_no_such_review(acme, running, outsider, method, name):
    before = rows()
    response = call(client_for(outsider), method, urls(running)[name], {"done": True})
    assert response.status_code == 404
    assert rows() == before


def test_another_organizations_reviews_are_not_listed(acme, running, outsider):
    assert client_for(outsider).get(f"{API}/reviews/").json()["count"] == 0


def test_an_item_or_action_of_another_review_is_a_404(acme, tree, running):
    other = review_start(
        actor=acme.admin, review=schedule(acme.admin, cycle=acme.cycle, goal=tree.individual)
    )
    client = client_for(acme.admin)
    item = running.items.first()
    action = running.actions.first()
    base = f"{API}/reviews/{other.pk}"
    before = rows()
    assert (
        client.patch(f"{base}/items/{item.pk}/", {"notes": "x"}, format="json").status_code == 404
    )
    assert client.get(f"{base}/actions/{action.pk}/").status_code == 404
    assert (
        client.patch(f"{base}/actions/{action.pk}/", {"done": True}, format="json").status_code
        == 404
    )
    assert client.get(f"{API}/reviews/999999/items/").status_code == 404
    assert rows() == before


@pytest.mark.parametrize("field", ["cycle", "goal", "department", "facilitator"])
def test_another_organizations_id_in_a_body_is_a_400_on_that_field(acme, tree, outsider, field):
    foreign = {
        "cycle": outsider.cycle.pk,
        "goal": GoalFactory(cycle=outsider.cycle).pk,
        "department": outsider.department.pk,
        "facilitator": outsider.pk,
    }[field]
    before = rows()
    response = client_for(acme.admin).post(
        f"{API}/reviews/", review_body(acme, **{field: foreign}), format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert rows() == before


def test_another_organizations_person_as_an_action_owner_is_a_400(acme, running, outsider):
    before = rows()
    client = client_for(acme.reviewer)
    response = client.post(
        urls(running)["actions"],
        {"title": "X", "owner": outsider.pk, "due": "2027-04-01"},
        format="json",
    )
    assert response.status_code == 400 and "owner" in response.json()
    response = client.patch(urls(running)["action"], {"owner": outsider.pk}, format="json")
    assert response.status_code == 400 and "owner" in response.json()
    assert rows() == before


# ---------------------------------------------------------------- running, per role

RUNS = ("patch review", "start", "patch item", "post action", "patch action", "complete")


def run_request(client, review: Review, step: str):
    u = urls(review)
    return {
        "patch review": lambda: client.patch(u["review"], {"title": "Renamed"}, format="json"),
        "start": lambda: client.post(u["start"]),
        "patch item": lambda: client.patch(
            u["item"],
            {"assessment": "at_risk", "win": True, "notes": "n", "decision": "d"},
            format="json",
        ),
        "post action": lambda: client.post(
            u["actions"],
            {"title": "Call the vendor", "owner": review.facilitator_id, "due": "2027-04-01"},
            format="json",
        ),
        "patch action": lambda: client.patch(
            u["action"], {"title": "Call both vendors", "due": "2027-04-02"}, format="json"
        ),
        "complete": lambda: client.post(u["complete"]),
    }[step]()


@pytest.mark.parametrize("who", WHO)
def test_running_the_support_review_per_role(acme, support_review, who):
    """Max runs Support's review; admin, leader, reviewer run any; nobody else."""
    me = getattr(acme, who)
    client = client_for(me)
    allowed = who in ("admin", "leader", "reviewer", "manager")
    review = support_review
    for step in RUNS:
        if not allowed:
            # the reviewer moves the review into the state each step needs
            if step == "patch item" and review.state == "scheduled":
                review = review_start(actor=acme.reviewer, review=review)
            if step == "patch action" and not review.actions.exists():
                action_create(
                    actor=acme.reviewer, review=review, title="Reviewer's",
                    owner=acme.reviewer, due=dt.date(2027, 4, 1),
                )  # fmt: skip
            before = rows()
            response = run_request(client, review, step)
            assert response.status_code == 403, (step, response.content)
            assert rows() == before, step
        else:
            response = run_request(client, review, step)
            assert response.status_code in (200, 201), (step, response.content)
            assert response.status_code == (201 if step == "post action" else 200)
            review = fresh(review)
    if allowed:
        review = fresh(review)
        assert (review.title, review.state) == ("Renamed", "completed")
        item = review.items.order_by("position").first()
        assert (item.assessment, item.win, item.notes, item.decision) == ("at_risk", True, "n", "d")
        assert review.actions.get().title == "Call both vendors"


def test_a_forbidden_and_invalid_item_edit_is_a_403(acme, running):
    before = rows()
    response = client_for(acme.marketing_manager).patch(
        urls(running)["item"], {"assessment": "brilliant"}, format="json"
    )
    assert response.status_code == 403
    assert rows() == before


def test_a_manager_may_not_move_a_review_out_of_their_department(acme, support_review):
    client = client_for(acme.manager)
    before = rows()
    for body in ({"department": acme.marketing.pk}, {"department": None}):
        response = client.patch(urls(support_review)["review"], body, format="json")
        assert response.status_code == 403, body
    assert rows() == before


def test_start_only_when_scheduled_complete_only_when_in_progress_else_a_409(acme, support_review):
    client = client_for(acme.reviewer)
    u = urls(support_review)
    before = rows()
    response = client.post(u["complete"])
    assert response.status_code == 409 and "state" in response.json()
    assert rows() == before

    response = client.post(u["start"])
    assert response.status_code == 200
    assert response.json()["state"] == "in_progress" and response.json()["id"] == support_review.pk
    before = rows()
    assert client.post(u["start"]).status_code == 409
    assert rows() == before

    response = client.post(u["complete"])
    assert response.status_code == 200 and response.json()["state"] == "completed"
    before = rows()
    assert client.post(u["complete"]).status_code == 409
    assert client.post(u["start"]).status_code == 409
    assert rows() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"assessment": "brilliant"}, "assessment"),
        ({"win": "perhaps"}, "win"),
        ({"notes": "x" * 10001}, "notes"),
        ({"decision": "x" * 10001}, "decision"),
    ],
)
def test_bad_item_input_is_a_400(acme, running, body, field):
    before = rows()
    response = client_for(acme.reviewer).patch(urls(running)["item"], body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert rows() == before


def test_item_snapshot_and_goal_are_read_only(acme, running):
    u = urls(running)
    item = running.items.order_by("position").first()
    response = client_for(acme.reviewer).patch(
        u["item"],
        {"progress_snapshot": 99, "health_snapshot": "done", "goal": 1, "notes": "ok"},
        format="json",
    )
    assert response.status_code in (200, 400)
    after = fresh(item)
    assert (after.progress_snapshot, after.health_snapshot, after.goal_id) == (
        item.progress_snapshot,
        item.health_snapshot,
        item.goal_id,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"owner": 99999, "title": "X", "due": "2027-04-01"}, "owner"),
        ({"title": "", "due": "2027-04-01"}, "title"),
        ({"title": "X", "due": "the first"}, "due"),
        ({"title": "X"}, "due"),
        ({"title": "X", "due": "2027-04-01", "item": 99999}, "item"),
    ],
)
def test_bad_action_input_is_a_400(acme, running, body, field):
    body = {"owner": acme.member.pk} | body if "owner" not in body else body
    before = rows()
    response = client_for(acme.reviewer).post(urls(running)["actions"], body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert rows() == before


def test_an_action_may_name_an_item_of_its_review_only(acme, tree, running):
    other = review_start(
        actor=acme.admin, review=schedule(acme.admin, cycle=acme.cycle, goal=tree.individual)
    )
    client = client_for(acme.reviewer)
    body = {"title": "X", "owner": acme.member.pk, "due": "2027-04-01"}
    before = rows()
    response = client.post(
        urls(running)["actions"], body | {"item": other.items.get().pk}, format="json"
    )
    assert response.status_code == 400 and "item" in response.json()
    assert rows() == before
    item = running.items.order_by("position").last()
    response = client.post(urls(running)["actions"], body | {"item": item.pk}, format="json")
    assert response.status_code == 201 and response.json()["item"] == item.pk


# ---------------------------------------------------------------- marking actions done


def test_the_actions_owner_marks_it_done_but_changes_nothing_else(acme, running):
    client = client_for(acme.member)  # sam owns the action and runs no reviews
    u = urls(running)
    before = rows()
    for body in ({"title": "Mine"}, {"done": True, "title": "Mine"}, {"due": "2027-05-01"}):
        assert client.patch(u["action"], body, format="json").status_code == 403, body
    assert rows() == before
    response = client.patch(u["action"], {"done": True}, format="json")
    assert response.status_code == 200 and response.json()["done"] is True
    assert running.actions.get().done_at is not None
    response = client.patch(u["action"], {"done": False}, format="json")
    assert response.status_code == 200 and response.json()["done"] is False


def test_someone_elses_action_may_not_be_marked_done(acme, running):
    before = rows()
    for who in ("tier2_member", "marketing_manager", "marketing_member"):
        response = client_for(getattr(acme, who)).patch(
            urls(running)["action"], {"done": True}, format="json"
        )
        assert response.status_code == 403, who
    assert rows() == before


# ---------------------------------------------------------------- a completed review

COMPLETED_EDITS = {
    "review title": ("patch", "review", {"title": "Redo"}),
    "review time": ("patch", "review", {"scheduled_for": "2027-04-01T10:00:00Z"}),
    "item notes": ("patch", "item", {"notes": "Late thought"}),
    "item assessment": ("patch", "item", {"assessment": "off_track"}),
    "new action": ("post", "actions", {"title": "More", "owner": 0, "due": "2027-05-01"}),
    "action title": ("patch", "action", {"title": "Other"}),
    "action due": ("patch", "action", {"due": "2027-06-01"}),
    "action title and done": ("patch", "action", {"title": "Other", "done": True}),
    "start": ("post", "start", None),
    "complete": ("post", "complete", None),
}


@pytest.mark.parametrize("edit", COMPLETED_EDITS)
def test_a_completed_review_refuses_every_change_with_a_409(acme, completed, edit):
    method, name, body = COMPLETED_EDITS[edit]
    if body and body.get("owner") == 0:
        body = body | {"owner": acme.member.pk}
    before = rows()
    response = call(client_for(acme.reviewer), method, urls(completed)[name], body)
    assert response.status_code == 409, response.content
    assert rows() == before


@pytest.mark.parametrize("who", ["member", "reviewer", "manager"])
def test_a_completed_reviews_action_may_still_be_marked_done(acme, completed, who):
    response = client_for(getattr(acme, who)).patch(
        urls(completed)["action"], {"done": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["done"] is True
    assert completed.actions.get().done and fresh(completed).state == "completed"


# ---------------------------------------------------------------- the whole lifecycle


def test_the_whole_lifecycle_over_http(acme, tree):
    admin, max_ = client_for(acme.admin), client_for(acme.manager)
    sam = client_for(acme.member)
    # max schedules Support's quarterly check-in, facilitated by the reviewer
    response = max_.post(
        f"{API}/reviews/",
        review_body(acme, department=acme.support.pk, facilitator=acme.reviewer.pk),
        format="json",
    )
    assert response.status_code == 201, response.json()
    review_id = response.json()["id"]
    base = f"{API}/reviews/{review_id}"
    assert admin.get(f"{base}/items/").json()["count"] == 0  # nothing walked before the start
    assert max_.patch(f"{base}/", {"title": "Support Q1"}, format="json").status_code == 200

    # the reviewer starts it: every goal of Support is snapshotted
    rey = client_for(acme.reviewer)
    started = rey.post(f"{base}/start/")
    assert started.status_code == 200 and started.json()["state"] == "in_progress"
    assert started.json()["title"] == "Support Q1"
    items = rey.get(f"{base}/items/").json()["results"]
    assert {i["goal"] for i in items} == {tree.department.pk, tree.individual.pk}

    # walk: record, add an action for sam
    first = items[0]
    response = rey.patch(
        f"{base}/items/{first['id']}/",
        {"assessment": "at_risk", "win": True, "notes": "Better", "decision": "Second shift"},
        format="json",
    )
    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("assessment", "win", "notes", "decision")} == {
        "assessment": "at_risk", "win": True, "notes": "Better", "decision": "Second shift"
    }  # fmt: skip
    response = rey.post(
        f"{base}/actions/",
        {"title": "Draft the rota", "owner": acme.member.pk, "due": "2027-04-10",
         "item": first["id"]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    action_id = response.json()["id"]
    assert rey.get(f"{base}/actions/{action_id}/").json()["title"] == "Draft the rota"
    response = rey.patch(f"{base}/actions/{action_id}/", {"due": "2027-04-12"}, format="json")
    assert response.status_code == 200 and response.json()["due"] == "2027-04-12"

    # complete: frozen, but sam still ticks the action off
    completed = rey.post(f"{base}/complete/")
    assert completed.status_code == 200 and completed.json()["state"] == "completed"
    assert admin.get(f"{base}/").json()["state"] == "completed"
    assert (
        rey.patch(f"{base}/items/{first['id']}/", {"notes": "x"}, format="json").status_code == 409
    )
    response = sam.patch(f"{base}/actions/{action_id}/", {"done": True}, format="json")
    assert response.status_code == 200 and response.json()["done"] is True
    listed = sam.get(f"{API}/reviews/").json()["results"]
    assert [(r["id"], r["state"]) for r in listed] == [(review_id, "completed")]
