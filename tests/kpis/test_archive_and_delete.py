"""Archived KPIs and removed goals (SPEC §8.1): an archived KPI leaves the roll-up,
the reminders and the default lists, its history kept; a goal nothing hangs on may be
deleted, any other is cancelled instead — through the services, the API and the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cycles.selectors import goal_tree
from goals.models import Goal
from goals.services import goal_create, goal_delete
from kpis.models import CheckinReminder, Kpi, KpiUpdate
from kpis.reminders import checkin_reminders_send_due
from kpis.selectors import my_kpis
from kpis.services import kpi_create, kpi_edit, kpi_record_value
from reviews.services import review_start

from ..api.helpers import API, client_for, unchanged
from ..pages.helpers import HTMX, snapshot
from ..reviews.helpers import schedule

pytestmark = pytest.mark.django_db


def progress(goal) -> float:
    return round(Goal.objects.get(pk=goal.pk).progress, 1)


@pytest.fixture
def second(acme, tree):
    """A second KPI on sam's goal, at 100 %: his goal reads 50 % (6 → 4 h still 0 %)."""
    kpi = kpi_create(
        actor=acme.leader, goal=tree.individual, name="Tickets answered", unit="%",
        baseline=0, target=100, owner=acme.member,
    )  # fmt: skip
    kpi_record_value(actor=acme.member, kpi=kpi, value=100, date=dt.date(2027, 3, 1))
    assert progress(tree.individual) == 50.0
    return kpi


# ---------------------------------------------------------------- archived KPIs


def test_an_archived_kpi_no_longer_counts_and_keeps_its_history(acme, tree, second):
    kpi_edit(actor=acme.manager, kpi=second, state="archived")
    assert progress(tree.individual) == 0.0  # only the other KPI counts
    assert KpiUpdate.objects.filter(kpi=second).count() == 1
    assert Kpi.objects.get(pk=second.pk).current == 100  # its own numbers stay


def test_restoring_an_archived_kpi_counts_it_again(acme, tree, second):
    kpi_edit(actor=acme.manager, kpi=second, state="archived")
    kpi_edit(actor=acme.manager, kpi=second, state="active")
    assert progress(tree.individual) == 50.0


def test_an_archived_kpi_leaves_my_work_the_tree_and_the_reminders(acme, tree):
    unvalued = kpi_create(
        actor=acme.leader, goal=tree.individual, name="Calls returned", unit="%",
        baseline=0, target=100, owner=acme.member,
    )  # fmt: skip
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5, date=dt.date(2027, 3, 2))
    kpi_edit(actor=acme.manager, kpi=unvalued, state="archived")
    assert unvalued.pk not in {kpi.pk for kpi in my_kpis(acme.member, acme.cycle)}
    assert unvalued.pk not in {kpi.pk for kpi in goal_tree(tree.individual).tree_kpis}
    checkin_reminders_send_due(day=dt.date(2027, 3, 28))
    # sam's only active KPI has a value this quarter: no reminder about the archived one
    assert not CheckinReminder.objects.filter(member=acme.member).exists()
    kpi_edit(actor=acme.manager, kpi=unvalued, state="active")
    checkin_reminders_send_due(day=dt.date(2027, 3, 28))
    assert CheckinReminder.objects.filter(member=acme.member).exists()  # now it counts


def test_a_new_kpi_starts_active(acme, tree):
    with pytest.raises(ValidationError) as caught:
        kpi_create(
            actor=acme.leader, goal=tree.individual, name="Old measure", unit="%",
            baseline=0, target=10, state="archived",
        )  # fmt: skip
    assert "starts active" in caught.value.message_dict["state"][0]


