"""The dashboard's whole-cycle figures (warnings, aligned counts) are kept by the
writes and the roll-up (cycles/summary.py): a page view reads them, never scans the
cycle, and what it reads always equals a full recount once the writes are in."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from cascade.celery import app as celery_app
from cycles.models import CycleSummary
from cycles.summary import count_figures, summary_refresh
from cycles.tasks import rollup_all_cycles
from kpis.services import kpi_create, kpi_record_value

from ..writes import random_writes
from .test_query_counts import LARGE, SMALL, GrowingTree, _measure

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(settings):
    """As in production: a shared cache, and the recount task run (here, inline)."""
    settings.SHARED_CACHE = True
    eager = celery_app.conf.task_always_eager
    celery_app.conf.update(task_always_eager=True)
    cache.clear()
    yield
    cache.clear()
    celery_app.conf.update(task_always_eager=eager)


def stored_figures(cycle) -> dict:
    return CycleSummary.objects.get(cycle=cycle).figures


def test_the_dashboard_reads_stored_figures_in_the_same_queries_at_two_sizes(client, acme, stored):
    tree = GrowingTree(acme).grow(*SMALL)
    summary_refresh(tree.cycle)
    client.force_login(acme.member.user)
    small = _measure(client, tree, lambda c, t: c.get("/"))
    tree.grow(*LARGE)
    summary_refresh(tree.cycle)
    large = _measure(client, tree, lambda c, t: c.get("/"))
    assert small == large <= 12


def test_the_dashboard_shows_the_stored_figures_and_names_the_rows_afresh(
    client, acme, tree, stored, django_capture_on_commit_callbacks
):
    client.force_login(acme.leader.user)
    page = client.get("/").content.decode()
    assert "Only 1 active strategic objective" in page
    assert "not S.M.A.R.T." not in page
    with django_capture_on_commit_callbacks(execute=True):
        growth = kpi_create(
            actor=acme.leader, goal=tree.strategic, name="Growth", unit="%", baseline=1, target=50
        )  # one vague word, and a 49× stretch
    page = client.get("/").content.decode()
    assert "1 KPI not S.M.A.R.T." in page and "Growth</a> (specific, achievable)" in page
    type(growth).objects.filter(pk=growth.pk).update(name="Growth renamed")  # read afresh
    assert "Growth renamed</a>" in client.get("/").content.decode()


def test_a_write_that_rolls_back_leaves_the_stored_figures_alone(acme, tree, stored):
    summary_refresh(acme.cycle)
    before = stored_figures(acme.cycle)
    with pytest.raises(ValidationError):
        kpi_create(actor=acme.leader, goal=tree.strategic, name="", unit="", baseline=0, target=0)
    assert stored_figures(acme.cycle) == before


def test_after_a_random_series_of_writes_corrections_and_moves_the_figures_equal_a_recount(
    acme, tree, stored, django_capture_on_commit_callbacks
):
    cycle = acme.cycle
    summary_refresh(cycle)

    def run(step):
        with django_capture_on_commit_callbacks(execute=True):
            step()

    done = 0
    for name, wrote in random_writes(acme, tree, seed=20261127, steps=60, run=run):
        done += wrote
        assert stored_figures(cycle) == count_figures(cycle), name
    assert done >= 40  # most steps were real writes, not refusals
    figures = stored_figures(cycle)
    assert figures["objective_count"] > 1 and figures["kpis_failing_smart_count"] > 0


def test_the_six_hourly_rollup_recounts_figures_the_calendar_moved(
    acme, tree, stored, time_machine, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for kpi in (tree.strategic_kpi, tree.department_kpi, tree.individual_kpi):
            kpi_record_value(actor=acme.leader, kpi=kpi, value=5)
    summary = CycleSummary.objects.get(cycle=acme.cycle)
    assert summary.counted_on.isoformat() == "2027-03-15"
    assert summary.figures["kpis_without_update_count"] == 0
    time_machine.move_to("2027-04-02 12:00Z")  # a new period: every KPI is without a value
    rollup_all_cycles()
    summary = CycleSummary.objects.get(cycle=acme.cycle)
    assert summary.counted_on.isoformat() == "2027-04-02"
    assert summary.figures == count_figures(acme.cycle)
    assert summary.figures["kpis_without_update_count"] == 3
