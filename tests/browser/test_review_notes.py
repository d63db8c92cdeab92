"""SPEC §8.3: notes typed in a meeting are saved as they are typed; moving on with
"Next" before pressing Save loses nothing."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from reviews.models import Review, ReviewItem

pytestmark = pytest.mark.django_db(transaction=True)


def saved_notes(item_id: int, wanted: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        notes = ReviewItem.objects.get(pk=item_id).notes
        if notes == wanted or time.monotonic() > deadline:
            return notes
        time.sleep(0.1)


def test_notes_typed_then_left_with_next_are_saved(demo, login, page, live_server, snap, axe):
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    review = Review.objects.get(title="Customer Support check-in")
    login("rey")
    page.goto(f"{live_server.url}/reviews/{review.pk}/")
    axe("scheduled review")
    page.get_by_role("button", name="Start the review").click()
    form = page.locator(".item-form")
    first = int(form.get_attribute("id").removeprefix("item-form-"))
    axe("first item")

    form.get_by_label("Notes").fill("Backlog halved since February.")
    page.get_by_role("link", name="Next:").click()  # at once, no Save
    expect(page.locator(".item-form")).not_to_have_attribute("id", f"item-form-{first}")
    assert saved_notes(first, "Backlog halved since February.") == "Backlog halved since February."

    second = page.locator(".item-form")
    second.get_by_label("Notes").fill("On track")
    expect(second.locator("[data-autosave-status]")).to_contain_text("Saved at")  # on its own
    snap("autosaved")
    assert problems == []


def test_a_note_that_can_not_be_saved_says_so(demo, login, page, live_server, axe):
    review = Review.objects.get(title="Customer Support check-in")
    login("rey")
    page.goto(f"{live_server.url}/reviews/{review.pk}/")
    page.get_by_role("button", name="Start the review").click()
    form = page.locator(".item-form")
    notes = form.get_by_label("Notes")
    notes.evaluate("(el) => el.removeAttribute('maxlength')")
    notes.fill("n" * 10001)  # over the limit: the autosave is refused
    expect(form.locator("[data-autosave-status]")).to_contain_text("Not saved")
    axe("note not saved")
