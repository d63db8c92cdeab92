"""SPEC §9.3 in the API: `POST cycles/{id}/import/?individual_kpi=kpi|goal` reads the
article's table (an `Individual KPI` column, no `KPI` column) as chosen — each a KPI of
its department goal owned by its Owner (`kpi`, the default), or an individual goal
(`goal`); the dry run says which it applied, the import does the same, and the schema
documents the parameter and the answer."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from goals.models import Goal
from kpis.models import Kpi

from ..cycles.imports import EXAMPLE
from ..factories import DepartmentFactory, MemberFactory
from .helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db


@pytest.fixture
def innovation(acme):
    department = DepartmentFactory(organization=acme.org, name="Innovation")
    MemberFactory(organization=acme.org, department=department, user__username="ivy")
    return acme


def post(member, cycle, query=""):
    return client_for(member).post(
        f"{API}/cycles/{cycle.pk}/import/{query}", EXAMPLE.encode(), content_type="text/csv"
    )


@pytest.mark.parametrize(
    ("query", "applied", "levels", "message"),
    [
        ("", "kpi", ["strategic", "department", None], "a KPI of the department goal"),
        ("&individual_kpi=kpi", "kpi", ["strategic", "department", None], "(the default)"),
        ("&individual_kpi=goal", "goal", ["strategic", "department", "individual"],
         "an individual goal"),
    ],
)  # fmt: skip
def test_the_dry_run_says_how_it_read_the_individual_kpis_and_writes_nothing(
    innovation, query, applied, levels, message
):
    with unchanged():
        response = post(innovation.leader, innovation.cycle, "?dry_run=true" + query)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["individual_kpi"]["applied"] == applied
    assert message in body["individual_kpi"]["message"]
    assert all([a["level"] for a in row["actions"]] == levels for row in body["rows"])
    assert body["totals"]["errors"] == 0


def test_the_import_by_default_makes_kpis_of_the_department_goals_owned_by_the_owners(
    innovation,
):
    response = post(innovation.admin, innovation.cycle)
    assert response.status_code == 201, response.content
    assert (
        response.json()["totals"]["goals_created"],
        response.json()["totals"]["kpis_created"],
    ) == (6, 3)
    assert sorted(
        Kpi.objects.values_list("name", "goal__level", "goal__title", "owner__user__username")
    ) == [
        ("Generate 100 qualified leads/month", "department", "Launch 3 regional campaigns", "lee"),
        ("Resolve support tickets within 4 hrs avg", "department",
         "Reduce average response time by 20%", "sam"),
        ("Submit 2 ideas per quarter", "department", "Host 6 innovation labs per year", "ivy"),
    ]  # fmt: skip
    assert not Goal.objects.filter(level="individual").exists()


def test_the_import_chosen_so_makes_individual_goals_owned_by_the_owners(innovation):
    response = post(innovation.admin, innovation.cycle, "?individual_kpi=goal")
    assert response.status_code == 201, response.content
    assert sorted(
        Goal.objects.filter(level="individual").values_list("title", "owner__user__username")
    ) == [
        ("Generate 100 qualified leads/month", "lee"),
        ("Resolve support tickets within 4 hrs avg", "sam"),
        ("Submit 2 ideas per quarter", "ivy"),
    ]
    assert not Kpi.objects.exists()


@pytest.mark.parametrize("query", ["?individual_kpi=both", "?dry_run=true&individual_kpi="])
def test_an_unknown_reading_is_a_400_and_writes_nothing(innovation, query):
    with unchanged():
        response = post(innovation.leader, innovation.cycle, query)
    assert response.status_code == 400, response.content
    assert response.json() == {"individual_kpi": ["Must be one of: kpi, goal."]}


def test_the_schema_documents_the_reading_and_what_the_preview_says_of_it():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"][f"{API}/cycles/{{id}}/import/"]["post"]
    [parameter] = [p for p in operation["parameters"] if p["name"] == "individual_kpi"]
    assert parameter["in"] == "query"
    assert set(parameter["schema"]["enum"]) == {"kpi", "goal"}
    assert parameter["schema"]["default"] == "kpi"
    assert "Individual KPI" in parameter["description"]
    preview = schema["components"]["schemas"]["ImportPreview"]["properties"]["individual_kpi"]
    assert preview["anyOf"] == [
        {"$ref": "#/components/schemas/ImportReading"},
        {"type": "object", "nullable": True, "enum": [None]},  # any other sheet
    ]
    properties = schema["components"]["schemas"]["ImportReading"]["properties"]
    assert set(properties) == {"applied", "message"}
