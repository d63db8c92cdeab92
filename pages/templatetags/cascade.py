"""Template helpers: permission predicates (to hide what a person may not do) and
number formatting. They only call org/permissions.py; nothing is decided here."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from core.numbers import compact, display
from goals.models import Health
from goals.progress import expected_progress
from kpis.models import Kpi
from org import permissions

register = template.Library()


@register.filter
def can_edit_goal(member, goal) -> bool:
    return permissions.can_edit_goal(member, goal)


@register.filter
def can_edit_kpi(member, kpi) -> bool:
    return permissions.can_edit_kpi(member, kpi)


@register.filter
def can_add_child_goal(member, goal) -> bool:
    return permissions.can_add_child_goal(member, goal)


@register.filter
def can_record_update(member, kpi) -> bool:
    return permissions.can_record_update(member, kpi)


@register.filter
def can_correct_update(member, update) -> bool:
    return permissions.can_correct_update(member, update)


@register.filter
def can_manage_org(member) -> bool:
    return permissions.can_manage_org(member)


@register.filter
def can_manage_cycles(member) -> bool:
    return permissions.can_manage_cycles(member)


@register.filter
def can_set_objectives(member) -> bool:
    return permissions.can_set_objectives(member)


@register.filter
def can_mark_action_done(member, action) -> bool:
    return permissions.can_mark_action_done(member, action)


@register.filter
def pct(value) -> str:
    """Progress as shown everywhere: one decimal."""
    return f"{display(float(value or 0)):.1f}"


@register.filter
def num(value) -> str:
    return compact(value)


@register.filter
def next_try(moment) -> str:
    """When a KPI's data source is fetched next, as its status line says it: the
    schedule asks every minute, so a time already come is "within a minute"."""
    if moment <= timezone.now() + dt.timedelta(minutes=1):
        return "within a minute"
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


HEALTH_LABELS = dict(Health.choices)


@register.filter
def health_label(value: str) -> str:
    return HEALTH_LABELS.get(value, value)


@register.inclusion_tag("partials/health.html")
def health(value: str):
    return {"health": value, "label": HEALTH_LABELS.get(value, value)}


@register.inclusion_tag("partials/bar.html")
def bar(obj, label: str = "", oob: bool = False):
    """A progress bar with its health for a goal or KPI. The class `bar-goal-ID` /
    `bar-kpi-ID` lets one out-of-band swap refresh every copy of it on a page."""
    kind = "kpi" if isinstance(obj, Kpi) else "goal"
    day = getattr(obj, "as_of", None)
    graded = obj.health in (Health.ON_TRACK, Health.AT_RISK, Health.OFF_TRACK)
    return {
        "obj": obj,
        "kind": kind,
        "label": label or str(obj),
        "value": display(obj.progress),
        "health_text": HEALTH_LABELS.get(obj.health, obj.health),
        # What the health compares with (the organization's today: pages activate its
        # zone), or the past day the page shows (cycles/history.py sets `as_of`).
        "expected": display(expected_progress(day or timezone.localdate(), obj.start, obj.due))
        if graded
        else None,
        "by": f"{day:%b} {day.day}" if day else "today",
        "oob": oob,
    }
