"""Reads about organizations and their people."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import OperationalError
from django.db.models import Q

from .models import Department, Member, Organization
from .permissions import department_subtree_ids

log = logging.getLogger(__name__)

SHOWN_PEOPLE = 100  # a department page lists at most this many people


def member_for_user(user) -> Member | None:
    """The user's active membership (the first one, if several), with its organization."""
    if user is None or not user.is_authenticated:
        return None
    return (
        Member.objects.select_related("organization", "department", "user")
        .filter(user=user, is_active=True)
        .order_by("id")
        .first()
    )


def each_organization(
    job: str, run: Callable[[Organization, dt.date], int], day=None, among=None
) -> int:
    """Run a daily job for every organization (or those of the queryset `among`), on
    `day` or on its own today; returns the sum of what `run` returns. One organization
    that fails (even to tell its date) is logged and skipped: the others are still
    served. A database that fails is not one organization's problem: that error stops
    the run (whose task then retries)."""
    done = 0
    for organization in (Organization.objects.all() if among is None else among).order_by("id"):
        try:
            done += run(organization, day or organization.today())
        except OperationalError:
            raise
        except Exception:
            log.exception("%s of organization #%s failed", job, organization.pk)
    return done


def departments_of(organization: Organization) -> list[Department]:
    return list(Department.objects.filter(organization=organization).select_related("head__user"))


def member_ids_matching(organization: Organization, text: str, limit: int = 50) -> list[int] | None:
    """Member ids for a "find a person" box: an id, or part of a name or username.
    None when there is nothing to filter by."""
    text = (text or "").strip()
    if not text:
        return None
    members = Member.objects.filter(organization=organization)
    if text.isdigit():
        return (
            list(members.filter(pk=int(text)).values_list("id", flat=True))
            if len(text) < 19
            else []
        )
    match = (
        Q(user__username__icontains=text)
        | Q(user__first_name__icontains=text)
        | Q(user__last_name__icontains=text)
    )
    for first, _, last in [text.partition(" ")] if " " in text else []:
        match |= Q(user__first_name__icontains=first, user__last_name__icontains=last)
    return list(members.filter(match).order_by("id").values_list("id", flat=True)[:limit])


@dataclass
class DepartmentPeople:
    department_ids: set[int]  # the department and every one below it
    member_ids: list[int]  # everyone in them, active or not (their goals stay)
    shown: list[Member]  # the active ones, by name, the first SHOWN_PEOPLE
    active_count: int


def department_people(organization: Organization, department: Department) -> DepartmentPeople:
    """The people of a department and of the departments below it."""
    scope = department_subtree_ids(organization.pk, department.pk)
    people = Member.objects.filter(organization=organization, department_id__in=scope)
    active = people.filter(is_active=True)
    return DepartmentPeople(
        department_ids=scope,
        member_ids=list(people.values_list("id", flat=True)),
        shown=list(
            active.select_related("user", "department").order_by(
                "user__last_name", "user__first_name"
            )[:SHOWN_PEOPLE]
        ),
        active_count=active.count(),
    )
