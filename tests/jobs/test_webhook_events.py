"""SPEC §9.7 webhooks, end to end: a real Celery worker delivers every event a write
tells of (goal.created, goal.updated, goal.state_changed, kpi.created, kpi.archived,
action.assigned, cycle.closed) once, signed, to a real HTTP receiver on 127.0.0.1, its
body shaped as the schema's `WebhookPayload` says; `ping` and `redeliver` go the same
way; and a receiver that takes 3 seconds adds under 100 ms to recording a value."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import statistics
import time
from collections import Counter

import pytest
from drf_spectacular.generators import SchemaGenerator
from openapi_schema_validator import OAS30ReadValidator

from org.models import WebhookDelivery
from reviews.services import review_start

from ..api.helpers import API, client_for
from ..outbound import Answer, Listener
from ..reviews.helpers import schedule
from .conftest import until

pytestmark = pytest.mark.django_db(transaction=True)

NEW_EVENTS = [
    "goal.created",
    "goal.updated",
    "goal.state_changed",
    "kpi.created",
    "kpi.archived",
    "action.assigned",
    "cycle.closed",
]


@pytest.fixture
def listen(settings):
    """Start receivers on 127.0.0.1 (allowed for the test), closed afterwards."""
    settings.OUTBOUND_ALLOW_PRIVATE = True
    started: list[Listener] = []

    def start(answers=()) -> Listener:
        started.append(Listener(answers=answers))
        return started[-1]

    yield start
    for listener in started:
        listener.close()


def hook_to(admin, receiver: Listener, events) -> dict:
    made = admin.post(
        f"{API}/webhooks/",
        {"url": f"http://127.0.0.1:{receiver.port}/hook", "events": list(events)},
        format="json",
    )
    assert made.status_code == 201, made.content
    return made.json()


def signed(seen, secret: str) -> bool:
    """The X-Cascade-Signature of a received request is the HMAC of its time and body."""
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", seen.headers["X-Cascade-Signature"])
    t, v1 = match.groups()
    expected = hmac.new(secret.encode(), f"{t}.".encode() + seen.body, hashlib.sha256)
    return hmac.compare_digest(v1, expected.hexdigest())


@pytest.fixture(scope="module")
def payload_validator():
    """A validator of the schema's `WebhookPayload`, as a response is read (its read-only
    fields required). OpenAPI 3.0 is JSON Schema draft 4 underneath: a `$ref` beside
    the document's keys is all that counts, and resolves within it."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return OAS30ReadValidator({**schema, "$ref": "#/components/schemas/WebhookPayload"})


def delivered_bodies(receiver: Listener) -> list[dict]:
    return [json.loads(seen.body) for seen in receiver.seen]


def test_each_new_event_is_delivered_once_signed_and_shaped_as_the_schema_says(
    worker, acme, tree, listen, payload_validator
):
    receiver = listen()
    admin = client_for(acme.admin)
    hook = hook_to(admin, receiver, NEW_EVENTS)
    leader = client_for(acme.leader)

    goal = leader.post(
        f"{API}/goals/",
        {
            "cycle": acme.cycle.pk,
            "level": "department",
            "title": "Answer every ticket the same day",
            "parent": tree.strategic.pk,
            "department": acme.support.pk,
            "external_id": "hr-17",
        },
        format="json",
    )
    assert goal.status_code == 201, goal.content
    goal_id = goal.json()["id"]
    done = leader.patch(f"{API}/goals/{goal_id}/", {"state": "done"}, format="json")
    assert done.status_code == 200, done.content
    kpi = leader.post(
        f"{API}/kpis/",
        {"goal": tree.individual.pk, "name": "Tickets closed", "unit": "tickets"}
        | {"baseline": 0, "target": 100},
        format="json",
    )
    assert kpi.status_code == 201, kpi.content
    kpi_id = kpi.json()["id"]
    archived = leader.patch(f"{API}/kpis/{kpi_id}/", {"state": "archived"}, format="json")
    assert archived.status_code == 200, archived.content
    review = schedule(acme.reviewer, cycle=acme.cycle)
    review_start(actor=acme.reviewer, review=review)
    action = client_for(acme.reviewer).post(
        f"{API}/reviews/{review.pk}/actions/",
        {"title": "Draft the rota", "owner": acme.member.pk, "due": "2027-04-10"},
        format="json",
    )
    assert action.status_code == 201, action.content
    closed = leader.post(f"{API}/cycles/{acme.cycle.pk}/close/")
    assert closed.status_code == 200, closed.content

    until(
        lambda: WebhookDelivery.objects.filter(state="delivered").count() == len(NEW_EVENTS),
        what="every event delivered",
    )
    time.sleep(1.0)  # a second attempt of any of them would arrive by now
    bodies = delivered_bodies(receiver)
    assert Counter(body["event"] for body in bodies) == Counter(NEW_EVENTS)
    assert len({body["id"] for body in bodies}) == len(NEW_EVENTS)
    assert WebhookDelivery.objects.filter(state="delivered").count() == len(NEW_EVENTS)
    assert not payload_validator.is_valid({"event": "goal.created", "data": {"goal": 1}})
    for seen, body in zip(receiver.seen, bodies, strict=True):
        assert signed(seen, hook["secret"]), body["event"]
        assert seen.headers["X-Cascade-Event"] == body["event"]
        payload_validator.validate(body)

    data = {body["event"]: body["data"] for body in bodies}
    assert data["goal.created"]["goal"] == goal_id
    assert data["goal.created"]["external_id"] == "hr-17"
    assert data["goal.created"]["parent"] == tree.strategic.pk
    assert data["goal.created"]["state"] == "active"
    assert data["goal.updated"]["changed"] == ["state"]
    assert data["goal.updated"]["state"] == "done"
    assert {k: data["goal.state_changed"][k] for k in ("goal", "from", "to")} == {
        "goal": goal_id,
        "from": "active",
        "to": "done",
    }
    assert (data["kpi.created"]["kpi"], data["kpi.created"]["state"]) == (kpi_id, "active")
    assert (data["kpi.archived"]["kpi"], data["kpi.archived"]["state"]) == (kpi_id, "archived")
    assert data["action.assigned"]["action"] == action.json()["id"]
    assert data["action.assigned"]["owner"] == acme.member.pk
    assert data["action.assigned"]["assigned_by"] == acme.reviewer.pk
    assert data["cycle.closed"]["cycle"] == acme.cycle.pk
    assert data["cycle.closed"]["closed_by"] == acme.leader.pk
    # what the API answers for the goal is what the webhook told (updated_at included)
    got = leader.get(f"{API}/goals/{goal_id}/").json()
    for field in ("title", "state", "progress", "health", "parent", "external_id"):
        assert data["goal.updated"][field] == got[field], field


