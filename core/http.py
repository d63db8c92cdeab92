"""Answers the pages share."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect


def go_to(request, url: str) -> HttpResponse:
    """After a change: the page at `url`. Asked in place (htmx), a 204 whose
    HX-Location makes htmx load it; otherwise a redirect."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Location"] = url
        return response
    return redirect(url)
