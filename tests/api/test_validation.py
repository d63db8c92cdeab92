"""Bad input over HTTP: a 400 `{"field": ["message", …]}` on the right field, and
nothing changes (SPEC §1 tree rules, §4 errors: never a 500 for any input).

Filters, ids in URLs, values of another JSON type and bodies that are not JSON objects:
test_malformed_requests.py.
"""

from __future__ import annotations

import datetime as dt

import pytest

from goals.models import Goal, GoalState
from goals.services import goal_create
from tests.factories import CycleFactory, GoalFactory

from .helpers import API, HUGE, assert_field_errors, client_for, post_raw, unchanged
from .helpers import leader as leader  # a fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(acme):
    return client_for(acme.admin)


# ---------------------------------------------------------------- KPIs


def kpi_body(on_goal, **changes) -> dict:
    return {
        "goal": on_goal.pk,
        "name": "Resolve support tickets within 4 hrs avg",
        "unit": "hours",
        "direction": "decrease",
        "baseline": 6,
        "target": 4,
        **changes,
    }


KPI_CASES = {
    "decrease_target_above_baseline": ({"target": 8}, "target"),
    "decrease_target_equal_baseline": ({"target": 6}, "target"),
    "increase_target_below_baseline": ({"direction": "increase"}, "target"),
    "unknown_direction": ({"direction": "sideways"}, "direction"),
    "unknown_aggregation": ({"aggregation": "average"}, "aggregation"),
    "blank_name": ({"name": "  "}, "name"),
    "missing_name": ({"name": None}, "name"),
    "blank_unit": ({"unit": ""}, "unit"),
    "zero_weight": ({"weight": 0}, "weight"),
    "negative_weight": ({"weight": -2}, "weight"),
    "text_weight": ({"weight": "heavy"}, "weight"),
    "text_baseline": ({"baseline": "six"}, "baseline"),
    "nan_baseline": ({"baseline": "NaN"}, "baseline"),
    "infinite_target": ({"target": "-Infinity"}, "target"),
    "missing_goal": ({"goal": None}, "goal"),
    "unknown_goal": ({"goal": 999_999}, "goal"),
    "huge_goal": ({"goal": HUGE}, "goal"),
    "text_goal": ({"goal": "abc"}, "goal"),
    "unknown_owner": ({"owner": 999_999}, "owner"),
    "start_before_cycle": ({"start": "2026-12-31"}, "start"),
    "due_after_cycle": ({"due": "2028-01-01"}, "due"),
    "due_before_start": ({"start": "2027-06-01", "due": "2027-05-01"}, "due"),
    "bad_date": ({"start": "2027-02-30"}, "start"),
    "nul_in_name": ({"name": "Tickets\x00closed"}, "name"),
    # SPEC §8.1: bounds and one-line text
    "weight_above_100": ({"weight": 101}, "weight"),
    "huge_weight": ({"weight": 1e308}, "weight"),
    "target_beyond_1e12": ({"target": 1e308}, "target"),
    "baseline_beyond_1e12": ({"baseline": 2e12}, "baseline"),
    "line_break_in_name": ({"name": "Tickets\nclosed"}, "name"),
    "line_break_in_unit": ({"unit": "tick\rets"}, "unit"),
}


@pytest.mark.parametrize("case", KPI_CASES)
def test_kpi_create_rejected(acme, tree, leader, case):
    changes, field = KPI_CASES[case]
    body = {k: v for k, v in kpi_body(tree.individual, **changes).items() if v is not None}
    with unchanged():
        response = leader.post(f"{API}/kpis/", body, format="json")
    assert_field_errors(response, field)


def test_kpi_create_rejects_an_infinite_json_number(acme, tree, leader):
    with unchanged():
        response = post_raw(
            leader,
            f"{API}/kpis/",
            f'{{"goal": {tree.individual.pk}, "name": "Tickets closed", "unit": "tickets",'
            ' "baseline": 0, "target": 1e999}',
        )
    assert_field_errors(response, "target")


