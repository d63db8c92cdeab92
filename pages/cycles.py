"""The Cycles page (SPEC §8.3, leaders and admins): create, edit, close and reopen a
cycle, mark the organization's current one, and roll goals over into another cycle.
Roll-over copies KPIs too, so the page sits here, above goals and KPIs."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.forms import save_form
from core.http import go_to
from goals import selectors as goals
from goals.forms import CycleForm
from goals.models import Cycle, CycleState, GoalState
from goals.services import CYCLES_REFUSED, cycle_create, cycle_set_state, cycle_update
from kpis.forms import RolloverForm
from kpis.rollover import cycle_rollover
from org.decorators import member_required
from org.permissions import can_manage_cycles


def _cycle(request, cycle_id: int) -> Cycle:
    if not can_manage_cycles(request.member):
        raise PermissionDenied(CYCLES_REFUSED)
    return get_object_or_404(Cycle, organization=request.member.organization, pk=cycle_id)


@member_required
def cycles_page(request):
    """The list of cycles, and the form that creates one (in place)."""
    if not can_manage_cycles(request.member):
        raise PermissionDenied(CYCLES_REFUSED)
    form = CycleForm(request.POST if request.method == "POST" else None)
    created = save_form(form, lambda data: cycle_create(actor=request.member, **data))
    if created is not None:
        messages.success(
            request,
            f"“{created.name}” is created. Nobody's view changed: pick it in the cycle "
            "switcher, or mark it current for everyone.",
        )
        return go_to(request, reverse("cycles"))
    status = 400 if form.errors else 200
    if request.htmx and request.method == "POST":
        return render(request, "pages/cycle_new.html", {"form": form}, status=status)
    cycle, cycles = goals.cycle_for_request(request)
    context = {
        "nav": "cycles",
        "cycle": cycle,
        "cycles": cycles,
        "listed": goals.cycles_listed(request.member.organization),
        "form": form,
    }
    return render(request, "pages/cycles.html", context, status=status)


@member_required
def cycle_edit(request, cycle_id: int):
    cycle = _cycle(request, cycle_id)
    form = CycleForm.editing(cycle, request.POST or None)
    if save_form(form, lambda data: cycle_update(actor=request.member, cycle=cycle, **data)):
        messages.success(request, f"“{cycle.name}” is saved.")
        return redirect("cycles")
    return render(
        request,
        "goals/goal_form.html",
        {
            "nav": "cycles",
            "form": form,
            "heading": f"Edit cycle “{cycle.name}”",
            "action": reverse("cycle-edit", args=[cycle.pk]),
            "back": (reverse("cycles"), "Cycles"),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@member_required
def cycle_state(request, cycle_id: int):
    """Close or reopen a cycle, or mark it the organization's current one."""
    cycle = _cycle(request, cycle_id)
    action = request.POST.get("action", "")
    if action == "close":
        cycle_set_state(actor=request.member, cycle=cycle, state=CycleState.CLOSED)
        messages.success(
            request,
            f"“{cycle.name}” is closed: its goals, KPIs and values are read-only until it "
            "is reopened.",
        )
    elif action == "reopen":
        cycle_set_state(actor=request.member, cycle=cycle, state=CycleState.OPEN)
        messages.success(request, f"“{cycle.name}” is open again.")
    elif action == "current":
        cycle_update(actor=request.member, cycle=cycle, is_current=True)
        messages.success(
            request, f"“{cycle.name}” is now the current cycle for whoever picked none."
        )
    else:
        return HttpResponse("Choose close, reopen or current.", status=400)
    return go_to(request, reverse("cycles"))


@member_required
def cycle_rollover_page(request, cycle_id: int):
    """Pick goals of this cycle (the unfinished ones to begin with) and copy them, with
    their KPIs, into another cycle."""
    source = _cycle(request, cycle_id)
    listed = goals.goals_for_rollover(source)
    form = RolloverForm(request.POST if request.method == "POST" else None, source=source)
    copies = save_form(
        form,
        lambda data: cycle_rollover(
            actor=request.member, source=source, to_cycle=data["to_cycle"], goals=data["goals"]
        ),
    )
    if copies is not None:
        target = form.cleaned_data["to_cycle"]
        messages.success(
            request,
            f"{len(copies)} goal{'s' if len(copies) != 1 else ''} copied into “{target.name}”, "
            "with their KPIs; goals copied there before were kept as they are.",
        )
        return redirect(f"{reverse('cascade')}?cycle={target.pk}")
    if form.is_bound:
        picked = {str(pk) for pk in request.POST.getlist("goals")}
    else:
        picked = {str(g.pk) for g in listed if g.state == GoalState.ACTIVE and g.progress < 100}
    return render(
        request,
        "pages/rollover.html",
        {
            "nav": "cycles",
            "source": source,
            "form": form,
            "listed": listed,
            "picked": picked,
        },
        status=400 if form.errors else 200,
    )
