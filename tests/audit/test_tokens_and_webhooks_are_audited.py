"""SPEC §9.2: making and revoking a service token, and making, changing and removing a
webhook, are each one entry of the audit log, on the People page and through the API —
and no entry ever holds a token's key or a webhook's secret."""

from __future__ import annotations

import json

import pytest

from audit.models import Entry
from org.models import ApiToken, Webhook
from org.tokens import service_token_create

from ..api.helpers import API, client_for

pytestmark = pytest.mark.django_db

CHANNELS = ("page", "api")
HOOK_URL = "https://10.0.0.7/cascade"


def entries(action: str) -> list[Entry]:
    return list(Entry.objects.filter(action=action).order_by("id"))


def holds(entry: Entry, text: str) -> bool:
    return text in json.dumps(entry.changes) or text in entry.object_label


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_new_service_token_is_one_entry_without_its_key(channel, acme, client):
    if channel == "api":
        response = client_for(acme.admin).post(
            f"{API}/tokens/", {"name": "Nightly BI sync", "scope": "read"}, format="json"
        )
        assert response.status_code == 201, response.content
        key = response.json()["key"]
    else:
        client.force_login(acme.admin.user)
        response = client.post(
            "/people/tokens/", {"token-name": "Nightly BI sync", "token-scope": "read"}
        )
        assert response.status_code == 200
        key = ApiToken.objects.get(name="Nightly BI sync").token_key  # its first characters
    token = ApiToken.objects.get(name="Nightly BI sync")
    [entry] = entries("token.created")
    assert (entry.object_type, entry.object_id) == ("token", str(token.pk))
    assert entry.changes["name"] == [None, "Nightly BI sync"]
    assert entry.changes["scope"] == [None, "read"]
    assert entry.changes["expiry"][0] is None and entry.changes["expiry"][1]
    assert (entry.actor_id, entry.organization_id) == (acme.admin.pk, acme.org.pk)
    assert not holds(entry, key) and not holds(entry, token.digest)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_revoked_service_token_is_one_entry(channel, acme, client):
    token, _ = service_token_create(actor=acme.admin, name="Old sync", scope="write")
    if channel == "api":
        response = client_for(acme.admin).delete(f"{API}/tokens/{token.pk}/")
        assert response.status_code == 204, response.content
    else:
        client.force_login(acme.admin.user)
        assert client.post(f"/people/tokens/{token.pk}/revoke/").status_code == 302
    [entry] = entries("token.revoked")
    assert entry.object_id == str(token.pk) and entry.object_label == "Old sync"
    assert entry.changes["name"] == ["Old sync", None]
    assert entry.changes["scope"] == ["write", None]


def test_a_refused_token_records_nothing(acme):
    before = Entry.objects.filter(action__startswith="token.").count()
    refused = client_for(acme.manager).post(f"{API}/tokens/", {"name": "Mine"}, format="json")
    invalid = client_for(acme.admin).post(
        f"{API}/tokens/", {"name": "x", "expires_on": "9999-12-31"}, format="json"
    )
    assert (refused.status_code, invalid.status_code) == (403, 400)
    assert Entry.objects.filter(action__startswith="token.").count() == before


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_new_webhook_is_one_entry_without_its_secret(channel, acme, client, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    if channel == "api":
        response = client_for(acme.admin).post(
            f"{API}/webhooks/", {"url": HOOK_URL, "events": ["review.completed"]}, format="json"
        )
        assert response.status_code == 201, response.content
    else:
        client.force_login(acme.admin.user)
        response = client.post(
            "/people/webhooks/", {"hook-url": HOOK_URL, "hook-events": ["review.completed"]}
        )
        assert response.status_code == 200
    hook = Webhook.objects.get()
    [entry] = entries("webhook.created")
    assert (entry.object_type, entry.object_id) == ("webhook", str(hook.pk))
    assert entry.changes == {
        "url": [None, HOOK_URL],
        "events": [None, ["review.completed"]],
        "is_active": [None, True],
    }
    assert not holds(entry, hook.secret)


def test_a_changed_webhook_is_one_entry_old_to_new_and_its_secret_stays_hidden(acme, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    admin = client_for(acme.admin)
    hook_id = admin.post(
        f"{API}/webhooks/", {"url": HOOK_URL, "events": ["review.completed"]}, format="json"
    ).json()["id"]
    new_secret = "a-new-secret-of-32-characters-xx"
    response = admin.patch(
        f"{API}/webhooks/{hook_id}/",
        {"url": "https://10.0.0.8/hooks", "is_active": False, "secret": new_secret},
        format="json",
    )
    assert response.status_code == 200, response.content
    [entry] = entries("webhook.updated")
    assert entry.changes == {
        "url": [HOOK_URL, "https://10.0.0.8/hooks"],
        "is_active": [True, False],
        "secret": ["(hidden)", "(changed)"],
    }
    assert not holds(entry, new_secret)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_removed_webhook_is_one_entry(channel, acme, client, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    hook_id = (
        client_for(acme.admin)
        .post(f"{API}/webhooks/", {"url": HOOK_URL, "events": ["review.completed"]}, format="json")
        .json()["id"]
    )
    if channel == "api":
        assert client_for(acme.admin).delete(f"{API}/webhooks/{hook_id}/").status_code == 204
    else:
        client.force_login(acme.admin.user)
        assert client.post(f"/people/webhooks/{hook_id}/delete/").status_code == 302
    [entry] = entries("webhook.deleted")
    assert entry.object_id == str(hook_id)
    assert entry.changes["url"] == [HOOK_URL, None]
