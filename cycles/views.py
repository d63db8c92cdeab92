"""The Cycles page (SPEC §8.3, leaders and admins): create, edit, close and reopen a
cycle, mark the organization's current one, roll goals over into another cycle, and
import and export a cycle's goals and KPIs as a spreadsheet."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.errors import Conflict, by_field
from core.forms import save_form
from core.http import go_to
from goals.models import GoalState
from org.decorators import member_required
from org.permissions import MANAGE_CYCLES

from . import selectors
from .exporting import export_response
from .forms import CycleForm, ImportForm, RolloverForm
from .import_jobs import import_job_confirm, import_job_read_as, import_job_start
from .models import Cycle, CycleState, ImportJob, ImportState
from .rollover import cycle_rollover
from .services import cycle_create, cycle_set_state, cycle_update
from .sheets import (
    COLUMNS,
    CSV,
    DOWNLOAD_TYPES,
    FORMATS,
    INDIVIDUAL_KPI_READINGS,
    MAX_BYTES,
    SHOWN_COLUMNS,
    TOO_LARGE,
    template,
)

if TYPE_CHECKING:
    from core.http import MemberHttpRequest


@member_required
@require_POST
def cycle_pick(request: MemberHttpRequest) -> HttpResponse:
    """The cycle switcher: the one way a person's chosen cycle changes (SPEC §9.3). Back
    to the page they were on (`next`, this site's only), now in the picked cycle."""
    cycle = selectors.pick_cycle(request.member, request.POST.get("cycle"))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = reverse("dashboard")
    url = urlsplit(back)
    query = [(key, value) for key, value in parse_qsl(url.query) if key != "cycle"]
    if cycle is None:
        messages.error(request, "That cycle does not exist: pick one from the list.")
    return redirect(urlunsplit(("", "", url.path or reverse("dashboard"), urlencode(query), "")))


@member_required
def cycles_page(request: MemberHttpRequest) -> HttpResponse:
    """The list of cycles, and the form that creates one (in place)."""
    MANAGE_CYCLES.require(request.member)
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
        return render(request, "cycles/cycle_new.html", {"form": form}, status=status)
    cycle, cycles = selectors.cycle_for_request(request)
    context = {
        "nav": "cycles",
        "cycle": cycle,
        "cycles": cycles,
        "listed": selectors.cycles_listed(request.member.organization),
        "form": form,
    }
    return render(request, "cycles/cycles.html", context, status=status)


@member_required
def cycle_edit(request: MemberHttpRequest, cycle_id: int) -> HttpResponse:
    cycle = selectors.access_cycle_by_id(request.member, cycle_id, MANAGE_CYCLES)
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
def cycle_state(request: MemberHttpRequest, cycle_id: int) -> HttpResponse:
    """Close or reopen a cycle, or mark it the organization's current one."""
    cycle = selectors.access_cycle_by_id(request.member, cycle_id, MANAGE_CYCLES)
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
def cycle_rollover_page(request: MemberHttpRequest, cycle_id: int) -> HttpResponse:
    """Pick goals of this cycle (the unfinished ones to begin with) and copy them, with
    their KPIs, into another cycle."""
    source = selectors.access_cycle_by_id(request.member, cycle_id, MANAGE_CYCLES)
    listed = selectors.goals_for_rollover(source)
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
        "cycles/rollover.html",
        {
            "nav": "cycles",
            "source": source,
            "form": form,
            "listed": listed,
            "picked": picked,
        },
        status=400 if form.errors else 200,
    )


# -- import and export -----------------------------------------------------------------

PREVIEW_SHOWN = 500  # rows of a preview shown on the page (and every row with errors)


@member_required
def cycle_import_page(request: MemberHttpRequest, cycle_id: int) -> HttpResponse:
    """Upload a spreadsheet: it is read and planned (a task for a large one), then the
    job's page shows the preview to confirm."""
    cycle = selectors.access_cycle_by_id(request.member, cycle_id, MANAGE_CYCLES)
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > MAX_BYTES:
                raise ValidationError({"file": [TOO_LARGE]})
            job = import_job_start(
                actor=request.member, cycle=cycle, file_name=upload.name, content=upload.read()
            )
        except ValidationError as error:
            for message in by_field(error).get("file", error.messages):
                form.add_error("file", message)
            status = 409 if isinstance(error, Conflict) else 400
        else:
            return redirect("cycle-import-job", cycle.pk, job.pk)
    elif form.errors:
        status = 400
    return render(
        request,
        "cycles/cycle_import.html",
        {"nav": "cycles", "target": cycle, "form": form, "columns": COLUMNS},
        status=status,
    )


