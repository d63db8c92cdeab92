"""SPEC §8.4: request bodies are JSON only, and the published schema is exact enough
for generated clients: typed S.M.A.R.T. verdicts, a recursive tree, a plain list for
alignment, list filters on list operations only, a summary and a resource tag with a
description on every operation, a server to call."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate

from goals.models import Goal

from .helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_schema_is_valid_openapi(schema):
    validate(schema)


def test_a_body_that_is_not_json_is_a_415_and_changes_nothing(acme):
    with unchanged():
        response = client_for(acme.leader).post(
            f"{API}/goals/",
            {"cycle": acme.cycle.pk, "level": "strategic", "title": "Form-encoded"},
            format="multipart",
        )
    assert response.status_code == 415, response.content
    assert "detail" in response.json()
    assert not Goal.objects.exists()


def test_every_operation_has_a_summary_and_a_described_resource_tag(schema):
    described = {tag["name"] for tag in schema["tags"] if tag.get("description")}
    for path, method, operation in operations(schema):
        assert operation.get("summary"), f"{method} {path} has no summary"
        assert operation["tags"] and set(operation["tags"]) <= described, (path, method)
        assert path.split("/")[3] in {"auth", *operation["tags"]}
    assert schema["servers"]


def test_smart_has_five_typed_verdicts(schema):
    smart = schema["components"]["schemas"]["Smart"]
    assert set(smart["properties"]) == {
        "specific",
        "measurable",
        "achievable",
        "relevant",
        "time_bound",
    }
    for verdict in smart["properties"].values():
        assert verdict == {"$ref": "#/components/schemas/SmartVerdict"}


def test_the_tree_is_typed_recursively_and_alignment_is_a_plain_list(schema):
    node = schema["components"]["schemas"]["TreeNode"]["properties"]
    assert node["children"]["items"] == {"$ref": "#/components/schemas/TreeNode"}
    assert node["level"] == {"$ref": "#/components/schemas/LevelEnum"}
    assert node["health"] == {"$ref": "#/components/schemas/HealthEnum"}
    alignment = schema["paths"][f"{API}/goals/{{id}}/alignment/"]["get"]
    body = alignment["responses"]["200"]["content"]["application/json"]["schema"]
    assert body == {"type": "array", "items": {"$ref": "#/components/schemas/Alignment"}}
    assert not any(p["name"] == "page" for p in alignment.get("parameters", []))


# Query parameters of single-object operations: what they change, not list filters.
OPTIONS = {
    f"{API}/goals/{{id}}/tree/": {"as_of"},  # the tree as it stood that day
    # preview only; how the article's "Individual KPI" column is read (SPEC §9.3)
    f"{API}/cycles/{{id}}/import/": {"dry_run", "individual_kpi"},
    f"{API}/members/import/": {"dry_run"},  # preview only
    f"{API}/cycles/{{id}}/export/": {"format"},  # the file's format
    f"{API}/kpis/{{id}}/source/fetch/": {"dry_run"},  # preview only (SPEC §9.6)
}


def test_list_filters_are_on_list_operations_only(schema):
    for path, method, operation in operations(schema):
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        names -= OPTIONS.get(path, set())
        listing = method == "get" and operation["operationId"].endswith("_list")
        if not listing:
            assert not names, f"{method} {path} declares filters {names}"
    goals = {p["name"]: p for p in schema["paths"][f"{API}/goals/"]["get"]["parameters"]}
    assert {"cycle", "level", "parent", "department", "owner"} <= set(goals)
    assert set(goals["level"]["schema"]["enum"]) == {
        "strategic",
        "department",
        "team",
        "individual",
    }
    kpis = {p["name"] for p in schema["paths"][f"{API}/kpis/"]["get"]["parameters"]}
    assert {"goal", "state"} <= kpis