def test_a_ping_reaches_the_receiver_signed_and_the_log_shows_it(worker, acme, listen):
    receiver = listen()
    admin = client_for(acme.admin)
    hook = hook_to(admin, receiver, ["review.completed"])

    answer = admin.post(f"{API}/webhooks/{hook['id']}/ping/")
    assert answer.status_code == 202, answer.content
    delivery = answer.json()
    assert (delivery["event"], delivery["state"]) == ("ping", "pending")
    assert delivery["payload"] == {
        "event": "ping",
        "data": {"webhook": hook["id"], "url": hook["url"], "events": ["review.completed"]},
    }

    until(lambda: receiver.seen, what="the ping received")
    [seen] = receiver.seen
    assert signed(seen, hook["secret"])
    body = json.loads(seen.body)
    assert (body["id"], body["event"]) == (delivery["id"], "ping")
    assert seen.headers["X-Cascade-Event"] == "ping"
    log = until(
        lambda: [
            d
            for d in admin.get(f"{API}/webhooks/{hook['id']}/deliveries/").json()["results"]
            if d["state"] == "delivered"
        ],
        what="the ping delivered in the log",
    )
    assert [(d["id"], d["attempts"], d["last_status"]) for d in log] == [(delivery["id"], 1, 200)]


def test_redeliver_sends_the_same_payload_again_under_a_new_id(worker, acme, tree, listen):
    receiver = listen([Answer(status=410)])  # the first answer: refused
    admin = client_for(acme.admin)
    hook = hook_to(admin, receiver, ["kpi.update_recorded"])
    client_for(acme.member).post(
        f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5}, format="json"
    )
    until(lambda: receiver.seen, what="the first attempt")
    first = WebhookDelivery.objects.get()

    again = admin.post(f"{API}/webhooks/{hook['id']}/deliveries/{first.pk}/redeliver/")
    assert again.status_code == 202, again.content
    redelivery = again.json()
    assert redelivery["id"] != first.pk
    assert (redelivery["event"], redelivery["payload"]) == (first.event, first.payload)

    until(
        lambda: WebhookDelivery.objects.filter(pk=redelivery["id"], state="delivered").exists(),
        what="the redelivery delivered",
    )
    bodies = delivered_bodies(receiver)
    redelivered = [body for body in bodies if body["id"] == redelivery["id"]]
    assert len(redelivered) == 1
    original = next(body for body in bodies if body["id"] == first.pk)
    assert (redelivered[0]["event"], redelivered[0]["data"]) == (
        original["event"],
        original["data"],
    )
    for seen in receiver.seen:
        assert signed(seen, hook["secret"])


def record_value(client, kpi_id: int, value: float) -> float:
    """Record a value through the API; the seconds it took to answer."""
    started = time.perf_counter()
    response = client.post(f"{API}/kpis/{kpi_id}/updates/", {"value": value}, format="json")
    took = time.perf_counter() - started
    assert response.status_code == 201, response.content
    return took


def test_a_receiver_taking_3_seconds_adds_under_100_ms_to_recording_a_value(
    worker, acme, tree, listen
):
    """The bound SPEC §9.7 sets, measured through the API with a real worker: each value
    with the slow receiver is recorded while the worker is in the middle of an attempt
    (the receiver has it and takes 3 s to answer); the medians of five are compared."""
    member = client_for(acme.member)
    kpi = tree.individual_kpi.pk
    record_value(member, kpi, 5)  # the first request of a kind warms caches
    without = [record_value(member, kpi, 5 + n / 10) for n in range(5)]
    receiver = listen([Answer(delay=3)] * 10)
    hook_to(client_for(acme.admin), receiver, ["kpi.update_recorded"])
    record_value(member, kpi, 6)
    with_slow_receiver = []
    for n in range(5):
        until(lambda n=n: len(receiver.seen) > n, what="an attempt under way")
        with_slow_receiver.append(record_value(member, kpi, 6 + n / 10))
    added = statistics.median(with_slow_receiver) - statistics.median(without)
    print(
        f"\nrecording a value, median of 5: {statistics.median(without) * 1000:.0f} ms, "
        f"{statistics.median(with_slow_receiver) * 1000:.0f} ms with a 3 s receiver "
        f"({added * 1000:+.0f} ms)"
    )
    assert added < 0.1, (without, with_slow_receiver)
