"""Reads of cycles and the goal tree, each in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from org.models import Member, Organization

from .models import Cycle, Goal, GoalState, Level
from .periods import Period, period_containing

CHAIN = "parent__parent__parent"  # the tree is at most four levels deep
CHAIN_RELATED = ("parent", "parent__parent", CHAIN)


def cycles_of(organization: Organization) -> list[Cycle]:
    return list(Cycle.objects.filter(organization=organization).order_by("-start", "name"))


def cycle_current(
    organization: Organization, cycle_id: int | str | None = None, cycles: list[Cycle] | None = None
) -> Cycle | None:
    """The cycle asked for, else the one containing the organization's today, else the latest."""
    cycles = cycles if cycles is not None else cycles_of(organization)
    if cycle_id:
        for cycle in cycles:
            if str(cycle.pk) == str(cycle_id):
                return cycle
    today = organization.today()
    containing = [c for c in cycles if c.start <= today <= c.end]
    if containing:
        return max(containing, key=lambda c: c.start)
    return max(cycles, key=lambda c: c.end, default=None)


def cycle_for_request(request) -> tuple[Cycle | None, list[Cycle]]:
    """The cycle this request shows: `?cycle=` (remembered in the session), else the default."""
    member = request.member
    cycles = cycles_of(member.organization)
    wanted = request.GET.get("cycle") or request.session.get("cycle_id")
    cycle = cycle_current(member.organization, wanted, cycles)
    if cycle is not None and request.GET.get("cycle") and str(cycle.pk) == request.GET["cycle"]:
        request.session["cycle_id"] = cycle.pk
    return cycle, cycles


def current_period(cycle: Cycle) -> Period:
    return period_containing(cycle.cadence, cycle.organization.today())


def goals_in(organization: Organization) -> QuerySet[Goal]:
    return Goal.objects.filter(organization=organization)


def with_people(goals: QuerySet[Goal]) -> QuerySet[Goal]:
    return goals.select_related("owner__user", "department")


def annotate_counts(goals: QuerySet[Goal]) -> QuerySet[Goal]:
    """How many child goals (not cancelled) and KPIs each goal has (one indexed
    count per row, not joins that multiply rows)."""
    from kpis.models import Kpi

    children = (
        Goal.objects.filter(parent=OuterRef("pk"))
        .exclude(state=GoalState.CANCELLED)
        .order_by()
        .values("parent")
        .annotate(n=Count("id"))
        .values("n")
    )
    kpis = (
        Kpi.objects.filter(goal=OuterRef("pk"))
        .order_by()
        .values("goal")
        .annotate(n=Count("id"))
        .values("n")
    )
    return goals.annotate(
        child_count=Coalesce(Subquery(children), 0), kpi_count=Coalesce(Subquery(kpis), 0)
    )


def strategic_objectives(cycle: Cycle, aligned: dict[int, int]) -> list[Goal]:
    """The cycle's strategic objectives, each with `aligned`: how many goals sit below it."""
    objectives = list(
        with_people(Goal.objects.filter(cycle=cycle, level=Level.STRATEGIC))
        .exclude(state=GoalState.CANCELLED)
        .order_by("id")
    )
    for goal in objectives:
        goal.aligned = aligned.get(goal.pk, 0)
    return objectives


def aligned_counts(cycle: Cycle) -> dict[int, int]:
    """{strategic objective id: how many goals (not cancelled) sit below it}."""
    return dict(
        Goal.objects.filter(cycle=cycle, parent__isnull=False)
        .exclude(state=GoalState.CANCELLED)
        .annotate(
            root=Coalesce(F("parent__parent__parent_id"), F("parent__parent_id"), F("parent_id"))
        )
        .values("root")
        .annotate(n=Count("id"))
        .values_list("root", "n")
    )


def _version_key(cycle_id: int) -> str:
    return f"cycle:{cycle_id}:version"


def bump_cycle_versions(cycle_ids) -> None:
    """Invalidate cached summaries of these cycles (called after their data changed)."""
    for cycle_id in set(cycle_ids):
        try:
            cache.incr(_version_key(cycle_id))
        except ValueError:
            cache.set(_version_key(cycle_id), 2, None)


def dashboard_summary(cycle: Cycle) -> tuple[dict[int, int], Warnings]:
    """The whole-cycle part of the dashboard: aligned counts and warnings.

    These scan every goal and KPI of the cycle, so with a shared cache they are kept
    until the cycle's data changes (every roll-up bumps its version) or the day turns.
    """
    if not settings.SHARED_CACHE:
        return aligned_counts(cycle), dashboard_warnings(cycle)
    version = cache.get_or_set(_version_key(cycle.pk), 1, None)
    key = f"dashboard:{cycle.pk}:{version}:{cycle.organization.today():%Y%m%d}"
    summary = cache.get(key)
    if summary is None:
        summary = (aligned_counts(cycle), dashboard_warnings(cycle))
        cache.set(key, summary, 6 * 3600)
    return summary


@dataclass
class Warnings:
    objective_count: int = 0
    too_few: bool = False
    too_many: bool = False
    goals_without_kpis: list[Goal] = field(default_factory=list)
    goals_without_kpis_count: int = 0
    kpis_failing_smart: list = field(default_factory=list)
    kpis_failing_smart_count: int = 0
    kpis_without_update: list = field(default_factory=list)
    kpis_without_update_count: int = 0
    period: Period | None = None

    @property
    def any(self) -> bool:
        return bool(
            self.too_few
            or self.too_many
            or self.goals_without_kpis_count
            or self.kpis_failing_smart_count
            or self.kpis_without_update_count
        )