def test_kpi_create_reports_every_rule_at_once(acme, tree, leader):
    body = kpi_body(tree.individual, target=9, weight=0, due="2028-01-01")
    with unchanged():
        errors = assert_field_errors(leader.post(f"{API}/kpis/", body, format="json"), None)
    assert set(errors) == {"target", "weight", "due"}, errors


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"target": 7}, "target", id="decrease_target_above_baseline"),
        pytest.param({"direction": "increase"}, "target", id="flip_direction"),
        pytest.param({"weight": 0}, "weight", id="zero_weight"),
        pytest.param({"unit": ""}, "unit", id="blank_unit"),
        pytest.param({"due": "2028-06-30"}, "due", id="due_after_cycle"),
        pytest.param({"goal": 999_999}, "goal", id="unknown_goal"),
    ],
)
def test_kpi_update_rejected(acme, tree, leader, changes, field):
    kpi = tree.individual_kpi  # decrease, baseline 6, target 4
    with unchanged():
        response = leader.patch(f"{API}/kpis/{kpi.pk}/", changes, format="json")
    assert_field_errors(response, field)


def test_kpi_list_filter_must_be_an_id(acme, tree, leader):
    assert_field_errors(leader.get(f"{API}/kpis/", {"goal": "abc"}), "goal")


# ---------------------------------------------------------------- goals


def test_a_sixth_active_strategic_objective_is_refused(acme, leader):
    for n in range(5):
        response = leader.post(
            f"{API}/goals/",
            {"cycle": acme.cycle.pk, "level": "strategic", "title": f"Objective {n}"},
            format="json",
        )
        assert response.status_code == 201, response.content
    with unchanged():
        response = leader.post(
            f"{API}/goals/",
            {"cycle": acme.cycle.pk, "level": "strategic", "title": "One too many"},
            format="json",
        )
    errors = assert_field_errors(response, "level")
    assert "5" in errors["level"][0]
    assert Goal.objects.filter(cycle=acme.cycle, level="strategic").count() == 5


def test_a_new_goal_is_created_active_or_not_at_all(acme, leader):
    with unchanged():
        response = leader.post(
            f"{API}/goals/",
            {"cycle": acme.cycle.pk, "level": "strategic", "title": "Old one", "state": "done"},
            format="json",
        )
    assert "starts active" in assert_field_errors(response, "state")["state"][0]


def test_a_sixth_strategic_objective_may_be_done_or_cancelled(acme, leader):
    for n in range(4):
        GoalFactory(cycle=acme.cycle, organization=acme.org, title=f"Objective {n}")
    response = leader.post(
        f"{API}/goals/",
        {"cycle": acme.cycle.pk, "level": "strategic", "title": "Old one"},
        format="json",
    )
    assert response.status_code == 201, response.content
    cancelled = leader.patch(
        f"{API}/goals/{response.json()['id']}/", {"state": "cancelled"}, format="json"
    )
    assert cancelled.status_code == 200, cancelled.content
    GoalFactory(cycle=acme.cycle, organization=acme.org, title="Objective 5")
    # making it active again re-checks rule 1
    with unchanged():
        again = leader.patch(
            f"{API}/goals/{response.json()['id']}/", {"state": "active"}, format="json"
        )
    assert_field_errors(again, "state")


def test_a_strategic_objective_in_another_cycle_does_not_count(acme, leader):
    for n in range(5):
        GoalFactory(cycle=acme.cycle, organization=acme.org, title=f"Objective {n}")
    other = CycleFactory(
        organization=acme.org, name="2028", start=dt.date(2028, 1, 1), end=dt.date(2028, 12, 31)
    )
    response = leader.post(
        f"{API}/goals/",
        {"cycle": other.pk, "level": "strategic", "title": "Next year"},
        format="json",
    )
    assert response.status_code == 201, response.content


