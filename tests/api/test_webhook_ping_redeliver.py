"""SPEC §9.7: webhooks/{id}/ping/ and webhooks/{id}/deliveries/{delivery_id}/redeliver/
through the API (admins only; another organization's webhook or delivery is a 404),
the schema's typed payload of every event, and a write that tells the webhooks reads
them once and writes its deliveries in one statement, however many webhooks listen.
Delivery by a real worker: tests/jobs/test_webhook_events.py."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from goals.services import goal_create
from org.models import DELIVERY_EVENTS, Webhook, WebhookDelivery
from org.webhooks import webhook_create

from .helpers import API, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(acme, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True  # never reached: no worker runs here
    return webhook_create(actor=acme.admin, url="http://10.0.0.7/hook", events=["cycle.closed"])


@pytest.fixture
def delivery(hook):
    payload = {"event": "cycle.closed", "data": {"cycle": 1}}
    return WebhookDelivery.objects.create(webhook=hook, event="cycle.closed", payload=payload)


def test_ping_answers_202_with_a_new_ping_delivery(acme, hook):
    answer = client_for(acme.admin).post(f"{API}/webhooks/{hook.pk}/ping/")
    assert answer.status_code == 202, answer.content
    made = WebhookDelivery.objects.get(event="ping")
    assert answer.json()["id"] == made.pk
    assert made.payload["data"] == {"webhook": hook.pk, "url": hook.url, "events": hook.events}


def test_redeliver_answers_202_with_a_new_delivery_of_the_same_payload(acme, hook, delivery):
    url = f"{API}/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver/"
    answer = client_for(acme.admin).post(url)
    assert answer.status_code == 202, answer.content
    again = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    assert answer.json()["id"] == again.pk
    assert (again.event, again.payload) == (delivery.event, delivery.payload)
    assert again.state == "pending"


@pytest.mark.parametrize("who", ["leader", "manager", "member", "reviewer"])
def test_only_admins_ping_or_redeliver(acme, hook, delivery, who):
    client = client_for(getattr(acme, who))
    assert client.post(f"{API}/webhooks/{hook.pk}/ping/").status_code == 403
    url = f"{API}/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver/"
    assert client.post(url).status_code == 403
    assert WebhookDelivery.objects.count() == 1


def test_another_organizations_webhook_or_delivery_is_a_404(acme, hook, delivery, outsider):
    theirs = client_for(outsider)
    assert theirs.post(f"{API}/webhooks/{hook.pk}/ping/").status_code == 404
    url = f"{API}/webhooks/{hook.pk}/deliveries/{delivery.pk}/redeliver/"
    assert theirs.post(url).status_code == 404
    # a delivery of another organization's webhook, asked under one's own
    own = Webhook.objects.create(
        organization=outsider.organization, url="http://10.0.0.8/", secret="s" * 32, events=[]
    )
    url = f"{API}/webhooks/{own.pk}/deliveries/{delivery.pk}/redeliver/"
    assert theirs.post(url).status_code == 404
    assert WebhookDelivery.objects.count() == 1


def test_the_schema_types_the_payload_of_every_event_and_the_two_new_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    payload = components["WebhookPayload"]
    assert set(payload["discriminator"]["mapping"]) == {event for event, _ in DELIVERY_EVENTS}
    for ref in payload["discriminator"]["mapping"].values():
        variant = components[ref.rsplit("/", 1)[1]]
        assert set(variant["required"]) == {"event", "data"}
        data = components[variant["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
        assert data["properties"], ref
    for path in ("webhooks/{id}/ping/", "webhooks/{id}/deliveries/{delivery_id}/redeliver/"):
        answers = schema["paths"][f"{API}/{path}"]["post"]["responses"]
        assert answers["202"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/WebhookDelivery"
        }


def goal_statements(acme, n: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title=f"Goal {n}")
    return sum("SAVEPOINT" not in query["sql"] for query in queries)


def test_a_goal_write_reads_the_webhooks_once_whatever_their_number(acme, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    every = ["goal.created", "goal.health_changed"]
    webhook_create(actor=acme.admin, url="http://10.0.0.7/a", events=every)
    goal_statements(acme, 0)  # first-use caches
    one = goal_statements(acme, 1)
    for n in range(4):
        webhook_create(actor=acme.admin, url=f"http://10.0.0.7/{n}", events=every)
    five = goal_statements(acme, 2)
    assert one == five
    assert WebhookDelivery.objects.filter(event="goal.created").count() == 1 + 1 + 5
