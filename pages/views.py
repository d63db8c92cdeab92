"""The pages that show several apps at once: Dashboard, Cascade map, Goal page, My
work, Department. Each reads through the selectors of the apps it shows; writes go
to the views of the app that owns them (goals, kpis, cycles, reviews) — but for a new
strategic objective, whose page needs the cycle the person views (cycles) and writes a
goal (goals)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.forms import save_form
from core.http import int_param
from cycles import history, leader
from cycles.models import Cycle
from cycles.selectors import cycle_chosen, cycle_for_request
from cycles.summary import dashboard_compliance, dashboard_summary, shown_period
from goals import selectors as goals
from goals.forms import GoalForm
from goals.models import Goal, Health
from goals.services import goal_create
from goals.views import form_page
from kpis import selectors as kpis
from kpis.charts import progress_chart
from kpis.forms import CONFIDENCES, RecordForm
from kpis.models import KpiState
from kpis.reminders import checkin_remind_now
from kpis.smart import with_smart
from org import selectors as org
from org.chat_views import chat_card
from org.decorators import member_required
from org.models import Department
from org.permissions import REMIND_CHECKINS, SET_OBJECTIVES, can_manage_chat
from reviews import selectors as reviews


def as_of(request, context: dict) -> dt.date | None:
    """The past day a page is asked to show (`?as_of=YYYY-MM-DD`), put in the context
    with the query that keeps it; a bad one is said beside the date field, and the
    page shows today."""
    today = request.member.organization.today()
    try:
        day = history.as_of_day(request.GET.get("as_of"), today, blank=True)
    except ValidationError as error:
        context["as_of_error"] = error.message_dict["as_of"][0]
        day = None
    context["as_of"], context["as_of_max"] = day, today
    context["as_of_query"] = f"as_of={day:%Y-%m-%d}" if day else ""
    return day


@member_required
def dashboard(request):
    cycle, cycles = cycle_for_request(request)
    context = {"nav": "dashboard", "cycle": cycle, "cycles": cycles}
    day = as_of(request, context)
    if cycle is not None:
        summary = dashboard_summary(cycle, leader=day is None)
        objectives = goals.strategic_objectives(cycle, summary.aligned)
        if day is not None:  # the past: the objectives as they stood; today's lists left out
            context["objectives"] = history.as_of(objectives, day)
        else:
            shown = leader.leader_dashboard(
                objectives, summary.heatmap, summary.compliance, context["as_of_max"]
            )
            review = reviews.last_completed_review(cycle)
            review_day = timezone.localtime(review.completed_at).date() if review else None
            for move in leader.movements(cycle, objectives, context["as_of_max"], review_day):
                move.objective.movement = move  # shown in the objective's row
            context |= {
                "objectives": objectives,
                "last_review": review,
                "heatmap": shown.heatmap,
                "compliance": _may_remind(request.member, cycle, shown.compliance),
                "period": summary.warnings.period,
                "warnings": summary.warnings,
                "upcoming_reviews": reviews.upcoming_reviews(cycle),
            }
    return render(request, "pages/dashboard.html", context)


def _may_remind(member, cycle: Cycle, rows: list) -> list:
    """Compliance rows, each saying whether `member` may remind its people now."""
    for row in rows:
        row.can_remind = bool(
            row.missing_count and not cycle.is_closed and REMIND_CHECKINS(member, row.department_id)
        )
    return rows


@require_POST
@member_required
def checkin_remind(request):
    """*Remind now* on the dashboard: remind the people of one department (`none`: of
    no department) who owe a value for the period shown. In place with htmx (the
    compliance card again, with what was done), else back to the dashboard with it."""
    organization = request.member.organization
    cycle = get_object_or_404(
        Cycle, organization=organization, pk=int_param(request.POST.get("cycle", ""))
    )
    wanted = request.POST.get("department", "")
    department = None
    if wanted != "none":
        department = get_object_or_404(Department, organization=organization, pk=int_param(wanted))
    where = f"in {department.name}" if department else "among the people in no department"
    period = shown_period(cycle)
    try:
        done = checkin_remind_now(
            actor=request.member,
            cycle=cycle,
            period=period,
            department_id=department.pk if department else None,
        )
    except ValidationError as error:  # a closed cycle (the page was older than its closing)
        answer, kind = " ".join(error.messages), "error"
    else:
        answer, kind = _reminded(where, done), "saved" if done.reminded else "already"
    if not request.htmx:
        (messages.error if kind == "error" else messages.success)(request, answer)
        return redirect(f"{reverse('dashboard')}?cycle={cycle.pk}#compliance")
    today = organization.today()
    rows = leader.leader_dashboard([], {}, dashboard_compliance(cycle), today).compliance
    context = {
        "cycle": cycle,
        "period": period,
        "compliance": _may_remind(request.member, cycle, rows),
        "answer": answer,
        "answer_kind": kind,
    }
    status = 400 if kind == "error" else 200
    return render(request, "pages/dashboard.html#compliance", context, status=status)


def _reminded(where: str, done) -> str:
    """What *Remind now* did, in words: how many were reminded, how many not again."""

    def people(members: list) -> str:
        names = ", ".join(member.display_name for member in members)
        return f"{len(members)} {'person' if len(members) == 1 else 'people'} ({names})"

    if not done.reminded and not done.already:
        return f"Nobody {where} owes a check-in any more: no reminder sent."
    said = f"Reminded {people(done.reminded)} {where}." if done.reminded else ""
    if done.already:
        said += f" {people(done.already)} already reminded today: not again."
    return said.strip()


@member_required
def cascade_map(request):
    cycle, cycles = cycle_for_request(request)
    organization = request.member.organization
    filters = {
        name: request.GET.get(name, "") for name in ("objective", "department", "owner", "health")
    }
    view = "tree" if request.GET.get("view") == "tree" else "list"
    context = {
        "view": view,
        "nav": "cascade",
        "cycle": cycle,
        "cycles": cycles,
        "filters": filters,
        "departments": org.departments_of(organization),
        "healths": Health.choices,
    }
    day = as_of(request, context)
    kept = {name: value for name, value in filters.items() if value}
    if day is not None:
        kept["as_of"] = f"{day:%Y-%m-%d}"
    context["list_query"] = urlencode(kept)
    context["tree_query"] = urlencode({**kept, "view": "tree"})
    if cycle is not None:
        # The objectives to filter by (the dashboard's heatmap links to one of them).
        context["objectives"] = list(
            goals.map_roots(cycle).values_list("pk", "title", named=True).order_by("id")
        )
        if any(filters.values()):
            health = filters["health"] if filters["health"] in Health.values else None
            matches = goals.map_matches(
                cycle,
                department_id=int_param(filters["department"]),
                owner_ids=org.member_ids_matching(organization, filters["owner"]),
                health=health if day is None else None,  # that day's health, below
            )
            if filters["objective"]:  # the objective and every goal below it
                objective_id = int_param(filters["objective"])
                matches = matches.filter(Q(pk=objective_id) | goals.goal_ids_below([objective_id]))
            if day is None:
                context["matches"] = list(kpis.with_kpi_count(matches)[: goals.SHOWN_MATCHES])
            else:
                past = history.as_of(kpis.with_kpi_count(matches), day)
                past = [goal for goal in past if health in (None, goal.health)]
                context["matches"] = past[: goals.SHOWN_MATCHES]
        else:
            roots = list(kpis.with_kpi_count(goals.map_roots(cycle)))
            context["roots"] = history.as_of(roots, day) if day else roots
    return render(request, "pages/cascade.html", context)


@member_required
def cascade_children(request, goal_id: int):
    """The children of one node of the map (loaded when it is expanded)."""
    goal = get_object_or_404(Goal, pk=goal_id, organization=request.member.organization)
    if not request.htmx:
        return redirect("goal-detail", goal_id=goal.pk)
    children = list(kpis.with_kpi_count(goals.children_of(goal)))
    context = {"goal": goal}
    day = as_of(request, context)
    context["children"] = history.as_of(children, day) if day else children
    part = "boxes" if request.GET.get("view") == "tree" else "children"
    return render(request, f"pages/cascade.html#{part}", context)


def recordable(rows: list, goal: Goal | None = None) -> list:
    """KPI rows with the form that records a value on each (shown to who may record);
    `goal`, when all are its KPIs, is what each KPI's permission check reads."""
    for kpi in rows:
        if goal is not None:
            kpi.goal = goal
        kpi.form = RecordForm(prefix=f"kpi{kpi.pk}")
    return rows


