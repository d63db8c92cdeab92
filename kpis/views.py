"""Writing KPIs from the pages: add one in place on the goal page, edit one, record a
value in place (My work, and wherever a KPI row shows), and feed one from a data source
(the goal page's "Feed from a source": Test, Save, Fetch now, Remove)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from core.forms import save_form
from core.http import go_to
from core.numbers import compact, display
from goals import selectors as goal_selectors
from goals.views import add_in_place, back_to_goal, form_page
from org.decorators import member_required
from org.permissions import ADD_KPI, CHANGE_KPI, CORRECT_VALUE, RECORD_VALUE

from . import selectors
from .feeds import Fetched, source_fetch, source_remove, source_set, source_try
from .forms import CONFIDENCES, KpiForm, RecordForm, RetractForm, SourceForm
from .models import Kpi, KpiSource, KpiUpdate
from .services import (
    kpi_create,
    kpi_edit,
    kpi_record_value,
    kpi_value_correct,
    kpi_value_retract,
)

if TYPE_CHECKING:
    from core.http import HtmxHttpRequest, MemberHttpRequest


@member_required
def kpi_new(request: MemberHttpRequest, goal_id: int) -> HttpResponse:
    """Add a KPI in place on the goal page."""
    # Before validation: forbidden and invalid is a 403.
    goal = goal_selectors.access_goal_by_id(request.member, goal_id, ADD_KPI)
    form = KpiForm(
        request.POST or None,
        organization=request.member.organization,
        initial={"owner": goal.owner_id or request.member.pk, "weight": 1},
    )
    form.fit_to(request.member, goal)  # the owners offered: whom they may give it to
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


def back_to(request: HtmxHttpRequest, place: str, kpi: Kpi) -> str:
    """Where a value was recorded from: the goal page, the department page the request
    came from (its own path only), else My work."""
    if place == "goal":
        return reverse("goal-detail", args=[kpi.goal_id])
    if place == "department" and request.htmx and request.htmx.current_url_abs_path:
        return request.htmx.current_url_abs_path
    if place == "department":
        return reverse("department")
    return reverse("my-work")


@require_POST
@member_required
def kpi_record(request: MemberHttpRequest, kpi_id: int) -> HttpResponse:
    """Record a value. With htmx: the KPI's row again, plus out-of-band bars for the
    KPI and every goal above it, so all of them move on the page at once."""
    # Before validation: forbidden and invalid is a 403.
    kpi = selectors.access_kpi_by_id(request.member, kpi_id, RECORD_VALUE)
    form = RecordForm(request.POST, prefix=f"kpi{kpi.pk}")
    saved = save_form(form, lambda data: kpi_record_value(actor=request.member, kpi=kpi, **data))
    place = request.POST.get("place", "")
    if not request.htmx:
        if saved is not None:
            return redirect(back_to(request, place, kpi))
        back = back_to(request, place, kpi)
        context = {"kpi": kpi, "form": form, "nav": "my-work", "back": back, "place": place}
        return render(request, "kpis/record_error.html", context, status=400)
    if saved is not None and place in ("goal", "department"):
        # The goal and department pages show this KPI beside other goals' bars: the
        # page again, with the value in every figure, and a word of what was saved.
        messages.success(
            request, f"Saved {compact(saved.value)} {kpi.unit} on “{kpi.name}” for {saved.date}."
        )
        return go_to(request, back_to(request, place, kpi))
    kpi = selectors.kpi_row(kpi)
    kpi.form = form if saved is None else RecordForm(prefix=f"kpi{kpi.pk}")
    context = {
        "kpi": kpi,
        "saved": saved,
        "place": place,
        "confidences": CONFIDENCES,
        "chain": kpi.goal.chain() if saved is not None else [],  # fresh: kpi_row read it
    }
    template = "kpis/kpi_row.html#record-form" if place == "goal" else "kpis/kpi_row.html#recorded"
    response = render(request, template, context, status=200 if saved else 400)
    if saved is not None:
        trigger_client_event(
            response, "kpiUpdated", {"kpi": kpi.pk, "progress": display(kpi.progress)}
        )
    return response


@member_required
def kpi_edit_view(request: MemberHttpRequest, kpi_id: int) -> HttpResponse:
    kpi = selectors.access_kpi_by_id(request.member, kpi_id, CHANGE_KPI)
    form = KpiForm(request.POST or None, organization=request.member.organization, kpi=kpi)
    form.fit_to(request.member, kpi.goal)
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


@require_POST
@member_required
def kpi_archive(request: MemberHttpRequest, kpi_id: int) -> HttpResponse:
    """Archive a KPI (out of the roll-up, reminders and lists; its history stays) or
    restore it: `state` is archived or active. The page asked before archiving."""
    kpi = selectors.access_kpi_by_id(request.member, kpi_id, CHANGE_KPI)
    try:
        kpi_edit(actor=request.member, kpi=kpi, state=request.POST.get("state", ""))
    except ValidationError as exc:
        context = {"nav": "cascade", "goal": kpi.goal, "errors": exc.message_dict}
        return render(request, "goals/goal_error.html", context, status=400)
    return back_to_goal(request, kpi.goal)


@member_required
def kpi_history(request: MemberHttpRequest, kpi_id: int) -> HttpResponse:
    """A KPI's history, with Correct and Retract on each live value (loaded in place)."""
    kpi = selectors.kpi_for_write(request.member.organization, kpi_id)
    if not request.htmx:
        return redirect(reverse("goal-detail", args=[kpi.goal_id]) + f"#kpi-{kpi.pk}")
    selectors.kpi_with_history(kpi, request.member.organization.today())
    return render(request, "kpis/history.html#history", {"kpi": kpi})


