"""Requests wrong in their shape rather than their values (SPEC §4 errors: never a
500 for any input): a bad or empty list filter, or page size, is a 400 on that
parameter, several at once, and a filter id beyond any column finds nothing; an
unknown or huge id in a URL, or a path no route matches, is a JSON 404; a value of
another JSON type, a body that is not a JSON object and malformed JSON are a 400.
Nothing changes.
"""

from __future__ import annotations

import pytest

from goals.models import Goal

from .helpers import API, HUGE, assert_field_errors, client_for, unchanged
from .helpers import leader as leader  # a fixture

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"cycle": "abc"}, "cycle", id="cycle_abc"),
        pytest.param({"cycle": "1.5"}, "cycle", id="cycle_decimal"),
        pytest.param({"parent": "x"}, "parent", id="parent"),
        pytest.param({"department": "[]"}, "department", id="department"),
        pytest.param({"owner": "me"}, "owner", id="owner"),
        pytest.param({"level": "galactic"}, "level", id="level"),
    ],
)
def test_bad_goal_filters_are_400(acme, tree, leader, params, field):
    assert_field_errors(leader.get(f"{API}/goals/", params), field)


def test_several_bad_filters_are_reported_together(acme, leader):
    errors = assert_field_errors(
        leader.get(f"{API}/goals/", {"cycle": "abc", "owner": "x", "level": "y"}), None
    )
    assert set(errors) == {"cycle", "owner", "level"}


@pytest.mark.parametrize("name", ["cycle", "parent", "department", "owner"])
def test_out_of_range_filter_ids_find_nothing(acme, tree, leader, name):
    response = leader.get(f"{API}/goals/", {name: str(HUGE)})
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        assert response.json()["count"] == 0


def test_an_empty_filter_is_refused_not_ignored(acme, tree, leader):
    response = leader.get(f"{API}/goals/", {"cycle": "", "level": ""})
    assert response.status_code == 400
    assert set(response.json()) == {"cycle", "level"}
    response = leader.get(f"{API}/kpis/", {"updated_since": ""})
    assert response.status_code == 400
    assert set(response.json()) == {"updated_since"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", 7, "Must be text."),
        ("weight", "2", "Must be a number."),
        ("parent", "1", "Must be an id (an integer)."),
        ("due", 20270101, "Must be a date as text (YYYY-MM-DD)."),
    ],
)
def test_a_value_of_another_json_type_is_refused(acme, tree, leader, field, value, message):
    body = {"cycle": acme.cycle.pk, "level": "strategic", "title": "Grow", field: value}
    before = Goal.objects.count()
    response = leader.post(f"{API}/goals/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert Goal.objects.count() == before


def test_a_page_size_that_is_not_a_whole_number_is_refused(acme, tree, leader):
    for bad in ("0", "-1", "2.5", "two", ""):
        response = leader.get(f"{API}/goals/", {"page_size": bad})
        assert response.status_code == 400, bad
        assert response.json() == {"page_size": ["Must be a whole number of at least 1."]}


def test_an_api_path_no_route_matches_is_a_json_404(leader, settings):
    for debug in (False, True):
        settings.DEBUG = debug
        response = leader.get(f"{API}/goals/0.5/tree/")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("resource", ["members", "departments", "cycles", "goals", "kpis"])
def test_unknown_and_huge_ids_in_the_url_are_404(acme, tree, leader, resource):
    for pk in (999_999, HUGE):
        assert leader.get(f"{API}/{resource}/{pk}/").status_code == 404
        assert leader.patch(f"{API}/{resource}/{pk}/", {}, format="json").status_code == 404
    assert leader.get(f"{API}/{resource}/abc/").status_code == 404


def test_unknown_goal_tree_alignment_and_kpi_history_are_404(acme, tree, leader):
    for pk in (999_999, HUGE):
        assert leader.get(f"{API}/goals/{pk}/tree/").status_code == 404
        assert leader.get(f"{API}/goals/{pk}/alignment/").status_code == 404
        assert leader.get(f"{API}/kpis/{pk}/updates/").status_code == 404
        response = leader.post(f"{API}/kpis/{pk}/updates/", {"value": 1}, format="json")
        assert response.status_code == 404


# ---------------------------------------------------------------- bodies that are not objects


@pytest.fixture
def write_urls(acme, tree):
    return [
        ("admin", "post", f"{API}/members/"),
        ("admin", "patch", f"{API}/members/{acme.member.pk}/"),
        ("admin", "post", f"{API}/departments/"),
        ("admin", "patch", f"{API}/departments/{acme.support.pk}/"),
        ("admin", "post", f"{API}/cycles/"),
        ("admin", "patch", f"{API}/cycles/{acme.cycle.pk}/"),
        ("leader", "post", f"{API}/goals/"),
        ("leader", "patch", f"{API}/goals/{tree.department.pk}/"),
        ("leader", "post", f"{API}/kpis/"),
        ("leader", "patch", f"{API}/kpis/{tree.department_kpi.pk}/"),
        ("leader", "post", f"{API}/kpis/{tree.department_kpi.pk}/updates/"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[]", id="empty_list"),
        pytest.param('[{"title": "x", "name": "x", "value": 5}]', id="list_of_objects"),
        pytest.param('"text"', id="string"),
        pytest.param("42", id="number"),
        pytest.param("null", id="null"),
    ],
)
def test_a_body_that_is_not_an_object_is_400(acme, tree, write_urls, body):
    with unchanged():
        for role, method, url in write_urls:
            response = getattr(client_for(getattr(acme, role)), method)(
                url, body, content_type="application/json"
            )
            assert response.status_code == 400, (method, url, response.content)
            assert isinstance(response.json(), dict)


def test_malformed_json_is_400(acme, tree, leader):
    with unchanged():
        response = leader.post(f"{API}/goals/", '{"title": ', content_type="application/json")
    assert response.status_code == 400
