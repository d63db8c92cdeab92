"""The leader's dashboard as a page (SPEC §9.3): the heatmap is a real table whose
cells say their health in words and open the cascade map filtered to their objective
and department; compliance names who still owes a value; a past day shows neither."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from cascade.celery import app as celery_app
from cycles.models import CycleSummary
from cycles.summary import count_figures, summary_refresh
from goals.models import Goal
from goals.services import goal_create
from kpis.services import kpi_create, kpi_record_value

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread(acme, tree):
    """A second objective with a Marketing goal (with lee's KPI, given a value), and a
    Marketing goal under the first objective too; Support has goals only under the
    first (its cell under the second is "—")."""
    lead = acme.leader
    second = goal_create(actor=lead, cycle=acme.cycle, level="strategic", title="Grow revenue")
    campaigns = goal_create(
        actor=lead,
        cycle=acme.cycle,
        level="department",
        title="Run spring campaigns",
        parent=second,
        department=acme.marketing,
        owner=acme.marketing_manager,
    )
    leads = kpi_create(
        actor=lead,
        goal=campaigns,
        name="Qualified leads",
        unit="leads",
        baseline=0,
        target=100,
        owner=acme.marketing_member,
    )
    kpi_record_value(actor=lead, kpi=leads, value=30, date=acme.org.today())
    goal_create(
        actor=lead,
        cycle=acme.cycle,
        level="department",
        title="Quote happy customers in ads",
        parent=tree.strategic,
        department=acme.marketing,
        owner=acme.marketing_manager,
    )
    tree.second, tree.campaigns = second, campaigns
    return tree


def heatmap(page: str) -> str:
    return page.split('<table class="heatmap">')[1].split("</table>")[0]


def test_the_heatmap_is_a_table_of_objectives_by_departments_with_health_in_words(
    client, acme, spread
):
    client.force_login(acme.member.user)
    table = heatmap(client.get("/").content.decode())
    headers = re.findall(r'<th scope="col">([^<]*)</th>', table)
    assert headers == ["Objective", "Customer Support", "Marketing"]
    rows = table.split('<th scope="row">')[1:]
    assert [re.search(r">([^<]+)</a>", row)[1] for row in rows] == [
        "Improve customer experience",
        "Grow revenue",
    ]
    second = rows[1]
    assert second.count('class="heat heat-none"') == 1  # Support: no goals under it
    assert "no goals" in second
    marketing = second.split('class="heat heat-')[2]
    assert "30.0%" in marketing and "On track" in marketing and "1 goal" in marketing


def test_a_heatmap_cell_opens_the_map_on_its_objectives_goals_of_its_department(
    client, acme, spread
):
    client.force_login(acme.member.user)
    table = heatmap(client.get("/").content.decode())
    link = f"/cascade/?objective={spread.strategic.pk}&amp;department={acme.marketing.pk}"
    assert link in table
    page = client.get(link.replace("&amp;", "&")).content.decode()
    assert "1 matching goal" in page
    assert "Quote happy customers in ads" in page
    assert "Run spring campaigns" not in page  # Marketing's, under the other objective
    assert "Reduce average response time" not in page  # the objective's, of Support
    assert f'<option value="{spread.strategic.pk}" selected>' in page  # the filter says so


def test_compliance_names_who_still_owes_a_value_per_department(client, acme, spread):
    client.force_login(acme.member.user)
    page = client.get("/").content.decode()
    compliance = page.split('id="compliance"')[1].split("</section>")[0]
    assert "Check-ins for 2027-Q1" in compliance
    rows = dict(re.findall(r'<tr id="compliance-(\w+)">(.*?)</tr>', compliance, flags=re.S))
    assert "0 of 2" in rows[str(acme.support.pk)] and "max, sam" in rows[str(acme.support.pk)]
    assert "1 of 1" in rows[str(acme.marketing.pk)]
    assert "All checked in" in rows[str(acme.marketing.pk)]
    assert "0 of 1" in rows["none"] and "lena" in rows["none"]
    assert "Remind now" not in compliance  # a member reminds nobody


def test_a_past_day_shows_neither_heatmap_nor_compliance(client, acme, spread):
    client.force_login(acme.leader.user)
    page = client.get("/?as_of=2027-02-01").content.decode()
    assert 'id="as-of-banner"' in page
    assert 'class="heatmap"' not in page and 'id="compliance"' not in page


@pytest.fixture
def stored(settings):
    """As in production: a shared cache, and the summary's recount task run inline."""
    settings.SHARED_CACHE = True
    eager = celery_app.conf.task_always_eager
    celery_app.conf.update(task_always_eager=True)
    cache.clear()
    yield
    cache.clear()
    celery_app.conf.update(task_always_eager=eager)


def test_with_stored_figures_the_heatmap_and_compliance_follow_the_writes(
    client, acme, tree, stored, django_capture_on_commit_callbacks
):
    summary_refresh(acme.cycle)
    client.force_login(acme.leader.user)
    assert "0 of 2" in client.get("/").content.decode()  # Support: max's and sam's KPIs
    with django_capture_on_commit_callbacks(execute=True):
        kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5, date=acme.org.today())
    page = client.get("/").content.decode()
    assert "1 of 2" in page
    assert CycleSummary.objects.get(cycle=acme.cycle).figures == count_figures(acme.cycle)
    cell = heatmap(page).split('class="heat heat-')[1]
    assert f"{Goal.objects.get(pk=tree.department.pk).progress:.1f}%" in cell
