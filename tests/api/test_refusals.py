"""Refusals over HTTP that come before validation or beside the role table: a write
both forbidden and invalid is a 403, never a 400 (SPEC §3: permission first); PUT and
DELETE are a 405 (only goals may be deleted) and trees and alignments are read-only; a
deactivated member's token no longer works (401); asking a weight under a goal one may
not edit is a 403 even when the weight is invalid, while a member's goal aligned under
any goal weighs 1. Nothing changes on a refusal.
"""

from __future__ import annotations

import pytest

from .helpers import API, actor, client_for, new_goal_body, unchanged

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- forbidden and invalid


@pytest.fixture
def forbidden_invalid(acme, places):
    """(role, method, url, body): each write both forbidden and invalid."""
    marketing = places.marketing.pk
    return {
        "member_creates_member_without_username": (
            "member",
            "post",
            f"{API}/members/",
            {"role": "emperor"},
        ),
        "manager_sets_unknown_role": (
            "manager",
            "patch",
            f"{API}/members/{acme.member.pk}/",
            {"role": "emperor"},
        ),
        "leader_creates_nameless_department": ("leader", "post", f"{API}/departments/", {}),
        "reviewer_renames_department_blank": (
            "reviewer",
            "patch",
            f"{API}/departments/{acme.support.pk}/",
            {"name": ""},
        ),
        "manager_creates_backwards_cycle": (
            "manager",
            "post",
            f"{API}/cycles/",
            {"name": "x", "start": "2028-12-31", "end": "2028-01-01"},
        ),
        "reviewer_sets_bad_cycle_date": (
            "reviewer",
            "patch",
            f"{API}/cycles/{acme.cycle.pk}/",
            {"start": "not-a-date"},
        ),
        "reviewer_creates_empty_goal": ("reviewer", "post", f"{API}/goals/", {}),
        "member_creates_strategic_goal_without_title": (
            "member",
            "post",
            f"{API}/goals/",
            {"level": "strategic", "cycle": "abc"},
        ),
        "manager_creates_marketing_goal_without_title_or_parent": (
            "manager",
            "post",
            f"{API}/goals/",
            {"level": "department", "department": acme.marketing.pk},
        ),
        "manager_sets_negative_weight_on_marketing_goal": (
            "manager",
            "patch",
            f"{API}/goals/{marketing}/",
            {"weight": -1},
        ),
        "member_blanks_strategic_title": (
            "member",
            "patch",
            f"{API}/goals/{places.strategic.pk}/",
            {"title": ""},
        ),
        "reviewer_creates_empty_kpi": ("reviewer", "post", f"{API}/kpis/", {}),
        "member_adds_backwards_kpi_to_strategic": (
            "member",
            "post",
            f"{API}/kpis/",
            {"goal": places.strategic.pk, "direction": "decrease", "baseline": 1, "target": 5},
        ),
        "manager_blanks_marketing_kpi_unit": (
            "manager",
            "patch",
            f"{API}/kpis/{places.kpis['marketing_department'].pk}/",
            {"unit": "", "weight": 0},
        ),
        "member_records_text_on_tia_kpi": (
            "member",
            "post",
            f"{API}/kpis/{places.kpis['tia_individual'].pk}/updates/",
            {"value": "lots", "date": "2999-01-01"},
        ),
        "reviewer_records_nothing": (
            "reviewer",
            "post",
            f"{API}/kpis/{places.kpis['sam_individual'].pk}/updates/",
            {},
        ),
        "manager_records_list_on_marketing_kpi": (
            "manager",
            "post",
            f"{API}/kpis/{places.kpis['lee_individual'].pk}/updates/",
            [1, 2],
        ),
    }


FORBIDDEN_INVALID = (
    "member_creates_member_without_username",
    "manager_sets_unknown_role",
    "leader_creates_nameless_department",
    "reviewer_renames_department_blank",
    "manager_creates_backwards_cycle",
    "reviewer_sets_bad_cycle_date",
    "reviewer_creates_empty_goal",
    "member_creates_strategic_goal_without_title",
    "manager_creates_marketing_goal_without_title_or_parent",
    "manager_sets_negative_weight_on_marketing_goal",
    "member_blanks_strategic_title",
    "reviewer_creates_empty_kpi",
    "member_adds_backwards_kpi_to_strategic",
    "manager_blanks_marketing_kpi_unit",
    "member_records_text_on_tia_kpi",
    "reviewer_records_nothing",
    "manager_records_list_on_marketing_kpi",
)


@pytest.mark.parametrize("case", FORBIDDEN_INVALID)
def test_forbidden_and_invalid_is_403(acme, forbidden_invalid, case):
    role, method, url, body = forbidden_invalid[case]
    with unchanged():
        response = getattr(client_for(actor(acme, role)), method)(url, body, format="json")
    assert response.status_code == 403, response.content


# ---------------------------------------------------------------- PUT and DELETE


@pytest.mark.parametrize("method", ["put", "delete"])
def test_put_and_delete_are_405(acme, places, method):
    """Only goals may be removed (DELETE goals/ID/, SPEC §8.1), tested apart."""
    kpi = places.individual_kpi
    urls = [
        f"{API}/members/",
        f"{API}/members/{acme.member.pk}/",
        f"{API}/departments/",
        f"{API}/departments/{acme.support.pk}/",
        f"{API}/cycles/",
        f"{API}/cycles/{acme.cycle.pk}/",
        f"{API}/goals/",
        *([f"{API}/goals/{places.individual.pk}/"] if method == "put" else []),
        f"{API}/goals/{places.individual.pk}/tree/",
        f"{API}/goals/{places.individual.pk}/alignment/",
        f"{API}/kpis/",
        f"{API}/kpis/{kpi.pk}/",
        f"{API}/kpis/{kpi.pk}/updates/",
    ]
    client = client_for(acme.admin)
    with unchanged():
        for url in urls:
            response = getattr(client, method)(url, {"title": "x"}, format="json")
            assert response.status_code == 405, (url, response.status_code)


def test_tree_and_alignment_are_read_only(acme, places):
    client = client_for(acme.admin)
    with unchanged():
        for action in ("tree", "alignment"):
            url = f"{API}/goals/{places.individual.pk}/{action}/"
            assert client.post(url, {}, format="json").status_code == 405
            assert client.patch(url, {}, format="json").status_code == 405


def test_deactivated_member_cannot_write(acme, places):
    acme.member.is_active = False
    acme.member.save()
    with unchanged():
        response = client_for(acme.member).post(
            f"{API}/kpis/{places.individual_kpi.pk}/updates/", {"value": 5}, format="json"
        )
    assert response.status_code == 401  # his token no longer works (SPEC §8.1)


@pytest.mark.parametrize("weight", [2, 0, "heavy"])
def test_asking_a_weight_under_a_goal_the_caller_may_not_edit_is_403(acme, places, weight):
    """The manager may create the department goal, but not weigh it in the objective;
    even an invalid weight is a 403: permission comes before validation."""
    body = new_goal_body(acme, places, "support_department") | {"weight": weight}
    with unchanged():
        response = client_for(acme.manager).post(f"{API}/goals/", body, format="json")
    assert response.status_code == 403, response.content


def test_a_member_aligns_his_goal_under_any_goal_and_it_weighs_1(acme, places):
    body = {
        "cycle": acme.cycle.pk,
        "level": "individual",
        "title": "Bring support's view to the campaigns",
        "parent": places.marketing.pk,
        "owner": acme.member.pk,
    }
    response = client_for(acme.member).post(f"{API}/goals/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["weight"] == 1.0