@pytest.fixture
def goal_cases(acme, tree):
    """name → (body changes over a department goal under the strategic one, field)."""
    other_cycle = CycleFactory(
        organization=acme.org, name="2028", start=dt.date(2028, 1, 1), end=dt.date(2028, 12, 31)
    )
    elsewhere = goal_create(
        actor=acme.leader, cycle=other_cycle, level="strategic", title="Next year"
    )
    return {
        "department_goal_without_department": ({"department": None}, "department"),
        "department_goal_without_parent": ({"parent": None}, "parent"),
        "team_goal_without_department": ({"level": "team", "department": None}, "department"),
        "individual_goal_without_owner": (
            {"level": "individual", "parent": tree.department.pk, "department": None},
            "owner",
        ),
        "strategic_goal_with_parent": ({"level": "strategic"}, "parent"),
        "parent_of_same_level": ({"parent": tree.department.pk}, "parent"),
        "parent_of_lower_level": ({"parent": tree.individual.pk}, "parent"),
        "parent_in_another_cycle": ({"parent": elsewhere.pk}, "parent"),
        "unknown_level": ({"level": "galactic"}, "level"),
        "unknown_state": ({"state": "paused"}, "state"),
        "blank_title": ({"title": "   "}, "title"),
        "missing_title": ({"title": None}, "title"),
        "long_title": ({"title": "x" * 301}, "title"),
        "nul_in_title": ({"title": "Grow\x00th"}, "title"),
        "zero_weight": ({"weight": 0}, "weight"),
        "negative_weight": ({"weight": -1}, "weight"),
        "infinite_weight": ({"weight": "Infinity"}, "weight"),
        "text_weight": ({"weight": "a lot"}, "weight"),
        # SPEC §8.1: bounds and one-line text
        "weight_above_100": ({"weight": 100.5}, "weight"),
        "huge_weight": ({"weight": 1e308}, "weight"),
        "line_break_in_title": ({"title": "Grow\nrevenue"}, "title"),
        "created_done": ({"state": "done"}, "state"),
        "start_before_cycle": ({"start": "2026-12-01"}, "start"),
        "due_after_cycle": ({"due": "2028-01-31"}, "due"),
        "due_before_start": ({"start": "2027-09-01", "due": "2027-03-01"}, "due"),
        "missing_cycle": ({"cycle": None}, "cycle"),
        "unknown_cycle": ({"cycle": 999_999}, "cycle"),
        "huge_cycle": ({"cycle": HUGE}, "cycle"),
        "text_cycle": ({"cycle": "abc"}, "cycle"),
        "unknown_parent": ({"parent": 999_999}, "parent"),
        "huge_parent": ({"parent": HUGE}, "parent"),
        "unknown_department": ({"department": 999_999}, "department"),
        "huge_department": ({"department": HUGE}, "department"),
        "unknown_owner": ({"owner": 999_999}, "owner"),
        "object_owner": ({"owner": {"id": 1}}, "owner"),
    }


GOAL_CASES = (
    "department_goal_without_department",
    "department_goal_without_parent",
    "team_goal_without_department",
    "individual_goal_without_owner",
    "strategic_goal_with_parent",
    "parent_of_same_level",
    "parent_of_lower_level",
    "parent_in_another_cycle",
    "unknown_level",
    "unknown_state",
    "blank_title",
    "missing_title",
    "long_title",
    "nul_in_title",
    "zero_weight",
    "negative_weight",
    "infinite_weight",
    "text_weight",
    "weight_above_100",
    "huge_weight",
    "line_break_in_title",
    "created_done",
    "start_before_cycle",
    "due_after_cycle",
    "due_before_start",
    "missing_cycle",
    "unknown_cycle",
    "huge_cycle",
    "text_cycle",
    "unknown_parent",
    "huge_parent",
    "unknown_department",
    "huge_department",
    "unknown_owner",
    "object_owner",
)


