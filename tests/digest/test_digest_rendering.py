"""How the digest reads (SPEC §9.6): its HTML part in Chromium at 390 px (a phone) and
1280 px, with no sideways scrolling on the phone, the key figures visible, health in
words, and nothing axe-core objects to; its text part plain text (no tags) in lines a
mail client shows unwrapped. Screenshots: test-results/digest/ (and SCREENSHOT_COPY)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import expect

from goals.services import goal_create
from kpis.services import kpi_create
from reviews.digest import weekly_digests_send_due

from ..browser.conftest import RUN_AXE
from .conftest import MONDAY_MORNING, html_of, text_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SHOTS = Path("test-results/digest")
COPY = Path(os.getenv("SCREENSHOT_COPY", "/tmp/h/shots/digest"))
WIDTHS = (390, 1280)
LONG = (
    "Cut the time from a customer's first message to a resolution that sticks, across "
    "email, chat and phone, in every region we serve"
)
UNBROKEN = "https://support.example.com/" + "x" * 90


def save(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    try:
        COPY.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, COPY / path.name)
    except OSError:
        pass  # the copy is a convenience
    return path


@pytest.fixture
def sams_digest(week, smtp, acme):
    """sam's digest, with a long goal title and an unbroken one besides the week's."""
    goal = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="individual",
        title=LONG,
        parent=week.goals["support"],
        owner=acme.member,
    )
    kpi_create(
        actor=acme.leader,
        goal=goal,
        name=UNBROKEN,
        unit="%",
        baseline=0,
        target=100,
        owner=acme.member,
    )
    with time_machine.travel(MONDAY_MORNING, tick=False):
        weekly_digests_send_due()
    [message] = smtp.digests_to(acme.member.user.email)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "weekly-digest-sam.html").write_text(html_of(message))
    (SHOTS / "weekly-digest-sam.txt").write_text(text_of(message))
    return message


@pytest.mark.parametrize("width", WIDTHS)
def test_the_html_digest_reads_on_a_phone_and_a_desktop(sams_digest, page, axe_source, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_content(html_of(sams_digest))
    save(page, f"weekly-digest-sam-{width}")

    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    assert page.title() == sams_digest["Subject"]
    for text in (
        "Your week, Sam",
        "Resolve tickets in 4 h",  # a goal,
        "37.5%",  # its progress,
        "▲ +12.5 pts this week",  # its change,
        "Resolution time",  # a KPI,
        "5 hours",  # its latest value,
        "Due this period",
        "No value for",
        "Call the vendor",  # an action,
        "Overdue",  # late,
        "Support weekly",  # a review,
        "Wed, Mar 17, 10:00",  # when, in Berlin
        "Turn it off or change your time zone",
    ):
        expect(page.get_by_text(text, exact=False).first).to_be_visible()
    expect(page.get_by_text("On track").first).to_be_visible()  # health as a word
    # One column of at most 600 px, and nothing sticks out of it.
    column = page.locator('table[style*="max-width:600px"]').bounding_box()
    assert column["width"] <= 600 and column["x"] >= 0
    wide = page.evaluate(
        """(right) => [...document.querySelectorAll('table[style*="max-width:600px"] *')]
             .filter((el) => el.getBoundingClientRect().right > right + 1)
             .map((el) => el.tagName + ' ' + el.textContent.trim().slice(0, 40))""",
        column["x"] + column["width"],
    )
    assert wide == []
    smallest = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('body *')]
             .filter((el) => el.childNodes.length && [...el.childNodes]
               .some((n) => n.nodeType === 3 && n.textContent.trim()))
             .map((el) => parseFloat(getComputedStyle(el).fontSize)))"""
    )
    assert smallest >= 13  # big enough to read
    page.evaluate(axe_source)
    assert page.evaluate(RUN_AXE) == []


def test_the_text_digest_reads_without_html(sams_digest):
    text = text_of(sams_digest)
    assert not re.search(r"<\s*/?\s*[a-zA-Z][^>]*>", text), "a tag in the text part"
    assert "&amp;" not in text and "&#" not in text  # not HTML-escaped either
    too_long = [line for line in text.splitlines() if len(line) > 78]
    assert too_long == []
    assert "Cut the time from a customer's first message" in text  # the apostrophe as is
    # The figures line up: each goal's and KPI's progress in one column.
    bars = [line for line in text.splitlines() if re.match(r"^ +\d+\.\d% \[", line)]
    assert len(bars) == 6
    assert len({line.index("[") for line in bars}) == 1
    assert "Notifications" in text and "https://cascade.example.com/notifications/" in text
