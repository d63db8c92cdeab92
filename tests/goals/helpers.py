"""Shared helpers of the tree and field rule tests: goals and KPIs made through the
services by the leader, and the fields of a valid KPI."""

from __future__ import annotations

import datetime as dt
from typing import Any

from goals.models import Goal
from goals.services import goal_create

D = dt.date


def objective(acme, title: str = "Objective", cycle=None, **fields) -> Goal:
    return goal_create(
        actor=acme.leader, cycle=cycle or acme.cycle, level="strategic", title=title, **fields
    )


def department_goal(acme, parent: Goal, **fields) -> Goal:
    fields.setdefault("department", acme.support)
    fields.setdefault("title", "Department goal")
    return goal_create(
        actor=acme.leader, cycle=parent.cycle, level="department", parent=parent, **fields
    )


def kpi_fields(**overrides) -> dict[str, Any]:
    fields = dict(
        name="First response time", unit="hours", direction="decrease", baseline=10, target=8
    )
    fields.update(overrides)
    return fields
