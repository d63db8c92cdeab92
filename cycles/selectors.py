"""Reads of cycles and of a cycle's tree as a whole, each in a fixed number of queries:
which cycle a page shows, the Cycles page's list, the roll-over checklist, and the
tree below a goal as it stands or stood on a past day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from core.http import int_param
from goals.models import Goal, GoalState, Level
from kpis.models import Kpi, KpiState
from org.models import Member, Organization
from org.permissions import MemberRequirement

from . import history
from .models import Cycle, CyclePick, CycleState

if TYPE_CHECKING:
    from core.http import MemberHttpRequest


def access_cycle_by_id(
    member: Member, cycle_id: int, permission: MemberRequirement | None = None
) -> Cycle:
    """The cycle, if it is the member's organization's (a 404 otherwise); with
    `permission` (one on cycles as a whole, such as MANAGE_CYCLES), asked first: a
    member who may not is refused (a 403) whichever cycle they name."""
    if permission is not None:
        permission.require(member)
    return get_object_or_404(Cycle, organization=member.organization, pk=cycle_id)


def cycles_of(organization: Organization, member: Member | None = None) -> list[Cycle]:
    """The organization's cycles, latest first; with `member`, each says whether it is
    the one they last picked (`picked`), in the same query."""
    cycles = Cycle.objects.filter(organization=organization).order_by("-start", "name")
    if member is not None:
        # `picked` is declared on Cycle for its readers; the plugin takes it for a field.
        cycles = cycles.annotate(  # type: ignore[no-redef]  # not a field: Django allows it
            picked=Exists(CyclePick.objects.filter(member=member, cycle=OuterRef("pk")))
        )
    return list(cycles)


def default_cycle(cycles: list[Cycle], today: dt.date) -> Cycle | None:
    """What someone who picked no cycle sees (SPEC §8.3): the cycle marked current; else the
    open cycle containing today with the latest start; else the latest start."""
    for cycle in cycles:
        if cycle.is_current:
            return cycle
    containing = [c for c in cycles if c.state == CycleState.OPEN and c.start <= today <= c.end]
    return max(containing or cycles, key=lambda c: (c.start, c.pk), default=None)


def cycle_current(
    organization: Organization, cycle_id: int | str | None = None, cycles: list[Cycle] | None = None
) -> Cycle | None:
    """The cycle asked for, else the one a person picked last, else the organization's
    default (SPEC §8.3: marked current, else open and containing today, else the latest)."""
    cycles = cycles if cycles is not None else cycles_of(organization)
    if cycle_id:
        for cycle in cycles:
            if str(cycle.pk) == str(cycle_id):
                return cycle
    for cycle in cycles:
        if getattr(cycle, "picked", False):
            return cycle
    return default_cycle(cycles, organization.today())


@dataclass(frozen=True)
class Viewing:
    """The cycle a person chose (their pick in the switcher, else the organization's
    default) and, when a page shows another one, the way back to theirs (the banner's
    "Back to …")."""

    chosen: Cycle | None
    back: str


def _without_cycle(request: HttpRequest) -> str:
    """This page's address without `?cycle=`: the same page in the chosen cycle."""
    query = request.GET.copy()
    query.pop("cycle", None)
    return f"{request.path}?{query.urlencode()}" if query else request.path


def cycle_chosen(request: MemberHttpRequest, back: str | None = None) -> list[Cycle]:
    """The organization's cycles, with the person's chosen one set as `request.viewing`
    (read by the banner in base.html); `back` is where "Back to …" goes (by default,
    this page without `?cycle=`)."""
    member = request.member
    cycles = cycles_of(member.organization, member)
    chosen = cycle_current(member.organization, None, cycles)
    request.viewing = Viewing(chosen, back if back is not None else _without_cycle(request))
    return cycles


def cycle_for_request(request: MemberHttpRequest) -> tuple[Cycle | None, list[Cycle]]:
    """The cycle this request shows: `?cycle=` (a link's: shown, never stored — SPEC
    §9.3), else the one the person picked in the switcher, else the default. Only
    `pick_cycle` changes the stored pick."""
    cycles = cycle_chosen(request)
    cycle = cycle_current(request.member.organization, request.GET.get("cycle"), cycles)
    return cycle, cycles


def pick_cycle(member: Member, cycle_id: str | None) -> Cycle | None:
    """The switcher: remember this cycle as the person's pick (on every device). A cycle
    that is not their organization's is None, and nothing is stored."""
    cycle_pk = int_param(cycle_id)
    if cycle_pk is None:
        return None
    cycle = Cycle.objects.filter(organization=member.organization, pk=cycle_pk).first()
    if cycle is None:
        return None
    CyclePick.objects.update_or_create(member=member, defaults={"cycle": cycle})
    return cycle


def cycles_listed(organization: Organization) -> QuerySet[Cycle]:
    """The Cycles page: every cycle with how many goals it holds and how many of them
    are unfinished (active, below 100 %), in one query."""
    live = ~Q(goals__state=GoalState.CANCELLED)
    unfinished = Q(goals__state=GoalState.ACTIVE, goals__progress__lt=100)
    return (
        Cycle.objects.filter(organization=organization)
        .annotate(
            goal_count=Count("goals", filter=live),
            unfinished_count=Count("goals", filter=unfinished),
        )
        .order_by("-start", "name")
    )


def goals_for_rollover(cycle: Cycle) -> list[Goal]:
    """A cycle's goals in tree order (each after its parent), with `depth`, for the
    roll-over checklist."""
    goals = list(Goal.objects.filter(cycle=cycle).select_related("owner__user", "department"))
    children: dict[int | None, list[Goal]] = {}
    for goal in sorted(goals, key=lambda g: (g.title.lower(), g.pk)):
        children.setdefault(goal.parent_id, []).append(goal)
    ordered: list[Goal] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for goal in children.get(parent_id, []):
            goal.depth = depth
            ordered.append(goal)
            walk(goal.pk, depth + 1)

    walk(None, 0)
    return ordered


def goal_tree(goal: Goal, *, as_of: dt.date | None = None) -> Goal:
    """The goal with `tree_children` and `tree_kpis` set on it and on every goal below
    it: one query per level below it (at most three) and one for the KPIs; `as_of`,
    each as it stood that day (two queries more: cycles/history.py)."""
    nodes = {goal.pk: goal}
    level = [goal.pk]
    while level:
        below = list(Goal.objects.filter(parent_id__in=level).order_by("id"))
        nodes.update((g.pk, g) for g in below)
        level = [g.pk for g in below if g.level != Level.INDIVIDUAL]
    for node in nodes.values():
        node.tree_children, node.tree_kpis = [], []
    for node in nodes.values():
        if node.pk != goal.pk:  # below `goal`: it has a parent
            nodes[cast(int, node.parent_id)].tree_children.append(node)
    kpis = list(Kpi.objects.filter(goal_id__in=nodes, state=KpiState.ACTIVE).order_by("id"))
    for kpi in kpis:
        nodes[kpi.goal_id].tree_kpis.append(kpi)
    if as_of is not None:
        history.as_of(nodes.values(), as_of)
        history.kpis_as_of(kpis, as_of)
    return goal
