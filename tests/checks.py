"""Assertions shared by the service tests: a refused write says why, on the right
field, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from goals.models import Goal
from kpis.models import Kpi, KpiUpdate


def refused(call, field: str) -> dict[str, list[str]]:
    """Run `call`, expect a ValidationError with at least one message on `field`."""
    with pytest.raises(ValidationError) as excinfo:
        call()
    messages = excinfo.value.message_dict
    assert messages.get(field), f"no message on {field!r}: {messages}"
    assert all(isinstance(m, str) and m.strip() for m in messages[field])
    return messages


def counts() -> tuple[int, int, int]:
    return Goal.objects.count(), Kpi.objects.count(), KpiUpdate.objects.count()


def row(obj) -> dict[str, Any]:
    """Every stored column of a goal or KPI, updated_at included."""
    return type(obj).objects.filter(pk=obj.pk).values().get()


def assert_create_refused(call, field: str) -> dict[str, list[str]]:
    before = counts()
    messages = refused(call, field)
    assert counts() == before
    return messages


def assert_update_refused(obj, call, field: str) -> dict[str, list[str]]:
    """The row is unchanged in the database, and the instance shows what is stored."""
    before_counts, before_row = counts(), row(obj)
    messages = refused(call, field)
    assert counts() == before_counts
    assert row(obj) == before_row
    for column, value in before_row.items():
        if column not in ("updated_at", "created_at"):
            assert getattr(obj, column) == value, column
    return messages
