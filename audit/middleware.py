"""Who is asking, from where: read by the audit log for the request being served."""

from __future__ import annotations


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
