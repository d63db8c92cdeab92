"""SPEC §9.6 chat, in Chromium on the demo organization: the admin adds a Slack channel
of the whole organization on the People page (a wrong address first: said beside the
field, in place), sees it listed with its address masked, sends a test that a real
HTTPS "Slack" of the test receives, pauses, resumes and removes it (asked first); the
manager of Customer Support adds a Teams channel on his department's page, where only
its channels show. At 1280 and 390 px, axe-checked, no form field clipped, no console
error; a screenshot of each state."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from org.models import ChatMessage, ChatTarget, Department

from ..chat.conftest import services  # noqa: F401 — the test's HTTPS chat services
from ..jobs.conftest import broker, until, worker  # noqa: F401 — a real worker sends
from .conftest import SCREENS
from .test_phone import CLIPPED_FIELDS, watch

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("worker")]
SHOTS = Path("/tmp/h/shots/chat")


def shoot(page: Page, name: str) -> None:
    """The Chat card and the whole page, as chat-<name>-<width>.png."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    card = SCREENS / f"chat-{name}-{width}.png"
    page.locator("#chat").screenshot(path=card)
    page.screenshot(path=SCREENS / f"chat-{name}-page-{width}.png", full_page=True)
    if SHOTS.parent.is_dir():
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(card, SHOTS / card.name)


def fits(page: Page) -> None:
    if page.viewport_size["width"] == 390:
        assert page.evaluate(CLIPPED_FIELDS) == []
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_and_a_manager_set_chat_channels_up(
    demo,
    login,
    page,
    live_server,
    axe,
    services,  # noqa: F811 — the fixture imported above
    width,
):
    problems = watch(page)
    page.set_viewport_size({"width": width, "height": 900})
    slack = services("slack")
    teams = services("teams")

    login("ada")
    page.goto(f"{live_server.url}/people/#chat")
    card = page.locator("#chat")
    expect(card.get_by_text("No chat target yet.")).to_be_visible()
    card.get_by_label("Platform").select_option("slack")
    card.get_by_label("Channel").fill("#company-goals")
    card.get_by_label("Incoming webhook address").fill(slack.url.replace("https:", "http:"))
    card.get_by_role("button", name="Add the chat target").click()
    expect(page.locator("#id_chat-url_error")).to_contain_text("Give the https:// address")
    axe.here(f"a wrong address at {width}")
    fits(page)
    shoot(page, "wrong-address")
    assert not ChatTarget.objects.exists()

    page.locator("#chat").get_by_label("Incoming webhook address").fill(slack.url)
    page.locator("#chat").get_by_role("button", name="Add the chat target").click()
    card = page.locator("#chat")
    expect(card.locator(".hook")).to_have_count(1)
    expect(card.locator(".hook")).to_contain_text("#company-goals Slack · whole organization")
    expect(card.locator(".hook code")).to_have_text(f"hooks.slack.test…{slack.url[-4:]}")
    expect(page.locator("#messages")).to_contain_text("“#company-goals” is added")
    assert slack.url not in page.content()

    card.get_by_role("button", name="Send test to #company-goals").click()
    expect(page.locator("#messages")).to_contain_text("A test message is on its way")
    until(slack.count)  # the worker sends it once the test is saved
    assert (
        slack.bodies()[0]["blocks"][0]["text"]["text"] == "Cascade is connected to #company-goals"
    )
    until(lambda: ChatMessage.objects.filter(state="delivered").exists())
    page.reload()
    expect(page.locator("#chat .deliveries")).to_contain_text("test · Delivered after 1 attempt")
    axe.here(f"a channel with its test at {width}")
    fits(page)
    shoot(page, "people")

    page.locator("#chat").get_by_role("button", name="Pause #company-goals").click()
    expect(page.locator("#chat .hook")).to_contain_text("paused")
    page.locator("#chat").get_by_role("button", name="Resume #company-goals").click()
    expect(page.locator("#chat").get_by_role("button", name="Pause #company-goals")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#chat").get_by_role("button", name="Remove #company-goals").click()
    expect(page.locator("#chat")).to_contain_text("No chat target yet.")
    assert not ChatTarget.objects.exists()

    page.context.clear_cookies()
    login("max")
    support = Department.objects.get(name="Customer Support")
    page.goto(f"{live_server.url}/department/{support.pk}/#chat")
    card = page.locator("#chat")
    expect(card.get_by_role("heading", name="Chat Customer Support")).to_be_visible()
    card.get_by_label("Platform").select_option("teams")
    card.get_by_label("Channel").fill("Support leads")
    card.get_by_label("Incoming webhook address").fill(teams.url)
    card.get_by_label("Completed review summaries").uncheck()
    card.get_by_role("button", name="Add the chat target").click()
    expect(page.locator("#chat .hook")).to_contain_text(
        "Support leads Microsoft Teams · Customer Support · check-ins due, health changes"
    )
    target = ChatTarget.objects.get()
    assert (target.department, target.events) == (support, ["checkin.due", "goal.health_changed"])
    page.locator("#chat").get_by_role("button", name="Send test to Support leads").click()
    expect(page.locator("#messages")).to_contain_text("A test message is on its way")
    until(teams.count)
    page.reload()
    axe.here(f"the department's channel at {width}")
    fits(page)
    shoot(page, "department")
    marketing = Department.objects.get(name="Marketing")
    page.goto(f"{live_server.url}/department/{marketing.pk}/")
    expect(page.locator("#chat")).to_have_count(0)
    until(lambda: ChatMessage.objects.filter(target=target, state="delivered").exists())
    assert (slack.count(), teams.count()) == (1, 1)  # each test once
    assert problems == []
