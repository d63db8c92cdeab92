"""Reads of KPIs: My work, a goal's KPIs with their history of values, a department's
KPIs. Each in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from core.periods import Period
from goals.models import Goal, GoalState
from goals.selectors import CHAIN_RELATED
from org.models import Member, Organization
from org.permissions import Requirement

from .charts import trend_chart
from .models import Kpi, KpiSource, KpiState, KpiUpdate

if TYPE_CHECKING:
    from cycles.models import Cycle

KPI_CHAIN = ("goal__cycle", "goal__owner", *(f"goal__{name}" for name in CHAIN_RELATED))


def with_last_update(kpis: QuerySet[Kpi]) -> QuerySet[Kpi]:
    """Annotate the newest update's date, note and confidence (for "the owner's latest view")."""
    newest = (
        KpiUpdate.objects.live().filter(kpi=OuterRef("pk")).order_by("-date", "-created_at", "-id")
    )
    return kpis.annotate(
        last_date=Subquery(newest.values("date")[:1]),
        last_note=Subquery(newest.values("note")[:1]),
        last_confidence=Subquery(newest.values("confidence")[:1]),
        last_source_name=Subquery(newest.values("source_name")[:1]),  # "": a person's
    )


def with_kpi_count(goals: QuerySet[Goal]) -> QuerySet[Goal]:
    """How many KPIs each goal has (one indexed count per row)."""
    kpis = (
        Kpi.objects.filter(goal=OuterRef("pk"), state=KpiState.ACTIVE)
        .order_by()
        .values("goal")
        .annotate(n=Count("id"))
        .values("n")
    )
    return goals.annotate(kpi_count=Coalesce(Subquery(kpis), 0))


def kpi_for_write(organization: Organization, kpi_id: int) -> Kpi:
    """A KPI with what permission checks and the row need; 404 outside the organization."""
    return get_object_or_404(
        Kpi.objects.filter(organization=organization).select_related("owner__user", *KPI_CHAIN),
        pk=kpi_id,
    )


def access_kpi_by_id(member: Member, kpi_id: int, permission: Requirement[Kpi]) -> Kpi:
    """The KPI, if it is the member's organization's (a 404 otherwise) and the member has
    `permission` on it (a 403 otherwise)."""
    kpi = kpi_for_write(member.organization, kpi_id)
    permission.require(member, kpi)
    return kpi


def access_value_by_id(
    member: Member, update_id: int, permission: Requirement[KpiUpdate]
) -> KpiUpdate:
    """A recorded value, if it is the member's organization's (a 404 otherwise) and the
    member has `permission` on it (a 403 otherwise: before its form is validated)."""
    update = get_object_or_404(
        KpiUpdate.objects.select_related("replaced_by", "kpi__owner__user").select_related(
            *(f"kpi__{name}" for name in KPI_CHAIN)
        ),
        kpi__organization=member.organization,
        pk=update_id,
    )
    permission.require(member, update)
    return update


def kpi_row(kpi: Kpi) -> Kpi:
    """The KPI again after a write, as My work shows it (its latest value's note)."""
    return (
        with_last_update(Kpi.objects.filter(pk=kpi.pk))
        .select_related("owner__user", *KPI_CHAIN)
        .get()
    )


def my_goals(member: Member, cycle: Cycle) -> list[Goal]:
    """The member's own goals in the cycle, each with its chain up to the strategic objective."""
    return list(
        Goal.objects.filter(cycle=cycle, owner=member)
        .exclude(state=GoalState.CANCELLED)
        .select_related(*CHAIN_RELATED)
        .order_by("id")
    )


def my_kpis(member: Member, cycle: Cycle) -> list[Kpi]:
    """KPIs the member owns, or whose goal they own, in the cycle."""
    own_goal_ids = list(Goal.objects.filter(owner=member, cycle=cycle).values_list("id", flat=True))
    return list(
        with_last_update(
            Kpi.objects.filter(goal__cycle=cycle, state=KpiState.ACTIVE)
            .filter(Q(owner=member) | Q(goal_id__in=own_goal_ids))
            .exclude(goal__state=GoalState.CANCELLED)
            .select_related("owner__user", *KPI_CHAIN)
        ).order_by("goal_id", "id")
    )


HISTORY = KpiUpdate.objects.select_related(
    "author__user", "retracted_by__user", "replaced_by__author__user"
).order_by("date", "created_at", "id")


