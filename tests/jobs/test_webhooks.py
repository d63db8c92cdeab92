"""SPEC §8.4 and §9.2 webhooks, end to end: a real Celery worker delivers, through
core.egress, to a real HTTP receiver this test starts on 127.0.0.1. Each attempt is
signed with its time and the body (`t=<unix>,v1=<HMAC of "<t>.<body>">`); a receiver
that fails twice gets the event a third time and keeps it once; the delivery log shows
every attempt. An address refused at the attempt is never reached."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from org.models import WebhookDelivery
from org.webhooks import deliver_webhook, webhook_create

from ..api.helpers import API, client_for
from .conftest import until

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """An HTTP server answering POSTs with the given statuses in turn (then 200), after
    `pause` seconds, keeping every request's headers and body."""

    def __init__(self, statuses: list[int], pause: float = 0.0):
        self.statuses, self.seen = list(statuses), []
        self.arrived = threading.Event()  # a request came (its answer may wait)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 — http.server's name
                receiver.arrived.set()
                time.sleep(pause)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.seen.append((status, dict(self.headers), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cascade"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1
    settings.WEBHOOK_RETRY_SECONDS = 0.3  # 0.3 s, then 0.6 s
    made = []

    def start(statuses: list[int], pause: float = 0.0) -> Receiver:
        made.append(Receiver(statuses, pause))
        return made[-1]

    yield start
    for r in made:
        r.close()


def test_a_receiver_failing_twice_gets_the_event_once_signed_and_the_log_shows_it(
    worker, acme, tree, receiver
):
    hook_at = receiver([500, 503])
    admin = client_for(acme.admin)
    created = admin.post(
        f"{API}/webhooks/", {"url": hook_at.url, "events": ["kpi.update_recorded"]}
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert len(secret) >= 32

    recorded = client_for(acme.member).post(
        f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5}
    )
    assert recorded.status_code == 201

    delivery = until(lambda: WebhookDelivery.objects.filter(state="delivered").first())
    assert [status for status, _, _ in hook_at.seen] == [500, 503, 200]
    bodies = {body for _, _, body in hook_at.seen}
    assert len(bodies) == 1  # the same event each time, kept once (2xx) by the receiver
    (body,) = bodies
    for _, headers, _ in hook_at.seen:
        t, v1 = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", headers["X-Cascade-Signature"]).groups()
        assert abs(int(t) - time.time()) < 30  # signed at the attempt
        expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256)
        assert hmac.compare_digest(v1, expected.hexdigest())
        assert headers["X-Cascade-Event"] == "kpi.update_recorded"
        assert headers["Content-Type"] == "application/json"
    event = json.loads(body)
    assert event["event"] == "kpi.update_recorded"
    assert event["data"]["kpi"] == tree.individual_kpi.pk
    assert event["data"]["update"] == recorded.json()["id"]
    assert (event["data"]["value"], event["data"]["progress"]) == (5.0, 50.0)

    assert (delivery.attempts, delivery.last_status, delivery.last_error) == (3, 200, "")
    log = admin.get(f"{API}/webhooks/{created.json()['id']}/deliveries/").json()["results"]
    assert [(d["state"], d["attempts"]) for d in log] == [("delivered", 3)]


def test_only_the_events_asked_for_are_sent(worker, acme, tree, receiver):
    hook_at = receiver([])
    admin = client_for(acme.admin)
    admin.post(f"{API}/webhooks/", {"url": hook_at.url, "events": ["review.completed"]})
    client_for(acme.member).post(f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5})
    time.sleep(1.0)
    assert hook_at.seen == [] and not WebhookDelivery.objects.exists()


def test_an_address_gone_private_is_not_reached_by_the_worker(
    worker, acme, tree, receiver, settings
):
    """Saved while private targets were allowed; now they are not: the worker's attempt
    is refused with the reason, and the receiver on 127.0.0.1 hears nothing."""
    hook_at = receiver([])
    admin = client_for(acme.admin)
    created = admin.post(
        f"{API}/webhooks/", {"url": hook_at.url, "events": ["kpi.update_recorded"]}
    )
    assert created.status_code == 201
    settings.OUTBOUND_ALLOW_PRIVATE = False
    client_for(acme.member).post(f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5})
    delivery = until(lambda: WebhookDelivery.objects.filter(state="failed").first())
    assert (delivery.attempts, delivery.last_status) == (1, None)
    assert delivery.last_error == (
        "127.0.0.1 is a loopback address: outbound requests go to the public internet only."
    )
    assert hook_at.seen == []


def test_an_attempt_under_way_holds_no_lock_and_a_second_task_skips_it(acme, receiver):
    """While a slow receiver takes its time the delivery is claimed (its next attempt
    pushed past the attempt's end), not locked: a second task for it does nothing, and
    the row can be locked and written meanwhile (PostgreSQL would refuse NOWAIT if the
    attempt held it, and SQLite's writers would queue behind the receiver)."""
    hook_at = receiver([], pause=2.0)
    hook = webhook_create(actor=acme.admin, url=hook_at.url, events=["review.completed"])
    delivery = WebhookDelivery.objects.create(
        webhook=hook, event="review.completed", payload={"event": "review.completed", "data": {}}
    )
    attempt = threading.Thread(target=deliver_webhook, args=(delivery.pk,))
    attempt.start()
    assert hook_at.arrived.wait(10)  # the attempt is under way
    began = time.monotonic()
    assert deliver_webhook(delivery.pk) == "skipped"
    with transaction.atomic():
        [claimed] = WebhookDelivery.objects.select_for_update(nowait=True).filter(pk=delivery.pk)
        claimed.save(update_fields=["last_error"])
    assert time.monotonic() - began < 1.0  # nothing waited on the receiver
    attempt.join(10)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, len(hook_at.seen)) == ("delivered", 1, 1)
