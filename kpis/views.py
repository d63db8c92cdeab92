"""My work: record values in place; edit a KPI."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from goals import selectors as goal_selectors
from goals.forms import add_service_errors
from org.decorators import member_required
from org.permissions import can_edit_kpi, can_record_update
from reviews.selectors import open_actions_for

from . import selectors
from .forms import KpiForm, RecordForm
from .services import kpi_update, kpi_update_record

CONFIDENCES = RecordForm.base_fields["confidence"].choices


@member_required
def my_work(request):
    member = request.member
    cycle, cycles = goal_selectors.cycle_for_request(request)
    context = {"nav": "my-work", "cycle": cycle, "cycles": cycles, "confidences": CONFIDENCES}
    if cycle is not None:
        goals = selectors.my_goals(member, cycle)
        for goal in goals:
            goal.sight = goal_selectors.line_of_sight(goal)
        kpis = selectors.my_kpis(member, cycle)
        for kpi in kpis:
            kpi.form = RecordForm(prefix=f"kpi{kpi.pk}")
        context |= {"goals": goals, "kpis": kpis}
    context["actions"] = open_actions_for(member)
    return render(request, "kpis/my_work.html", context)


@require_POST
@member_required
def kpi_record(request, kpi_id: int):
    """Record a value. With htmx: the KPI's row again, plus out-of-band bars for the
    KPI and every goal above it, so all of them move on the page at once."""
    kpi = selectors.kpi_for_write(request.member.organization, kpi_id)
    if not can_record_update(request.member, kpi):  # before validation: forbidden+invalid is 403
        raise PermissionDenied("You may not record values on this KPI.")
    form = RecordForm(request.POST, prefix=f"kpi{kpi.pk}")
    saved = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = kpi_update_record(
                actor=request.member,
                kpi=kpi,
                value=data["value"],
                date=data["date"],
                note=data["note"],
                confidence=data["confidence"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
    if not request.htmx:
        if saved is not None:
            return redirect(request.POST.get("next") or reverse("my-work"))
        return render(
            request,
            "kpis/record_error.html",
            {"kpi": kpi, "form": form, "nav": "my-work"},
            status=400,
        )
    kpi = (
        selectors.with_last_update(type(kpi).objects.filter(pk=kpi.pk))
        .select_related(
            "owner__user", "goal__owner", *(f"goal__{n}" for n in goal_selectors.CHAIN_RELATED)
        )
        .get()
    )
    kpi.form = form if saved is None else RecordForm(prefix=f"kpi{kpi.pk}")
    html = render_to_string(
        "kpis/my_work.html#kpi-row",
        {"kpi": kpi, "saved": saved, "request": request, "confidences": CONFIDENCES},
        request=request,
    )
    if saved is not None:
        html += "".join(
            render_to_string("partials/bar.html", _bar_context(goal), request=request)
            for goal in selectors.chain_goals(kpi)
        )
    response = HttpResponse(html, status=200 if saved else 400)
    if saved is not None:
        trigger_client_event(
            response, "kpiUpdated", {"kpi": kpi.pk, "progress": round(kpi.progress, 1)}
        )
    return response


def _bar_context(goal) -> dict:
    from org.templatetags.cascade import bar

    return bar(goal, goal.title, oob=True)


@member_required
def kpi_edit(request, kpi_id: int):
    kpi = selectors.kpi_for_write(request.member.organization, kpi_id)
    if not can_edit_kpi(request.member, kpi):
        raise PermissionDenied("You may not change this KPI.")
    fields = (
        "name",
        "description",
        "unit",
        "direction",
        "aggregation",
        "baseline",
        "target",
        "weight",
        "owner",
        "start",
        "due",
    )
    form = KpiForm(
        request.POST or None,
        organization=request.member.organization,
        initial={name: getattr(kpi, name) for name in fields},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {name: data[name] for name in fields if data.get(name) not in (None, "")}
        changes["description"] = data.get("description") or ""
        try:
            kpi_update(actor=request.member, kpi=kpi, **changes)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("goal-detail", goal_id=kpi.goal_id)
    return render(
        request,
        "goals/goal_form.html",
        {
            "form": form,
            "goal": kpi.goal,
            "cycle": kpi.goal.cycle,
            "nav": "cascade",
            "heading": f"Edit KPI “{kpi.name}”",
            "action": reverse("kpi-edit", args=[kpi.pk]),
        },
        status=400 if form.errors else 200,
    )
