"""SPEC §8.3 cycles: closing refuses every write to a cycle's goals, KPIs and values
until it is reopened; roll-over copies goals with their KPIs (not their values); the
default cycle; through the services and the API."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cycles.models import Cycle, CyclePick
from cycles.rollover import cycle_rollover
from cycles.selectors import cycle_current
from cycles.services import cycle_create, cycle_set_state, cycle_update
from goals.models import Goal
from goals.services import goal_create, goal_update
from kpis.feeds import source_set
from kpis.models import Kpi, KpiSource, KpiUpdate
from kpis.services import kpi_create, kpi_record_value, kpi_value_correct, kpi_value_retract
from tests.api.helpers import API, client_for, unchanged
from tests.factories import CycleFactory

CLOSED = "This cycle is closed"


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


@pytest.fixture
def closed(acme, tree):
    """The tree's cycle, with one value recorded, then closed by the leader."""
    tree.value = kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)
    cycle_set_state(actor=acme.leader, cycle=acme.cycle, state="closed")
    return tree


def writes_to(acme, t):
    """Every kind of write to a cycle's goals, KPIs and values, by someone who may."""
    return {
        "create a goal": lambda: goal_create(
            actor=acme.leader, cycle=fresh(acme.cycle), level="strategic", title="Grow"
        ),
        "edit a goal": lambda: goal_update(
            actor=acme.leader, goal=fresh(t.department), title="Renamed"
        ),
        "add a KPI": lambda: kpi_create(
            actor=acme.leader,
            goal=fresh(t.department),
            name="NPS",
            unit="points",
            baseline=0,
            target=10,
        ),
        "record a value": lambda: kpi_record_value(
            actor=acme.member, kpi=fresh(t.individual_kpi), value=4.5
        ),
        "correct a value": lambda: kpi_value_correct(
            actor=acme.member, update=fresh(t.value), value=4.8
        ),
        "retract a value": lambda: kpi_value_retract(
            actor=acme.member, update=fresh(t.value), reason="typo"
        ),
    }


WRITES = (
    "create a goal",
    "edit a goal",
    "add a KPI",
    "record a value",
    "correct a value",
    "retract a value",
)


@pytest.mark.parametrize("write", WRITES)
def test_a_closed_cycle_refuses_every_write_and_changes_nothing(acme, closed, write):
    counts = (Goal.objects.count(), Kpi.objects.count(), KpiUpdate.objects.count())
    with pytest.raises(ValidationError) as refused:
        writes_to(acme, closed)[write]()
    assert CLOSED in " ".join(refused.value.messages)
    assert (Goal.objects.count(), Kpi.objects.count(), KpiUpdate.objects.count()) == counts
    assert fresh(closed.department).title == "Reduce average response time by 20%"
    assert fresh(closed.value).retracted_at is None


@pytest.mark.parametrize("write", WRITES)
def test_reopening_a_cycle_allows_writes_again(acme, closed, write):
    cycle_set_state(actor=acme.admin, cycle=fresh(acme.cycle), state="open")
    writes_to(acme, closed)[write]()


def test_a_refusal_by_role_comes_before_the_closed_cycle(acme, closed):
    with pytest.raises(PermissionDenied):
        kpi_record_value(actor=acme.reviewer, kpi=fresh(closed.individual_kpi), value=1)


@pytest.mark.parametrize("role", ["manager", "member", "reviewer"])
def test_only_leaders_and_admins_close_cycles(acme, role):
    with pytest.raises(PermissionDenied):
        cycle_set_state(actor=getattr(acme, role), cycle=acme.cycle, state="closed")
    assert fresh(acme.cycle).state == "open"


# Roll-over ------------------------------------------------------------------------


@pytest.fixture
def next_cycle(acme):
    return CycleFactory(
        organization=acme.org, name="2028", start=dt.date(2028, 1, 1), end=dt.date(2028, 12, 31)
    )


def test_rollover_copies_goals_with_kpis_and_carries_baselines(acme, tree, next_cycle):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)  # 6 → 4 h, now 5
    copies = cycle_rollover(
        actor=acme.leader, source=acme.cycle, to_cycle=next_cycle, goals=[fresh(tree.individual)]
    )
    # The goals above come too, root first, each pointing at its source.
    assert [(c.level, c.copied_from_id) for c in copies] == [
        ("strategic", tree.strategic.pk),
        ("department", tree.department.pk),
        ("individual", tree.individual.pk),
    ]
    strategic, department, individual = copies
    assert (department.parent_id, individual.parent_id) == (strategic.pk, department.pk)
    assert individual.owner_id == acme.member.pk and department.department_id == acme.support.pk
    assert (individual.start, individual.due) == (dt.date(2028, 1, 1), dt.date(2028, 12, 31))
    assert {g.cycle_id for g in copies} == {next_cycle.pk}
    copied = Kpi.objects.get(goal=individual)
    assert copied.copied_from_id == tree.individual_kpi.pk
    assert (copied.baseline, copied.target, copied.current) == (5, 4, None)  # carried over
    assert not KpiUpdate.objects.filter(kpi__goal__cycle=next_cycle).exists()  # no values
    assert Kpi.objects.get(goal=strategic).baseline == 70  # no value: its own baseline
    assert copied.health == "not_started" and individual.progress == 0  # 2028 is ahead
    # The source is untouched.
    assert fresh(tree.individual_kpi).baseline == 6
    assert Goal.objects.filter(cycle=acme.cycle).count() == 3


