"""The leader's dashboard in a browser (SPEC §9.3), on the demo organization: the
heatmap of objectives × departments scrolls inside its card on a phone and opens the
cascade map filtered, compliance names who has not checked in and reminds them in place
(once a day), and each objective shows its movement — with a clean console."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from goals.models import Goal
from kpis.models import CheckinNudge
from org.models import Department

pytestmark = pytest.mark.django_db(transaction=True)

WATCH_CSP = """document.addEventListener("securitypolicyviolation",
  (e) => (window.__csp = (window.__csp || []).concat(e.violatedDirective + " " + e.blockedURI)));"""


def test_a_leader_reads_the_quarter_on_the_dashboard_and_reminds_who_has_not_checked_in(
    demo, login, page, snap
):
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page: {error}"))
    page.add_init_script(WATCH_CSP)
    login("lena")

    heatmap = page.get_by_role("table").filter(
        has=page.get_by_role("columnheader", name="Objective")
    )
    expect(heatmap.get_by_role("columnheader")).to_have_text(
        ["Objective", "Customer Support", "Innovation", "Marketing"]
    )
    expect(heatmap.get_by_role("rowheader")).to_have_count(3)
    expect(heatmap.locator("td.heat-none")).to_have_count(2)  # Support under two objectives
    expect(heatmap.locator("td.heat a .health").first).to_have_text(
        re.compile(r"On track|At risk|Off track|No check-in yet|Done")
    )
    movement = page.locator("#objective-list .movement")
    expect(movement).to_have_count(3)
    expect(movement.first.locator("svg.spark polyline")).to_have_count(1)
    expect(movement.first).to_contain_text("in 7 days")
    expect(movement.first).to_contain_text("since the review")
    compliance = page.locator("#compliance")
    expect(compliance.locator("#compliance-" + str(_department_id("Marketing")))).to_contain_text(
        "Lee Larsen"
    )
    snap("dashboard")

    # At 390 px the heatmap scrolls inside its card; the page itself does not.
    page.set_viewport_size({"width": 390, "height": 900})
    widths = page.evaluate(
        """() => {
          const wrap = document.querySelector("#heatmap .table-wrap");
          return {page: document.documentElement.scrollWidth, wrap: wrap.clientWidth,
                  table: wrap.scrollWidth};
        }"""
    )
    assert widths["page"] <= 390, widths
    assert widths["table"] > widths["wrap"], widths
    page.set_viewport_size({"width": 1280, "height": 900})

    # A cell opens the map on that objective's goals of that department.
    cell = (
        heatmap.get_by_role("row", name=re.compile("Expand market presence"))
        .locator("td.heat a")
        .last
    )
    cell.click()
    expect(page.get_by_label("Objective")).to_have_value(str(_goal_id("Expand market presence")))
    expect(page.get_by_label("Department")).to_have_value(str(_department_id("Marketing")))
    expect(page.locator("#matches-h")).to_have_text("2 matching goals")  # Mia's and Lee's
    matches = page.locator("#matches-h + ul > li.node")
    expect(matches.locator("a.node-title")).to_have_text(
        ["Launch 3 regional campaigns", "Generate 100 qualified leads/month"]
    )
    snap("cascade-cell")
    page.go_back()

    # Remind now: in place, once a day however often it is clicked.
    row = compliance.locator(f"#compliance-{_department_id('Marketing')}")
    row.get_by_role("button", name="Remind now").click()
    answer = page.locator("#compliance .answer")
    expect(answer).to_have_text("Reminded 1 person (Lee Larsen) in Marketing.")
    row.get_by_role("button", name="Remind now").click()
    expect(answer).to_have_text("1 person (Lee Larsen) already reminded today: not again.")
    snap("reminded")
    assert [message.to for message in mail.outbox] == [["lee@acme.example"]]
    assert CheckinNudge.objects.count() == 1

    problems += [f"CSP: {v}" for v in page.evaluate("window.__csp || []")]
    assert problems == []


def test_a_manager_is_offered_remind_now_for_his_department_only(demo, login, page):
    login("mia")
    buttons = page.locator("#compliance").get_by_role("button", name="Remind now")
    expect(buttons).to_have_count(1)
    expect(page.locator(f"#compliance-{_department_id('Marketing')}")).to_contain_text("Remind now")
    login("lee")
    expect(page.locator("#compliance")).to_be_visible()
    expect(page.locator("#compliance").get_by_role("button")).to_have_count(0)


def _department_id(name: str) -> int:
    return Department.objects.get(name=name).pk


def _goal_id(title: str) -> int:
    return Goal.objects.get(title=title).pk
