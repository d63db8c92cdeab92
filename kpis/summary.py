"""The dashboard's whole-cycle figures (aligned counts and warnings), kept in the
database by the writes and the roll-up so that a page view never scans the cycle.

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

from celery import current_app
from django.conf import settings
from django.core.cache import cache

from core.tasks import enqueue_on_commit
from goals.models import Cycle, Goal
from goals.selectors import CHAIN_RELATED, aligned_counts, current_period

from .models import CycleSummary, Kpi
from .selectors import Warnings, cycle_warnings
from .smart import smart_failures

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
QUEUED_SECONDS = 120  # a queued recount that never ran is queued again after this


def dashboard_summary(cycle: Cycle) -> tuple[dict[int, int], Warnings]:
    """{objective id: goals aligned below it} and the cycle's warnings."""
    if not settings.SHARED_CACHE:
        return aligned_counts(cycle), cycle_warnings(cycle)
    stored = CycleSummary.objects.filter(cycle=cycle).first()
    if stored is None:  # a cycle from before summaries were stored: counted once, here
        stored = summary_refresh(cycle)
    elif stored.counted_on != cycle.organization.today():
        summary_refresh_soon({cycle.pk})  # shown as counted until the recount lands
    return {int(k): n for k, n in stored.figures["aligned"].items()}, _warnings(cycle, stored)


def summary_refresh(cycle: Cycle) -> CycleSummary:
    """Count the cycle's figures now and store them."""
    cache.delete(_queued_key(cycle.pk))  # a write from now on queues another recount
    summary, _ = CycleSummary.objects.update_or_create(
        cycle=cycle,
        defaults={"counted_on": cycle.organization.today(), "figures": count_figures(cycle)},
    )
    return summary


def count_figures(cycle: Cycle) -> dict:
    """The figures, counted by scanning the cycle (as stored: JSON)."""
    warnings = cycle_warnings(cycle)
    figures = {name: getattr(warnings, name) for name in COUNTS}
    figures |= {name: [row.pk for row in getattr(warnings, name)] for name in LISTS}
    figures["aligned"] = {str(k): n for k, n in aligned_counts(cycle).items()}
    return figures


def summary_refresh_soon(cycle_ids: set[int]) -> None:
    """Queue a recount of these cycles, unless one is queued already."""
    if not settings.SHARED_CACHE:
        return
    # By name: kpis/tasks.py imports this module. Sent to run at once: a worker that
    # holds delayed (countdown) tasks when its Redis goes away crashes in kombu's
    # restore of unacknowledged messages (bin/faults found it).
    recount = current_app.signature("kpis.tasks.refresh_cycle_summary")
    for cycle_id in cycle_ids:
        if cache.add(_queued_key(cycle_id), True, QUEUED_SECONDS):
            enqueue_on_commit(recount, cycle_id)


def recount_changed(sender, cycle_ids: set[int], **kwargs) -> None:
    """Receiver of goals.signals.cycles_committed."""
    summary_refresh_soon(cycle_ids)


def _queued_key(cycle_id: int) -> str:
    return f"summary:{cycle_id}:queued"


def _warnings(cycle: Cycle, stored: CycleSummary) -> Warnings:
    """The stored figures as the dashboard shows them, with the goals and KPIs they
    name loaded afresh (two queries at most)."""
    figures = stored.figures
    warnings = Warnings(period=current_period(cycle))
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
