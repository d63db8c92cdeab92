"""Calendars walked in Chromium (SPEC §9.6), on a phone (390 px) and a desktop: a person
makes their private calendar address on the Notifications page, copies it, resets it
and turns it off — each destructive step asked first, and a "Cancel" changes nothing —
and a reviewer cancels a check-in from its page, asked first too. The address field and
the buttons are never clipped, and axe-core finds nothing at either width.

Screenshots: test-results/screens/ (snap) and /tmp/h/shots/cal/ when that folder can
be made (the lead's review)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from org.models import CalendarFeed, Member
from reviews.models import Review

from .test_phone import CLIPPED_FIELDS, watch

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path(os.getenv("CALENDAR_SHOTS", "/tmp/h/shots/cal"))


def shoot(page, name: str) -> None:
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def unclipped(page) -> None:
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate(CLIPPED_FIELDS) == [], width
    page.set_viewport_size({"width": 390, "height": 900})


@pytest.fixture
def site(settings, live_server) -> str:
    """Addresses Cascade writes (SITE_URL) are the live server's: the host they show."""
    settings.SITE_URL = live_server.url
    return live_server.url.split("://")[1]


def key_of(member: Member) -> str | None:
    feed = CalendarFeed.objects.filter(member=member).first()
    return feed.key if feed else None


def test_a_person_makes_copies_resets_and_turns_off_their_calendar_address_on_a_phone(
    demo, login, page, live_server, axe, snap, site
):
    problems = watch(page)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.set_viewport_size({"width": 390, "height": 900})
    login("sam")
    sam = Member.objects.get(user__username="sam")
    page.goto(f"{live_server.url}/notifications/")
    card = page.locator("#calendar-card")
    card.scroll_into_view_if_needed()
    expect(card.get_by_role("heading", name="Calendar")).to_be_visible()
    axe("no address yet")
    card.get_by_role("button", name="Create my calendar address").click()
    address = card.get_by_label("Your calendar address")
    expect(card.get_by_role("status")).to_contain_text("Your calendar address is ready")
    expect(address).to_have_value(f"webcal://{site}/calendar/{key_of(sam)}.ics")
    unclipped(page)
    snap("address")
    shoot(page, "notifications-calendar-390")
    first = key_of(sam)
    assert page.request.get(f"{live_server.url}/calendar/{first}.ics").status == 200

    copy = card.locator("button[data-copy]")  # its name becomes "Copied" for a moment
    expect(copy).to_have_text("Copy")
    expect(copy).to_be_visible()  # cascade.js shows it
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == address.input_value()

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    card.get_by_role("button", name="Reset address").click()
    expect(address).to_have_value(f"webcal://{site}/calendar/{first}.ics")
    assert asked and asked[0].startswith("Reset your calendar address?")
    assert key_of(sam) == first  # dismissed: nothing changed

    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Reset address").click()
    expect(card.get_by_role("status")).to_contain_text("the old one no longer works")
    second = key_of(sam)
    assert second != first
    expect(address).to_have_value(f"webcal://{site}/calendar/{second}.ics")
    assert page.request.get(f"{live_server.url}/calendar/{first}.ics").status == 404
    unclipped(page)
    axe("address reset")

    asked.clear()
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    card.get_by_role("button", name="Turn off").click()
    assert asked and asked[0].startswith("Turn your calendar address off?")
    assert key_of(sam) == second
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Turn off").click()
    expect(card.get_by_role("button", name="Create my calendar address")).to_be_visible()
    assert key_of(sam) is None
    assert page.request.get(f"{live_server.url}/calendar/{second}.ics").status == 404
    snap("turned-off")
    assert problems == []


def test_without_javascript_the_address_is_made_and_shown_whole(
    demo, login, page, live_server, axe, browser, site
):
    login("sam")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 900})
    context.add_cookies(page.context.cookies())
    plain = context.new_page()
    try:
        plain.goto(f"{live_server.url}/notifications/")
        plain.get_by_role("button", name="Create my calendar address").click()
        plain.wait_for_url(f"{live_server.url}/notifications/#calendar-h")
        card = plain.locator("#calendar-card")
        sam = Member.objects.get(user__username="sam")
        expect(card.get_by_label("Your calendar address")).to_have_value(
            re.compile(rf"webcal://{re.escape(site)}/calendar/[\w-]{{43}}\.ics")
        )
        assert (
            card.get_by_label("Your calendar address").input_value().endswith(f"/{key_of(sam)}.ics")
        )
        expect(card.get_by_role("button", name="Copy")).to_be_hidden()  # needs JavaScript
        assert plain.evaluate(CLIPPED_FIELDS) == []
        shoot(plain, "notifications-calendar-no-js-390")
    finally:
        context.close()


def test_a_reviewer_cancels_a_check_in_from_its_page_asked_first(
    demo, login, page, live_server, axe, snap
):
    problems = watch(page)
    page.set_viewport_size({"width": 390, "height": 900})
    login("rey")
    review = Review.objects.get(title="Customer Support check-in")
    page.goto(f"{live_server.url}/reviews/{review.pk}/")
    button = page.get_by_role("button", name="Cancel this check-in")
    unclipped(page)
    snap("scheduled")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    button.click()
    assert asked and asked[0].startswith("Cancel “Customer Support check-in”?")
    review.refresh_from_db()
    assert review.state == "scheduled"
    page.once("dialog", lambda dialog: dialog.accept())
    button.click()
    expect(page.get_by_role("heading", name="Cancelled", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cancelled")
    review.refresh_from_db()
    assert review.state == "cancelled" and review.sequence == 1
    snap("cancelled")
    shoot(page, "review-cancelled-390")
    page.goto(f"{live_server.url}/reviews/")
    expect(page.locator("#cancelled-h")).to_be_visible()
    axe("reviews with a cancelled one")
    shoot(page, "reviews-list-cancelled-390")
    assert problems == []