WORKER_WAIT = dt.timedelta(seconds=30)


def _job_context(cycle: Cycle, job: ImportJob) -> dict[str, Any]:
    """The preview's rows to show (the first PREVIEW_SHOWN and every one with errors),
    each with its cells, and the totals."""
    preview = job.preview or {}
    cells = {number: values for number, values in job.rows} if preview else {}
    rows = [
        {**row, "cells": [(c, cells.get(row["row"], {}).get(c, "")) for c in SHOWN_COLUMNS]}
        for index, row in enumerate(preview.get("rows", []))
        if index < PREVIEW_SHOWN or row["errors"]
    ]
    for row in rows:
        row["cells"] = [
            (column, text, row["errors"].get(column, []))
            for column, text in row["cells"]
            if text or column in row["errors"]
        ]
        # The warnings the S.M.A.R.T. verdicts beside them do not say already.
        verdicts = {verdict["message"] for verdict in row["smart"].values()}
        row["notes"] = [warning for warning in row["warnings"] if warning not in verdicts]
    return {
        "nav": "cycles",
        "target": cycle,
        "job": job,
        # Queued this long and no worker took it: say so, rather than spin in silence.
        "stalled": job.state == ImportState.QUEUED
        and timezone.now() - job.created_at > WORKER_WAIT,
        "rows": rows,
        "hidden": len(preview.get("rows", [])) - len(rows),
        "totals": preview.get("totals", {}),
        "individual_kpi": preview.get("individual_kpi"),
        "readings": INDIVIDUAL_KPI_READINGS,
    }


@member_required
def cycle_import_job(request: MemberHttpRequest, cycle_id: int, job_id: int) -> HttpResponse:
    """An import's progress, then its preview and, once confirmed, its result. htmx
    polls the job's state piece until it is finished. A POST reads the file's
    "Individual KPI" cells as chosen on the preview, and previews it again."""
    cycle = selectors.access_cycle_by_id(request.member, cycle_id, MANAGE_CYCLES)
    job = get_object_or_404(
        ImportJob.objects.select_related("created_by__user"), pk=job_id, cycle=cycle
    )
    message, status = "", 200
    if request.method == "POST":
        try:
            job = import_job_read_as(
                actor=request.member, job=job, individual_kpi=request.POST.get("individual_kpi", "")
            )
        except ValidationError as error:
            message, status = " ".join(error.messages), 409 if isinstance(error, Conflict) else 400
        else:
            if not request.htmx:
                return redirect("cycle-import-job", cycle.pk, job.pk)
    template = "cycles/cycle_import_job.html"
    if request.htmx:
        template += "#job-state"
    context = {**_job_context(cycle, job), "message": message}
    return render(request, template, context, status=status)


@require_POST
@member_required
def cycle_import_confirm(request: MemberHttpRequest, cycle_id: int, job_id: int) -> HttpResponse:
    """Import a previewed file: all rows or none."""
    cycle = selectors.access_cycle_by_id(request.member, cycle_id, MANAGE_CYCLES)
    job = get_object_or_404(ImportJob, pk=job_id, cycle=cycle)
    message = ""
    try:
        job = import_job_confirm(actor=request.member, job=job)
    except ValidationError as error:
        message = " ".join(error.messages)
    if request.htmx:  # the job's state in place: its result, or its progress bar
        context = {**_job_context(cycle, job), "message": message}
        return render(request, "cycles/cycle_import_job.html#job-state", context)
    if message:
        messages.error(request, message)
    return redirect("cycle-import-job", cycle.pk, job.pk)


CHOOSE_FORMAT = f"Choose a format: {', '.join(FORMATS)}."


@member_required
def import_template(request: HttpRequest) -> HttpResponse:
    """The downloadable template: the import's headers and one example row."""
    fmt = request.GET.get("format", CSV)
    if fmt not in FORMATS:
        return HttpResponse(CHOOSE_FORMAT, status=400)
    response = HttpResponse(template(fmt), content_type=DOWNLOAD_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="cascade-import-template.{fmt}"'
    return response


@member_required
def cycle_export_page(request: MemberHttpRequest, cycle_id: int) -> HttpResponse:
    """The cycle as a spreadsheet: everyone in the organization may read it."""
    cycle = selectors.access_cycle_by_id(request.member, cycle_id)
    fmt = request.GET.get("format", CSV)
    if fmt not in FORMATS:
        return HttpResponse(CHOOSE_FORMAT, status=400)
    return export_response(cycle, fmt)
