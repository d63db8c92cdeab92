"""SPEC §9.3 (and §8.3, forms fit the role): every form offers only what the person may
choose, and what it offers is exactly what the services accept. For the manager `max`
(Customer Support, with Support Tier 2 below it) and the member `sam`: every offered
choice saves; a choice that was not offered, sent by hand, is refused (a 403) with a
message that names what is allowed instead, and nothing changes.

The forms: "Add goal below", a goal's Edit, a KPI's Add and Edit, and scheduling a
review. The API's refusals: tests/api/test_refusals_name_what_is_allowed.py."""

from __future__ import annotations

import html

import pytest

from goals.models import Goal
from goals.services import goal_create
from kpis.models import Kpi
from org.models import Department, Member
from reviews.models import Review

from .helpers import HTMX, parse, snapshot

pytestmark = pytest.mark.django_db

# What each is told, in full: where they may write instead.
MAX_GOALS = (
    "As manager of Customer Support you may add and change department, team and "
    "individual goals and their KPIs in Customer Support (and the department below it: "
    "Support Tier 2), owned by people there."
)
SAM_GOALS = (
    "As a member you may add individual goals of your own below any goal, and change "
    "them and their KPIs, owned by you."
)
MAX_REVIEWS = (
    "As manager of Customer Support you may schedule and run reviews of Customer Support "
    "(and the department below it: Support Tier 2) and of the goals there."
)
SAM_REVIEWS = (
    "As a member you may tick off the action items you own; reviews are run by reviewers, "
    "leaders, admins and the managers of a department."
)


def offered(page, control_id: str) -> set[str]:
    """The values a select offers, the empty choice left out."""
    select = page.find(id=control_id)
    assert select is not None, f"no #{control_id}"
    return {o.attrs.get("value", "") for o in select.iter() if o.tag == "option"} - {""}


def chosen(page, control_id: str) -> str | None:
    """The value a select starts with."""
    options = [o for o in page.find(id=control_id).iter() if o.tag == "option"]
    return next((o.attrs.get("value") for o in options if "selected" in o.attrs), None)


def form_of(client, member, url: str):
    client.force_login(member.user)
    response = client.get(url, headers=HTMX)
    assert response.status_code == 200, response.content.decode()[:300]
    return parse(response)


def ids(queryset) -> set[str]:
    return {str(pk) for pk in queryset.values_list("pk", flat=True)}


def everyone(acme) -> set[str]:
    return ids(Member.objects.filter(organization=acme.org, is_active=True))


def departments(acme) -> set[str]:
    return ids(Department.objects.filter(organization=acme.org))


def refused_with(client, url: str, data: dict, *sentences: str) -> None:
    """The POST is a 403 saying each sentence, and changes nothing."""
    before = snapshot(), Review.objects.count()
    response = client.post(url, data)
    assert response.status_code == 403, (data, response.content.decode()[:500])
    said = html.unescape(response.content.decode())
    for sentence in sentences:
        assert sentence in said, (data, said[:2000])
    assert (snapshot(), Review.objects.count()) == before


def saved(client, url: str, data: dict) -> None:
    response = client.post(url, data)
    assert response.status_code == 302, (data, response.content.decode()[:800])


# ---------------------------------------------------------------- Add goal below


def test_a_managers_add_goal_below_offers_their_departments_and_people_and_each_saves(
    client, acme, tree
):
    url = f"/goals/{tree.strategic.pk}/children/new/"
    page = form_of(client, acme.manager, url)
    scope = {acme.support, acme.tier2}
    assert offered(page, "id_department") == {str(d.pk) for d in scope}
    assert offered(page, "id_owner") == {
        str(m.pk) for m in (acme.manager, acme.member, acme.tier2_member)
    }
    assert offered(page, "id_level") == {"department", "team", "individual"}

    for department in scope:
        title = f"A goal of {department.name}"
        saved(client, url, {"title": title, "level": "department", "department": department.pk})
        assert Goal.objects.get(title=title).department == department
    for owner_id in offered(page, "id_owner"):
        title = f"Owned by {owner_id}"
        data = {"title": title, "level": "department", "department": acme.support.pk}
        saved(client, url, data | {"owner": owner_id})
        assert str(Goal.objects.get(title=title).owner_id) == owner_id
    for level in offered(page, "id_level"):
        data = {"title": f"A {level} goal", "level": level, "department": acme.support.pk}
        saved(client, url, data | {"owner": acme.manager.pk})
        assert Goal.objects.get(title=f"A {level} goal").level == level


def test_a_managers_add_goal_below_refuses_what_it_did_not_offer_saying_what_is_allowed(
    client, acme, tree
):
    url = f"/goals/{tree.strategic.pk}/children/new/"
    page = form_of(client, acme.manager, url)
    goal = {"title": "Not mine to add", "level": "department"}
    for department in departments(acme) - offered(page, "id_department"):
        data = goal | {"department": department}
        refused_with(client, url, data, "You may not create this goal here.", MAX_GOALS)
    for owner in everyone(acme) - offered(page, "id_owner"):
        data = goal | {"department": acme.support.pk, "owner": owner}
        refused_with(client, url, data, MAX_GOALS)


