"""Writing KPIs from the pages: add one in place on the goal page, edit one, and
record a value in place (My work, and wherever a KPI row shows)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from core.forms import save_form
from core.numbers import display
from goals import selectors as goal_selectors
from goals.views import add_in_place, form_page
from org.decorators import member_required
from org.permissions import can_edit_goal, can_edit_kpi, can_record_update

from . import selectors
from .forms import CONFIDENCES, KpiForm, RecordForm
from .services import kpi_create, kpi_edit, kpi_record_value


@member_required
def kpi_new(request, goal_id: int):
    """Add a KPI in place on the goal page."""
    goal = goal_selectors.goal_with_chain(request.member.organization, goal_id)
    if not can_edit_goal(request.member, goal):  # before validation: forbidden+invalid is 403
        raise PermissionDenied("You may not add KPIs to this goal.")
    form = KpiForm(
        request.POST or None,
        organization=request.member.organization,
        initial={"owner": goal.owner_id or request.member.pk, "weight": 1},
    )
    return add_in_place(
        request,
        form,
        lambda _: kpi_create(actor=request.member, goal=goal, **form.typed()),
        goal=goal,
        form_id="kpi-form",
        heading=f"New KPI for “{goal.title}”",
        submit="Add KPI",
        action=reverse("kpi-new", args=[goal.pk]),
    )


@require_POST
@member_required
def kpi_record(request, kpi_id: int):
    """Record a value. With htmx: the KPI's row again, plus out-of-band bars for the
    KPI and every goal above it, so all of them move on the page at once."""
    kpi = selectors.kpi_for_write(request.member.organization, kpi_id)
    if not can_record_update(request.member, kpi):  # before validation: forbidden+invalid is 403
        raise PermissionDenied("You may not record values on this KPI.")
    form = RecordForm(request.POST, prefix=f"kpi{kpi.pk}")
    saved = save_form(form, lambda data: kpi_record_value(actor=request.member, kpi=kpi, **data))
    if not request.htmx:
        if saved is not None:
            return redirect("my-work")
        context = {"kpi": kpi, "form": form, "nav": "my-work"}
        return render(request, "kpis/record_error.html", context, status=400)
    kpi = selectors.kpi_row(kpi)
    kpi.form = form if saved is None else RecordForm(prefix=f"kpi{kpi.pk}")
    context = {
        "kpi": kpi,
        "saved": saved,
        "confidences": CONFIDENCES,
        "chain": goal_selectors.chain_goals(kpi.goal) if saved is not None else [],
    }
    response = render(request, "kpis/kpi_row.html#recorded", context, status=200 if saved else 400)
    if saved is not None:
        trigger_client_event(
            response, "kpiUpdated", {"kpi": kpi.pk, "progress": display(kpi.progress)}
        )
    return response


@member_required
def kpi_edit_view(request, kpi_id: int):
    kpi = selectors.kpi_for_write(request.member.organization, kpi_id)
    if not can_edit_kpi(request.member, kpi):
        raise PermissionDenied("You may not change this KPI.")
    form = KpiForm(request.POST or None, organization=request.member.organization, kpi=kpi)
    if save_form(form, lambda _: kpi_edit(actor=request.member, kpi=kpi, **form.changes())):
        return redirect("goal-detail", goal_id=kpi.goal_id)
    return form_page(
        request,
        form,
        heading=f"Edit KPI “{kpi.name}”",
        action=reverse("kpi-edit", args=[kpi.pk]),
        goal=kpi.goal,
        cycle=kpi.goal.cycle,
    )
