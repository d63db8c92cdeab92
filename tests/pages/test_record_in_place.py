"""Recording a value from a page (POST /kpis/ID/record/): in place with htmx (the
row again, the bars of the KPI's chain out of band) or as a plain form; refusals
and bad input change nothing. The service behind it: tests/kpis/test_record_value.py."""

from __future__ import annotations

import datetime as dt

import pytest

from kpis.models import KpiUpdate

from .helpers import HTMX, field_errors, parse, record_data, snapshot, typed_value


@pytest.mark.parametrize(
    ("who", "kpi"),
    [
        ("member", "individual_kpi"),  # owns the KPI and its goal
        ("manager", "individual_kpi"),  # sam is in his department
        ("manager", "department_kpi"),
        ("leader", "strategic_kpi"),
        ("admin", "department_kpi"),
    ],
)
def test_allowed_people_record_a_value_in_place(client, acme, tree, who, kpi):
    kpi = getattr(tree, kpi)
    client.force_login(getattr(acme, who).user)
    response = client.post(f"/kpis/{kpi.pk}/record/", record_data(kpi, "9.5"), headers=HTMX)
    assert response.status_code == 200
    update = KpiUpdate.objects.get(kpi=kpi)
    assert (update.value, update.author) == (9.5, getattr(acme, who))
    assert "kpiUpdated" in response["HX-Trigger"]
    page = parse(response)
    assert page.find(id=f"kpi-row-{kpi.pk}") is not None
    # the bars of the KPI's goal and of every goal above it come along, out of band
    for goal in kpi.goal.chain():
        assert f'hx-swap-oob="outerHTML:.bar-goal-{goal.pk}"' in response.content.decode()


def test_member_records_on_a_kpi_he_owns_under_someone_elses_goal(client, acme, tree):
    kpi = tree.department_kpi
    kpi.owner = acme.member
    kpi.save()
    client.force_login(acme.member.user)
    response = client.post(f"/kpis/{kpi.pk}/record/", record_data(kpi, "9"), headers=HTMX)
    assert response.status_code == 200
    assert KpiUpdate.objects.filter(kpi=kpi, author=acme.member).count() == 1


def test_recording_without_htmx_redirects_back(client, acme, tree):
    kpi = tree.individual_kpi
    client.force_login(acme.member.user)
    response = client.post(f"/kpis/{kpi.pk}/record/", record_data(kpi, "5"))
    assert response.status_code == 302
    assert response["Location"] == "/my/"
    kpi.refresh_from_db()
    assert (kpi.current, kpi.progress) == (5, 50)


def test_recording_abc_in_place_shows_the_row_with_the_message_and_saves_nothing(
    client, acme, tree
):
    kpi = tree.individual_kpi
    client.force_login(acme.member.user)
    before = snapshot()
    response = client.post(
        f"/kpis/{kpi.pk}/record/",
        record_data(kpi, "abc") | {f"kpi{kpi.pk}-note": "from the phone"},
        headers=HTMX,
    )
    assert response.status_code == 400
    page = parse(response)
    row = page.find(id=f"kpi-row-{kpi.pk}")
    assert row is not None
    assert "Enter a number" in " ".join(
        e.text for e in row.iter() if any("error" in c for c in e.classes)
    )
    assert typed_value(row, f"id_kpi{kpi.pk}-value") == "abc"
    assert typed_value(row, f"id_kpi{kpi.pk}-note") == "from the phone"
    assert snapshot() == before


def test_recording_abc_without_htmx_shows_the_form_with_the_message(client, acme, tree):
    kpi = tree.individual_kpi
    client.force_login(acme.member.user)
    before = snapshot()
    response = client.post(f"/kpis/{kpi.pk}/record/", record_data(kpi, "abc"))
    assert response.status_code == 400
    page = parse(response)
    assert "Enter a number" in field_errors(page, f"id_kpi{kpi.pk}-value")
    assert typed_value(page, f"id_kpi{kpi.pk}-value") == "abc"
    assert snapshot() == before


def test_recording_a_value_dated_tomorrow_is_refused_next_to_the_date(client, acme, tree):

    kpi = tree.individual_kpi
    client.force_login(acme.member.user)
    tomorrow = acme.org.today() + dt.timedelta(days=1)
    before = snapshot()
    response = client.post(
        f"/kpis/{kpi.pk}/record/",
        record_data(kpi, "5") | {f"kpi{kpi.pk}-date": tomorrow.isoformat()},
    )
    assert response.status_code == 400
    assert "later than today" in field_errors(parse(response), f"id_kpi{kpi.pk}-date")
    assert snapshot() == before


def test_member_sees_a_record_form_but_no_edit_link_for_a_kpi_he_owns_on_someone_elses_goal(
    client, acme, tree
):
    kpi = tree.department_kpi
    kpi.owner = acme.member
    kpi.save()
    client.force_login(acme.member.user)
    my_work = client.get("/my/").content.decode()
    assert f"/kpis/{kpi.pk}/record/" in my_work
    goal_page = client.get(f"/goals/{tree.department.pk}/").content.decode()
    assert f"/kpis/{kpi.pk}/edit/" not in goal_page


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
def test_member_cannot_record_on_someone_elses_kpi_by_forged_post(client, acme, tree, headers):
    kpi = tree.department_kpi
    client.force_login(acme.member.user)
    response = client.post(f"/kpis/{kpi.pk}/record/", record_data(kpi, "1"), headers=headers)
    assert response.status_code == 403
    assert not KpiUpdate.objects.filter(kpi=kpi).exists()
    kpi.refresh_from_db()
    assert (kpi.current, kpi.progress) == (None, 0)


def test_recording_a_value_dated_before_the_cycle_is_refused_next_to_the_date(client, acme, tree):
    kpi = tree.individual_kpi
    client.force_login(acme.member.user)
    before = snapshot()
    response = client.post(
        f"/kpis/{kpi.pk}/record/",
        record_data(kpi, "5") | {f"kpi{kpi.pk}-date": "2026-12-31"},
        headers=HTMX,
    )
    assert response.status_code == 400
    assert "Date: Can't be before the cycle" in row_errors(response, kpi)
    assert snapshot() == before


def test_recording_a_value_beyond_1e12_is_refused_with_the_bound(client, acme, tree):
    kpi = tree.individual_kpi
    client.force_login(acme.member.user)
    before = snapshot()
    response = client.post(f"/kpis/{kpi.pk}/record/", record_data(kpi, "2e12"), headers=HTMX)
    assert response.status_code == 400
    assert "Value: Must lie between" in row_errors(response, kpi)
    assert "1e12" in row_errors(response, kpi)
    assert snapshot() == before


def row_errors(response, kpi) -> str:
    """The messages the KPI's row shows (one line under its form, field by field)."""
    row = parse(response).find(id=f"kpi-row-{kpi.pk}")
    assert row is not None
    return " ".join(e.text for e in row.iter() if any("error" in c for c in e.classes))