@member_required
def goal_new(request):
    """A new strategic objective (leaders and admins), on its own page, in the cycle the
    person views (the cycle switcher's)."""
    SET_OBJECTIVES.require(request.member)  # before validation: forbidden+invalid is 403
    cycle, cycles = cycle_for_request(request)
    if cycle is None:
        return redirect("dashboard")
    form = GoalForm(request.POST or None, organization=request.member.organization)
    goal = save_form(
        form, lambda _: goal_create(actor=request.member, cycle=cycle, **form.goal_fields())
    )
    if goal is not None:
        return redirect("goal-detail", goal_id=goal.pk)
    return form_page(
        request,
        form,
        heading="New strategic objective",
        action=f"{reverse('goal-new')}?cycle={cycle.pk}",  # the cycle shown, not the pick
        nav="dashboard",
        cycle=cycle,
        cycles=cycles,
    )


@member_required
def goal_detail(request, goal_id: int):
    goal = goals.goal_with_chain(request.member.organization, goal_id)
    cycle_chosen(request, back=reverse("dashboard"))  # a goal of another cycle: the banner
    today = request.member.organization.today()
    all_kpis = with_smart(kpis.kpis_with_history(goal, today))
    context = {
        "nav": "cascade",
        "goal": goal,
        "cycle": goal.cycle,
        "chain": goals.line_of_sight(goal)[:-1],
        "kpis": recordable([kpi for kpi in all_kpis if kpi.state == KpiState.ACTIVE], goal),
        "confidences": CONFIDENCES,
        "archived_kpis": [kpi for kpi in all_kpis if kpi.state != KpiState.ACTIVE],
        "children": list(kpis.with_kpi_count(goals.children_of(goal))),
        "past_reviews": reviews.past_reviews_of_goal(goal),
        "progress_chart": progress_chart(goal, history.goal_points(goal), today),
    }
    context["without_check_in"] = kpis.without_check_in(goal, context["kpis"], context["children"])
    return render(request, "pages/goal_detail.html", context)