def test_a_members_add_goal_below_offers_an_individual_goal_of_their_own_and_nothing_else(
    client, acme, tree
):
    url = f"/goals/{tree.department.pk}/children/new/"
    page = form_of(client, acme.member, url)
    assert offered(page, "id_level") == {"individual"}
    assert offered(page, "id_owner") == {str(acme.member.pk)}
    assert page.find(id="id_department") is None

    saved(client, url, {"title": "Mine", "level": "individual", "owner": acme.member.pk})
    assert Goal.objects.get(title="Mine").owner == acme.member
    for owner in everyone(acme) - {str(acme.member.pk)}:
        data = {"title": "Not mine", "level": "individual", "owner": owner}
        refused_with(client, url, data, SAM_GOALS)
    for level in ("team",):  # the one level between a department goal and an individual one
        data = {"title": "Not mine", "level": level, "department": acme.support.pk}
        refused_with(client, url, data, "You may not create this goal here.", SAM_GOALS)


# ---------------------------------------------------------------- a goal's Edit


def edit_data(goal: Goal, **changes) -> dict:
    data = {
        "title": goal.title,
        "rationale": goal.rationale,
        "level": goal.level,
        "department": goal.department_id or "",
        "owner": goal.owner_id or "",
        "parent": goal.parent_id or "",
        "state": goal.state,
    }
    return data | changes


@pytest.fixture
def leaf(acme, tree):
    """A department goal of max's with nothing below it, free to change level."""
    return goal_create(
        actor=acme.manager,
        cycle=acme.cycle,
        level="department",
        title="Answer every chat within a minute",
        parent=tree.strategic,
        department=acme.support,
        owner=acme.manager,
    )


def test_a_managers_goal_edit_offers_their_levels_departments_and_people_and_each_saves(
    client, acme, leaf
):
    url = f"/goals/{leaf.pk}/edit/"
    page = form_of(client, acme.manager, url)
    assert offered(page, "id_level") == {"department", "team", "individual"}  # not strategic
    assert offered(page, "id_department") == {str(acme.support.pk), str(acme.tier2.pk)}
    people = {acme.manager, acme.member, acme.tier2_member}
    assert offered(page, "id_owner") == {str(m.pk) for m in people}

    for department in (acme.tier2, acme.support):
        saved(client, url, edit_data(leaf, department=department.pk))
        assert Goal.objects.get(pk=leaf.pk).department == department
    for owner in people:
        saved(client, url, edit_data(leaf, owner=owner.pk))
        assert Goal.objects.get(pk=leaf.pk).owner == owner
    for level in ("team", "individual", "department"):
        saved(client, url, edit_data(leaf, level=level))
        assert Goal.objects.get(pk=leaf.pk).level == level


def test_a_managers_goal_edit_refuses_what_it_did_not_offer_saying_what_is_allowed(
    client, acme, leaf
):
    url = f"/goals/{leaf.pk}/edit/"
    page = form_of(client, acme.manager, url)
    for department in departments(acme) - offered(page, "id_department"):
        data = edit_data(leaf, department=department)
        refused_with(client, url, data, "You may not move this goal there.", MAX_GOALS)
    for owner in everyone(acme) - offered(page, "id_owner"):
        data = edit_data(leaf, owner=owner)
        refused_with(client, url, data, "You may not make this person the owner", MAX_GOALS)
    data = edit_data(leaf, level="strategic", parent="")
    refused_with(client, url, data, "You may not move this goal there.", MAX_GOALS)


def test_a_goal_edit_offers_the_owner_it_has_and_keeping_them_needs_no_leave(client, acme, tree):
    """A department goal of max's departments that a leader gave to someone outside them."""
    goal = goal_create(
        actor=acme.leader,
        cycle=acme.cycle,
        level="department",
        title="Publish the support handbook",
        parent=tree.strategic,
        department=acme.support,
        owner=acme.leader,
    )
    url = f"/goals/{goal.pk}/edit/"
    page = form_of(client, acme.manager, url)
    assert str(acme.leader.pk) in offered(page, "id_owner")
    saved(client, url, edit_data(goal, title="Publish the support handbook online"))
    assert Goal.objects.get(pk=goal.pk).owner == acme.leader


def test_a_members_goal_edit_offers_only_their_own_individual_goal(client, acme, tree):
    goal = tree.individual
    url = f"/goals/{goal.pk}/edit/"
    page = form_of(client, acme.member, url)
    assert offered(page, "id_level") == {"individual"}
    assert offered(page, "id_owner") == {str(acme.member.pk)}
    assert page.find(id="id_department") is None

    saved(client, url, edit_data(goal, title="Resolve tickets within 3 hrs avg"))
    assert Goal.objects.get(pk=goal.pk).title == "Resolve tickets within 3 hrs avg"
    goal.refresh_from_db()
    for owner in everyone(acme) - offered(page, "id_owner"):
        refused_with(client, url, edit_data(goal, owner=owner), SAM_GOALS)
    data = edit_data(goal, level="team", department=acme.support.pk)
    refused_with(client, url, data, "You may not move this goal there.", SAM_GOALS)