@member_required
def value_correct(request: MemberHttpRequest, update_id: int) -> HttpResponse:
    """Correct a value in place: a new value replaces it; the old one stays, struck."""
    update = selectors.access_value_by_id(request.member, update_id, CORRECT_VALUE)
    form = RecordForm(
        request.POST or None,
        prefix=f"fix{update.pk}",
        initial={name: getattr(update, name) for name in ("value", "date", "note", "confidence")},
    )
    form.fields["date"].help_text = "Default: the date of the value corrected."
    saved = save_form(
        form, lambda data: kpi_value_correct(actor=request.member, update=update, **data)
    )
    return _changed_or_form(request, update, form, saved, "correct-form", "Correct a value")


@member_required
def value_retract(request: MemberHttpRequest, update_id: int) -> HttpResponse:
    """Retract a value in place, saying why; it stays in the history, struck."""
    update = selectors.access_value_by_id(request.member, update_id, CORRECT_VALUE)
    form = RetractForm(request.POST or None, prefix=f"drop{update.pk}")
    saved = save_form(
        form,
        lambda data: kpi_value_retract(actor=request.member, update=update, reason=data["reason"]),
    )
    return _changed_or_form(request, update, form, saved, "retract-form", "Retract a value")


def _changed_or_form(
    request: MemberHttpRequest,
    update: KpiUpdate,
    form: forms.Form,
    saved: KpiUpdate | None,
    partial: str,
    heading: str,
) -> HttpResponse:
    """After a correction or retraction: the KPI's history again, its current value,
    trend and bar and every bar above it, out of band, so the tree moves at once.
    Otherwise the form, in place (htmx) or on a page of its own."""
    kpi = update.kpi
    if saved is not None:
        if not request.htmx:
            return redirect(reverse("goal-detail", args=[kpi.goal_id]) + f"#kpi-{kpi.pk}")
        kpi = selectors.kpi_row(kpi)
        selectors.kpi_with_history(kpi, request.member.organization.today())
        context = {
            "kpi": kpi,
            "chain": kpi.goal.chain(),  # fresh: kpi_row read it
            "on_goal_page": (request.htmx.current_url_abs_path or "").startswith("/goals/"),
        }
        response = render(request, "kpis/history.html#changed", context)
        return reswap(retarget(response, f"#history-{kpi.pk}"), "outerHTML")
    status = 400 if form.errors else 200
    context = {"update": update, "kpi": kpi, "form": form}
    if request.htmx:
        return render(request, f"kpis/history.html#{partial}", context, status=status)
    return form_page(
        request,
        form,
        heading=f"{heading}: {update.value:g} {kpi.unit} of {update.date:%Y-%m-%d}",
        action=request.path,
        goal=kpi.goal,
        cycle=kpi.goal.cycle,
    )


# -- a KPI's data source (SPEC §9.6) ----------------------------------------------------


class Tried(NamedTuple):
    """What *Test* found, as the form says it."""

    ok: bool
    said: str


@member_required
def kpi_source(request: MemberHttpRequest, kpi_id: int) -> HttpResponse:
    """ "Feed from a source": its form (GET: in place on the goal page, or a page of its
    own), saved (POST) through source_set — then the KPI's source block again, in
    place, or the goal page. Whoever may edit the KPI; others get a 403 before their
    input is looked at."""
    kpi = selectors.access_kpi_by_id(request.member, kpi_id, CHANGE_KPI)
    source = selectors.source_of(kpi)
    form = SourceForm(request.POST or None, source=source, prefix=f"src{kpi.pk}")
    saved = save_form(
        form, lambda _: source_set(actor=request.member, kpi=kpi, **form.source_fields())
    )
    if saved is None:
        return _source_form(request, kpi, source, form)
    said = (
        f"Saved: “{kpi.name}” is fed {saved.get_schedule_display().lower()} from "
        f"{saved.name}. The first fetch comes within a minute, or press Fetch now."
    )
    if not request.htmx:
        messages.success(request, said)
        return redirect(_goal_url(kpi))
    return _source_block(request, kpi, saved, said=said)