@member_required
def my_work(request):
    member = request.member
    cycle, cycles = cycle_for_request(request)
    context = {"nav": "my-work", "cycle": cycle, "cycles": cycles, "confidences": CONFIDENCES}
    if cycle is not None:
        my_goals = kpis.my_goals(member, cycle)
        for goal in my_goals:
            goal.sight = goals.line_of_sight(goal)
        context |= {"goals": my_goals, "kpis": recordable(kpis.my_kpis(member, cycle))}
    context["actions"] = reviews.open_actions_for(member)
    return render(request, "pages/my_work.html", context)


@member_required
def department_page(request, department_id: int | None = None):
    """A department (by default the viewer's own): its goals and their KPIs, its
    people, health at a glance."""
    member = request.member
    organization = member.organization
    departments = org.departments_of(organization)
    if department_id is None:
        department = next((d for d in departments if d.pk == member.department_id), None) or (
            departments[0] if departments else None
        )
    else:
        department = next((d for d in departments if d.pk == department_id), None)
        if department is None:
            raise Http404("No such department.")
    cycle, cycles = cycle_for_request(request)
    context = {
        "nav": "department",
        "cycle": cycle,
        "cycles": cycles,
        "departments": departments,
        "department": department,
    }
    if department is not None and can_manage_chat(member, department.pk):
        context["chat"] = chat_card(member, department)  # its channels, for who manages them
    if department is not None and cycle is not None:
        people = org.department_people(organization, department)
        share = goals.department_goals(cycle, people.department_ids, people.member_ids)
        unit_goals = list(kpis.with_kpi_count(share.unit_goals))
        context |= {
            "goals": unit_goals,
            "kpis": recordable(kpis.kpis_of_goals(unit_goals)),
            "confidences": CONFIDENCES,
            "struggling": share.struggling,
            "struggling_count": share.struggling_count,
            "individual_count": share.individual_count,
            "glance": share.glance,
            "people": people.shown,
            "people_count": people.active_count,
        }
    return render(request, "pages/department.html", context)
