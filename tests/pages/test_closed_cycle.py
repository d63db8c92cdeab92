"""A closed cycle offers no write control (SPEC §9.3): no "New strategic objective",
"Add goal below", "Add KPI", record form or review scheduling — and what a stale form
sends is refused in place, with the reason."""

from __future__ import annotations

import pytest

from cycles.services import cycle_set_state
from reviews.models import Review
from tests.api.helpers import unchanged

from .helpers import HTMX, parse, record_data

pytestmark = pytest.mark.django_db

WRITE_CONTROLS = (
    "New strategic objective",
    "Add goal below",
    "Add KPI",
    ">Record</button>",
    "Edit or move",
    "Mark done",
    "Edit KPI",
    "Schedule a check-in",
)


def page(client, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, url
    return answer.content.decode()


def test_a_closed_cycle_offers_no_write_control_on_any_page(acme, tree, client):
    client.force_login(acme.admin.user)  # who may do everything
    urls = ("/", "/my/", "/department/", "/reviews/", f"/goals/{tree.department.pk}/")
    open_pages = "".join(page(client, url) for url in urls)
    assert all(control in open_pages for control in WRITE_CONTROLS)
    cycle_set_state(actor=acme.leader, cycle=acme.cycle, state="closed")
    for url in urls:
        body = page(client, url)
        offered = [control for control in WRITE_CONTROLS if control in body]
        assert offered == [], (url, offered)
    assert "no check-in can be scheduled in it" in page(client, "/reviews/")


def test_scheduling_a_review_in_a_closed_cycle_is_refused_in_place_with_the_reason(
    acme, tree, client
):
    client.force_login(acme.leader.user)
    form = {
        "title": "Q3 check-in",
        "period": "2027-Q1",
        "scheduled_for": "2027-03-20T10:00",
        "facilitator": acme.leader.pk,
    }
    cycle_set_state(actor=acme.leader, cycle=acme.cycle, state="closed")
    with unchanged():
        answer = client.post(f"/reviews/?cycle={acme.cycle.pk}", form)
    assert answer.status_code == 400
    assert "“2027” is closed: no check-in can be scheduled in it." in answer.content.decode()
    assert not Review.objects.exists()


def test_a_record_form_left_open_when_the_cycle_closed_is_refused_in_place(acme, tree, client):
    kpi = tree.individual_kpi
    client.force_login(acme.member.user)
    cycle_set_state(actor=acme.leader, cycle=acme.cycle, state="closed")
    with unchanged():
        answer = client.post(f"/kpis/{kpi.pk}/record/", record_data(kpi, "5"), headers=HTMX)
    assert answer.status_code == 400  # the row again, its message inside
    row = parse(answer).find(id=f"kpi-row-{kpi.pk}")
    assert row is not None
    assert "This cycle is closed" in " ".join(element.text for element in row.iter())