def kpis_with_history(goal: Goal, today: dt.date) -> list[Kpi]:
    """The goal's KPIs with their owners, data sources (`source`: a KPI without one
    raises DoesNotExist, empty in a template) and history: `history` (every update,
    oldest first, corrected and retracted ones too), `last` (the latest live value)
    and `chart` (the trend of the live values)."""
    kpis = list(
        Kpi.objects.filter(goal=goal)
        .select_related("owner__user", "source")
        .defer("source__headers", "source__database_url")  # secrets: never shown here
        .prefetch_related(Prefetch("updates", queryset=HISTORY))
        .order_by("id")
    )
    for kpi in kpis:
        kpi.goal = goal  # share the loaded goal (and its chain and cycle, when loaded)
        _add_history(kpi, list(kpi.updates.all()), today)
    return kpis


def kpi_with_history(kpi: Kpi, today: dt.date) -> Kpi:
    """One KPI's history, as kpis_with_history gives it (after a correction)."""
    _add_history(kpi, list(HISTORY.filter(kpi=kpi)), today)
    return kpi


def _add_history(kpi: Kpi, history: list[KpiUpdate], today: dt.date) -> None:
    for update in history:
        update.kpi = kpi  # share the loaded KPI (permissions read its goal)
    kpi.history = history
    live = [update for update in history if update.is_live]
    kpi.last = live[-1] if live else None
    kpi.chart = trend_chart(kpi, live, today)


def source_of(kpi: Kpi, *, secrets: bool = True) -> KpiSource | None:
    """The KPI's data source, if it has one; without `secrets`, its headers and database
    URL are not read (nor decrypted: removing a source whose key is lost still works)."""
    sources = KpiSource.objects.filter(kpi=kpi)
    return (sources if secrets else sources.defer("headers", "database_url")).first()


def latest_value(kpi: Kpi) -> float | None:
    """The KPI's latest live value (what a new one is compared with), if any."""
    return (
        KpiUpdate.objects.live()
        .filter(kpi=kpi)
        .order_by("-date", "-created_at", "-id")
        .values_list("value", flat=True)
        .first()
    )


def kpis_outside(goal: Goal, cycle: Cycle) -> list[str]:
    """The names of the goal's KPIs whose dates fall outside `cycle`."""
    return list(
        Kpi.objects.filter(goal=goal)
        .filter(Q(start__lt=cycle.start) | Q(due__gt=cycle.end))
        .order_by("id")
        .values_list("name", flat=True)
    )


def goals_lacking_values(goal_ids: list[int], period: Period) -> set[int]:
    """Which of these goals have a KPI with no value dated in `period`."""
    valued = KpiUpdate.objects.live().filter(
        kpi=OuterRef("pk"), date__range=(period.start, period.end)
    )
    return set(
        Kpi.objects.filter(goal__in=goal_ids, state=KpiState.ACTIVE)
        .exclude(Exists(valued))
        .values_list("goal_id", flat=True)
    )


def kpis_of_goals(goals: list[Goal]) -> list[Kpi]:
    """The KPIs of these goals as rows to record on (a department page): with owner,
    goal and its chain (who may record), and the latest value's note, goal by goal."""
    return list(
        with_last_update(
            Kpi.objects.filter(goal__in=[goal.pk for goal in goals], state=KpiState.ACTIVE)
        )
        .select_related("owner__user", *KPI_CHAIN)
        .order_by("goal_id", "id")
    )


class WithoutCheckIn(NamedTuple):
    """A goal's parts that have no check-in yet: its active KPIs without a value and its
    active child goals that reported nothing. They count as 0 % in its progress but are
    left out of its health (SPEC §9.3)."""

    kpis: int
    goals: int

    @property
    def total(self) -> int:
        return self.kpis + self.goals


def without_check_in(goal: Goal, kpis: Iterable[Kpi], children: Iterable[Goal]) -> WithoutCheckIn:
    """What of the goal's KPIs and child goals (as the goal page loaded them: no query)
    has no check-in yet; nothing for a done goal, which reads 100 % whatever they say."""
    if goal.state == GoalState.DONE:
        return WithoutCheckIn(0, 0)
    return WithoutCheckIn(
        kpis=sum(1 for kpi in kpis if kpi.state == KpiState.ACTIVE and kpi.current is None),
        goals=sum(
            1
            for child in children
            if child.state == GoalState.ACTIVE and child.reported_progress is None
        ),
    )
