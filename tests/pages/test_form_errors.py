"""Invalid input on the page forms (SPEC §5), with or without htmx, comes back as the
form with the message next to the field — a required field, a tree rule, a target on
the wrong side of the baseline, a bad email, someone as their own manager — with what
was typed kept, and nothing saved."""

from __future__ import annotations

import pytest

from .helpers import (
    HTMX,
    edit_data,
    field_errors,
    goal_data,
    kpi_data,
    parse,
    person_data,
    snapshot,
    typed_value,
)

# -- invalid input -------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
def test_decreasing_kpi_with_target_above_baseline_is_refused_next_to_the_target(
    client, acme, tree, headers
):
    client.force_login(acme.manager.user)
    before = snapshot()
    response = client.post(
        f"/goals/{tree.department.pk}/kpis/new/",
        kpi_data(direction="decrease", baseline="10", target="12"),
        headers=headers,
    )
    assert response.status_code == 400
    page = parse(response)
    assert "needs a target below its baseline (10)" in field_errors(page, "id_target")
    assert field_errors(page, "id_name") == ""
    assert typed_value(page, "id_name") == "Escalations per week"
    assert typed_value(page, "id_target") == "12"
    assert typed_value(page, "id_direction") == "decrease"
    assert snapshot() == before


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
def test_goal_with_empty_title_is_refused_next_to_the_title(client, acme, tree, headers):
    client.force_login(acme.manager.user)
    before = snapshot()
    response = client.post(
        f"/goals/{tree.department.pk}/children/new/",
        goal_data(level="team", department=acme.tier2.pk, title="", rationale="Tier 2 first."),
        headers=headers,
    )
    assert response.status_code == 400
    page = parse(response)
    assert "required" in field_errors(page, "id_title")
    assert typed_value(page, "id_rationale") == "Tier 2 first."
    assert typed_value(page, "id_level") == "team"
    assert typed_value(page, "id_department") == str(acme.tier2.pk)
    assert snapshot() == before


def test_new_objective_with_empty_title_is_refused_next_to_the_title(client, acme, tree):
    client.force_login(acme.leader.user)
    before = snapshot()
    response = client.post("/goals/new/", goal_data(title="  ", rationale="Because."))
    assert response.status_code == 400
    page = parse(response)
    assert field_errors(page, "id_title")
    assert typed_value(page, "id_rationale") == "Because."
    assert snapshot() == before


def test_goal_edit_with_empty_title_keeps_the_stored_title(client, acme, tree):
    client.force_login(acme.leader.user)
    before = snapshot()
    response = client.post(
        f"/goals/{tree.department.pk}/edit/", edit_data(tree.department, title="", weight="3")
    )
    assert response.status_code == 400
    page = parse(response)
    assert "required" in field_errors(page, "id_title")
    assert typed_value(page, "id_weight") == "3"
    assert snapshot() == before


def test_goal_edit_refused_by_a_tree_rule_shows_the_rule_next_to_its_field(client, acme, tree):
    client.force_login(acme.leader.user)
    before = snapshot()
    response = client.post(
        f"/goals/{tree.department.pk}/edit/", edit_data(tree.department, department="")
    )
    assert response.status_code == 400
    assert "names a department" in field_errors(parse(response), "id_department")
    assert snapshot() == before


def test_kpi_edit_with_a_bad_target_keeps_what_was_typed(client, acme, tree):
    client.force_login(acme.manager.user)
    before = snapshot()
    response = client.post(
        f"/kpis/{tree.department_kpi.pk}/edit/",
        kpi_data(name="Faster first response", direction="decrease", baseline="10", target="11"),
    )
    assert response.status_code == 400
    page = parse(response)
    assert "below its baseline" in field_errors(page, "id_target")
    assert typed_value(page, "id_name") == "Faster first response"
    assert snapshot() == before


def test_invite_with_a_bad_email_is_refused_next_to_the_email(client, acme, tree):
    client.force_login(acme.admin.user)
    before = snapshot()
    response = client.post("/people/", {"email": "not an email", "role": "member"})
    assert response.status_code == 400
    page = parse(response)
    assert field_errors(page, "id_email")
    assert typed_value(page, "id_email") == "not an email"
    assert snapshot() == before


def test_person_edit_making_someone_their_own_manager_is_refused(client, acme, tree):
    client.force_login(acme.admin.user)
    before = snapshot()
    response = client.post(
        f"/people/{acme.member.pk}/",
        person_data(acme.member, manager=acme.member.pk),
        headers=HTMX,
    )
    assert response.status_code == 400
    assert b"own manager" in response.content
    assert snapshot() == before
