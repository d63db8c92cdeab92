"""The Django admin shows goals, KPIs and their values but cannot change them: a save
there would skip the services, and with them the tree rules and the roll-up."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from kpis.services import kpi_record_value


@pytest.fixture
def operator(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "x-pass-1234")
    client.force_login(user)
    return client


@pytest.fixture
def rows(acme, tree):
    update = kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)
    return {
        "goals/goal": tree.department,
        "kpis/kpi": tree.individual_kpi,
        "kpis/kpiupdate": update,
    }


def snapshot() -> list:
    return [list(model.objects.order_by("pk").values()) for model in (Goal, Kpi, KpiUpdate)]


@pytest.mark.parametrize("model", ["goals/goal", "kpis/kpi", "kpis/kpiupdate"])
def test_the_admin_lists_and_shows_them(operator, rows, model):
    assert operator.get(f"/admin/{model}/").status_code == 200
    page = operator.get(f"/admin/{model}/{rows[model].pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a view, not a form


@pytest.mark.parametrize("model", ["goals/goal", "kpis/kpi", "kpis/kpiupdate"])
def test_the_admin_cannot_add_change_or_delete_them(operator, rows, model):
    before = snapshot()
    pk = rows[model].pk
    assert operator.get(f"/admin/{model}/add/").status_code == 403
    assert operator.post(f"/admin/{model}/add/", {"title": "Sneaked in"}).status_code == 403
    changed = operator.post(
        f"/admin/{model}/{pk}/change/", {"title": "Renamed", "weight": "1e300", "value": "99"}
    )
    assert changed.status_code == 403
    assert operator.post(f"/admin/{model}/{pk}/delete/", {"post": "yes"}).status_code == 403
    assert snapshot() == before
