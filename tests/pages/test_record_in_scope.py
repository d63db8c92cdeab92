"""SPEC §8.3: managers, leaders and admins record values on KPIs in their scope from
the goal page and the department page, not only owners from My work."""

from __future__ import annotations

import pytest

from kpis.models import KpiUpdate

from .helpers import HTMX, parse


def record(client, kpi, place, value="5", **extra):
    body = {f"kpi{kpi.pk}-value": value, "place": place, **extra}
    return client.post(f"/kpis/{kpi.pk}/record/", body, headers=HTMX)


@pytest.mark.parametrize("role", ["manager", "leader", "admin"])
def test_a_manager_records_on_a_members_kpi_from_the_goal_page(client, acme, tree, role):
    client.force_login(getattr(acme, role).user)
    page = parse(client.get(f"/goals/{tree.individual.pk}/"))
    assert page.find(id=f"record-{tree.individual_kpi.pk}") is not None
    response = record(client, tree.individual_kpi, "goal")
    assert response.status_code == 204
    assert response["HX-Location"] == f"/goals/{tree.individual.pk}/"
    update = KpiUpdate.objects.get(kpi=tree.individual_kpi)
    assert (update.value, update.author) == (5, getattr(acme, role))
    shown = client.get(f"/goals/{tree.individual.pk}/").content.decode()
    assert "Saved 5 hours on “Average ticket resolution time”" in shown


def test_a_manager_records_from_the_department_page(client, acme, places):
    kpi = places.kpis["support_department_kpi_owned_by_sam"]  # on Support's goal, sam's
    client.force_login(acme.manager.user)
    page = parse(client.get(f"/department/{acme.support.pk}/"))
    assert page.find(id=f"record-{kpi.pk}") is not None
    response = client.post(
        f"/kpis/{kpi.pk}/record/",
        {f"kpi{kpi.pk}-value": "45", "place": "department"},
        headers={**HTMX, "HX-Current-URL": f"http://testserver/department/{acme.support.pk}/"},
    )
    assert response.status_code == 204
    assert response["HX-Location"] == f"/department/{acme.support.pk}/"
    assert KpiUpdate.objects.get(kpi=kpi).value == 45


def test_a_wrong_value_on_the_goal_page_is_answered_in_the_form(client, acme, tree):
    client.force_login(acme.manager.user)
    response = record(client, tree.individual_kpi, "goal", value="lots")
    assert response.status_code == 400
    form = parse(response).find(id=f"record-{tree.individual_kpi.pk}")
    assert form is not None and "Enter a number." in form.text
    assert not KpiUpdate.objects.exists()


def test_outside_their_scope_nobody_is_offered_or_allowed_to_record(client, acme, places):
    marketing_kpi = places.kpis["lee_individual"]
    client.force_login(acme.manager.user)  # Support's manager
    page = parse(client.get(f"/goals/{places.lee.pk}/"))
    assert page.find(id=f"record-{marketing_kpi.pk}") is None
    response = record(client, marketing_kpi, "goal")
    assert response.status_code == 403
    assert b"You may not record values on this KPI." in response.content
    client.force_login(acme.reviewer.user)
    assert (
        parse(client.get(f"/goals/{places.individual.pk}/")).find(
            id=f"record-{places.individual_kpi.pk}"
        )
        is None
    )
    assert not KpiUpdate.objects.exists()
