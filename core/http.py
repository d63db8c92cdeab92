"""Answers the pages share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from org.models import Member

    class HtmxHttpRequest(HttpRequest):
        """A request through django-htmx's middleware (settings.MIDDLEWARE)."""

        htmx: HtmxDetails

    class MemberHttpRequest(HtmxHttpRequest):
        """A page request org.decorators.member_required let through: it carries the
        caller's membership (org/middleware.py sets it; the decorator refuses None)."""

        member: Member
        viewing: Any  # cycles.selectors.Viewing, set by the pages that show a cycle


def go_to(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """After a change: the page at `url`. Asked in place (htmx), a 204 whose
    HX-Location makes htmx load it; otherwise a redirect."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Location"] = url
        return response
    return redirect(url)


def int_param(value: str | None) -> int | None:
    """A whole number sent as a query or form parameter (an id), or None for anything else."""
    try:
        return int(value or "")
    except ValueError:
        return None
