"""Reads of cycles and the goal tree."""

from __future__ import annotations

from django.db.models import Count, Q

from org.models import Organization

from .models import Cycle, Goal, GoalState, Level


def cycle_current(organization: Organization, cycle_id: int | str | None = None) -> Cycle | None:
    """The cycle asked for, else the one containing the organization's today, else the latest."""
    cycles = Cycle.objects.filter(organization=organization)
    if cycle_id:
        try:
            return cycles.get(pk=int(cycle_id))
        except (ValueError, Cycle.DoesNotExist):
            pass
    today = organization.today()
    return (
        cycles.filter(start__lte=today, end__gte=today).order_by("-start").first()
        or cycles.order_by("-end").first()
    )


def strategic_goals(cycle: Cycle):
    """The cycle's strategic objectives with their owner and how many goals sit below them."""
    below = Q(children__isnull=False)
    return (
        Goal.objects.filter(cycle=cycle, level=Level.STRATEGIC)
        .exclude(state=GoalState.CANCELLED)
        .select_related("owner__user")
        .annotate(aligned=Count("children", filter=below, distinct=True))
        .order_by("id")
    )