@pytest.mark.parametrize(
    ("role", "case"),
    [
        pytest.param(role, case, id=f"{role}_{case}")
        for role in ("leader", "manager")
        for case in GOAL_CASES
        # a manager may not write strategic goals at all, nor weigh a goal under one:
        # those are 403s (test_permissions.py)
        if not (role == "manager" and (case == "strategic_goal_with_parent" or "weight" in case))
    ],
)
def test_goal_create_rejected(acme, tree, goal_cases, case, role):
    changes, field = goal_cases[case]
    body = {
        "cycle": acme.cycle.pk,
        "level": "department",
        "title": "Answer every call",
        "parent": tree.strategic.pk,
        "department": acme.support.pk,
        **changes,
    }
    body = {k: v for k, v in body.items() if v is not None}
    with unchanged():
        response = client_for(getattr(acme, role)).post(f"{API}/goals/", body, format="json")
    assert_field_errors(response, field)


@pytest.mark.parametrize(
    ("goal", "changes", "field"),
    [
        pytest.param("department", {"level": "individual"}, "level", id="level_below_child"),
        pytest.param("department", {"level": "strategic"}, "parent", id="strategic_with_parent"),
        pytest.param("individual", {"parent": None}, "parent", id="orphan"),
        pytest.param("individual", {"owner": None}, "owner", id="individual_without_owner"),
        pytest.param("department", {"department": None}, "department", id="no_department"),
        pytest.param("department", {"weight": 0}, "weight", id="zero_weight"),
        pytest.param("department", {"title": ""}, "title", id="blank_title"),
        pytest.param("department", {"due": "2028-01-01"}, "due", id="due_after_cycle"),
        pytest.param("department", {"state": "archived"}, "state", id="unknown_state"),
        pytest.param("individual", {"parent": 999_999}, "parent", id="unknown_parent"),
    ],
)
def test_goal_update_rejected(acme, tree, leader, goal, changes, field):
    target = getattr(tree, goal)
    with unchanged():
        response = leader.patch(f"{API}/goals/{target.pk}/", changes, format="json")
    assert_field_errors(response, field)


