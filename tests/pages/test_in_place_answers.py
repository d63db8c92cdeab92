"""An in-place form's 400 or 403 reaches the browser as a 200 (nothing logged as a
failed request), with the real status in X-Answer-Status; a refusal swaps nothing and
carries its reason in the `refused` event. The API and plain pages keep theirs."""

from __future__ import annotations

import json

from django.test import Client

from kpis.models import KpiUpdate

from ..api.helpers import API, client_for
from .helpers import HTMX


def test_an_invalid_in_place_form_is_a_200_holding_the_form_and_the_real_status(acme, tree):
    client = Client()
    client.force_login(acme.member.user)
    kpi = tree.individual_kpi
    response = client.post(f"/kpis/{kpi.pk}/record/", {f"kpi{kpi.pk}-value": "x"}, headers=HTMX)
    assert response.status_code == 200
    assert response["X-Answer-Status"] == "400"
    assert "HX-Reswap" not in response  # the form again, swapped in place
    assert b"Enter a number." in response.content
    assert not KpiUpdate.objects.exists()


def test_a_refused_in_place_form_swaps_nothing_and_sends_its_reason(acme, tree):
    client = Client()
    client.force_login(acme.reviewer.user)
    kpi = tree.individual_kpi
    response = client.post(f"/kpis/{kpi.pk}/record/", {f"kpi{kpi.pk}-value": "5"}, headers=HTMX)
    assert (response.status_code, response["X-Answer-Status"]) == (200, "403")
    assert response["HX-Reswap"] == "none"
    assert json.loads(response["HX-Trigger"]) == {
        "refused": "You may not record values on this KPI. As a reviewer you record no "
        "values: you may schedule and run reviews. Nothing was changed."
    }
    assert not KpiUpdate.objects.exists()


def test_without_htmx_and_in_the_api_the_statuses_stay(acme, tree):
    client = Client()
    client.force_login(acme.reviewer.user)
    kpi = tree.individual_kpi
    page = client.post(f"/kpis/{kpi.pk}/record/", {f"kpi{kpi.pk}-value": "5"})
    assert page.status_code == 403 and "X-Answer-Status" not in page
    api = client_for(acme.reviewer).post(
        f"{API}/kpis/{kpi.pk}/updates/", {"value": 5}, format="json", headers=HTMX
    )
    assert api.status_code == 403 and "X-Answer-Status" not in api
