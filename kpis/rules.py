"""The rules of a KPI and of a recorded value (SPEC §1 rules 4 and 5, §8.1): one
validator each, used by the services, the bulk recording and the import alike, so that
each rule and its message exist once.

`kpi_errors` judges the KPI it is handed; who holds an external id it asks a
`KpiFacts` (`StoredKpis` reads the database; the import answers from the cycle and the
file as planned so far).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from core.dates import out_of_range
from core.errors import (
    DATE_FORMAT,
    NAME_REQUIRED,
    Errors,
    check_amount,
    check_external_id,
    check_same_organization,
    check_text,
    check_weight,
    external_id_taken,
    one_of,
)
from goals.rules import Holder, check_dates, external_ids_held

from .models import Aggregation, Confidence, Direction, Kpi, KpiState

NEW_KPI_ACTIVE = "A new KPI starts active: archive it once it exists."
UNIT_REQUIRED = "A unit is required (%, hours, leads, …)."


class KpiFacts(Protocol):
    def external_id_holder(self, kpi: Kpi) -> Holder | None:
        """Where another KPI of the organization with the KPI's external id is."""
        ...


class StoredKpis:
    """The facts as the database holds them (the services')."""

    def external_id_holder(self, kpi: Kpi) -> Holder | None:
        others = Kpi.objects.filter(organization_id=kpi.organization_id).exclude(pk=kpi.pk)
        return external_ids_held(others.filter(external_id=kpi.external_id), "goal__cycle").get(
            kpi.external_id or ""
        )


def kpi_errors(kpi: Kpi, *, new: bool, facts: KpiFacts) -> Errors:
    """Every message of SPEC §1 rule 4, by field: name and unit, a known direction and
    aggregation, a target on the right side of the baseline, a positive weight, dates
    inside the cycle, an owner; a new KPI is active."""
    errors = Errors()
    if kpi.state not in KpiState.values:
        errors.add("state", one_of(KpiState.values))
    elif new and kpi.state != KpiState.ACTIVE:
        errors.add("state", NEW_KPI_ACTIVE)
    check_same_organization(errors, kpi.organization_id, goal=kpi.goal, owner=kpi.owner)
    if errors.messages:
        return errors
    check_text(errors, "name", kpi.name, required=NAME_REQUIRED)
    check_text(errors, "unit", kpi.unit, required=UNIT_REQUIRED, max_length=32)
    if kpi.direction not in Direction.values:
        errors.add("direction", one_of(Direction.values))
    if kpi.aggregation not in Aggregation.values:
        errors.add("aggregation", one_of(Aggregation.values))
    for field in ("baseline", "target"):
        check_amount(errors, field, getattr(kpi, field))
    if not ({"baseline", "target"} & set(errors.messages)):
        _check_target(errors, kpi)
    check_weight(errors, kpi.weight)
    if check_external_id(errors, kpi):
        holder = facts.external_id_holder(kpi)
        if holder is not None:
            elsewhere = holder.cycle_name if holder.cycle_id != kpi.goal.cycle_id else None
            errors.add("external_id", external_id_taken("KPI", elsewhere))
    if kpi.owner is None:
        errors.add("owner", "A KPI needs an owner.")
    if kpi.goal is None:
        errors.add("goal", "A KPI belongs to a goal.")
    else:
        check_dates(errors, kpi.goal.cycle, kpi.start, kpi.due)
    return errors


def _check_target(errors: Errors, kpi: Kpi) -> None:
    """Rule 4: an increasing KPI's target lies above its baseline, a decreasing one's below."""
    if kpi.direction == Direction.INCREASE and not kpi.target > kpi.baseline:
        errors.add(
            "target", f"An increasing KPI needs a target above its baseline ({kpi.baseline:g})."
        )
    if kpi.direction == Direction.DECREASE and not kpi.target < kpi.baseline:
        errors.add(
            "target", f"A decreasing KPI needs a target below its baseline ({kpi.baseline:g})."
        )


def value_errors(kpi: Kpi, *, value: Any, date: Any, confidence: str, today: dt.date) -> Errors:
    """SPEC §1 rule 5 and §8.1: a number within ±1e12, dated inside the KPI's cycle and
    no later than today, with a known confidence."""
    cycle = kpi.goal.cycle
    errors = Errors()
    check_amount(errors, "value", value)
    if not isinstance(date, dt.date):
        errors.add("date", DATE_FORMAT)
    elif far := out_of_range(date):
        errors.add("date", far)
    elif date > today:
        errors.add("date", f"Can't be later than today ({today:%Y-%m-%d}).")
    elif date < cycle.start:
        errors.add("date", f"Can't be before the cycle “{cycle.name}” starts ({cycle.start}).")
    elif date > cycle.end:
        errors.add("date", f"Can't be after the cycle “{cycle.name}” ends ({cycle.end}).")
    if confidence and confidence not in Confidence.values:
        errors.add("confidence", one_of(Confidence.values))
    return errors
