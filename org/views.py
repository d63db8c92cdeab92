"""Department pages and the People page (admins)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from goals import selectors as goal_selectors
from goals.forms import add_service_errors
from goals.models import Goal, GoalState
from kpis.models import Kpi

from .decorators import member_required
from .forms import InviteForm, MemberEditForm
from .models import Department, Member, Notification
from .permissions import can_manage_org, department_subtree_ids
from .services import (
    member_invite,
    member_set_reminder_emails,
    member_update,
    notification_mark_read,
    notifications_mark_all_read,
)

SHOWN_GOALS = 60
SHOWN_PEOPLE = 100


@member_required
def department_page(request, department_id: int | None = None):
    member = request.member
    organization = member.organization
    departments = list(
        Department.objects.filter(organization=organization).select_related("head__user")
    )
    if department_id is None:
        department = next((d for d in departments if d.pk == member.department_id), None) or (
            departments[0] if departments else None
        )
    else:
        department = next((d for d in departments if d.pk == department_id), None)
        if department is None:
            raise_404()
    cycle, cycles = goal_selectors.cycle_for_request(request)
    context = {
        "nav": "department",
        "cycle": cycle,
        "cycles": cycles,
        "departments": departments,
        "department": department,
    }
    if department is not None and cycle is not None:
        scope = department_subtree_ids(organization.pk, department.pk)
        people = Member.objects.filter(organization=organization, department_id__in=scope)
        # Ids first: two indexed lookups instead of a join over every goal of the cycle.
        member_ids = list(people.values_list("id", flat=True))
        in_scope = Q(department_id__in=scope) | Q(level="individual", owner_id__in=member_ids)
        in_cycle = (
            Goal.objects.filter(cycle=cycle).filter(in_scope).exclude(state=GoalState.CANCELLED)
        )
        counts = list(in_cycle.order_by().values_list("level", "health").annotate(n=Count("id")))
        glance: dict[str, int] = {}
        for _level, health, n in counts:
            glance[health] = glance.get(health, 0) + n
        # Department and team goals in full; individual goals only where they need help.
        goals = list(
            goal_selectors.annotate_counts(
                goal_selectors.with_people(in_cycle.exclude(level="individual"))
            ).order_by("id")[:SHOWN_GOALS]
        )
        struggling = in_cycle.filter(level="individual", health="off_track")
        kpis = list(
            Kpi.objects.filter(goal__in=[g.pk for g in goals])
            .select_related("owner__user", "goal")
            .order_by("goal_id", "id")
        )
        people = people.filter(is_active=True)
        context |= {
            "goals": goals,
            "struggling": list(goal_selectors.with_people(struggling).order_by("id")[:SHOWN_GOALS]),
            "struggling_count": sum(
                n for level, health, n in counts if (level, health) == ("individual", "off_track")
            ),
            "individual_count": sum(n for level, _health, n in counts if level == "individual"),
            "kpis": kpis,
            "people": list(
                people.select_related("user", "department").order_by(
                    "user__last_name", "user__first_name"
                )[:SHOWN_PEOPLE]
            ),
            "people_count": people.count(),
            "glance": [
                (h, glance.get(h, 0))
                for h in ("on_track", "at_risk", "off_track", "not_started", "done")
            ],
        }
    return render(request, "org/department.html", context)


def raise_404():
    from django.http import Http404

    raise Http404("No such department.")


@member_required
def people(request):
    member = request.member
    if not can_manage_org(member):
        raise PermissionDenied("Only admins manage people.")
    organization = member.organization
    form = InviteForm(request.POST or None, organization=organization)
    invited = None
    if request.method == "POST" and form.is_valid():
        try:
            invited = member_invite(actor=member, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = InviteForm(organization=organization)
    members = list(
        Member.objects.filter(organization=organization)
        .select_related("user", "department", "manager__user")
        .order_by("user__username")
    )
    shared_choices: dict[str, list] = {}  # one query per select, not one per person
    for each in members:
        each.form = MemberEditForm(
            organization=organization,
            prefix=f"m{each.pk}",
            initial={
                "role": each.role,
                "department": each.department_id,
                "manager": each.manager_id,
                "is_active": each.is_active,
            },
        )
        for name in ("department", "manager"):
            select = each.form.fields[name]
            if name not in shared_choices:
                shared_choices[name] = list(select.choices)
            select.choices = shared_choices[name]
    return render(
        request,
        "org/people.html",
        {"nav": "people", "form": form, "members": members, "invited": invited},
        status=400 if form.errors else 200,
    )


@require_POST
@member_required
def person_edit(request, member_id: int):
    actor = request.member
    if not can_manage_org(actor):
        raise PermissionDenied("Only admins manage people.")
    person = get_object_or_404(Member, pk=member_id, organization=actor.organization)
    form = MemberEditForm(request.POST, organization=actor.organization, prefix=f"m{person.pk}")
    if form.is_valid():
        try:
            member_update(actor=actor, member=person, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
    if form.errors:
        person.form = form
        return render(
            request,
            "org/people.html#person-row",
            {"person": person, "request": request},
            status=400,
        )
    if request.htmx:
        person.refresh_from_db()
        person.form = MemberEditForm(
            organization=actor.organization,
            prefix=f"m{person.pk}",
            initial={
                "role": person.role,
                "department": person.department_id,
                "manager": person.manager_id,
                "is_active": person.is_active,
            },
        )
        return render(
            request,
            "org/people.html#person-row",
            {"person": person, "saved": True, "request": request},
        )
    return redirect("people")


@member_required
def notifications(request):
    member = request.member
    items = list(member.notifications.all()[:100])
    return render(request, "org/notifications.html", {"nav": "notifications", "items": items})


@require_POST
@member_required
def notification_read(request, notification_id: int):
    notification = get_object_or_404(Notification, pk=notification_id, member=request.member)
    notification_mark_read(actor=request.member, notification=notification)
    if request.htmx:
        return render(
            request, "org/notifications.html#item", {"item": notification, "request": request}
        )
    return redirect(notification.link or "notifications")


@require_POST
@member_required
def notifications_read_all(request):
    notifications_mark_all_read(actor=request.member)
    return redirect("notifications")


@require_POST
@member_required
def reminder_preferences(request):
    member_set_reminder_emails(
        actor=request.member, enabled=request.POST.get("reminder_emails") == "on"
    )
    return redirect("notifications")