@require_POST
@member_required
def kpi_source_test(request: MemberHttpRequest, kpi_id: int) -> HttpResponse:
    """*Test*: read the source as typed, unsaved (source_try), and say what it would
    record, or why it cannot; the form stays as it was typed."""
    kpi = selectors.access_kpi_by_id(request.member, kpi_id, CHANGE_KPI)
    source = selectors.source_of(kpi)
    form = SourceForm(request.POST, source=source, prefix=f"src{kpi.pk}")
    fetched = save_form(
        form, lambda _: source_try(actor=request.member, kpi=kpi, **form.source_fields())
    )
    tried = _tried(kpi, fetched) if fetched is not None else None
    return _source_form(request, kpi, source, form, tried=tried)


@require_POST
@member_required
def kpi_source_fetch(request: MemberHttpRequest, kpi_id: int) -> HttpResponse:
    """*Fetch now*: fetch and record (source_fetch). A value recorded, or none new: the
    goal page again with a word of it (its figures all move); a failure: the source's
    block again, in place, with the error."""
    kpi = selectors.access_kpi_by_id(request.member, kpi_id, CHANGE_KPI)
    if selectors.source_of(kpi) is None:
        raise Http404("This KPI has no data source.")
    fetched = source_fetch(actor=request.member, kpi=kpi, dry_run=False)
    source = selectors.source_of(kpi)  # with the outcome kept
    name = source.name if source is not None else "its source"
    if fetched.ok and fetched.value is not None:
        value = f"{compact(fetched.value)} {kpi.unit}"
        if fetched.update is not None:
            said = f"Fetched {value} from {name}: recorded on “{kpi.name}” for "
            said += f"{fetched.update.date:%Y-%m-%d}."
        else:
            said = f"{name} still gives {value}: nothing new to record."
        messages.success(request, said)
        return go_to(request, _goal_url(kpi))
    if not request.htmx:
        messages.error(request, f"Fetching from {name} failed: {fetched.error}")
        return redirect(_goal_url(kpi))
    return _source_block(request, kpi, source, alert=True)


@require_POST
@member_required
def kpi_source_remove(request: MemberHttpRequest, kpi_id: int) -> HttpResponse:
    """*Remove source* (the page asked first): the KPI is no longer fed; its values stay."""
    kpi = selectors.access_kpi_by_id(request.member, kpi_id, CHANGE_KPI)
    source = selectors.source_of(kpi, secrets=False)
    source_remove(actor=request.member, kpi=kpi)
    said = (
        f"{source.name} no longer feeds “{kpi.name}”; the values it recorded stay."
        if source is not None
        else f"“{kpi.name}” has no source."
    )
    if not request.htmx:
        messages.success(request, said)
        return redirect(_goal_url(kpi))
    return _source_block(request, kpi, None, said=said)


def _goal_url(kpi: Kpi) -> str:
    return reverse("goal-detail", args=[kpi.goal_id]) + f"#kpi-{kpi.pk}"


def _tried(kpi: Kpi, fetched: Fetched) -> Tried:
    if fetched.error is not None or fetched.value is None:
        return Tried(False, f"The test failed: {fetched.error}")
    value = f"{compact(fetched.value)} {kpi.unit}"
    if not fetched.would_record:
        return Tried(
            True, f"Reads {value}, as the latest value this period: nothing new to record."
        )
    latest = selectors.latest_value(kpi)
    if latest is None:
        return Tried(True, f"Would record {value} (the first value of this KPI).")
    return Tried(True, f"Would record {value} (the latest is {compact(latest)}).")


def _source_form(
    request: MemberHttpRequest,
    kpi: Kpi,
    source: KpiSource | None,
    form: SourceForm,
    *,
    tried: Tried | None = None,
) -> HttpResponse:
    """The source's form: in place (htmx), or on a page of its own (400 with errors)."""
    context = {
        "kpi": kpi,
        "source": source,
        "form": form,
        "tried": tried,
        "cycle": kpi.goal.cycle,
        "own_page": True,
        "nav": "cascade",
    }
    # The keyboard goes to the first field to put right (htmx focuses [autofocus] in
    # what it swaps in), not back to the top of the page.
    wrong = next((name for name in form.fields if name in form.errors), None)
    if wrong is not None:
        form.fields[wrong].widget.attrs["autofocus"] = True
    status = 400 if form.errors else 200
    if request.htmx:
        return render(request, "kpis/source.html#source-form", context, status=status)
    return render(request, "kpis/source_page.html", context, status=status)


def _source_block(
    request: MemberHttpRequest,
    kpi: Kpi,
    source: KpiSource | None,
    *,
    said: str = "",
    alert: bool = False,
) -> HttpResponse:
    """The KPI's source block again (how it fares, its buttons, the setup closed), in
    place of the one on the page, whichever part of it asked."""
    context = {"kpi": kpi, "source": source, "cycle": kpi.goal.cycle, "said": said, "alert": alert}
    response = render(request, "kpis/source.html#source", context)
    return reswap(retarget(response, f"#source-{kpi.pk}"), "outerHTML")
