"""SPEC §8.3 layout with hostile content: 300-character unbroken titles and names and
numbers of a trillion keep every page within the window at 1280 and 390 px (a wide
table may scroll inside its card, the page never does), and large numbers are shown
compactly, never as a wall of digits."""

from __future__ import annotations

import datetime as dt

import pytest

from goals.models import Goal
from goals.services import goal_create
from kpis.services import kpi_create, kpi_record_value
from org.models import Member

pytestmark = pytest.mark.django_db(transaction=True)

LONG = "Reduce" + "x" * 294  # 300 characters, not one space


@pytest.fixture
def hostile(demo):
    sam = Member.objects.get(user__username="sam")
    lena = Member.objects.get(user__username="lena")
    parent = Goal.objects.get(title="Reduce average response time by 20%")
    goal = goal_create(
        actor=lena, cycle=parent.cycle, level="individual", title=LONG, parent=parent, owner=sam
    )
    kpi = kpi_create(
        actor=lena,
        goal=goal,
        name="K" * 300,
        unit="u" * 32,
        baseline=0,
        target=1e12,
        owner=sam,
    )
    kpi_record_value(actor=sam, kpi=kpi, value=987_654_321_098, date=dt.date(2027, 3, 1))
    return goal


@pytest.mark.parametrize("width", [1280, 390])
def test_hostile_titles_and_numbers_keep_every_page_within_the_window(
    hostile, login, page, live_server, axe, width
):
    page.set_viewport_size({"width": width, "height": 900})
    login("sam")
    for path in ("/", f"/goals/{hostile.pk}/", "/cascade/", "/cascade/?view=tree", "/my/"):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = page.evaluate(
            "[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect()"
            ".right > innerWidth + 1 && ![...e.children].some((c) => c.getBoundingClientRect()"
            ".right > innerWidth + 1)).map((e) => e.tagName + '.' + e.className).slice(0, 8)"
        )
        assert overflow <= 0, f"{path} is {overflow}px wider than the {width}px window: {wide}"
        cut = page.evaluate(
            "[...document.querySelectorAll('.table-wrap:not(.scrolls)')]"  # a matrix scrolls
            ".filter((w) => w.scrollWidth > w.clientWidth + 1).length"
        )
        assert cut == 0, f"{path}: a table is wider than its card at {width}px"
        name = path.strip("/").replace("/", "-") or "dashboard"
        page.screenshot(path=f"test-results/screens/hostile-{name}-{width}.png", full_page=True)
        axe.here(f"hostile {name}")
    body = page.content()
    assert "987,654,321,098" not in body and "1,000,000,000,000" not in body
    assert "987.65 B" in body and "1 T" in body
