"""/healthz/: the web process answers and reaches its database (for load balancers
and the compose health check)."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse


def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any database failure means "not ready"
        return JsonResponse({"status": "error", "database": str(exc)}, status=503)
    return JsonResponse({"status": "ok"})


def live(request):
    """/healthz/live/: the process answers (no database): the benchmarks' floor."""
    return JsonResponse({"status": "ok"})
