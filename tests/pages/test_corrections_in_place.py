"""Correcting and retracting a value from the pages (SPEC §8.1): in place on the goal
page and My work, the original kept and struck, the tree moving at once; refusals and
bad input change nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from kpis.models import Kpi, KpiUpdate
from kpis.services import kpi_record_value

from .helpers import HTMX, parse, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def five(acme, tree):
    """sam's 5 hours (6 → 4) on March 1."""
    return kpi_record_value(
        actor=acme.member, kpi=tree.individual_kpi, value=5, date=dt.date(2027, 3, 1)
    )


def on_goal_page(tree) -> dict:
    return HTMX | {"HX-Current-URL": f"http://testserver/goals/{tree.individual.pk}/"}


def test_the_goal_page_lists_the_history_with_correct_and_retract(client, acme, tree, five):
    client.force_login(acme.member.user)
    page = client.get(f"/goals/{tree.individual.pk}/").content.decode()
    assert f'id="update-{five.pk}"' in page
    assert f"/values/{five.pk}/correct/" in page and f"/values/{five.pk}/retract/" in page


def test_correcting_in_place_strikes_the_original_and_moves_the_tree(client, acme, tree, five):
    client.force_login(acme.member.user)
    url = f"/values/{five.pk}/correct/"
    form = client.get(url, headers=on_goal_page(tree))
    assert form.status_code == 200 and 'name="fix' in form.content.decode()
    response = client.post(
        url,
        {f"fix{five.pk}-value": "4.5", f"fix{five.pk}-date": "2027-03-01"},
        headers=on_goal_page(tree),
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#history-{tree.individual_kpi.pk}"
    html = response.content.decode()
    row = parse(response).find(id=f"update-{five.pk}")
    assert "struck" in row.classes and "Corrected to 4.5 by sam" in row.text
    for goal in tree.individual_kpi.goal.chain():  # every bar above it, out of band
        assert f'hx-swap-oob="outerHTML:.bar-goal-{goal.pk}"' in html
    assert f'id="chart-{tree.individual_kpi.pk}"' in html
    assert Kpi.objects.get(pk=tree.individual_kpi.pk).current == 4.5


def test_retracting_asks_first_then_strikes_with_the_reason(client, acme, tree, five):
    client.force_login(acme.manager.user)
    url = f"/values/{five.pk}/retract/"
    form = client.get(url, headers=HTMX).content.decode()
    assert "hx-confirm=" in form  # destructive: the page asks before
    response = client.post(url, {f"drop{five.pk}-reason": "Wrong queue"}, headers=HTMX)
    assert response.status_code == 200
    row = parse(response).find(id=f"update-{five.pk}")
    assert "Retracted by max" in row.text and "Wrong queue" in row.text
    assert Kpi.objects.get(pk=tree.individual_kpi.pk).current is None


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("correct", {"value": "abc"}, "Enter a number"),
        ("correct", {"value": "5", "date": "2026-12-31"}, "before the cycle"),
        ("retract", {"reason": ""}, "required"),
    ],
)
def test_bad_input_shows_the_form_again_with_the_message(
    client, acme, tree, five, action, data, message
):
    client.force_login(acme.member.user)
    prefix = {"correct": "fix", "retract": "drop"}[action]
    before = snapshot()
    response = client.post(
        f"/values/{five.pk}/{action}/",
        {f"{prefix}{five.pk}-{name}": value for name, value in data.items()},
        headers=HTMX,
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("who", ["reviewer", "marketing_member"])
def test_others_are_refused_and_nothing_changes(client, acme, tree, five, who):
    client.force_login(getattr(acme, who).user)
    before = snapshot()
    for action, data in (("correct", {f"fix{five.pk}-value": "1"}), ("retract", {})):
        assert client.get(f"/values/{five.pk}/{action}/", headers=HTMX).status_code == 403
        assert client.post(f"/values/{five.pk}/{action}/", data, headers=HTMX).status_code == 403
    assert snapshot() == before
    page = client.get(f"/goals/{tree.individual.pk}/").content.decode()
    assert f"/values/{five.pk}/correct/" not in page


def test_another_organizations_value_is_not_found(client, outsider, tree, five):
    client.force_login(outsider.user)
    assert client.get(f"/values/{five.pk}/correct/").status_code == 404


def test_without_javascript_the_correction_is_a_page_and_goes_back_to_the_goal(
    client, acme, tree, five
):
    client.force_login(acme.member.user)
    assert b"Correct a value" in client.get(f"/values/{five.pk}/correct/").content
    response = client.post(f"/values/{five.pk}/correct/", {f"fix{five.pk}-value": "4.2"})
    assert response.status_code == 302
    assert response["Location"].startswith(f"/goals/{tree.individual.pk}/")
    assert KpiUpdate.objects.get(replaces=five).value == 4.2


def test_my_work_loads_a_kpis_history_in_place(client, acme, tree, five):
    client.force_login(acme.member.user)
    assert f"/kpis/{tree.individual_kpi.pk}/history/" in client.get("/my/").content.decode()
    response = client.get(f"/kpis/{tree.individual_kpi.pk}/history/", headers=HTMX)
    assert parse(response).find(id=f"update-{five.pk}") is not None


def test_correcting_on_my_work_updates_the_rows_latest_note_too(client, acme, tree, five):
    client.force_login(acme.member.user)
    my_work = HTMX | {"HX-Current-URL": "http://testserver/my/"}
    response = client.post(
        f"/values/{five.pk}/correct/",
        {f"fix{five.pk}-value": "4.5", f"fix{five.pk}-note": "Counted twice"},
        headers=my_work,
    )
    last = parse(response).find(id=f"kpi-last-{tree.individual_kpi.pk}")
    assert last is not None and "Counted twice" in last.text
    assert f'id="chart-{tree.individual_kpi.pk}"' not in response.content.decode()
