"""Writing goals from the pages: a goal below another (in place on the goal page),
edit or move, done or cancelled.

The goal page itself shows KPIs and reviews too, so it lives above them (pages/), as
does the page of a new strategic objective (it is made in the cycle the person views)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.forms import save_form
from core.http import go_to
from org.decorators import member_required
from org.permissions import (
    ADD_CHILD_GOAL,
    CHANGE_GOAL,
    CREATE_GOAL,
    can_set_weight,
    only_own_goals,
)

from . import selectors
from .forms import GoalEditForm, GoalForm
from .models import Goal
from .services import goal_create, goal_delete, goal_update

if TYPE_CHECKING:
    from core.http import HtmxHttpRequest, MemberHttpRequest


def form_page(
    request: HttpRequest, form: forms.Form, *, heading: str, action: str, **context: Any
) -> HttpResponse:
    """A goal or KPI form on a page of its own (400 while it has errors)."""
    return render(
        request,
        "goals/goal_form.html",
        {"nav": "cascade", "form": form, "heading": heading, "action": action, **context},
        status=400 if form.errors else 200,
    )


def add_in_place(
    request: HtmxHttpRequest,
    form: forms.Form,
    save: Callable[[dict[str, Any]], object],
    *,
    goal: Goal,
    form_id: str,
    heading: str,
    submit: str,
    action: str,
) -> HttpResponse:
    """An "add to this goal" form that opens in place on the goal page (htmx), or as a
    page of its own. Saved through `save` (a service): back to the goal page, with
    the new piece in it; else the form again, with the messages beside the fields."""
    if save_form(form, save):
        return back_to_goal(request, goal)
    if request.htmx:
        context = {
            "form": form,
            "form_id": form_id,
            "heading": heading,
            "submit": submit,
            "action": action,
        }
        return render(
            request,
            "goals/in_place_form.html",
            context,
            status=400 if form.errors else 200,
        )
    return form_page(request, form, heading=heading, action=action, goal=goal, cycle=goal.cycle)


def back_to_goal(request: HtmxHttpRequest, goal: Goal) -> HttpResponse:
    """After a change made from the goal page: the goal page again, with it."""
    return go_to(request, reverse("goal-detail", args=[goal.pk]))


@member_required
def goal_child_new(request: MemberHttpRequest, goal_id: int) -> HttpResponse:
    """Add a child goal in place on the goal page."""
    parent = selectors.access_goal_by_id(request.member, goal_id, ADD_CHILD_GOAL)
    organization = request.member.organization
    initial = {  # the obvious: the parent's department, else the manager's own
        "department": parent.department_id or request.member.department_id,
        "owner": request.member.pk if only_own_goals(request.member) else None,
    }
    form = GoalForm(
        request.POST or None,
        organization=organization,
        parent=parent,
        weighs=can_set_weight(request.member, parent),
        initial=initial,
    )
    form.is_valid()
    placed = getattr(form, "cleaned_data", {})
    # Offered from now on: what the member may create (parsed above against every
    # choice, so that asking for a place they may not write is a 403, not a 400).
    form.fit_to(request.member, parent)
    # Permission before validation: where the goal would go, from the fields that parsed.
    if placed.get("level"):
        where = Goal(
            organization_id=organization.pk,
            level=placed["level"],
            department=placed.get("department"),
            owner=placed.get("owner"),
        )
        CREATE_GOAL.require(request.member, where)
    return add_in_place(
        request,
        form,
        lambda _: goal_create(
            actor=request.member, cycle=parent.cycle, parent=parent, **form.goal_fields()
        ),
        goal=parent,
        form_id="child-form",
        heading=f"New goal under “{parent.title}”",
        submit="Add goal",
        action=reverse("goal-child-new", args=[parent.pk]),
    )


@member_required
def goal_edit(request: MemberHttpRequest, goal_id: int) -> HttpResponse:
    goal = selectors.access_goal_by_id(request.member, goal_id, CHANGE_GOAL)
    form = GoalEditForm(
        request.POST or None,
        organization=request.member.organization,
        goal=goal,
        weighs=can_set_weight(request.member, goal.parent),
    )
    form.fit_to(request.member)  # offered: what they may make of it; parsed: as before
    if save_form(form, lambda _: goal_update(actor=request.member, goal=goal, **form.changes())):
        return redirect("goal-detail", goal_id=goal.pk)
    return form_page(
        request,
        form,
        heading=f"Edit “{goal.title}”",
        action=reverse("goal-edit", args=[goal.pk]),
        goal=goal,
        cycle=goal.cycle,
    )


@require_POST
@member_required
def goal_delete_view(request: MemberHttpRequest, goal_id: int) -> HttpResponse:
    """Remove a goal: deleted when nothing hangs on it, else cancelled (the page asked)."""
    goal = selectors.goal_with_chain(request.member.organization, goal_id)
    if goal_delete(actor=request.member, goal=goal):
        messages.success(request, f"“{goal.title}” was deleted.")
        url = reverse("goal-detail", args=[goal.parent_id]) if goal.parent_id else "/cascade/"
    else:
        messages.info(
            request,
            f"“{goal.title}” has goals, KPIs or reviews that hang on it, so it was cancelled "
            "instead: its history stays.",
        )
        url = reverse("goal-detail", args=[goal.pk])
    return go_to(request, url)


@require_POST
@member_required
def goal_state(request: MemberHttpRequest, goal_id: int) -> HttpResponse:
    """Mark done, cancel, or reactivate a goal (buttons on the goal page)."""
    goal = selectors.goal_with_chain(request.member.organization, goal_id)
    try:
        goal_update(actor=request.member, goal=goal, state=request.POST.get("state", ""))
    except ValidationError as exc:
        return render(
            request,
            "goals/goal_error.html",
            {"nav": "cascade", "goal": goal, "errors": exc.message_dict},
            status=400,
        )
    return back_to_goal(request, goal)