# ---------------------------------------------------------------- a KPI's Add and Edit


def kpi_data(**changes) -> dict:
    fields = {"name": "Tickets reopened", "unit": "%", "direction": "decrease",
              "aggregation": "latest", "baseline": 10, "target": 5, "weight": 1}  # fmt: skip
    return fields | changes


@pytest.mark.parametrize(
    ("who", "goal", "allowed"),
    [
        ("manager", "department", ("manager", "member", "tier2_member")),
        ("member", "individual", ("member",)),
    ],
)
def test_a_kpis_add_form_offers_as_owners_exactly_whom_the_service_accepts(
    client, acme, tree, who, goal, allowed
):
    member, goal = getattr(acme, who), getattr(tree, goal)
    url = f"/goals/{goal.pk}/kpis/new/"
    page = form_of(client, member, url)
    people = {str(getattr(acme, name).pk) for name in allowed}
    assert offered(page, "id_owner") == people

    for owner in people:
        saved(client, url, kpi_data(name=f"Reopened for {owner}", owner=owner))
        assert str(Kpi.objects.get(name=f"Reopened for {owner}").owner_id) == owner
    told = MAX_GOALS if who == "manager" else SAM_GOALS
    for owner in everyone(acme) - people:
        refused_with(client, url, kpi_data(owner=owner), told)


@pytest.mark.parametrize(
    ("who", "kpi", "allowed"),
    [
        ("manager", "department_kpi", ("manager", "member", "tier2_member")),
        ("member", "individual_kpi", ("member",)),
    ],
)
def test_a_kpis_edit_form_offers_as_owners_exactly_whom_the_service_accepts(
    client, acme, tree, who, kpi, allowed
):
    member, kpi = getattr(acme, who), getattr(tree, kpi)
    url = f"/kpis/{kpi.pk}/edit/"
    page = form_of(client, member, url)
    people = {str(getattr(acme, name).pk) for name in allowed}
    assert offered(page, "id_owner") == people

    fields = {"name": kpi.name, "unit": kpi.unit, "direction": kpi.direction,
              "baseline": kpi.baseline, "target": kpi.target}  # fmt: skip
    for owner in people:
        saved(client, url, kpi_data(**fields, owner=owner))
        assert str(Kpi.objects.get(pk=kpi.pk).owner_id) == owner
    told = MAX_GOALS if who == "manager" else SAM_GOALS
    for owner in everyone(acme) - people:
        refused_with(client, url, kpi_data(**fields, owner=owner), told)


def test_a_new_kpi_is_offered_to_its_goals_owner_where_the_manager_may_give_it(client, acme, tree):
    page = form_of(client, acme.manager, f"/goals/{tree.individual.pk}/kpis/new/")
    assert chosen(page, "id_owner") == str(acme.member.pk)  # sam's goal
    page = form_of(client, acme.leader, f"/goals/{tree.department.pk}/kpis/new/")
    assert chosen(page, "id_owner") == str(acme.manager.pk)


# ---------------------------------------------------------------- scheduling a review


def review_data(**scope) -> dict:
    return {"title": "Support check-in", "goal": "", "department": "", "period": "2027-Q1",
            "scheduled_for": "2027-03-29T10:00", "facilitator": ""} | scope  # fmt: skip


def test_a_managers_review_form_offers_their_departments_and_goals_and_each_saves(
    client, acme, tree
):
    page = form_of(client, acme.manager, "/reviews/")
    assert offered(page, "id_department") == {str(acme.support.pk), str(acme.tier2.pk)}
    assert offered(page, "id_goal") == {str(tree.department.pk)}  # not the objective
    assert chosen(page, "id_department") == str(acme.support.pk)  # pre-filled

    for department in offered(page, "id_department"):
        saved(client, "/reviews/", review_data(department=department))
        assert Review.objects.filter(department_id=department).exists()
    for goal in offered(page, "id_goal"):
        saved(client, "/reviews/", review_data(goal=goal))
        assert Review.objects.filter(goal_id=goal).exists()


def test_a_managers_review_form_refuses_what_it_did_not_offer_saying_what_is_allowed(
    client, acme, tree
):
    page = form_of(client, acme.manager, "/reviews/")
    refusal = "You may not schedule a review of this scope."
    for department in departments(acme) - offered(page, "id_department"):
        refused_with(client, "/reviews/", review_data(department=department), refusal, MAX_REVIEWS)
    goals = ids(Goal.objects.exclude(level="individual")) - offered(page, "id_goal")
    assert goals == {str(tree.strategic.pk)}
    for goal in goals:
        refused_with(client, "/reviews/", review_data(goal=goal), refusal, MAX_REVIEWS)
    refused_with(client, "/reviews/", review_data(), refusal, MAX_REVIEWS)  # the organization


def test_a_member_is_offered_no_review_form_and_is_told_what_they_may_do(client, acme, tree):
    page = form_of(client, acme.member, "/reviews/")
    assert page.find(id="id_department") is None
    data = review_data(department=acme.support.pk)
    refused_with(client, "/reviews/", data, "You may not schedule reviews.", SAM_REVIEWS)
