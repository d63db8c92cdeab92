"""/healthz/: the web process answers and reaches its database (for load balancers
and the compose health check)."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse

log = logging.getLogger(__name__)


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not ready"; the log says which
        log.exception("Health check: the database is unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def live(request):
    """/healthz/live/: the process answers (no database): the benchmarks' floor."""
    return JsonResponse({"status": "ok"})
