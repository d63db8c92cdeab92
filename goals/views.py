from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .selectors import cycle_current, strategic_goals


@login_required
def dashboard(request):
    member = request.member
    if member is None:
        return render(request, "no_membership.html", status=403)
    cycle = cycle_current(member.organization, request.GET.get("cycle"))
    objectives = list(strategic_goals(cycle)) if cycle else []
    return render(request, "goals/dashboard.html", {"cycle": cycle, "objectives": objectives})
