"""Reads of KPIs: My work, a goal's KPIs."""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from goals.models import Cycle, Goal, GoalState
from goals.selectors import CHAIN_RELATED
from org.models import Member, Organization

from .models import Kpi, KpiUpdate


def with_last_update(kpis: QuerySet[Kpi]) -> QuerySet[Kpi]:
    """Annotate the newest update's date, note and confidence (for "the owner's latest view")."""
    newest = KpiUpdate.objects.filter(kpi=OuterRef("pk")).order_by("-date", "-created_at", "-id")
    return kpis.annotate(
        last_date=Subquery(newest.values("date")[:1]),
        last_note=Subquery(newest.values("note")[:1]),
        last_confidence=Subquery(newest.values("confidence")[:1]),
    )


def kpi_for_write(organization: Organization, kpi_id: int) -> Kpi:
    """A KPI with what permission checks and the row need; 404 outside the organization."""
    return get_object_or_404(
        Kpi.objects.filter(organization=organization).select_related(
            "owner__user", "goal__owner", "goal__cycle", *(f"goal__{n}" for n in CHAIN_RELATED)
        ),
        pk=kpi_id,
    )


def my_goals(member: Member, cycle: Cycle) -> list[Goal]:
    """The member's own goals in the cycle, each with its chain up to the strategic objective."""
    return list(
        Goal.objects.filter(cycle=cycle, owner=member)
        .exclude(state=GoalState.CANCELLED)
        .select_related(*CHAIN_RELATED)
        .order_by("id")
    )


def own_goal_ids(member: Member, cycle: Cycle) -> list[int]:
    return list(Goal.objects.filter(owner=member, cycle=cycle).values_list("id", flat=True))


def my_kpis(member: Member, cycle: Cycle) -> list[Kpi]:
    """KPIs the member owns, or whose goal they own, in the cycle."""
    return list(
        with_last_update(
            Kpi.objects.filter(goal__cycle=cycle)
            .filter(Q(owner=member) | Q(goal_id__in=own_goal_ids(member, cycle)))
            .exclude(goal__state=GoalState.CANCELLED)
            .select_related("owner__user", "goal__owner", *(f"goal__{n}" for n in CHAIN_RELATED))
        ).order_by("goal_id", "id")
    )


def chain_goals(kpi: Kpi) -> list[Goal]:
    """Fresh rows of the KPI's goal and its ancestors (after a roll-up)."""
    ids = [goal.pk for goal in kpi.goal.chain()]
    return list(Goal.objects.filter(pk__in=ids))
