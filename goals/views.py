"""Pages of the goal tree: dashboard, cascade map, goal page and its in-place forms."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from kpis.charts import trend_chart
from kpis.forms import KpiForm
from kpis.services import kpi_create
from kpis.smart import kpi_smart
from org.decorators import member_required
from org.models import Department
from org.permissions import can_add_child_goal, can_edit_goal, can_edit_goal_at
from reviews.selectors import past_reviews_of_goal, upcoming_reviews

from . import selectors
from .forms import GoalEditForm, GoalForm, add_service_errors
from .models import Goal, Health, Level
from .services import goal_create, goal_update


def _page(request, template: str, nav: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {"nav": nav, **context}, status=status)


@member_required
def dashboard(request):
    cycle, cycles = selectors.cycle_for_request(request)
    context = {"cycle": cycle, "cycles": cycles}
    if cycle is not None:
        aligned, warnings = selectors.dashboard_summary(cycle)
        context |= {
            "objectives": selectors.strategic_objectives(cycle, aligned),
            "warnings": warnings,
            "upcoming_reviews": upcoming_reviews(cycle),
        }
    return _page(request, "goals/dashboard.html", "dashboard", context)


@member_required
def cascade_map(request):
    cycle, cycles = selectors.cycle_for_request(request)
    organization = request.member.organization
    filters = {
        "department": request.GET.get("department", ""),
        "owner": request.GET.get("owner", ""),
        "health": request.GET.get("health", ""),
    }
    context = {
        "cycle": cycle,
        "cycles": cycles,
        "filters": filters,
        "departments": Department.objects.filter(organization=organization),
        "healths": Health.choices,
    }
    if cycle is not None:
        if any(filters.values()):
            context["matches"] = selectors.filtered_goals(
                cycle,
                department_id=_int(filters["department"]),
                owner_ids=selectors.people_matching(organization, filters["owner"]),
                health=filters["health"] if filters["health"] in Health.values else None,
            )
        else:
            context["roots"] = list(
                selectors.annotate_counts(
                    selectors.with_people(Goal.objects.filter(cycle=cycle, level="strategic"))
                ).order_by("id")
            )
    return _page(request, "goals/cascade.html", "cascade", context)


def _int(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@member_required
def cascade_children(request, goal_id: int):
    """The children of one node of the map (loaded when it is expanded)."""
    goal = get_object_or_404(Goal, pk=goal_id, organization=request.member.organization)
    if not request.htmx:
        return redirect("goal-detail", goal_id=goal.pk)
    return render(
        request,
        "goals/cascade.html#children",
        {"goal": goal, "children": selectors.children_of(goal)},
    )


@member_required
def goal_detail(request, goal_id: int):
    goal = selectors.goal_with_chain(request.member.organization, goal_id)
    kpis = selectors.goal_kpis(goal)
    today = request.member.organization.today()
    for kpi in kpis:
        kpi.goal = goal  # share the loaded chain and cycle
        kpi.smart = kpi_smart(kpi)
        kpi.failing = [letter for letter, verdict in kpi.smart.items() if not verdict["ok"]]
        kpi.history = list(kpi.updates.all())
        kpi.last = kpi.history[-1] if kpi.history else None
        kpi.chart = trend_chart(kpi, kpi.history, today)
    return _page(
        request,
        "goals/goal_detail.html",
        "cascade",
        {
            "goal": goal,
            "cycle": goal.cycle,
            "chain": selectors.line_of_sight(goal)[:-1],
            "kpis": kpis,
            "children": selectors.children_of(goal),
            "past_reviews": past_reviews_of_goal(goal),
        },
    )


def _goal_form_context(request, form, *, parent=None, goal=None) -> dict:
    return {"form": form, "parent": parent, "goal": goal}


@member_required
def goal_new(request):
    """A new strategic objective (leaders and admins), on its own page."""
    if not can_edit_goal_at(
        request.member, organization_id=request.member.organization_id, level=Level.STRATEGIC
    ):  # before validation: forbidden+invalid is 403
        raise PermissionDenied("Only leaders and admins set strategic objectives.")
    cycle, cycles = selectors.cycle_for_request(request)
    if cycle is None:
        return redirect("dashboard")
    organization = request.member.organization
    form = GoalForm(request.POST or None, organization=organization)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            goal = goal_create(actor=request.member, cycle=cycle, parent=None, **_goal_fields(data))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("goal-detail", goal_id=goal.pk)
    return _page(
        request,
        "goals/goal_form.html",
        "dashboard",
        {
            "form": form,
            "cycle": cycle,
            "cycles": cycles,
            "heading": "New strategic objective",
            "action": reverse("goal-new"),
        },
        status=400 if form.errors else 200,
    )


def _goal_fields(data: dict) -> dict:
    fields = {
        name: data.get(name)
        for name in ("level", "title", "rationale", "department", "owner", "weight", "start", "due")
    }
    return {name: value for name, value in fields.items() if value not in (None, "")} | {
        "rationale": data.get("rationale") or ""
    }


@member_required
def goal_child_new(request, goal_id: int):
    """Add a child goal in place on the goal page."""
    parent = selectors.goal_with_chain(request.member.organization, goal_id)
    if not can_add_child_goal(request.member, parent):
        raise PermissionDenied("You may not add goals below this one.")
    organization = request.member.organization
    initial = {
        "department": parent.department_id,
        "owner": request.member.pk if request.member.role == "member" else None,
    }
    form = GoalForm(request.POST or None, organization=organization, parent=parent, initial=initial)
    valid = request.method == "POST" and form.is_valid()
    placed = form.cleaned_data if request.method == "POST" else {}
    # Permission before validation: where the goal would go, from the fields that parsed.
    if placed.get("level") and not can_edit_goal_at(
        request.member,
        organization_id=organization.pk,
        level=placed["level"],
        department_id=getattr(placed.get("department"), "pk", None),
        owner=placed.get("owner"),
    ):
        raise PermissionDenied("You may not create this goal here.")
    if valid:
        try:
            goal_create(
                actor=request.member,
                cycle=parent.cycle,
                parent=parent,
                **_goal_fields(form.cleaned_data),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _back_to_goal(request, parent)
    return _in_place_form(
        request,
        "child-form",
        form=form,
        goal=parent,
        heading=f"New goal under “{parent.title}”",
        action=reverse("goal-child-new", args=[parent.pk]),
    )


def _in_place_form(request, partial: str, *, form, goal: Goal, heading: str, action: str):
    """A form that opens in place on the goal page (htmx), or as a page of its own."""
    template = f"goals/goal_detail.html#{partial}" if request.htmx else "goals/goal_form.html"
    context = {
        "form": form,
        "goal": goal,
        "cycle": goal.cycle,
        "nav": "cascade",
        "heading": heading,
        "action": action,
    }
    return render(request, template, context, status=400 if form.errors else 200)


def _back_to_goal(request, goal: Goal) -> HttpResponse:
    url = reverse("goal-detail", args=[goal.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Location"] = url  # the goal page again, with the new piece in it
        return response
    return redirect(url)


@member_required
def goal_edit(request, goal_id: int):
    goal = selectors.goal_with_chain(request.member.organization, goal_id)
    if not can_edit_goal(request.member, goal):
        raise PermissionDenied("You may not change this goal.")
    organization = request.member.organization
    initial = {
        name: getattr(goal, name)
        for name in (
            "title",
            "rationale",
            "level",
            "department",
            "owner",
            "weight",
            "start",
            "due",
            "parent",
            "state",
        )
    }
    form = GoalEditForm(request.POST or None, organization=organization, goal=goal, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {
            name: data.get(name)
            for name in (
                "title",
                "rationale",
                "level",
                "department",
                "owner",
                "weight",
                "parent",
                "state",
            )
        }
        changes["start"] = data.get("start") or goal.start
        changes["due"] = data.get("due") or goal.due
        changes["rationale"] = changes["rationale"] or ""
        try:
            goal_update(actor=request.member, goal=goal, **changes)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("goal-detail", goal_id=goal.pk)
    return _page(
        request,
        "goals/goal_form.html",
        "cascade",
        {
            "form": form,
            "goal": goal,
            "cycle": goal.cycle,
            "heading": f"Edit “{goal.title}”",
            "action": reverse("goal-edit", args=[goal.pk]),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@member_required
def goal_state(request, goal_id: int):
    """Mark done, cancel, or reactivate a goal (buttons on the goal page)."""
    goal = selectors.goal_with_chain(request.member.organization, goal_id)
    try:
        goal_update(actor=request.member, goal=goal, state=request.POST.get("state", ""))
    except ValidationError as exc:
        return _page(
            request,
            "goals/goal_error.html",
            "cascade",
            {"goal": goal, "errors": exc.message_dict},
            status=400,
        )
    return _back_to_goal(request, goal)


@member_required
def kpi_new(request, goal_id: int):
    """Add a KPI in place on the goal page."""
    goal = selectors.goal_with_chain(request.member.organization, goal_id)
    if not can_edit_goal(request.member, goal):  # before validation: forbidden+invalid is 403
        raise PermissionDenied("You may not add KPIs to this goal.")
    form = KpiForm(
        request.POST or None,
        organization=request.member.organization,
        initial={"owner": goal.owner_id or request.member.pk, "weight": 1},
    )
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
        try:
            kpi_create(actor=request.member, goal=goal, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _back_to_goal(request, goal)
    return _in_place_form(
        request,
        "kpi-form",
        form=form,
        goal=goal,
        heading=f"New KPI for “{goal.title}”",
        action=reverse("kpi-new", args=[goal.pk]),
    )
