"""SPEC §9.3 in the API: a manager's goals and KPIs are owned by the people of their
departments, and every refusal (a 403) names what the caller may do instead — the same
words as on the pages (tests/pages/test_forms_offer_what_is_allowed.py). Nothing
changes on a refusal."""

from __future__ import annotations

import pytest

from reviews.models import Review

from ..reviews.helpers import review_body
from .helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db

MAX_GOALS = (
    "As manager of Customer Support you may add and change department, team and "
    "individual goals and their KPIs in Customer Support (and the department below it: "
    "Support Tier 2), owned by people there."
)
SAM_RECORDS = (
    "As a member you may record values on the KPIs you own and on those of the goals you own."
)
MAX_REVIEWS = (
    "As manager of Customer Support you may schedule and run reviews of Customer Support "
    "(and the department below it: Support Tier 2) and of the goals there."
)


def refused(response, *sentences: str) -> None:
    assert response.status_code == 403, response.content
    detail = response.json()["detail"]
    assert detail == " ".join(sentences), detail


def department_goal(tree, acme, **fields) -> dict:
    return {
        "cycle": acme.cycle.pk,
        "level": "department",
        "title": "Answer every chat within a minute",
        "parent": tree.strategic.pk,
        "department": acme.support.pk,
    } | fields


def test_a_manager_may_not_create_a_goal_owned_by_someone_outside_their_departments(acme, tree):
    client = client_for(acme.manager)
    for outsider in (acme.marketing_member, acme.leader, acme.marketing_manager):
        with unchanged():
            response = client.post(
                f"{API}/goals/", department_goal(tree, acme, owner=outsider.pk), format="json"
            )
        refused(response, "You may not create this goal here.", MAX_GOALS)
    for insider in (acme.manager, acme.member, acme.tier2_member):
        title = f"Owned by {insider.pk}"
        body = department_goal(tree, acme, owner=insider.pk, title=title)
        response = client.post(f"{API}/goals/", body, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["owner"] == insider.pk


def test_a_forbidden_owner_is_a_403_even_when_the_body_is_invalid_too(acme, tree):
    body = department_goal(tree, acme, owner=acme.marketing_member.pk, title="")
    with unchanged():
        response = client_for(acme.manager).post(f"{API}/goals/", body, format="json")
    refused(response, "You may not create this goal here.", MAX_GOALS)


def test_a_manager_may_not_give_their_goal_to_someone_outside_their_departments(acme, tree):
    with unchanged():
        response = client_for(acme.manager).patch(
            f"{API}/goals/{tree.department.pk}/",
            {"owner": acme.marketing_member.pk},
            format="json",
        )
    refused(response, "You may not make this person the owner of the goal.", MAX_GOALS)


def test_a_manager_may_not_give_a_kpi_to_someone_outside_their_departments(acme, tree):
    client = client_for(acme.manager)
    body = {"goal": tree.department.pk, "name": "Chats answered within a minute",
            "unit": "%", "baseline": 50, "target": 90}  # fmt: skip
    with unchanged():
        response = client.post(
            f"{API}/kpis/", body | {"owner": acme.marketing_member.pk}, format="json"
        )
    refused(response, "You may not make this person the owner of the KPI.", MAX_GOALS)
    with unchanged():
        response = client.patch(
            f"{API}/kpis/{tree.department_kpi.pk}/", {"owner": acme.leader.pk}, format="json"
        )
    refused(response, "You may not make this person the owner of the KPI.", MAX_GOALS)
    response = client.post(f"{API}/kpis/", body | {"owner": acme.tier2_member.pk}, format="json")
    assert response.status_code == 201, response.content


def test_a_member_refused_a_value_is_told_on_which_kpis_they_may_record(acme, tree):
    with unchanged():
        response = client_for(acme.member).post(
            f"{API}/kpis/{tree.department_kpi.pk}/updates/", {"value": 9}, format="json"
        )
    refused(response, "You may not record values on this KPI.", SAM_RECORDS)


def test_a_manager_refused_a_review_is_told_which_scopes_they_may_review(acme, tree):
    client = client_for(acme.manager)
    for scope in ({"department": acme.marketing.pk}, {"goal": tree.strategic.pk}, {}):
        with unchanged():
            response = client.post(f"{API}/reviews/", review_body(acme, **scope), format="json")
        refused(response, "You may not schedule a review of this scope.", MAX_REVIEWS)
    assert not Review.objects.exists()
