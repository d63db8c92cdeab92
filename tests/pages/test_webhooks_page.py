"""The People page's webhooks (SPEC §8.4, §9.2): admins add one (its secret shown once),
see its delivery log with the reason an attempt was refused, remove it; an address
core.egress refuses is refused beside the field, and nothing is saved."""

from __future__ import annotations

import pytest

from org.models import Webhook, WebhookDelivery
from org.webhooks import deliver_webhook

from .helpers import parse

PUBLIC_ONLY = "outbound requests go to the public internet only."


def test_an_admin_adds_sees_and_removes_a_webhook(client, acme, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
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
    assert "X-Cascade-Signature: t=" in again  # how to check a delivery
    removed = client.post(f"/people/webhooks/{hook.pk}/delete/")
    assert removed.status_code == 302 and not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:8000/x", f"127.0.0.1 is a loopback address: {PUBLIC_ONLY}"),
        ("http://[64:ff9b::a9fe:a9fe]/", "carries 169.254.169.254, a link-local address"),
        ("http://127.0.0.1:8699\\@93.184.216.34/steal", "Backslashes (\\) are not allowed"),
    ],
)
def test_a_refused_address_is_refused_beside_the_field(client, acme, url, says):
    client.force_login(acme.admin.user)
    page = client.post("/people/webhooks/", {"hook-url": url, "hook-events": ["review.completed"]})
    assert page.status_code == 400
    field = parse(page).find(id="id_hook-url_error")
    assert field is not None and says in field.text
    assert not Webhook.objects.exists()


def test_a_delivery_refused_at_its_attempt_shows_why(client, acme):
    hook = Webhook.objects.create(
        organization=acme.org, url="http://10.0.0.7/", secret="s" * 32, events=["x"]
    )
    delivery = WebhookDelivery.objects.create(webhook=hook, event="review.completed", payload={})
    assert deliver_webhook(delivery.pk) == "failed"
    client.force_login(acme.admin.user)
    page = client.get("/people/").content.decode()
    assert f"Failed after 1 attempt: 10.0.0.7 is a private address: {PUBLIC_ONLY}" in page


def test_others_may_not_add_webhooks(client, acme, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    client.force_login(acme.leader.user)
    response = client.post(
        "/people/webhooks/", {"hook-url": "https://10.0.0.7/", "hook-events": ["review.completed"]}
    )
    assert response.status_code == 403 and not Webhook.objects.exists()


def test_an_admin_sends_a_test_and_redelivers_from_the_page(client, acme):
    hook = Webhook.objects.create(
        organization=acme.org, url="https://10.0.0.7/", secret="s" * 32, events=["cycle.closed"]
    )
    first = WebhookDelivery.objects.create(
        webhook=hook, event="cycle.closed", payload={"event": "cycle.closed", "data": {}}
    )
    client.force_login(acme.admin.user)
    page = parse(client.get("/people/"))
    ping = page.find(action=f"/people/webhooks/{hook.pk}/ping/")
    assert ping is not None and "Send test" in ping.text
    redeliver = page.find(action=f"/people/webhooks/{hook.pk}/deliveries/{first.pk}/redeliver/")
    assert redeliver is not None and "Redeliver" in redeliver.text
    assert "again?" in redeliver.attrs["hx-confirm"]  # asked before it is sent twice

    assert client.post(f"/people/webhooks/{hook.pk}/ping/").status_code == 302
    assert WebhookDelivery.objects.filter(webhook=hook, event="ping").count() == 1
    url = f"/people/webhooks/{hook.pk}/deliveries/{first.pk}/redeliver/"
    assert client.post(url).status_code == 302
    again = WebhookDelivery.objects.filter(event="cycle.closed").exclude(pk=first.pk).get()
    assert again.payload == first.payload
    page = client.get("/people/").content.decode()
    assert "ping · Pending after 0 attempts" in page


def test_others_may_not_send_tests_or_redeliver_and_other_organizations_are_404(
    client, acme, outsider
):
    hook = Webhook.objects.create(
        organization=acme.org, url="https://10.0.0.7/", secret="s" * 32, events=["cycle.closed"]
    )
    first = WebhookDelivery.objects.create(webhook=hook, event="cycle.closed", payload={})
    ping, redeliver = (
        f"/people/webhooks/{hook.pk}/ping/",
        f"/people/webhooks/{hook.pk}/deliveries/{first.pk}/redeliver/",
    )
    client.force_login(acme.leader.user)
    assert client.post(ping).status_code == 403 and client.post(redeliver).status_code == 403
    client.force_login(outsider.user)
    assert client.post(ping).status_code == 404 and client.post(redeliver).status_code == 404
    assert WebhookDelivery.objects.count() == 1
