"""With a shared cache, the dashboard's whole-cycle summary is reused until the cycle
changes — and never shown stale after a change."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kpis.services import kpi_create, kpi_record_value


@pytest.fixture
def shared_cache(settings):
    settings.SHARED_CACHE = True
    cache.clear()
    yield
    cache.clear()


def queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


@pytest.mark.django_db
def test_dashboard_reuses_the_cycle_summary_until_a_write_changes_the_cycle(
    acme, tree, client, shared_cache, django_capture_on_commit_callbacks
):
    client.force_login(acme.leader.user)
    first, _ = queries(client, "/")
    second, page = queries(client, "/")
    assert second < first  # aligned counts and warnings came from the cache
    assert "Only 1 active strategic objective" in page
    assert "not S.M.A.R.T." not in page

    with django_capture_on_commit_callbacks(execute=True):
        kpi_create(
            actor=acme.leader, goal=tree.strategic, name="Growth", unit="%", baseline=1, target=50
        )  # one vague word, and a 49× stretch
    third, page = queries(client, "/")
    assert third == first  # recomputed once…
    assert "1 KPI not S.M.A.R.T." in page and "Growth</a> (specific, achievable)" in page
    assert queries(client, "/")[0] == second  # …then cached again

    with django_capture_on_commit_callbacks(execute=True):
        kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)
    assert queries(client, "/")[0] == first