def test_goal_state_changes_freely(acme, tree, leader):
    url = f"{API}/goals/{tree.individual.pk}/"
    for state in (GoalState.DONE, GoalState.CANCELLED, GoalState.ACTIVE, GoalState.DONE):
        response = leader.patch(url, {"state": state}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["state"] == state
    assert leader.get(url).json()["progress"] == 100.0


# ---------------------------------------------------------------- people, departments, cycles


@pytest.fixture
def org_cases(acme):
    """name → (method, url, body, field), all by the admin."""
    member = {"username": "newbie", "password": "a-long-password"}
    return {
        "member_taken_username": ("post", "members", {**member, "username": "sam"}, "username"),
        "member_blank_username": ("post", "members", {**member, "username": ""}, "username"),
        "member_long_username": ("post", "members", {**member, "username": "u" * 151}, "username"),
        "member_unknown_role": ("post", "members", {**member, "role": "emperor"}, "role"),
        "member_bad_email": ("post", "members", {**member, "email": "not-an-email"}, "email"),
        "member_short_password": ("post", "members", {**member, "password": "short"}, "password"),
        "member_unknown_department": (
            "post",
            "members",
            {**member, "department": 999_999},
            "department",
        ),
        "member_unknown_manager": ("post", "members", {**member, "manager": HUGE}, "manager"),
        "member_own_manager": (
            "patch",
            f"members/{acme.member.pk}",
            {"manager": acme.member.pk},
            "manager",
        ),
        "member_patch_unknown_role": (
            "patch",
            f"members/{acme.member.pk}",
            {"role": "emperor"},
            "role",
        ),
        "department_taken_name": ("post", "departments", {"name": "Marketing"}, "name"),
        "department_blank_name": ("post", "departments", {"name": " "}, "name"),
        "department_unknown_parent": (
            "post",
            "departments",
            {"name": "New", "parent": 999_999},
            "parent",
        ),
        "department_below_itself": (
            "patch",
            f"departments/{acme.support.pk}",
            {"parent": acme.tier2.pk},
            "parent",
        ),
        "department_rename_taken": (
            "patch",
            f"departments/{acme.support.pk}",
            {"name": "Marketing"},
            "name",
        ),
        "cycle_end_before_start": (
            "post",
            "cycles",
            {"name": "2028", "start": "2028-12-31", "end": "2028-01-01"},
            "end",
        ),
        "cycle_taken_name": (
            "post",
            "cycles",
            {"name": "2027", "start": "2027-01-01", "end": "2027-12-31"},
            "name",
        ),
        "cycle_unknown_cadence": (
            "post",
            "cycles",
            {"name": "2028", "start": "2028-01-01", "end": "2028-12-31", "cadence": "weekly"},
            "cadence",
        ),
        "cycle_missing_start": ("post", "cycles", {"name": "2028", "end": "2028-12-31"}, "start"),
        "cycle_bad_date": (
            "post",
            "cycles",
            {"name": "2028", "start": "2028-13-01", "end": "2028-12-31"},
            "start",
        ),
        "cycle_patch_end_before_start": (
            "patch",
            f"cycles/{acme.cycle.pk}",
            {"end": "2026-06-30"},
            "end",
        ),
    }


ORG_CASES = (
    "member_taken_username",
    "member_blank_username",
    "member_long_username",
    "member_unknown_role",
    "member_bad_email",
    "member_short_password",
    "member_unknown_department",
    "member_unknown_manager",
    "member_own_manager",
    "member_patch_unknown_role",
    "department_taken_name",
    "department_blank_name",
    "department_unknown_parent",
    "department_below_itself",
    "department_rename_taken",
    "cycle_end_before_start",
    "cycle_taken_name",
    "cycle_unknown_cadence",
    "cycle_missing_start",
    "cycle_bad_date",
    "cycle_patch_end_before_start",
)


@pytest.mark.parametrize("case", ORG_CASES)
def test_org_write_rejected(acme, admin, org_cases, case):
    method, path, body, field = org_cases[case]
    with unchanged():
        response = getattr(admin, method)(f"{API}/{path}/", body, format="json")
    assert_field_errors(response, field)


def test_cycle_dates_may_not_leave_its_goals_outside(acme, tree, admin):
    with unchanged():
        response = admin.patch(
            f"{API}/cycles/{acme.cycle.pk}/", {"end": "2027-06-30"}, format="json"
        )
    assert_field_errors(response, "start")


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("kpis/{kpi}/updates/", {"value": True}, "value"),
        (
            "kpis/",
            {"name": "Tickets closed", "unit": "tickets", "baseline": False, "target": 5},
            "baseline",
        ),
        ("goals/", {"level": "strategic", "title": "Booleans", "weight": True}, "weight"),
    ],
)
def test_true_and_false_are_not_numbers(acme, tree, leader, url, body, field):
    body = {**body, "cycle": acme.cycle.pk, "goal": tree.individual.pk}
    with unchanged():
        response = leader.post(
            f"{API}/{url.format(kpi=tree.individual_kpi.pk)}", body, format="json"
        )
    assert_field_errors(response, field)


@pytest.mark.parametrize("username", ["ﬁona", "Ada", "ada ", "has space", "slash/ed"])
def test_member_usernames_that_clash_or_are_invalid_are_a_400_never_a_500(acme, admin, username):
    """“ﬁona” is stored as “fiona” (NFKC); “Ada” clashes with “ada”; spaces and slashes
    are not allowed in usernames."""
    admin.post(f"{API}/members/", {"username": "fiona", "password": "long-enough-1"}, format="json")
    with unchanged():
        response = admin.post(
            f"{API}/members/", {"username": username, "password": "long-enough-2"}, format="json"
        )
    assert_field_errors(response, "username")


def test_a_text_longer_than_the_schema_allows_is_refused_before_its_spaces_are_trimmed(acme):
    """The schema's maxLength counts the text as sent: 201 characters, one a space, are
    too many even though the name would fit once trimmed."""
    with unchanged():
        response = client_for(acme.admin).patch(
            f"{API}/departments/{acme.marketing.pk}/", {"name": " " + "x" * 200}, format="json"
        )
    assert_field_errors(response, "name")
