"""Shared helpers of the API tests: authenticated clients and database snapshots."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from cycles.models import Cycle
from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from org.models import Department, Member, Organization
from org.tokens import token_issue

API = "/api/v1"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def client_for(member: Member) -> APIClient:
    """An API client that authenticates as `member` with a real token header."""
    _token, key = token_issue(member.user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def database() -> dict[str, list[dict]]:
    """Every row an API write could touch, field by field."""
    models = (get_user_model(), Organization, Department, Member, Cycle, Goal, Kpi, KpiUpdate)
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


@contextmanager
def unchanged():
    """The block leaves every row of the database as it was."""
    before = database()
    yield
    assert database() == before, "the request changed the database"


def is_number(value) -> bool:
    """A JSON number: int or float, not a bool, not a string."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_iso_date(value) -> bool:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        return False
    dt.date.fromisoformat(value)
    return True


def ids(response) -> set[int]:
    """The ids of a paginated list response."""
    return {row["id"] for row in response.json()["results"]}


def assert_field_errors(response, field: str | None) -> dict:
    """A 400 whose body maps fields to lists of messages, naming `field` when given."""
    assert response.status_code == 400, (response.status_code, response.content)
    errors = response.json()
    assert isinstance(errors, dict) and errors, errors
    for name, messages in errors.items():
        assert isinstance(messages, list) and messages, (name, messages)
        assert all(isinstance(message, str) and message for message in messages), messages
    if field is not None:
        assert field in errors, errors
    return errors


def post_raw(client, url: str, raw: str):
    """POST a JSON text as is (for inputs a Python dict can't express, like 1e999)."""
    return client.post(url, raw, content_type="application/json")


# -- the acme fixture's people, and the places of its tree (the permission tests) -----

ROLES = ("admin", "leader", "manager", "reviewer", "member")


def actor(acme, role: str) -> Member:
    return getattr(acme, role)


def new_goal_body(acme, p, place: str) -> dict:
    """The body creating a goal at `place`: its level, parent, department or owner."""
    cycle = acme.cycle.pk
    return {
        "strategic": {"cycle": cycle, "level": "strategic", "title": "Grow revenue"},
        "support_department": {
            "cycle": cycle,
            "level": "department",
            "title": "Answer every call",
            "parent": p.strategic.pk,
            "department": acme.support.pk,
        },
        "marketing_department": {
            "cycle": cycle,
            "level": "department",
            "title": "Run a brand campaign",
            "parent": p.strategic.pk,
            "department": acme.marketing.pk,
        },
        "tier2_team": {
            "cycle": cycle,
            "level": "team",
            "title": "Shorten escalations",
            "parent": p.department.pk,
            "department": acme.tier2.pk,
        },
        "sam_individual": {
            "cycle": cycle,
            "level": "individual",
            "title": "Answer 20 tickets a day",
            "parent": p.department.pk,
            "owner": acme.member.pk,
        },
        "tia_individual": {
            "cycle": cycle,
            "level": "individual",
            "title": "Close 5 escalations a week",
            "parent": p.tier2.pk,
            "owner": acme.tier2_member.pk,
        },
        "lee_individual": {
            "cycle": cycle,
            "level": "individual",
            "title": "Book 10 demos a month",
            "parent": p.marketing.pk,
            "owner": acme.marketing_member.pk,
        },
    }[place]


# -- bad input (test_validation.py, test_malformed_requests.py) ----------------------

HUGE = 10**30  # beyond any integer column


@pytest.fixture
def leader(acme):
    return client_for(acme.leader)
