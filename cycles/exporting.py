"""Export a cycle as a spreadsheet: the import's columns, so the file
imports back as the same tree, plus what the roll-up computed (progress, health,
current value, last update). Read in a fixed number of queries whatever the size."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.http import HttpResponse

from goals.models import Goal, GoalState, Health, Level
from kpis.models import Kpi, KpiState

from . import sheets
from .models import Cycle

TITLE_COLUMN: dict[str, str] = {
    Level.STRATEGIC: sheets.STRATEGIC_GOAL,
    Level.DEPARTMENT: sheets.DEPARTMENT_GOAL,
    Level.TEAM: sheets.TEAM_GOAL,
    Level.INDIVIDUAL: sheets.INDIVIDUAL_GOAL,
}


def _number(value: float | None) -> float | int | str:
    if value is None:
        return ""
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def export_rows(cycle: Cycle) -> list[dict[str, Any]]:
    """The rows of a cycle's export, in tree order: one per active KPI (with its goal's
    path), one per goal without KPIs or goals below it, and one for a goal whose
    external id no other row carries. Cancelled goals are left out with what is below
    them. A due date is written only where it differs from the default (the cycle's
    end for a goal, its goal's due for a KPI), so the file imports into another cycle."""
    goals = list(
        Goal.objects.filter(cycle=cycle)
        .exclude(state=GoalState.CANCELLED)
        .select_related("department", "owner__user")
        .order_by("id")
    )
    kpis = defaultdict(list)
    for kpi in (
        Kpi.objects.filter(goal__cycle=cycle, state=KpiState.ACTIVE)
        .select_related("owner__user")
        .order_by("id")
    ):
        kpis[kpi.goal_id].append(kpi)
    children = defaultdict(list)
    for goal in goals:
        children[goal.parent_id].append(goal)
    rows: list[dict[str, Any]] = []

    def walk(goal: Goal, path: dict[str, Any]) -> None:
        path = {**path, TITLE_COLUMN[goal.level]: goal.title}
        if goal.level == Level.DEPARTMENT and goal.department:
            path[sheets.DEPARTMENT] = goal.department.name
        if goal.level == Level.TEAM and goal.department:
            path[sheets.TEAM] = goal.department.name
        if goal.level == Level.INDIVIDUAL and goal.owner:
            path[sheets.OWNER] = goal.owner.user.username
        own = {sheets.EXTERNAL_ID: goal.external_id or ""}
        for kpi in kpis[goal.pk]:
            rows.append({**path, **own, **_kpi_cells(kpi, goal)})
        below = children[goal.pk]
        if not kpis[goal.pk] and (not below or goal.external_id):
            rows.append(
                {
                    **path,
                    **own,
                    sheets.DUE: goal.due.isoformat() if goal.due != cycle.end else "",
                    sheets.PROGRESS: round(goal.progress, 1),
                    sheets.HEALTH: Health(goal.health).label,
                }
            )
        for child in below:
            walk(child, path)

    for root in children[None]:
        walk(root, {})
    return rows


def _kpi_cells(kpi: Kpi, goal: Goal) -> dict[str, Any]:
    return {
        sheets.KPI: kpi.name,
        sheets.UNIT: kpi.unit,
        sheets.DIRECTION: kpi.direction,
        sheets.AGGREGATION: kpi.aggregation,
        sheets.BASELINE: _number(kpi.baseline),
        sheets.TARGET: _number(kpi.target),
        sheets.DUE: kpi.due.isoformat() if kpi.due != goal.due else "",
        sheets.KPI_OWNER: kpi.owner.user.username,
        sheets.KPI_EXTERNAL_ID: kpi.external_id or "",
        sheets.PROGRESS: round(kpi.progress, 1),
        sheets.HEALTH: Health(kpi.health).label,
        sheets.CURRENT: _number(kpi.current),
        sheets.LAST_UPDATE: kpi.last_update_on.isoformat() if kpi.last_update_on else "",
    }


def cycle_export(cycle: Cycle, fmt: str) -> bytes:
    """The cycle as a CSV or XLSX file."""
    return sheets.write_rows(sheets.EXPORT_COLUMNS, export_rows(cycle), fmt)


def export_filename(cycle: Cycle, fmt: str) -> str:
    """A file name from the cycle's name: letters, digits, dashes."""
    stem = "".join(ch if ch.isalnum() else "-" for ch in cycle.name).strip("-") or "cycle"
    return f"cascade-{stem[:60]}.{fmt}"


def export_response(cycle: Cycle, fmt: str) -> HttpResponse:
    """The cycle's export as a download (the API and the page serve the same)."""
    response = HttpResponse(cycle_export(cycle, fmt), content_type=sheets.DOWNLOAD_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{export_filename(cycle, fmt)}"'
    return response
