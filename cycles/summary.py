"""The dashboard's whole-cycle figures (aligned counts, warnings, and the leader's
heatmap and check-in compliance: cycles/leader.py), kept in the database by the writes
and the roll-up so that a page view never scans the cycle.

1. Every change to a cycle's goals or KPIs ends in a roll-up, which reports the cycle
   changed (goals.signals.cycles_changed); once that commits, a task recounts the cycle
   (`summary_refresh`) and stores the figures in its `CycleSummary` row. Writes that
   come while a recount is queued share it, so a busy cycle costs the worker one
   recount after another, not one per write.
2. The dashboard reads that row and the few goals and KPIs it names: a fixed handful
   of queries whatever the size of the cycle.
3. Figures that move with the calendar (a new period, a KPI whose start came) are
   recounted in the background on the first view of a new day, and by the 6-hourly
   roll-up.

This needs a worker and a shared cache, as in production (`SHARED_CACHE`). Without
them (the embedded default, and most tests) the figures are counted on each view. A
shared cache without a broker would recount inline, after each write's commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef

from core.periods import Period, period_containing
from core.tasks import enqueue_on_commit
from goals.models import Goal, GoalState, Health, Level
from goals.selectors import CHAIN_RELATED, aligned_counts
from kpis.models import Kpi, KpiState
from kpis.reminders import checked_in, kpis_to_check_in
from kpis.smart import failing_smart_filter, smart_failures, with_change

from .leader import compliance_figures, heatmap_figures
from .models import Cycle, CycleSummary


def shown_period(cycle: Cycle, today: dt.date | None = None) -> Period:
    """The check-in period the dashboard speaks of for a cycle (SPEC §9.3): the month
    or quarter (by its cadence) holding the organization's today, clamped into the
    cycle — a cycle still ahead shows its first period, one that ended its last."""
    today = today or cycle.organization.today()
    return period_containing(cycle.cadence, min(max(today, cycle.start), cycle.end))


@dataclass
class Warnings:
    """What needs attention in a cycle (the dashboard's list)."""

    objective_count: int = 0
    too_few: bool = False
    too_many: bool = False
    goals_without_kpis: list[Goal] = field(default_factory=list)
    goals_without_kpis_count: int = 0
    kpis_failing_smart: list[Kpi] = field(default_factory=list)
    kpis_failing_smart_count: int = 0
    kpis_without_update: list[Kpi] = field(default_factory=list)
    kpis_without_update_count: int = 0
    kpis_no_data: list[Kpi] = field(default_factory=list)  # never checked in (health no_data)
    kpis_no_data_count: int = 0
    period: Period | None = None

    @property
    def any(self) -> bool:
        return bool(
            self.too_few
            or self.too_many
            or self.goals_without_kpis_count
            or self.kpis_failing_smart_count
            or self.kpis_without_update_count
            or self.kpis_no_data_count
        )


SHOWN = 8  # warnings list at most this many items each, with the total


def cycle_warnings(cycle: Cycle) -> Warnings:
    """Fewer than 3 or more than 5 objectives, goals without KPIs, KPIs failing
    S.M.A.R.T., KPIs without a value this period, KPIs with no check-in at all yet
    (SPEC §5, Dashboard; §8.3)."""
    period = shown_period(cycle)
    active_objectives = Goal.objects.filter(
        cycle=cycle, level=Level.STRATEGIC, state=GoalState.ACTIVE
    ).count()
    warnings = Warnings(objective_count=active_objectives, period=period)
    warnings.too_few = active_objectives < 3
    warnings.too_many = active_objectives > 5
    no_kpis = Goal.objects.filter(cycle=cycle, state=GoalState.ACTIVE).exclude(
        Exists(Kpi.objects.filter(goal=OuterRef("pk"), state=KpiState.ACTIVE))
    )
    warnings.goals_without_kpis_count = no_kpis.count()
    warnings.goals_without_kpis = list(no_kpis.order_by("id")[:SHOWN])

    active_kpis = Kpi.objects.filter(
        goal__cycle=cycle, goal__state=GoalState.ACTIVE, state=KpiState.ACTIVE
    )
    failing = with_change(active_kpis).filter(failing_smart_filter())
    warnings.kpis_failing_smart_count = failing.count()
    warnings.kpis_failing_smart = list(
        failing.select_related(
            "goal__cycle", *(f"goal__{name}" for name in CHAIN_RELATED)
        ).order_by("id")[:SHOWN]
    )
    for kpi in warnings.kpis_failing_smart:
        kpi.failing = smart_failures(kpi)
    # A KPI that has not started yet (a cycle still ahead) can't have a value, so it is
    # not reported; the check-in is the one compliance counts (kpis/reminders.py).
    stale = kpis_to_check_in(cycle, cycle.organization.today()).exclude(checked_in(period))
    warnings.kpis_without_update_count = stale.count()
    warnings.kpis_without_update = list(stale.select_related("owner__user").order_by("id")[:SHOWN])
    never = active_kpis.filter(health=Health.NO_DATA)
    warnings.kpis_no_data_count = never.count()
    warnings.kpis_no_data = list(never.select_related("owner__user").order_by("id")[:SHOWN])
    return warnings


# The warnings' lists: stored as ids, loaded again on each view (names change).
LISTS = {
    "goals_without_kpis": "goals",
    "kpis_failing_smart": "kpis",
    "kpis_without_update": "kpis",
    "kpis_no_data": "kpis",
}
COUNTS = [
    "objective_count",
    "goals_without_kpis_count",
    "kpis_failing_smart_count",
    "kpis_without_update_count",
    "kpis_no_data_count",
]
# Every figure a stored summary holds: one stored before a figure was added is recounted.
FIGURES = {*COUNTS, *LISTS, "aligned", "heatmap", "compliance"}
QUEUED_SECONDS = 120  # a queued recount that never ran is queued again after this


@dataclass
class Summary:
    """The dashboard's whole-cycle figures: {objective id: goals aligned below it}, the
    warnings, and the leader's heatmap and compliance as cycles/leader.py counts them."""

    aligned: dict[int, int]
    warnings: Warnings
    heatmap: dict[str, dict[str, dict[str, Any]]]
    compliance: list[dict[str, Any]]


def dashboard_summary(cycle: Cycle, *, leader: bool = True) -> Summary:
    """The cycle's figures: counted now, or as stored (see the module's docstring).
    Without `leader`, the heatmap and compliance may be left empty (a past day's
    dashboard shows neither): they are not counted for it."""
    if not settings.SHARED_CACHE:
        today = cycle.organization.today()
        return Summary(
            aligned_counts(cycle),
            cycle_warnings(cycle),
            heatmap_figures(cycle, today) if leader else {},
            compliance_figures(cycle, shown_period(cycle, today), today) if leader else [],
        )
    stored = _stored(cycle)
    figures = stored.figures
    return Summary(
        {int(k): n for k, n in figures["aligned"].items()},
        _warnings(cycle, stored),
        figures["heatmap"],
        figures["compliance"],
    )


def dashboard_compliance(cycle: Cycle) -> list[dict[str, Any]]:
    """Only the compliance figures (the dashboard's part that *Remind now* redraws)."""
    if not settings.SHARED_CACHE:
        today = cycle.organization.today()
        return compliance_figures(cycle, shown_period(cycle, today), today)
    return _stored(cycle).figures["compliance"]


def _stored(cycle: Cycle) -> CycleSummary:
    """The cycle's stored figures, counted here if there are none yet (or they lack a
    figure added since they were stored); a recount is queued on a new day."""
    stored = CycleSummary.objects.filter(cycle=cycle).first()
    if stored is None or not stored.figures.keys() >= FIGURES:
        stored = summary_refresh(cycle)
    elif stored.counted_on != cycle.organization.today():
        summary_refresh_soon({cycle.pk})  # shown as counted until the recount lands
    return stored


def summary_refresh(cycle: Cycle) -> CycleSummary:
    """Count the cycle's figures now and store them."""
    cache.delete(_queued_key(cycle.pk))  # a write from now on queues another recount
    summary, _ = CycleSummary.objects.update_or_create(
        cycle=cycle,
        defaults={"counted_on": cycle.organization.today(), "figures": count_figures(cycle)},
    )
    return summary


def count_figures(cycle: Cycle) -> dict[str, Any]:
    """The figures, counted by scanning the cycle (as stored: JSON)."""
    warnings = cycle_warnings(cycle)
    figures = {name: getattr(warnings, name) for name in COUNTS}
    figures |= {name: [row.pk for row in getattr(warnings, name)] for name in LISTS}
    figures["aligned"] = {str(k): n for k, n in aligned_counts(cycle).items()}
    today = cycle.organization.today()
    figures["heatmap"] = heatmap_figures(cycle, today)
    figures["compliance"] = compliance_figures(cycle, shown_period(cycle, today), today)
    return figures


def summary_refresh_soon(cycle_ids: set[int]) -> None:
    """Queue a recount of these cycles, unless one is queued already."""
    if not settings.SHARED_CACHE:
        return
    # By name: cycles/tasks.py imports this module. Sent to run at once: a worker that
    # holds delayed (countdown) tasks when its Redis goes away crashes in kombu's
    # restore of unacknowledged messages (bin/faults found it).
    recount = current_app.signature("kpis.tasks.refresh_cycle_summary")
    for cycle_id in cycle_ids:
        if cache.add(_queued_key(cycle_id), True, QUEUED_SECONDS):
            enqueue_on_commit(recount, cycle_id)


def recount_changed(sender: object, cycle_ids: set[int], **kwargs: Any) -> None:
    """Receiver of goals.signals.cycles_committed."""
    summary_refresh_soon(cycle_ids)


def _queued_key(cycle_id: int) -> str:
    return f"summary:{cycle_id}:queued"


def _warnings(cycle: Cycle, stored: CycleSummary) -> Warnings:
    """The stored figures as the dashboard shows them, with the goals and KPIs they
    name loaded afresh (two queries at most)."""
    figures = stored.figures
    warnings = Warnings(period=shown_period(cycle))
    for name in COUNTS:
        setattr(warnings, name, figures[name])
    warnings.too_few = warnings.objective_count < 3
    warnings.too_many = warnings.objective_count > 5
    goal_ids = figures["goals_without_kpis"]
    kpi_ids = {pk for name, kind in LISTS.items() if kind == "kpis" for pk in figures[name]}
    goals = {g.pk: g for g in Goal.objects.filter(pk__in=goal_ids)} if goal_ids else {}
    kpis = (
        {
            kpi.pk: kpi
            for kpi in Kpi.objects.filter(pk__in=kpi_ids).select_related(
                "owner__user", "goal__cycle", *(f"goal__{name}" for name in CHAIN_RELATED)
            )
        }
        if kpi_ids
        else {}
    )
    for name, kind in LISTS.items():
        rows = goals if kind == "goals" else kpis
        setattr(warnings, name, [rows[pk] for pk in figures[name] if pk in rows])
    for kpi in warnings.kpis_failing_smart:
        kpi.failing = smart_failures(kpi)
    return warnings