def test_the_api_lists_archived_kpis_only_when_asked(acme, tree, second):
    client = client_for(acme.manager)
    response = client.patch(f"{API}/kpis/{second.pk}/", {"state": "archived"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "archived"
    listed = {row["id"] for row in client.get(f"{API}/kpis/").json()["results"]}
    assert second.pk not in listed and tree.individual_kpi.pk in listed
    archived = client.get(f"{API}/kpis/?state=archived").json()["results"]
    assert [row["id"] for row in archived] == [second.pk]
    assert client.get(f"{API}/kpis/?state=gone").status_code == 400


def test_a_reviewer_may_not_archive(acme, tree, second):
    with unchanged():
        response = client_for(acme.reviewer).patch(
            f"{API}/kpis/{second.pk}/", {"state": "archived"}, format="json"
        )
    assert response.status_code == 403


def test_the_goal_page_asks_before_archiving_and_lists_archived_kpis_apart(
    client, acme, tree, second
):
    client.force_login(acme.manager.user)
    page = client.get(f"/goals/{tree.individual.pk}/").content.decode()
    assert f'hx-post="/kpis/{second.pk}/archive/"' in page and "Archive “Tickets answered”?" in page
    response = client.post(f"/kpis/{second.pk}/archive/", {"state": "archived"}, headers=HTMX)
    assert response.status_code == 204
    page = client.get(f"/goals/{tree.individual.pk}/").content.decode()
    assert "Archived KPIs" in page and "Restore" in page
    client.post(f"/kpis/{second.pk}/archive/", {"state": "active"}, headers=HTMX)
    assert Kpi.objects.get(pk=second.pk).state == "active"


def test_the_page_refuses_a_state_that_does_not_exist(client, acme, tree, second):
    client.force_login(acme.manager.user)
    before = snapshot()
    assert client.post(f"/kpis/{second.pk}/archive/", {"state": "gone"}).status_code == 400
    assert snapshot() == before


# ---------------------------------------------------------------- deleting goals


def empty_goal(acme, tree) -> Goal:
    return goal_create(
        actor=acme.manager, cycle=acme.cycle, level="team", title="Tidy the queue",
        parent=tree.department, department=acme.tier2,
    )  # fmt: skip


def test_a_goal_nothing_hangs_on_is_deleted_and_its_parent_moves(acme, tree):
    kpi_record_value(actor=acme.manager, kpi=tree.department_kpi, value=8, date=dt.date(2027, 3, 1))
    goal = empty_goal(acme, tree)  # dilutes the department goal
    diluted = progress(tree.department)
    assert goal_delete(actor=acme.manager, goal=goal) is True
    assert not Goal.objects.filter(pk=goal.pk).exists()
    assert progress(tree.department) > diluted


@pytest.mark.parametrize("hangs", ["kpi", "child", "review"])
def test_a_goal_something_hangs_on_is_cancelled_instead(acme, tree, hangs):
    goal = empty_goal(acme, tree)
    if hangs == "kpi":
        kpi_create(actor=acme.manager, goal=goal, name="Queue size", unit="tickets",
                   direction="decrease", baseline=50, target=10)  # fmt: skip
    elif hangs == "child":
        goal_create(actor=acme.manager, cycle=acme.cycle, level="individual", title="Mine",
                    parent=goal, owner=acme.tier2_member)  # fmt: skip
    else:
        review = schedule(acme.manager, cycle=acme.cycle, goal=goal)
        review_start(actor=acme.manager, review=review)
    assert goal_delete(actor=acme.manager, goal=goal) is False
    assert Goal.objects.get(pk=goal.pk).state == "cancelled"


def test_a_goal_is_removed_only_by_who_may_edit_it(acme, tree):
    goal = empty_goal(acme, tree)
    with pytest.raises(PermissionDenied):
        goal_delete(actor=acme.marketing_manager, goal=goal)
    assert Goal.objects.get(pk=goal.pk).state == "active"


def test_the_api_deletes_an_empty_goal_and_cancels_another(acme, tree):
    client = client_for(acme.manager)
    goal = empty_goal(acme, tree)
    assert client.delete(f"{API}/goals/{goal.pk}/").status_code == 204
    response = client.delete(f"{API}/goals/{tree.individual.pk}/")  # it has a KPI
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    with unchanged():
        refused = client_for(acme.reviewer).delete(f"{API}/goals/{tree.department.pk}/")
    assert refused.status_code == 403


def test_the_goal_page_asks_before_deleting_or_cancelling(client, acme, tree):
    goal = empty_goal(acme, tree)
    client.force_login(acme.manager.user)
    page = client.get(f"/goals/{goal.pk}/").content.decode()
    assert "Delete “Tidy the queue” for good?" in page
    assert "Cancel “Tidy the queue”?" in page
    assert "Delete goal" not in client.get(f"/goals/{tree.department.pk}/").content.decode()
    response = client.post(f"/goals/{goal.pk}/delete/", headers=HTMX)
    assert response.status_code == 204
    assert response["HX-Location"] == f"/goals/{tree.department.pk}/"
    assert not Goal.objects.filter(pk=goal.pk).exists()
