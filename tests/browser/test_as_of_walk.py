"""A leader looks back: the dashboard as it stood on a past day, the cascade map on that
day with a node expanded, and a goal's progress-over-time chart — with a clean console."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_leader_looks_at_the_cycle_as_it_stood_on_a_past_day(demo, login, page, snap):
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page: {error}"))
    login("lena")
    today_bar = page.locator("#objective-list progress").first.get_attribute("value")

    page.get_by_label("As it stood on").fill("2027-02-01")
    page.get_by_role("button", name="Show that day").click()
    banner = page.locator("#as-of-banner")
    expect(banner).to_contain_text("As of Monday, February 1, 2027.")
    expect(page.get_by_role("link", name="New strategic objective")).to_have_count(0)
    past_bar = page.locator("#objective-list progress").first.get_attribute("value")
    assert float(past_bar) < float(today_bar)  # the demo's values came month by month
    expect(page.locator("#objective-list")).to_contain_text("by Feb 1")
    snap("dashboard-as-of")

    page.goto(page.url.replace("/?", "/cascade/?"))
    expect(page.locator("#as-of-banner")).to_be_visible()
    page.locator("details.expand summary").first.click()
    expect(page.locator(".children .node").first).to_contain_text("by Feb 1")
    snap("cascade-as-of")
    page.get_by_role("link", name="Back to today").click()
    expect(page.locator("#as-of-banner")).to_have_count(0)

    page.get_by_role("link", name="Improve customer experience").first.click()
    chart = page.locator("#progress-chart")
    expect(chart).to_be_visible()
    assert chart.locator("circle.dot").count() >= 3
    snap("goal-chart")

    page.goto(page.url.split("/goals/")[0] + "/?as_of=someday")
    expect(page.locator(".as-of-form .error")).to_contain_text("Use a date as YYYY-MM-DD")
    assert problems == []
