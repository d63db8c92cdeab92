"""SPEC §8.4 and §9.2, webhooks through the API: admins only; the address goes through
core.egress when it is saved (a 400 on `url` that says why, nothing saved) and at every
attempt (the delivery fails with the reason, nothing is sent); deliveries are signed
`t=<unix>,v1=<HMAC of "<t>.<body>">`, which the README's receiver checks; the secret is
shown once and stored encrypted. Real listeners on 127.0.0.1 and a real DNS server."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from pathlib import Path

import pytest
from django.db import connection

from cascade.celery import app as celery_app
from core import crypto
from org.models import Webhook, WebhookDelivery
from org.webhooks import deliver_webhook, signature

from .helpers import API, client_for

pytestmark = pytest.mark.django_db
README = Path(__file__).resolve().parents[2] / "README.md"
PUBLIC_ONLY = "outbound requests go to the public internet only."


@pytest.fixture
def inline_tasks(monkeypatch):
    """Deliveries run in this process, as they do without a broker."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def make(admin, url, events=("kpi.update_recorded",)):
    return admin.post(f"{API}/webhooks/", {"url": url, "events": list(events)})


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:8699\\@93.184.216.34/steal", "Backslashes"),
        ("http://hook:secret@93.184.216.34/", "user name or password"),
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
        ("http://localhost/hook", "“localhost” resolves to 127.0.0.1, a loopback address"),
        ("http://10.1.2.3/hook", "a private address"),
        ("http://192.168.0.10/hook", "a private address"),
        ("http://100.64.0.1/hook", "a shared (carrier-grade NAT) address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://224.0.0.251/", "a multicast address"),
        ("http://240.0.0.1/", "a reserved address"),
        ("http://[::1]/hook", "a loopback address"),
        ("http://[fe80::1]/hook", "a link-local address"),
        ("http://[fd00::1]/hook", "a private (unique local) address"),
        ("http://[ff05::1]/hook", "a multicast address"),
        ("http://[::ffff:127.0.0.1]/hook", "carries 127.0.0.1, a loopback address"),
        ("http://[64:ff9b::7f00:1]/hook", "carries 127.0.0.1, a loopback address"),
        ("http://[64:ff9b::a9fe:a9fe]/", "carries 169.254.169.254, a link-local address"),
        ("http://[2002:7f00:1::]/hook", "carries 127.0.0.1, a loopback address"),
        ("http://[::127.0.0.1]/hook", "::127.0.0.1 is an IPv4-compatible address"),
        ("http://[2001::1]/hook", "a Teredo tunnel address"),
        ("ftp://93.184.216.34/hook", "http:// or https://"),
        ("not a url", "Enter a valid URL."),
    ],
)
def test_private_loopback_and_odd_targets_are_refused_with_the_reason(acme, url, says):
    response = make(client_for(acme.admin), url)
    assert response.status_code == 400, response.content
    (message,) = response.json()["url"]
    assert says in message
    assert not Webhook.objects.exists()


def test_the_backslash_address_is_refused_and_its_listener_hears_nothing(
    acme, tree, listen, inline_tasks, django_capture_on_commit_callbacks
):
    """`http://127.0.0.1:PORT\\@93.184.216.34/steal` was once saved (another parser read
    93.184.216.34 as its host) and the next recorded value was POSTed to 127.0.0.1."""
    loopback = listen()
    url = f"http://127.0.0.1:{loopback.port}\\@93.184.216.34/steal"
    response = make(client_for(acme.admin), url)
    assert response.status_code == 400
    assert response.json()["url"] == [
        "Backslashes (\\) are not allowed in an address: use slashes (/)."
    ]
    assert not Webhook.objects.exists()

    # One saved before the guard: every attempt goes through it too.
    Webhook.objects.create(
        organization=acme.org, url=url, secret="s" * 32, events=["kpi.update_recorded"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        recorded = client_for(acme.member).post(
            f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5}
        )
    assert recorded.status_code == 201
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 1, None)
    assert delivery.last_error.startswith("Backslashes")
    time.sleep(0.2)
    assert loopback.seen == []


