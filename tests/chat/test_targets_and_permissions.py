"""Who may manage chat targets, and what a target keeps (SPEC §9.6): admins any, of the
whole organization or a department; a manager those of their own departments (and
the ones below) and sees only those; anyone else is refused and nothing changes;
another organization's are invisible. An address that is not https:// on the public
internet is refused with a clear message; the address is never shown whole, never in
an answer, never in the audit log."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import Entry
from org.chat import (
    chat_target_create,
    chat_target_delete,
    chat_target_test,
    chat_target_update,
    deliver_chat_message,
    url_hint,
)
from org.models import ChatTarget

from ..api.helpers import API, client_for
from ..outbound import Answer

pytestmark = pytest.mark.django_db

URL = "https://10.0.0.7/services/T0001/B0001/NyanNyanSecretPart1234"
EVENTS = ["checkin.due", "goal.health_changed", "review.completed"]
PUBLIC_ONLY = "outbound requests go to the public internet only."


@pytest.fixture(autouse=True)
def private_allowed(settings):
    """10.0.0.7 stands for the chat service (no request is sent in these tests)."""
    settings.OUTBOUND_ALLOW_PRIVATE = True


def make(actor, department=None, **fields):
    return chat_target_create(
        actor=actor,
        platform=fields.pop("platform", "slack"),
        name=fields.pop("name", "#goals"),
        url=fields.pop("url", URL),
        department=department,
        events=fields.pop("events", EVENTS),
        **fields,
    )


def snapshot():
    return list(ChatTarget.objects.order_by("id").values())


def test_an_admin_manages_targets_of_the_organization_and_of_any_department(acme):
    everyone = make(acme.admin)
    marketing = make(acme.admin, acme.marketing, platform="teams", name="Marketing")
    assert (everyone.department, marketing.department) == (None, acme.marketing)
    chat_target_update(actor=acme.admin, target=marketing, department=acme.support)
    chat_target_delete(actor=acme.admin, target=everyone)
    assert list(ChatTarget.objects.values_list("name", "department")) == [
        ("Marketing", acme.support.pk)
    ]


def test_a_manager_manages_the_targets_of_their_departments_only(acme):
    support = make(acme.manager, acme.support)
    tier2 = make(acme.manager, acme.tier2)  # below Customer Support
    marketing = make(acme.admin, acme.marketing)
    before = snapshot()
    for refused in (
        lambda: make(acme.manager),  # the whole organization
        lambda: make(acme.manager, acme.marketing),
        lambda: make(acme.manager, acme.ops),  # above theirs
        lambda: chat_target_update(actor=acme.manager, target=support, department=acme.marketing),
        lambda: chat_target_update(actor=acme.manager, target=support, department=None),
        lambda: chat_target_update(actor=acme.manager, target=marketing, name="Mine"),
        lambda: chat_target_delete(actor=acme.manager, target=marketing),
    ):
        with pytest.raises(PermissionDenied) as refusal:
            refused()
        assert "You may manage the chat targets of Customer Support" in str(refusal.value)
    assert snapshot() == before
    chat_target_update(actor=acme.manager, target=tier2, is_active=False)
    chat_target_delete(actor=acme.manager, target=support)
    assert set(ChatTarget.objects.values_list("name", "is_active")) == {
        ("#goals", False),
        ("#goals", True),
    }


@pytest.mark.parametrize("who", ["member", "leader", "reviewer"])
def test_others_may_manage_no_target_and_nothing_changes(acme, who):
    someone = getattr(acme, who)
    target = make(acme.admin, acme.support)
    before = snapshot()
    for refused in (
        lambda: make(someone),
        lambda: make(someone, acme.support),
        lambda: chat_target_update(actor=someone, target=target, is_active=False),
        lambda: chat_target_delete(actor=someone, target=target),
    ):
        with pytest.raises(PermissionDenied):
            refused()
    assert snapshot() == before


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://10.0.0.7/services/x", "Give the https:// address"),
        ("hooks.slack.com/services/x", "Give the https:// address"),
        ("not an address", "Give the https:// address"),
        ("", "Give the https:// address"),
        ("https://", "Give the address a host name"),
        ("https://user:pw@10.0.0.7/x", "Remove the user name or password"),
        ("https://10.0.0.7/a b", "Remove the spaces"),
        ("https://10.0.0.7:25/x", "Port 25 belongs to another protocol"),
    ],
)
def test_an_address_that_is_not_https_is_refused_clearly(acme, url, says):
    with pytest.raises(ValidationError) as refusal:
        make(acme.admin, url=url)
    assert says in " ".join(refusal.value.message_dict["url"])
    assert not ChatTarget.objects.exists()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://10.0.0.7/x", f"10.0.0.7 is a private address: {PUBLIC_ONLY}"),
        ("https://127.0.0.1:8443/x", f"127.0.0.1 is a loopback address: {PUBLIC_ONLY}"),
        ("https://[::ffff:169.254.169.254]/x", "carries 169.254.169.254, a link-local address"),
    ],
)
def test_a_private_address_is_refused(acme, settings, url, says):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as refusal:
        make(acme.admin, url=url)
    assert says in " ".join(refusal.value.message_dict["url"])
    assert not ChatTarget.objects.exists()


def test_other_fields_are_checked_too(acme, outsider):
    with pytest.raises(ValidationError) as refusal:
        chat_target_create(
            actor=acme.admin,
            platform="discord",
            name=" ",
            url=URL,
            department=outsider.department,
            events=["goal.created"],
        )
    assert refusal.value.message_dict == {
        "platform": ["Must be one of: slack, teams."],
        "name": ["Name the channel it posts to."],
        "events": ["Pick one or more of: checkin.due, goal.health_changed, review.completed."],
        "department": ["Not found in your organization."],
    }


def test_an_address_that_stopped_resolving_does_not_keep_a_target_from_pausing(acme, settings):
    target = make(acme.admin)
    settings.OUTBOUND_ALLOW_PRIVATE = False  # its address is refused now
    chat_target_update(actor=acme.admin, target=target, is_active=False)
    assert ChatTarget.objects.get().is_active is False
    with pytest.raises(ValidationError):
        chat_target_update(actor=acme.admin, target=target, url=URL)  # a new one is checked


def test_the_address_is_shown_by_its_host_and_last_four_characters_only():
    assert url_hint(URL) == "10.0.0.7…1234"
    assert url_hint("https://hooks.slack.com/services/T0/B0/abcdefXYZ9") == "hooks.slack.com…XYZ9"
    assert url_hint("https://a.io/x") == "a.io…"  # too short to show any of it


def test_the_audit_log_has_every_change_and_never_the_address(acme):
    target = make(acme.admin, acme.support, name="#support")
    chat_target_update(actor=acme.admin, target=target, url=URL + "x", name="#support-goals")
    chat_target_delete(actor=acme.admin, target=target)
    entries = list(Entry.objects.filter(object_type="chattarget").order_by("id"))
    assert [e.action for e in entries] == [
        "chat_target.created",
        "chat_target.updated",
        "chat_target.deleted",
    ]
    created, updated, deleted = (e.changes for e in entries)
    assert created["name"] == [None, "#support"] and "url" not in created
    assert updated == {"name": ["#support", "#support-goals"], "url": ["(hidden)", "(changed)"]}
    assert "url" not in deleted
    for entry in entries:
        assert "NyanNyanSecret" not in json.dumps(entry.changes) + entry.object_label


# -- the same through the API --------------------------------------------------------


def test_the_api_never_answers_the_address(acme):
    admin = client_for(acme.admin)
    created = admin.post(
        f"{API}/chat-targets/",
        {"platform": "teams", "name": "#all", "url": URL, "events": EVENTS, "department": None},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body == {
        "id": body["id"],
        "platform": "teams",
        "name": "#all",
        "url_hint": "10.0.0.7…1234",
        "department": None,
        "events": EVENTS,
        "is_active": True,
        "created_at": body["created_at"],
    }
    assert created["Location"].endswith(f"/chat-targets/{body['id']}/")
    for answer in (
        admin.get(f"{API}/chat-targets/"),
        admin.get(f"{API}/chat-targets/{body['id']}/"),
        admin.patch(f"{API}/chat-targets/{body['id']}/", {"url": URL + "5"}, format="json"),
    ):
        assert answer.status_code == 200
        assert "NyanNyan" not in answer.content.decode()
    assert ChatTarget.objects.get().url == URL + "5"


def test_over_the_api_a_manager_sees_and_changes_only_their_departments_targets(acme):
    support = make(acme.admin, acme.support, name="support")
    marketing = make(acme.admin, acme.marketing, name="marketing")
    make(acme.admin, name="everyone")
    manager = client_for(acme.manager)
    listed = manager.get(f"{API}/chat-targets/").json()["results"]
    assert [t["name"] for t in listed] == ["support"]
    assert manager.get(f"{API}/chat-targets/{marketing.pk}/").status_code == 404
    before = snapshot()
    moved = manager.patch(
        f"{API}/chat-targets/{support.pk}/", {"department": acme.marketing.pk}, format="json"
    )
    assert moved.status_code == 403
    assert "You may manage the chat targets of Customer Support" in moved.json()["detail"]
    made = manager.post(
        f"{API}/chat-targets/",
        {"platform": "slack", "name": "x", "url": URL, "events": EVENTS, "department": None},
        format="json",
    )
    assert made.status_code == 403
    assert snapshot() == before
    ok = manager.post(
        f"{API}/chat-targets/",
        {
            "platform": "slack",
            "name": "t2",
            "url": URL,
            "events": EVENTS,
            "department": acme.tier2.pk,
        },
        format="json",
    )
    assert ok.status_code == 201, ok.content


@pytest.mark.parametrize("who", ["member", "leader", "reviewer"])
def test_over_the_api_others_are_refused_before_anything_is_read_or_changed(acme, who):
    target = make(acme.admin, acme.support)
    client = client_for(getattr(acme, who))
    before = snapshot()
    answers = [
        client.get(f"{API}/chat-targets/"),
        client.get(f"{API}/chat-targets/{target.pk}/"),
        client.post(f"{API}/chat-targets/", {"platform": "nope"}, format="json"),  # 403 first
        client.patch(f"{API}/chat-targets/{target.pk}/", {"name": "x"}, format="json"),
        client.delete(f"{API}/chat-targets/{target.pk}/"),
        client.post(f"{API}/chat-targets/{target.pk}/test/"),
        client.get(f"{API}/chat-targets/{target.pk}/messages/"),
    ]
    assert [a.status_code for a in answers] == [403] * len(answers)
    assert "Only admins, and managers for their departments" in answers[0].json()["detail"]
    assert snapshot() == before


def test_another_organizations_targets_are_invisible(acme, outsider):
    theirs = make(outsider, outsider.department, name="globex")
    admin = client_for(acme.admin)
    assert admin.get(f"{API}/chat-targets/").json()["results"] == []
    for answer in (
        admin.get(f"{API}/chat-targets/{theirs.pk}/"),
        admin.patch(f"{API}/chat-targets/{theirs.pk}/", {"name": "mine"}, format="json"),
        admin.delete(f"{API}/chat-targets/{theirs.pk}/"),
        admin.post(f"{API}/chat-targets/{theirs.pk}/test/"),
    ):
        assert answer.status_code == 404
    made = admin.post(
        f"{API}/chat-targets/",
        {"platform": "slack", "name": "x", "url": URL, "events": EVENTS,
         "department": outsider.department.pk},
        format="json",
    )  # fmt: skip
    assert made.status_code == 400 and "department" in made.json()
    assert ChatTarget.objects.get().name == "globex"


def test_a_bad_address_over_the_api_is_a_400_on_the_field(acme, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    answer = client_for(acme.admin).post(
        f"{API}/chat-targets/",
        {"platform": "slack", "name": "x", "url": URL, "events": EVENTS},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["url"] == [f"10.0.0.7 is a private address: {PUBLIC_ONLY}"]
    assert not ChatTarget.objects.exists()


def test_what_a_refusing_service_says_is_kept_with_its_status(acme, services):
    channel = services("slack", answers=[Answer(400, body=b"invalid_blocks\n")])
    made = chat_target_create(
        actor=acme.admin, platform="slack", name="#x", url=channel.url, events=EVENTS
    )
    message = chat_target_test(actor=acme.admin, target=made)
    assert deliver_chat_message(message.pk) == "pending"  # tried again later
    message.refresh_from_db()
    assert (message.attempts, message.last_status) == (1, 400)
    assert message.last_error == "Answered 400: invalid_blocks"
    assert deliver_chat_message(message.pk) == "delivered"  # the next attempt: taken
    assert channel.count() == 2
