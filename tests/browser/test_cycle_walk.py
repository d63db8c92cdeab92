"""The cycle you see is the one you chose (SPEC §9.3), played in Chromium.

The leader closes last quarter ("Q4 2026") and makes the year "FY 2027" current. The
reviewer follows an old link into Q4 2026: a banner says so, no write control is
offered, and "Back to FY 2027" returns them; there they schedule, run and complete the
check-in. Following links never changed anyone's stored pick. At 1280 and 390 px,
DEBUG on and off; any console error, CSP violation or server error fails the walk.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from cycles.models import Cycle, CyclePick
from goals.services import goal_create
from org.models import Member
from reviews.models import Review

from .test_quarter_walk import Walk

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.fixture(params=[1280, 390], ids=["wide", "phone"])
def width(request, page):
    page.set_viewport_size({"width": request.param, "height": 900})
    return request.param


def last_quarter() -> tuple[Cycle, int]:
    """Q4 2026, current until today, with an objective of its own."""
    fy = Cycle.objects.get(name="FY 2027")
    q4 = Cycle.objects.create(
        organization=fy.organization,
        name="Q4 2026",
        start=dt.date(2026, 10, 1),
        end=dt.date(2026, 12, 31),
        cadence="quarterly",
        is_current=True,
    )
    Cycle.objects.filter(pk=fy.pk).update(is_current=False)
    lena = Member.objects.get(user__username="lena")
    goal = goal_create(actor=lena, cycle=q4, level="strategic", title="Ship the winter release")
    return q4, goal.pk


def test_an_old_link_shows_a_closed_cycle_read_only_and_never_moves_the_pick(
    debug, width, demo, page, live_server, snap, axe
):
    walk = Walk(page, live_server.url, snap, axe)
    q4, old_goal = last_quarter()
    fy = Cycle.objects.get(name="FY 2027")

    # 1. The leader closes Q4 2026 and makes FY 2027 current, on the Cycles page.
    walk.log_in("lena")
    page.goto(f"{live_server.url}/cycles/")
    page.locator(f"#cycle-{q4.pk}").get_by_role("button", name="Close").click()
    expect(page.locator(f"#cycle-{q4.pk}")).to_contain_text("Closed")
    page.locator(f"#cycle-{fy.pk}").get_by_role("button", name="Make current").click()
    expect(page.locator(f"#cycle-{fy.pk}")).to_contain_text("Current")
    walk.checkpoint("leader-closed-q4")
    assert [d.split(":")[1].strip()[:9] for d in walk.dialogs] == ["Close “Q4", "Make “FY "]

    # 2. The reviewer follows an old link into Q4 2026.
    walk.log_in("rey")
    expect(page.locator("select#cycle-select option:checked")).to_have_text("FY 2027")
    page.goto(f"{live_server.url}/reviews/?cycle={q4.pk}")
    banner = page.locator("#viewing-banner")
    expect(banner).to_contain_text("Viewing Q4 2026 — closed")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Q4 2026")
    expect(page.get_by_role("button", name="Schedule")).to_have_count(0)
    expect(page.locator("#schedule-closed")).to_contain_text(
        "“Q4 2026” is closed: no check-in can be scheduled in it."
    )
    walk.checkpoint("reviewer-in-closed-q4")
    page.goto(f"{live_server.url}/goals/{old_goal}/")
    expect(page.locator("#viewing-banner")).to_contain_text("Viewing Q4 2026 — closed")
    for control in ("Add goal below", "Add KPI", "Edit or move"):
        expect(page.get_by_text(control)).to_have_count(0)
    walk.checkpoint("reviewer-old-goal")
    page.goto(f"{live_server.url}/reviews/?cycle={q4.pk}")
    page.locator("#viewing-banner").get_by_role("link", name="Back to FY 2027").click()
    expect(page).to_have_url(re.compile(r"/reviews/$"))
    expect(page.locator("#viewing-banner")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_contain_text("FY 2027")

    # 3. Back in FY 2027, the check-in is scheduled, run and completed there.
    form = page.locator("form", has=page.get_by_role("button", name="Schedule"))
    form.get_by_label("Title").fill("Support March check-in")
    form.get_by_label("…or a department").select_option(label="Customer Support")
    form.get_by_label("When").fill("2027-03-16T10:00")
    walk.checkpoint("reviewer-schedules-in-fy")
    form.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Support March check-in")
    page.get_by_role("button", name="Start the review").click()
    expect(page.get_by_role("navigation", name="Agenda", exact=True)).to_be_visible()
    walk.checkpoint("reviewer-runs-review")
    page.get_by_role("button", name="Complete the review").click()
    expect(page.locator(".summary-print")).to_be_visible()
    walk.checkpoint("reviewer-completed")

    review = Review.objects.get(title="Support March check-in")
    assert (review.cycle, review.state) == (fy, "completed")
    assert not Review.objects.filter(cycle=q4).exists()
    # Links and forms moved nobody's stored pick: only the switcher does.
    assert not CyclePick.objects.filter(member__user__username__in=["lena", "rey"]).exists()
    assert walk.problems == []