def test_an_address_refused_at_an_attempt_fails_it_without_a_word_from_inside(acme, listen):
    """Saved while allowed (or before the guard), refused now: failed at once with the
    reason, no status — the service behind the address is never asked."""
    loopback = listen()
    hook = Webhook.objects.create(
        organization=acme.org,
        url=f"http://127.0.0.1:{loopback.port}/",
        secret="s" * 32,
        events=["review.completed"],
    )
    delivery = WebhookDelivery.objects.create(webhook=hook, event="review.completed", payload={})
    assert deliver_webhook(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("failed", 1, None)
    assert delivery.last_error == f"127.0.0.1 is a loopback address: {PUBLIC_ONLY}"
    assert loopback.seen == []


def test_a_name_that_rebinds_to_loopback_is_saved_then_refused_at_the_attempt(acme, dns, listen):
    loopback = listen()
    server = dns({"rebind.test": ["93.184.216.34", "127.0.0.1"]})
    made = make(client_for(acme.admin), f"http://rebind.test:{loopback.port}/hook")
    assert made.status_code == 201, made.content  # it resolved to a public address then
    hook = Webhook.objects.get()
    delivery = WebhookDelivery.objects.create(webhook=hook, event="kpi.update_recorded", payload={})
    assert deliver_webhook(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.last_error == (
        f"“rebind.test” resolves to 127.0.0.1, a loopback address: {PUBLIC_ONLY}"
    )
    assert delivery.last_status is None and loopback.seen == []
    assert server.asked == ["rebind.test", "rebind.test"]  # once saving, once the attempt


def test_a_host_that_stops_resolving_is_tried_again_not_given_up(acme, dns):
    dns({"gone.test": ["93.184.216.34", []]})  # then no answer at all
    assert make(client_for(acme.admin), "https://gone.test/hook").status_code == 201
    delivery = WebhookDelivery.objects.create(
        webhook=Webhook.objects.get(), event="kpi.update_recorded", payload={}
    )
    assert deliver_webhook(delivery.pk) == "pending"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status) == (1, None)
    assert delivery.last_error == "“gone.test” does not resolve: check the host name."


def test_webhooks_go_through_core_egress_when_saved_and_when_sent(acme, dns, listen, settings):
    """The name is known only to the test's DNS server, which core.egress asks: the
    delivery arrives because egress resolved it, once, and connected to that address,
    with the webhook's host in the Host header."""
    settings.OUTBOUND_ALLOW_PRIVATE = True
    receiver = listen()
    server = dns({"hooks.test": ["127.0.0.1"]})
    made = make(client_for(acme.admin), f"http://hooks.test:{receiver.port}/in")
    assert made.status_code == 201, made.content
    assert server.asked == ["hooks.test"]
    delivery = WebhookDelivery.objects.create(
        webhook=Webhook.objects.get(), event="kpi.update_recorded", payload={"data": {"x": 1}}
    )
    assert deliver_webhook(delivery.pk) == "delivered"
    assert server.asked == ["hooks.test", "hooks.test"]
    (seen,) = receiver.seen
    assert (seen.method, seen.path) == ("POST", "/in")
    assert seen.headers["Host"] == f"hooks.test:{receiver.port}"


def test_a_changed_address_is_checked_too_and_a_refusal_changes_nothing(acme, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    admin = client_for(acme.admin)
    hook_id = make(admin, "http://10.1.2.3/hook").json()["id"]
    settings.OUTBOUND_ALLOW_PRIVATE = False
    changed = admin.patch(f"{API}/webhooks/{hook_id}/", {"url": "http://[64:ff9b::7f00:1]/"})
    assert changed.status_code == 400
    assert "carries 127.0.0.1, a loopback address" in changed.json()["url"][0]
    assert Webhook.objects.get().url == "http://10.1.2.3/hook"


def test_a_delivery_is_signed_with_its_time_and_the_body(acme, listen, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    receiver = listen()
    made = make(client_for(acme.admin), f"http://127.0.0.1:{receiver.port}/in").json()
    delivery = WebhookDelivery.objects.create(
        webhook_id=made["id"], event="kpi.update_recorded", payload={"data": {"kpi": 7}}
    )
    assert deliver_webhook(delivery.pk) == "delivered"
    (seen,) = receiver.seen
    header = seen.headers["X-Cascade-Signature"]
    t, v1 = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", header).groups()
    assert abs(int(t) - time.time()) < 5
    expected = hmac.new(made["secret"].encode(), f"{t}.".encode() + seen.body, hashlib.sha256)
    assert hmac.compare_digest(v1, expected.hexdigest())
    assert header == signature(made["secret"], seen.body, int(t))


def receiver_example() -> dict:
    """The README's receiver (the ```python block that starts `# webhook_receiver.py`),
    run as a module is, without its server."""
    blocks = re.findall(r"```python\n(# webhook_receiver\.py\n.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "README: one ```python block starting `# webhook_receiver.py`"
    module: dict = {"__name__": "webhook_receiver"}
    exec(compile(blocks[0], "webhook_receiver.py", "exec"), module)
    return module


def test_the_readme_receiver_accepts_a_delivery_and_refuses_an_old_or_altered_one(
    acme, listen, settings
):
    is_from_cascade = receiver_example()["is_from_cascade"]
    settings.OUTBOUND_ALLOW_PRIVATE = True
    receiver = listen()
    made = make(client_for(acme.admin), f"http://127.0.0.1:{receiver.port}/in").json()
    delivery = WebhookDelivery.objects.create(
        webhook_id=made["id"], event="kpi.update_recorded", payload={"data": {"kpi": 7}}
    )
    assert deliver_webhook(delivery.pk) == "delivered"
    (seen,) = receiver.seen
    secret, body, header = made["secret"], seen.body, seen.headers["X-Cascade-Signature"]

    assert is_from_cascade(secret, body, header)
    six_minutes_ago = signature(secret, body, int(time.time()) - 6 * 60)
    assert not is_from_cascade(secret, body, six_minutes_ago)
    assert is_from_cascade(secret, body, signature(secret, body, int(time.time()) - 4 * 60))
    assert not is_from_cascade(secret, body.replace(b'"kpi":7', b'"kpi":8'), header)
    assert not is_from_cascade("another secret of 32 characters!", body, header)
    assert not is_from_cascade(secret, body, header.replace("t=", "t=1"))


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


def test_the_secret_is_stored_encrypted_under_the_first_key(acme, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.FIELD_ENCRYPTION_KEY = [crypto.Fernet.generate_key().decode()]
    made = make(client_for(acme.admin), "http://10.1.2.3/hook").json()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM org_webhook WHERE id = %s", [made["id"]])
        (stored,) = cursor.fetchone()
    assert made["secret"] not in stored
    key = crypto.Fernet(settings.FIELD_ENCRYPTION_KEY[0].encode())
    assert key.decrypt(stored.encode()).decode() == made["secret"]
    assert Webhook.objects.get().secret == made["secret"]


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
    assert not Webhook.objects.exists()
