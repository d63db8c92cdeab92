"""The Chat card (SPEC §9.6): on the People page for admins (every target), on a
department's page for whoever manages its targets (that department's only), and on a
page of its own. It lists each target — platform, scope, events, the address masked —
with its last five messages and their state; adds one (a bad address is said beside
its field, nothing saved); sends a test; pauses, resumes and removes (asking first).
Others see no card and are refused. Its queries do not grow with the targets."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from org.chat import chat_target_create
from org.models import ChatMessage, ChatTarget

from ..api.helpers import client_for
from ..pages.helpers import HTMX, parse

pytestmark = pytest.mark.django_db

URL = "https://10.0.0.7/services/T0001/B0001/NyanNyanSecretPart1234"
EVENTS = ["checkin.due", "goal.health_changed", "review.completed"]


@pytest.fixture(autouse=True)
def private_allowed(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True  # 10.0.0.7: nothing is sent in these tests


def make(acme, department=None, name="#goals", platform="slack", messages=0):
    target = chat_target_create(
        actor=acme.admin,
        platform=platform,
        name=name,
        url=URL,
        department=department,
        events=EVENTS,
    )
    ChatMessage.objects.bulk_create(
        ChatMessage(
            target=target,
            event="checkin.due",
            payload={},
            state="pending" if n % 2 else "delivered",
            attempts=2 if n % 2 else 1,
            last_status=500 if n % 2 else 200,
            last_error="Answered 500: invalid_blocks" if n % 2 else "",
        )
        for n in range(messages)
    )
    return target


def test_an_admin_sees_every_target_on_the_people_page_with_its_last_messages(client, acme):
    make(acme, name="#everyone", platform="teams", messages=7)
    make(acme, acme.marketing, name="#marketing")
    client.force_login(acme.admin.user)
    page = client.get("/people/")
    card = parse(page).find(id="chat")
    text = " ".join(card.text.split())
    assert "#everyone Microsoft Teams · whole organization" in text
    assert "#marketing Slack · Marketing" in text
    assert "check-ins due, health changes, review summaries · 10.0.0.7…1234" in text
    assert "NyanNyan" not in page.content.decode()  # never the address itself
    assert text.count("check-ins due · ") == 5  # the last five of seven
    assert "Pending after 2 attempts: Answered 500: invalid_blocks" in text
    assert "Delivered after 1 attempt (answer 200)" in text
    assert "Nothing posted yet." in text


def test_an_admin_adds_a_target_and_a_bad_address_is_said_beside_its_field(client, acme):
    client.force_login(acme.admin.user)
    form = {
        "back": "people",
        "chat-platform": "slack",
        "chat-name": "#sales",
        "chat-url": "http://hooks.slack.com/services/x",
        "chat-department": acme.marketing.pk,
        "chat-events": ["goal.health_changed"],
    }
    refused = client.post("/chat/new/", form)
    assert refused.status_code == 400
    error = parse(refused).find(id="id_chat-url_error")
    assert "Give the https:// address the chat service made" in error.text
    assert not ChatTarget.objects.exists()
    in_place = client.post("/chat/new/", form, headers=HTMX)  # the same, asked in place
    assert in_place["X-Answer-Status"] == "400"  # answered as a 200, the form in place
    assert parse(in_place).find(id="chat") is not None

    added = client.post("/chat/new/", {**form, "chat-url": URL})
    assert (added.status_code, added["Location"]) == (302, "/people/#chat")
    target = ChatTarget.objects.get()
    assert (target.name, target.department, target.events, target.url) == (
        "#sales",
        acme.marketing,
        ["goal.health_changed"],
        URL,
    )
    page = client.get("/people/").content.decode()
    assert "“#sales” is added: send it a test" in page


def test_an_admin_tests_pauses_resumes_and_removes_a_target(client, acme):
    target = make(acme, name="#all")
    client.force_login(acme.admin.user)
    back = {"back": "people"}
    assert client.post(f"/chat/{target.pk}/test/", back).status_code == 302
    (message,) = ChatMessage.objects.filter(target=target)
    assert (message.event, message.state) == ("test", "pending")
    assert message.payload["blocks"][0]["text"]["text"] == "Cascade is connected to #all"
    client.post(f"/chat/{target.pk}/pause/", back)
    assert ChatTarget.objects.get().is_active is False
    page = parse(client.get("/people/")).find(id="chat")
    assert "paused" in page.text
    resume = page.find(**{"aria-label": "Resume #all"})
    assert resume is not None
    client.post(f"/chat/{target.pk}/pause/", {**back, "active": "on"})
    assert ChatTarget.objects.get().is_active is True
    html = client.get("/people/").content.decode()
    assert 'hx-confirm="Remove “#all”? Nothing more is posted there."' in html
    removed = client.post(f"/chat/{target.pk}/delete/", back, headers=HTMX)
    assert removed.status_code == 302 and not ChatTarget.objects.exists()


def test_a_manager_has_the_card_of_their_departments_pages_only(client, acme):
    make(acme, acme.support, name="#support")
    make(acme, acme.marketing, name="#marketing")
    make(acme, name="#everyone")
    client.force_login(acme.manager.user)
    own = parse(client.get(f"/department/{acme.support.pk}/")).find(id="chat")
    assert own is not None
    assert "#support" in own.text and "#marketing" not in own.text and "#everyone" not in own.text
    assert parse(client.get(f"/department/{acme.marketing.pk}/")).find(id="chat") is None
    added = client.post(
        "/chat/new/",
        {
            "back": acme.support.pk,
            "chat-platform": "teams",
            "chat-name": "#support-leads",
            "chat-url": URL,
            "chat-department": acme.support.pk,
            "chat-events": ["checkin.due"],
        },
    )
    assert added["Location"] == f"/department/{acme.support.pk}/#chat"
    assert ChatTarget.objects.get(name="#support-leads").department == acme.support
    assert client.get("/chat/").status_code == 200  # theirs, on a page of its own
    assert client.get(f"/chat/?department={acme.marketing.pk}").status_code == 403


def test_a_managers_form_for_another_department_is_refused_and_nothing_changes(client, acme):
    marketing = make(acme, acme.marketing, name="#marketing")
    client.force_login(acme.manager.user)
    before = list(ChatTarget.objects.values())
    answers = [
        client.post(
            "/chat/new/",
            {
                "back": acme.marketing.pk,
                "chat-platform": "slack",
                "chat-name": "x",
                "chat-url": URL,
                "chat-department": acme.marketing.pk,
                "chat-events": ["checkin.due"],
            },
        ),
        client.post(  # from their own page, naming another department
            "/chat/new/",
            {
                "back": acme.support.pk,
                "chat-platform": "slack",
                "chat-name": "x",
                "chat-url": URL,
                "chat-department": acme.marketing.pk,
                "chat-events": ["checkin.due"],
            },
        ),
        client.post(f"/chat/{marketing.pk}/pause/", {"back": acme.support.pk}),
        client.post(f"/chat/{marketing.pk}/delete/", {"back": acme.support.pk}),
        client.post(f"/chat/{marketing.pk}/test/", {"back": acme.support.pk}),
    ]
    assert [a.status_code for a in answers] == [403, 400, 403, 403, 403]
    assert list(ChatTarget.objects.values()) == before
    assert not ChatMessage.objects.exists()


@pytest.mark.parametrize("who", ["member", "leader", "reviewer"])
def test_others_have_no_card_and_are_refused(client, acme, who):
    target = make(acme, acme.support)
    client.force_login(getattr(acme, who).user)
    page = client.get(f"/department/{acme.support.pk}/")
    assert page.status_code == 200 and parse(page).find(id="chat") is None
    answers = [
        client.get("/chat/"),
        client.post(f"/chat/{target.pk}/delete/", {"back": acme.support.pk}),
        client.post(f"/chat/{target.pk}/delete/", {"back": "people"}),
        client.post("/chat/new/", {"back": "people", "chat-name": "x"}),
    ]
    assert [a.status_code for a in answers] == [403] * 4
    assert ChatTarget.objects.count() == 1


def test_another_organizations_target_is_not_found(client, acme, outsider):
    theirs = chat_target_create(
        actor=outsider, platform="slack", name="globex", url=URL, events=EVENTS
    )
    client.force_login(acme.admin.user)
    for action in ("test", "pause", "delete"):
        assert client.post(f"/chat/{theirs.pk}/{action}/", {"back": "people"}).status_code == 404
    assert client.get(f"/chat/?department={outsider.department.pk}").status_code == 404
    assert ChatTarget.objects.get().is_active and not ChatMessage.objects.exists()


# -- queries do not grow with the targets and their messages --------------------------


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def grow(acme, n: int) -> None:
    for i in range(n):
        department = (None, acme.support, acme.tier2, acme.marketing)[i % 4]
        make(acme, department, name=f"#t{ChatTarget.objects.count()}", messages=8)


@pytest.mark.parametrize(
    ("who", "path", "bound"),
    [
        # the page's own, then the card: targets, their messages, the form's departments
        ("admin", "/people/", 16),
        ("admin", "/chat/", 7),  # session, user, member, and the card
        ("manager", "/chat/", 9),  # …and the departments the manager looks after
        ("manager", "/department/{support}/", 16),
        ("admin", "/api/v1/chat-targets/", 4),  # token, member, count, page
        ("manager", "/api/v1/chat-targets/", 5),
    ],
)
def test_the_cards_and_the_list_take_the_same_queries_with_2_or_20_targets(
    client, acme, who, path, bound
):
    member = getattr(acme, who)
    path = path.format(support=acme.support.pk)
    if path.startswith("/api/"):
        client = client_for(member)
    else:
        client.force_login(member.user)
    grow(acme, 2)
    queries(client, path)  # warm up
    small = queries(client, path)
    grow(acme, 18)
    large = queries(client, path)
    assert small == large, f"{path}: {small} queries with 2 targets, {large} with 20"
    assert large <= bound
