"""Every API operation is sent the shapes that once caused server errors (SPEC §8.1):
JSON nested 100,000 deep, NUL bytes in the query and the body, numbers of 1e308 and
-1e400, and 20-digit ids, in the path, the query and every body field. Bodies go to a
real object of the caller's organization, so they reach validation rather than
stopping at a 404. No such input may cause a server error, and every response must
match the published schema (status code, content type, body).

Generated input, with every check and the stateful phase, is schemathesis's own run:
tests/api/test_schemathesis.py."""

from __future__ import annotations

import io

import pytest
import schemathesis
from django.core.management import call_command
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow  # run first (tests/conftest.py)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
HUGE_ID = 10**20
REAL = "real"  # a path parameter the test replaces with a real id of the caller's


def published_schema() -> dict:
    """The schema exactly as /api/schema/ serves it."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


SCHEMA = published_schema()
schema = schemathesis.openapi.from_dict(SCHEMA)


def hostile_bodies(fields: list[str]) -> list[bytes]:
    """Raw JSON bodies: nested too deep, and every field a hostile number, a 20-digit
    id or a text with a NUL byte."""
    values = ("1e308", "-1e400", "1.7976931348623157e308", str(HUGE_ID), '"a\\u0000b"')
    bodies = [b"[" * 100_000 + b"]" * 100_000]
    for value in values:
        bodies.append(("{" + ", ".join(f'"{name}": {value}' for name in fields) + "}").encode())
    return bodies


def hostile_cases(operation) -> list:
    """The hostile shapes for one operation: in its query (with ids no column holds in
    the path), and as its JSON body, sent both to such ids and to a real object."""
    path_names = [p.name for p in operation.path_parameters]
    query_names = [p.name for p in operation.query] or ["x"]
    huge = {name: HUGE_ID for name in path_names}
    cases = [
        operation.Case(path_parameters=huge, query=dict.fromkeys(query_names, value))
        for value in ("a\0b", "1e308", "-1e400", str(HUGE_ID))
    ]
    json_bodies = [body for body in operation.body if body.media_type == "application/json"]
    if not json_bodies:
        return cases
    declared = SCHEMA["components"]["schemas"].get(json_bodies[0].resource_name, {})
    fields = list(declared.get("properties", {})) or ["value"]
    # An operation without path parameters has one target: each body is sent to it once.
    targets = [huge, dict.fromkeys(path_names, REAL)] if path_names else [{}]
    for raw in hostile_bodies(fields):
        for path in targets:
            cases.append(
                operation.Case(path_parameters=path, body=raw, media_type="application/json")
            )
    return cases


@pytest.fixture
def token(live_server, transactional_db):
    call_command("demo", stdout=io.StringIO())
    from django.contrib.auth import get_user_model

    from org.tokens import token_issue

    _token, key = token_issue(get_user_model().objects.get(username="ada"))
    return key


@pytest.fixture
def real_ids(token):
    """For each path, the id of one of ada's objects for each path parameter: a KPI
    with a value, that value, a review with an item and an action, and so on."""
    from goals.models import Goal
    from kpis.models import KpiUpdate
    from org.models import ChatTarget, Member, Webhook
    from reviews.models import ActionItem, Review

    ada = Member.objects.get(user__username="ada")
    update = KpiUpdate.objects.filter(kpi__goal__organization=ada.organization).first()
    review = Review.objects.filter(organization=ada.organization).first()
    action = ActionItem.objects.filter(review=review).first()
    item = review.items.first() if review else None
    note = ada.notifications.first()
    goal = Goal.objects.filter(organization=ada.organization).first()
    return {
        "cycles": {"id": ada.organization.cycles.first().pk},
        "departments": {"id": ada.organization.departments.first().pk},
        # by-external-id/{external_id}/: the upsert of an existing goal or KPI
        "goals": {"id": goal.pk, "external_id": goal.external_id or "fuzz-goal"},
        "kpis": {
            "id": update.kpi_id,
            "update_id": update.pk,
            "external_id": update.kpi.external_id or "fuzz-kpi",
        },
        "members": {"id": ada.pk},
        "notifications": {"id": note.pk if note else HUGE_ID},
        "webhooks": {
            "id": Webhook.objects.create(
                organization=ada.organization,
                url="https://hooks.example/cascade",
                secret="s" * 32,
                events=["review.completed"],
            ).pk
        },
        "chat-targets": {
            "id": ChatTarget.objects.create(
                organization=ada.organization,
                platform="slack",
                name="#goals",
                url="https://hooks.example/services/T0/B0/x",
                events=["checkin.due"],
            ).pk
        },
        "reviews": {
            "id": review.pk if review else HUGE_ID,
            "action_id": action.pk if action else HUGE_ID,
            "item_id": item.pk if item else HUGE_ID,
        },
    }


def test_hostile_input_causes_no_server_error_and_answers_match_the_schema(
    live_server, token, real_ids
):
    """One test for all operations: the demo organization is built once."""
    failures, sent = [], 0
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for case in hostile_cases(operation):
            if REAL in case.path_parameters.values():
                resource = operation.path.split("/")[3]
                case.path_parameters = dict(real_ids[resource])
            response = case.call(
                base_url=live_server.url, headers={"Authorization": f"Token {token}"}
            )
            sent += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except AssertionError as failure:
                failures.append(f"{operation.label}: {str(failure)[:600]}")
    assert not failures, "\n\n".join(failures)
    assert len(operations) > 50 and sent > 4 * len(operations)  # bodies were sent too