def test_rolling_over_again_reuses_the_copies_above(acme, places, next_cycle):
    cycle_rollover(
        actor=acme.leader, source=acme.cycle, to_cycle=next_cycle, goals=[fresh(places.tia)]
    )
    cycle_rollover(
        actor=acme.leader, source=acme.cycle, to_cycle=next_cycle, goals=[fresh(places.lee)]
    )
    copied = Goal.objects.filter(cycle=next_cycle)
    assert copied.filter(level="strategic").count() == 1
    assert set(copied.values_list("copied_from_id", flat=True)) == {
        places.strategic.pk,
        places.department.pk,
        places.tier2.pk,
        places.tia.pk,
        places.marketing.pk,
        places.lee.pk,
    }


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("same cycle", "Pick another cycle"),
        ("no goals", "Pick at least one goal"),
        ("goal of another cycle", "Not goals of 2027"),
        ("closed target", CLOSED),
    ],
)
def test_a_bad_rollover_is_refused_with_a_reason_and_copies_nothing(
    acme, tree, next_cycle, case, message
):
    goals, target = [fresh(tree.individual)], next_cycle
    if case == "same cycle":
        target = acme.cycle
    elif case == "no goals":
        goals = []
    elif case == "goal of another cycle":
        other = CycleFactory(
            organization=acme.org, name="2026", start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 1)
        )
        goals = [goal_create(actor=acme.leader, cycle=other, level="strategic", title="Old")]
    elif case == "closed target":
        cycle_set_state(actor=acme.leader, cycle=next_cycle, state="closed")
    before = Goal.objects.count()
    with pytest.raises(ValidationError) as refused:
        cycle_rollover(actor=acme.leader, source=acme.cycle, to_cycle=target, goals=goals)
    assert message in " ".join(refused.value.messages)
    assert Goal.objects.count() == before


def test_a_manager_may_not_roll_over(acme, tree, next_cycle):
    with pytest.raises(PermissionDenied):
        cycle_rollover(
            actor=acme.manager, source=acme.cycle, to_cycle=next_cycle, goals=[tree.individual]
        )
    assert not Goal.objects.filter(cycle=next_cycle).exists()


# The default cycle ---------------------------------------------------------------


def test_creating_an_overlapping_cycle_changes_no_ones_view(acme):
    assert cycle_current(acme.org) == acme.cycle
    cycle_create(
        actor=acme.leader, name="Q1 2027", start=dt.date(2027, 2, 1), end=dt.date(2027, 4, 30)
    )
    assert cycle_current(acme.org) == acme.cycle
    assert fresh(acme.cycle).is_current


def test_the_default_is_the_current_mark_then_open_containing_today_then_latest(acme):
    q1 = CycleFactory(
        organization=acme.org, name="Q1", start=dt.date(2027, 2, 1), end=dt.date(2027, 4, 30)
    )
    future = CycleFactory(
        organization=acme.org, name="2029", start=dt.date(2029, 1, 1), end=dt.date(2029, 12, 31)
    )
    assert cycle_current(acme.org) == q1  # open, contains today, latest start
    cycle_set_state(actor=acme.leader, cycle=q1, state="closed")
    assert cycle_current(acme.org) == acme.cycle  # q1 is closed now
    cycle_set_state(actor=acme.leader, cycle=fresh(acme.cycle), state="closed")
    assert cycle_current(acme.org) == future  # none open contains today: latest start
    cycle_update(actor=acme.admin, cycle=q1, is_current=True)
    assert cycle_current(acme.org) == q1
    cycle_update(actor=acme.admin, cycle=fresh(acme.cycle), is_current=True)
    assert list(Cycle.objects.filter(is_current=True)) == [acme.cycle]  # at most one