SHOWN = 8  # warnings list at most this many items each, with the total


def dashboard_warnings(cycle: Cycle) -> Warnings:
    from kpis.models import Kpi
    from kpis.smart import failing_smart_filter, kpi_smart, with_change

    period = current_period(cycle)
    active_objectives = Goal.objects.filter(
        cycle=cycle, level=Level.STRATEGIC, state=GoalState.ACTIVE
    ).count()
    warnings = Warnings(objective_count=active_objectives, period=period)
    warnings.too_few = active_objectives < 3
    warnings.too_many = active_objectives > 5
    no_kpis = Goal.objects.filter(cycle=cycle, state=GoalState.ACTIVE, kpis__isnull=True)
    warnings.goals_without_kpis_count = no_kpis.count()
    warnings.goals_without_kpis = list(no_kpis.order_by("id")[:SHOWN])

    active_kpis = Kpi.objects.filter(goal__cycle=cycle, goal__state=GoalState.ACTIVE)
    failing = with_change(active_kpis).filter(failing_smart_filter())
    warnings.kpis_failing_smart_count = failing.count()
    warnings.kpis_failing_smart = list(
        failing.select_related(
            "goal__cycle", *(f"goal__{name}" for name in CHAIN_RELATED)
        ).order_by("id")[:SHOWN]
    )
    for kpi in warnings.kpis_failing_smart:
        kpi.failing = [letter for letter, verdict in kpi_smart(kpi).items() if not verdict["ok"]]
    # "A value dated in this period" is "the latest value's date is in it": values are
    # never dated after today, and today lies in the period.
    stale = active_kpis.filter(Q(last_update_on__isnull=True) | Q(last_update_on__lt=period.start))
    warnings.kpis_without_update_count = stale.count()
    warnings.kpis_without_update = list(stale.select_related("owner__user").order_by("id")[:SHOWN])
    return warnings


def children_of(goal: Goal) -> list[Goal]:
    return list(annotate_counts(with_people(goal.children.all())).order_by("id"))


def goal_with_chain(organization: Organization, goal_id: int) -> Goal:
    """A goal with its ancestors and cycle loaded (one query); 404s outside the organization."""
    from django.shortcuts import get_object_or_404

    return get_object_or_404(
        with_people(goals_in(organization)).select_related(
            "cycle", *CHAIN_RELATED, *(f"{name}__owner__user" for name in CHAIN_RELATED)
        ),
        pk=goal_id,
    )


def line_of_sight(goal: Goal) -> list[Goal]:
    """The chain from the strategic objective down to this goal."""
    return list(reversed(goal.chain()))


def goal_kpis(goal: Goal) -> list:
    """The goal's KPIs with their owners and full history (for trends)."""
    from kpis.models import Kpi, KpiUpdate

    return list(
        Kpi.objects.filter(goal=goal)
        .select_related("owner__user")
        .prefetch_related(
            Prefetch("updates", queryset=KpiUpdate.objects.order_by("date", "created_at", "id"))
        )
        .order_by("id")
    )


def people_matching(organization: Organization, text: str, limit: int = 50) -> list[int] | None:
    """Member ids for the map's owner filter: an id, or part of a name or username.
    None when there is nothing to filter by."""
    text = (text or "").strip()
    if not text:
        return None
    members = Member.objects.filter(organization=organization)
    if text.isdigit():
        return (
            list(members.filter(pk=int(text)).values_list("id", flat=True))
            if len(text) < 19
            else []
        )
    match = (
        Q(user__username__icontains=text)
        | Q(user__first_name__icontains=text)
        | Q(user__last_name__icontains=text)
    )
    for first, _, last in [text.partition(" ")] if " " in text else []:
        match |= Q(user__first_name__icontains=first, user__last_name__icontains=last)
    return list(members.filter(match).order_by("id").values_list("id", flat=True)[:limit])


def filtered_goals(cycle: Cycle, *, department_id=None, owner_ids=None, health=None) -> list[Goal]:
    """Goals of any level matching the map's filters, with their chain for context."""
    goals = Goal.objects.filter(cycle=cycle).exclude(state=GoalState.CANCELLED)
    if department_id:
        goals = goals.filter(Q(department_id=department_id) | Q(owner__department_id=department_id))
    if owner_ids is not None:
        goals = goals.filter(owner_id__in=owner_ids)
    if health:
        goals = goals.filter(health=health)
    return list(
        annotate_counts(with_people(goals).select_related(*CHAIN_RELATED)).order_by("id")[:200]
    )


def people_of(organization: Organization) -> QuerySet[Member]:
    return Member.objects.filter(organization=organization, is_active=True).select_related(
        "user", "department"
    )


def subtree(goal: Goal) -> Goal:
    """The goal with `tree_children` and `tree_kpis` set on it and on every goal below
    it: one query per level below it (at most three) and one for the KPIs."""
    from kpis.models import Kpi

    nodes = {goal.pk: goal}
    level = [goal.pk]
    while level:
        below = list(Goal.objects.filter(parent_id__in=level).order_by("id"))
        nodes.update((g.pk, g) for g in below)
        level = [g.pk for g in below if g.level != Level.INDIVIDUAL]
        goal_parent = below
        for node in goal_parent:
            node.tree_children, node.tree_kpis = [], []
    goal.tree_children, goal.tree_kpis = [], []
    for node in nodes.values():
        if node.pk != goal.pk:
            nodes[node.parent_id].tree_children.append(node)
    for kpi in Kpi.objects.filter(goal_id__in=nodes).order_by("id"):
        nodes[kpi.goal_id].tree_kpis.append(kpi)
    return goal
