"""No request body or query string can cause a server error (SPEC §8.1, §8.2): every
operation of the published API schema and every page is sent the shapes that once did
— JSON nested 100,000 deep, NUL bytes, numbers of 1e308 and -1e400, 20-digit ids —
and each answers 4xx (or 2xx where the input is fine), never 5xx, and changes nothing
it should not."""

from __future__ import annotations

import re

import pytest
from django.urls import get_resolver

from .api.helpers import client_for
from .test_api_schema_fuzz import published_schema

pytestmark = pytest.mark.django_db

HUGE_ID = str(10**20)
DEEP_JSON = "[" * 100_000 + "]" * 100_000
NUMBERS = ("1e308", "-1e400", "1.7976931348623157e308", HUGE_ID)
SCHEMA = published_schema()
OPERATIONS = [
    pytest.param(path, method, operation, id=f"{method.upper()} {path}")
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
]


def url_for(path: str) -> str:
    """The path with every parameter a 20-digit id."""
    return re.sub(r"\{[^}]+\}", HUGE_ID, path)


def bodies(operation: dict) -> list[str]:
    """Raw JSON bodies: nested too deep, and every declared field set to each hostile
    number and to a text with a NUL byte."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    fields = list(
        SCHEMA["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
    ) or ["value"]
    texts = [DEEP_JSON]
    for number in NUMBERS:
        texts.append("{" + ", ".join(f'"{name}": {number}' for name in fields) + "}")
    texts.append("{" + ", ".join(f'"{name}": "a\\u0000b"' for name in fields) + "}")
    return texts


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS)
def test_no_hostile_shape_causes_a_server_error_on_any_api_operation(
    acme, tree, path, method, operation
):
    client = client_for(acme.admin)
    url = url_for(path)
    queries = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    answers = [getattr(client, method)(url + "?" + "&".join(f"{q}=%00" for q in queries or ["x"]))]
    answers += [getattr(client, method)(url + f"?{q}={n}") for q in queries for n in NUMBERS]
    if method in ("post", "patch"):
        real = re.sub(
            r"\{id\}", str(tree.individual_kpi.pk if "kpis" in path else tree.strategic.pk), path
        )
        for body in bodies(operation):
            for target in (url, re.sub(r"\{[^}]+\}", HUGE_ID, real)):
                answers.append(
                    getattr(client, method)(target, body, content_type="application/json")
                )
    assert [a.status_code for a in answers if a.status_code >= 500] == []


def route_patterns(skip=("api/", "admin/", "accounts/", "healthz/")) -> list[str]:
    """Every page route of the app as written (`/goals/<int:goal_id>/`), but those under `skip`."""
    routes = []
    for pattern in get_resolver().url_patterns:
        text = str(pattern.pattern)
        if not text.startswith(skip):
            routes += [
                "/" + text + str(inner.pattern)
                for inner in getattr(pattern, "url_patterns", [pattern])
            ]
    return routes


def page_routes() -> list[str]:
    """Every page route of the app, with each id a 20-digit one."""
    return sorted({re.sub(r"<int:\w+>", HUGE_ID, route) for route in route_patterns()})


def test_no_hostile_shape_causes_a_server_error_on_any_page(client, acme, tree):
    client.force_login(acme.admin.user)
    answers = {}
    for route in page_routes():
        answers[f"GET {route}?NUL"] = client.get(route + "?cycle=%00&owner=a%00b").status_code
        answers[f"GET {route}"] = client.get(route).status_code
        for number in NUMBERS:
            data = {"value": number, "weight": number, "state": "a\x00b", "title": number}
            answers[f"POST {route} {number}"] = client.post(route, data).status_code
    assert len(answers) > 30
    assert {k: v for k, v in answers.items() if v >= 500} == {}