def test_a_persons_pick_is_remembered_for_them_only(acme, client):
    other = CycleFactory(
        organization=acme.org, name="2028", start=dt.date(2028, 1, 1), end=dt.date(2028, 12, 31)
    )
    client.force_login(acme.member.user)
    answer = client.post(
        "/cycles/pick/", {"cycle": other.pk, "next": "/cascade/?cycle=1&view=tree"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/cascade/?view=tree"
    assert CyclePick.objects.get(member=acme.member).cycle == other
    client.logout()
    client.force_login(acme.member.user)  # a new session, the same person
    assert client.get("/").context["cycle"] == other
    client.force_login(acme.manager.user)
    assert client.get("/").context["cycle"] == acme.cycle


def test_a_link_to_another_cycle_shows_it_with_a_banner_and_stores_nothing(acme, client):
    old = CycleFactory(
        organization=acme.org, name="Q3 2026", start=dt.date(2026, 7, 1), end=dt.date(2026, 9, 30)
    )
    cycle_set_state(actor=acme.leader, cycle=old, state="closed")
    client.force_login(acme.member.user)
    for url in ("/", "/cascade/", "/my/", "/department/", "/reviews/"):
        page = client.get(f"{url}?cycle={old.pk}")
        assert page.context["cycle"] == old, url
        body = page.content.decode()
        assert "Viewing Q3 2026</strong> — closed" in body, url
        assert f'href="{url}">Back to {acme.cycle.name}</a>' in body, url
        assert not CyclePick.objects.filter(member=acme.member).exists(), url
    assert client.get("/").context["cycle"] == acme.cycle
    assert 'id="viewing-banner"' not in client.get("/").content.decode()


def test_the_switcher_refuses_another_organizations_cycle_and_foreign_next(acme, outsider, client):
    client.force_login(acme.member.user)
    answer = client.post(
        "/cycles/pick/", {"cycle": outsider.cycle.pk, "next": "https://evil.example/"}
    )
    assert answer["Location"] == "/"
    assert not CyclePick.objects.filter(member=acme.member).exists()
    assert client.get("/cycles/pick/").status_code == 405  # a GET changes nothing


# The API -------------------------------------------------------------------------


def test_api_close_and_reopen_and_state(acme, tree):
    client = client_for(acme.leader)
    response = client.post(f"{API}/cycles/{acme.cycle.pk}/close/")
    assert response.status_code == 200 and response.json()["state"] == "closed"
    with unchanged():
        refused = client_for(acme.member).post(
            f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5}, format="json"
        )
    assert refused.status_code == 409  # a state conflict (SPEC §8.4), a 400's body
    assert CLOSED in refused.json()["non_field_errors"][0]
    response = client.post(f"{API}/cycles/{acme.cycle.pk}/reopen/")
    assert response.json()["state"] == "open"
    accepted = client_for(acme.member).post(
        f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5}, format="json"
    )
    assert accepted.status_code == 201


def test_api_state_is_read_only_and_members_may_not_close(acme):
    with unchanged():
        assert (
            client_for(acme.member).post(f"{API}/cycles/{acme.cycle.pk}/close/").status_code == 403
        )
        client_for(acme.leader).patch(
            f"{API}/cycles/{acme.cycle.pk}/", {"state": "closed"}, format="json"
        )
    assert fresh(acme.cycle).state == "open"


def test_api_rollover(acme, tree, next_cycle):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)
    response = client_for(acme.admin).post(
        f"{API}/cycles/{acme.cycle.pk}/rollover/",
        {"to_cycle": next_cycle.pk, "goals": [tree.individual.pk]},
        format="json",
    )
    assert response.status_code == 201, response.content
    copies = response.json()
    assert [c["copied_from"] for c in copies] == [
        tree.strategic.pk,
        tree.department.pk,
        tree.individual.pk,
    ]
    assert {c["cycle"] for c in copies} == {next_cycle.pk}
    kpis = client_for(acme.admin).get(f"{API}/kpis/", {"goal": copies[2]["id"]}).json()["results"]
    assert [(k["baseline"], k["copied_from"]) for k in kpis] == [(5.0, tree.individual_kpi.pk)]


def test_api_rollover_of_another_organizations_cycle_is_a_404(acme, tree, next_cycle, outsider):
    with unchanged():
        response = client_for(outsider).post(
            f"{API}/cycles/{acme.cycle.pk}/rollover/",
            {"to_cycle": next_cycle.pk, "goals": [tree.individual.pk]},
            format="json",
        )
    assert response.status_code == 404


def test_rollover_keeps_a_kpi_fed_by_its_data_source_in_the_new_cycle(
    acme, tree, next_cycle, settings
):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    source_set(
        actor=acme.leader,
        kpi=tree.individual_kpi,
        kind="http_json",
        name="Helpdesk",
        url="http://127.0.0.1:8/never-fetched",
        pointer="/hours",
        headers={"Authorization": "Bearer s3cret"},
        schedule="hourly",
    )
    copies = cycle_rollover(
        actor=acme.leader, source=acme.cycle, to_cycle=next_cycle, goals=[fresh(tree.individual)]
    )
    copied = Kpi.objects.get(goal=copies[-1])
    fed = KpiSource.objects.get(kpi=copied)
    assert (fed.name, fed.url, fed.pointer, fed.schedule) == (
        "Helpdesk",
        "http://127.0.0.1:8/never-fetched",
        "/hours",
        "hourly",
    )
    assert json.loads(fed.headers) == {"Authorization": "Bearer s3cret"}
    assert fed.next_fetch_at <= timezone.now()  # due at once in the new cycle
    assert KpiSource.objects.filter(kpi=tree.individual_kpi).exists()  # the old one stays
    assert KpiSource.objects.count() == 2  # only the fed KPI's copy is fed
