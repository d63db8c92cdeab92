"""The Audit page (admins): the organization's audit log, newest first, filtered by
who, what and since when."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render

from audit.display import change_rows
from audit.selectors import entries_of, read_filters

from .decorators import member_required
from .models import Member
from .permissions import READ_AUDIT_LOG

PER_PAGE = 50


@member_required
def audit_log(request):
    member = request.member
    READ_AUDIT_LOG.require(member)
    organization = member.organization
    filters, errors = read_filters(request.GET, organization.timezone)
    page = None
    if not errors:
        paginator = Paginator(entries_of(organization.pk, filters), PER_PAGE)
        page = paginator.get_page(request.GET.get("page"))
        for entry in page:
            entry.rows = change_rows(entry.changes)
    people = Member.objects.filter(organization=organization).select_related("user")
    context = {
        "nav": "audit",
        "page": page,
        "errors": errors,
        "people": sorted(people, key=lambda person: person.display_name.lower()),
        "kept_days": settings.AUDIT_RETENTION_DAYS,  # 0: for ever
        "chosen": {name: request.GET.get(name, "") for name in ("actor", "object", "since")},
    }
    return render(request, "org/audit.html", context, status=400 if errors else 200)
