"""Who is asking, from where: read by the audit log for the request being served."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .record import serving


class AuditContextMiddleware:
    """Keeps the request being served where audit.record() finds it: entries recorded
    while it is served say they came from its address (core.net.client_address)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with serving(request):
            return self.get_response(request)
