"""SPEC §8.4 webhooks through the API: admins only; an address on a private, loopback
or link-local network is refused unless WEBHOOK_ALLOW_PRIVATE (the SSRF guard), and
checked again before each attempt; the secret is shown once."""

from __future__ import annotations

import pytest

from org.models import Webhook, WebhookDelivery
from org.webhooks import deliver_webhook

from .helpers import API, client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "ftp://203.0.113.5/hook",
        "not a url",
    ],
)
def test_private_loopback_and_odd_targets_are_refused(acme, url):
    response = client_for(acme.admin).post(
        f"{API}/webhooks/", {"url": url, "events": ["kpi.update_recorded"]}
    )
    assert response.status_code == 400, response.content
    assert "url" in response.json()
    assert not Webhook.objects.exists()


def test_with_private_targets_allowed_an_admin_makes_one_and_sees_its_secret_once(acme, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    admin = client_for(acme.admin)
    made = admin.post(
        f"{API}/webhooks/",
        {"url": "http://10.1.2.3/hook", "events": ["goal.health_changed", "review.completed"]},
    )
    assert made.status_code == 201, made.content
    assert made["Location"].endswith(f"{API}/webhooks/{made.json()['id']}/")
    assert made.json()["secret"]
    listed = admin.get(f"{API}/webhooks/").json()["results"]
    assert [h["events"] for h in listed] == [["goal.health_changed", "review.completed"]]
    assert "secret" not in listed[0]


@pytest.mark.parametrize("role", ["leader", "manager", "member", "reviewer"])
def test_only_admins_manage_webhooks(acme, role, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    client = client_for(getattr(acme, role))
    assert client.get(f"{API}/webhooks/").status_code == 403
    made = client.post(
        f"{API}/webhooks/", {"url": "http://10.1.2.3/", "events": ["review.completed"]}
    )
    assert made.status_code == 403 and not Webhook.objects.exists()


def test_bad_events_are_a_400(acme, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    response = client_for(acme.admin).post(
        f"{API}/webhooks/", {"url": "http://10.1.2.3/", "events": ["goal.deleted"]}
    )
    assert response.status_code == 400 and "events" in response.json()


def test_an_address_gone_private_is_refused_when_sending(acme, settings):
    """Checked again before every attempt (DNS may change): refused, logged, not sent."""
    hook = Webhook.objects.create(
        organization=acme.org, url="http://127.0.0.1:9/", secret="s" * 32, events=["x"]
    )
    delivery = WebhookDelivery.objects.create(webhook=hook, event="review.completed", payload={})
    assert deliver_webhook(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 1, None)
    assert "private, loopback or reserved" in delivery.last_error
