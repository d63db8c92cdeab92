"""Schemathesis drives every API operation with generated input against a live
server: no input may cause a server error, and every response must match the
OpenAPI schema we publish (status code, content type, body)."""

from __future__ import annotations

import io
import os

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.getenv("SCHEMATHESIS_EXAMPLES", "15"))


def published_schema() -> dict:
    """The schema exactly as /api/schema/ serves it."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(published_schema())


@pytest.fixture
def token(live_server, transactional_db):
    call_command("demo", stdout=io.StringIO())
    from django.contrib.auth import get_user_model

    key, _ = Token.objects.get_or_create(user=get_user_model().objects.get(username="ada"))
    return key.key


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_causes_a_server_error_and_responses_match_the_schema(case, live_server, token):
    response = case.call(base_url=live_server.url, headers={"Authorization": f"Token {token}"})
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
