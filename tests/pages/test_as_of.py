"""The dashboard and the cascade map as they stood on a past day (?as_of=), and the
goal page's progress-over-time chart."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from kpis.services import kpi_edit, kpi_record_value

from .helpers import HTMX

pytestmark = pytest.mark.django_db

JAN_1, JAN_20, FEB_3 = dt.date(2027, 1, 1), dt.date(2027, 1, 20), dt.date(2027, 2, 3)


@pytest.fixture
def example(acme, tree, client):
    """The worked example over three days; the client signed in as sam (a member)."""
    leader = acme.leader
    kpi_edit(actor=leader, kpi=tree.department_kpi, weight=3)
    kpi_record_value(actor=leader, kpi=tree.department_kpi, value=8.4, date=JAN_1)
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5.5, date=JAN_20)
    kpi_record_value(actor=leader, kpi=tree.individual_kpi, value=5, date=FEB_3)
    client.force_login(acme.leader.user)
    return tree


def progress_of(html: str, goal) -> str:
    """The progress a page shows on the goal's bar."""
    match = re.search(rf'bar-goal-{goal.pk}" data-progress="([\d.]+)"', html)
    assert match, f"no bar for goal {goal.pk}"
    return match.group(1)


def test_the_dashboard_as_of_a_past_day_shows_that_days_progress_read_only(client, example):
    now = client.get("/").content.decode()
    assert progress_of(now, example.strategic) == "36.2"
    assert "New strategic objective" in now  # a leader's page, today
    past = client.get("/?as_of=2027-01-25").content.decode()
    assert "As of Monday, January 25, 2027." in past
    assert progress_of(past, example.strategic) == "33.1"  # (0 + 66.25) / 2
    assert "expected 6.6% by Jan 25" in past  # 24 of 364 days
    assert "New strategic objective" not in past  # nothing can be changed as of a past day
    assert "Needs attention" not in past and "Upcoming reviews" not in past
    assert 'href="?">Back to today</a>' in past
    before = client.get("/?as_of=2026-12-31").content.decode()  # before the cycle began
    assert progress_of(before, example.strategic) == "0.0"
    assert "Not started" in before


def test_the_cascade_map_as_of_a_past_day_keeps_the_day_when_a_node_is_expanded(client, example):
    page = client.get("/cascade/?as_of=2027-01-25").content.decode()
    assert "As of Monday, January 25, 2027." in page
    assert progress_of(page, example.strategic) == "33.1"
    assert f"/cascade/{example.strategic.pk}/children/?as_of=2027-01-25" in page
    children = client.get(
        f"/cascade/{example.strategic.pk}/children/?as_of=2027-01-25", headers=HTMX
    ).content.decode()
    assert progress_of(children, example.department) == "66.2"  # 66.25, as floats hold it
    tree_view = client.get("/cascade/?view=tree&as_of=2027-01-25").content.decode()
    assert f"/cascade/{example.strategic.pk}/children/?view=tree&amp;as_of=2027-01-25" in tree_view


def test_the_cascade_health_filter_as_of_a_past_day_uses_that_days_health(client, example, acme):
    # Feb 3: the individual goal at 50.0 of 9.1 expected is on track; before Jan 20 it had
    # no value yet ("No check-in yet").
    late = client.get("/cascade/?health=no_data&as_of=2027-01-10").content.decode()
    assert example.individual.title in late
    today = client.get("/cascade/?health=no_data").content.decode()
    assert example.individual.title not in today


@pytest.mark.parametrize(
    "as_of, message",
    [("yesterday", "Use a date as YYYY-MM-DD"), ("2027-13-01", "Use a date as YYYY-MM-DD")],
)
def test_a_bad_as_of_says_what_to_pick_and_shows_today(client, example, as_of, message):
    response = client.get(f"/?as_of={as_of}")
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert 'id="as-of-banner"' not in page
    assert progress_of(page, example.strategic) == "36.2"


def test_the_goal_page_charts_progress_over_time_against_the_expected_line(client, example):
    page = client.get(f"/goals/{example.department.pk}/").content.decode()
    chart = page[page.index('id="progress-chart"') :]
    chart = chart[: chart.index("</figure>")]
    assert chart.count('<circle class="dot"') == 3
    assert "60.0% from 2027-01-01" in chart and "72.5% from 2027-02-03" in chart
    assert 'class="target-line"' in chart  # the expected progress, 0 → 100 %
    above = client.get(f"/goals/{example.strategic.pk}/").content.decode()
    above = above[above.index('id="progress-chart"') :]
    assert above[: above.index("</figure>")].count('<circle class="dot"') == 3  # its child's days


def test_a_goal_with_no_value_yet_says_its_chart_starts_with_the_first(client, acme, tree):
    client.force_login(acme.member.user)
    page = client.get(f"/goals/{tree.individual.pk}/").content.decode()
    assert "No value is recorded at or below this goal yet" in page
