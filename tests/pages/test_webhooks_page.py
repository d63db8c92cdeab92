"""The People page's webhooks (SPEC §8.4): admins add one (its secret shown once),
see its delivery log, remove it; a private address is refused beside the field."""

from __future__ import annotations

from org.models import Webhook, WebhookDelivery

from .helpers import parse


def test_an_admin_adds_sees_and_removes_a_webhook(client, acme, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    client.force_login(acme.admin.user)
    page = client.post(
        "/people/webhooks/",
        {"hook-url": "https://10.0.0.7/cascade", "hook-events": ["review.completed"]},
    )
    assert page.status_code == 200
    hook = Webhook.objects.get()
    assert hook.events == ["review.completed"]
    assert hook.secret in page.content.decode()  # shown this once
    WebhookDelivery.objects.create(
        webhook=hook, event="review.completed", payload={}, attempts=2, last_status=500
    )
    again = client.get("/people/").content.decode()
    assert hook.secret not in again
    assert "Pending after 2 attempts (last answer 500)" in again
    removed = client.post(f"/people/webhooks/{hook.pk}/delete/")
    assert removed.status_code == 302 and not Webhook.objects.exists()


def test_a_private_address_is_refused_beside_the_field(client, acme):
    client.force_login(acme.admin.user)
    page = client.post(
        "/people/webhooks/",
        {"hook-url": "http://127.0.0.1:8000/x", "hook-events": ["review.completed"]},
    )
    assert page.status_code == 400
    field = parse(page).find(id="id_hook-url-error")
    assert field is not None and "private, loopback or reserved" in field.text
    assert not Webhook.objects.exists()


def test_others_may_not_add_webhooks(client, acme, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    client.force_login(acme.leader.user)
    response = client.post(
        "/people/webhooks/", {"hook-url": "https://10.0.0.7/", "hook-events": ["review.completed"]}
    )
    assert response.status_code == 403 and not Webhook.objects.exists()
