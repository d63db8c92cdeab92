"""The Chat card (org/chat.py): on the People page for admins (every target), on a
department's page for whoever manages its targets (that department's), and as a page
of its own (/chat/, ?department=) — which is also what a form with errors answers.

Each form posts here and is answered with a redirect back to the page it was on (its
`back`: "people" or a department's id), where the card shows what changed; htmx picks
the card out of that page (hx-select) and swaps it in place."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.forms import save_form
from core.http import int_param

from .chat import (
    chat_target_create,
    chat_target_delete,
    chat_target_test,
    chat_target_update,
    chat_targets_visible,
    with_recent,
)
from .decorators import member_required
from .forms import ChatTargetForm
from .models import ChatTarget, Department, Member
from .permissions import MANAGE_CHAT, MANAGE_SOME_CHAT, chat_departments

PREFIX = "chat"


def chat_card(member: Member, department: Department | None = None, form=None) -> dict:
    """The card's context: the targets `member` manages (of `department` only, when
    given), each with its last messages, and the form to add one (three queries)."""
    targets = chat_targets_visible(member)
    if department is not None:
        targets = targets.filter(department=department)
    form = form or ChatTargetForm(
        prefix=PREFIX,
        organization=member.organization,
        departments=chat_departments(member),
        fixed=department,
    )
    return {
        "targets": with_recent(targets),
        "form": form,
        "department": department,
        "back": department.pk if department is not None else "people",
    }


def _department(member: Member, department_id: int | None) -> Department | None:
    """The department a card is for (None: all the person manages); refused unless
    they manage its targets."""
    if department_id is None:
        MANAGE_SOME_CHAT.require(member)
        return None
    if not 0 < department_id < 2**63:
        raise Http404("No such department.")
    department = get_object_or_404(Department, pk=department_id, organization=member.organization)
    MANAGE_CHAT.require(member, department.pk)
    return department


def _back(request) -> Department | None:
    """The department page a form was posted from (its `back`), or None."""
    back = request.POST.get("back", "")
    return (
        _department(request.member, int(back))
        if back.isdigit()
        else _department(request.member, None)
    )


def _back_to(member: Member, department: Department | None) -> str:
    """Where a form's answer goes: the page the card was on."""
    if department is not None:
        return reverse("department-detail", args=[department.pk]) + "#chat"
    if MANAGE_SOME_CHAT(member) and chat_departments(member) is None:
        return reverse("people") + "#chat"
    return reverse("chat") + "#chat"


def _page(request, department: Department | None, form=None, status: int = 200):
    admin = chat_departments(request.member) is None
    context = {
        "nav": "people" if department is None and admin else "department",
        "chat": chat_card(request.member, department, form),
    }
    return render(request, "org/chat.html", context, status=status)


@member_required
def chat_page(request):
    """The chat targets a person manages, on a page of their own."""
    department = _department(request.member, int_param(request.GET.get("department")))
    return _page(request, department)


@require_POST
@member_required
def chat_target_new(request):
    member = request.member
    department = _back(request)
    form = ChatTargetForm(
        request.POST,
        prefix=PREFIX,
        organization=member.organization,
        departments=chat_departments(member),
        fixed=department,
    )
    target = save_form(form, lambda data: chat_target_create(actor=member, **data))
    if target is None:
        return _page(request, department, form, status=400)
    messages.success(
        request, f"“{target.name}” is added: send it a test to see that it posts there."
    )
    return redirect(_back_to(member, department))


def _target(request, target_id: int) -> ChatTarget:
    """A target of the person's organization (another's is a 404)."""
    return get_object_or_404(
        ChatTarget.objects.select_related("department"),
        pk=target_id,
        organization=request.member.organization,
    )


@require_POST
@member_required
def chat_target_test_view(request, target_id: int):
    """Send a target a test message; the card shows how it went."""
    member = request.member
    department = _back(request)
    target = _target(request, target_id)
    chat_target_test(actor=member, target=target)
    messages.success(request, f"A test message is on its way to “{target.name}”.")
    return redirect(_back_to(member, department))


@require_POST
@member_required
def chat_target_pause(request, target_id: int):
    """Pause a target (it hears nothing until resumed), or resume it."""
    member = request.member
    department = _back(request)
    target = _target(request, target_id)
    resume = request.POST.get("active") == "on"
    chat_target_update(actor=member, target=target, is_active=resume)
    said = "posts again" if resume else "is paused: it posts nothing until resumed"
    messages.success(request, f"“{target.name}” {said}.")
    return redirect(_back_to(member, department))


@require_POST
@member_required
def chat_target_delete_view(request, target_id: int):
    member = request.member
    department = _back(request)
    target = _target(request, target_id)
    chat_target_delete(actor=member, target=target)
    messages.success(request, f"“{target.name}” is removed: nothing more is posted there.")
    return redirect(_back_to(member, department))
