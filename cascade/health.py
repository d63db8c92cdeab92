"""/healthz/: the web process answers and reaches its database (for load balancers
and the compose health check), and says whether the broker answers. A broker outage
is reported but is no failure: writes still succeed, only background work waits."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse

from core.logs import current_request_id

from .celery import app
from .views import RETRY_AFTER

log = logging.getLogger(__name__)


def healthz(request):
    broker = broker_state()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any database failure means "not ready"; the log says which
        # An expected outage: one line, not a traceback (a probe asks every few seconds).
        log.warning("Health check: the database is unreachable (%s: %s)", type(exc).__name__, exc)
        response = JsonResponse(
            {
                "status": "error",
                "database": "unreachable",
                "broker": broker,
                "request_id": current_request_id() or "",
            },
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    return JsonResponse({"status": "ok", "database": "ok", "broker": broker})


def broker_state() -> str:
    """`ok`, `unreachable`, or `inline` (no broker: tasks run in the request)."""
    if app.conf.task_always_eager:
        return "inline"
    try:
        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=0)  # one try, its timeout 0.5 s
    except Exception as exc:  # kombu and redis errors differ by transport
        log.warning("Health check: the broker is unreachable (%s: %s)", type(exc).__name__, exc)
        return "unreachable"
    return "ok"


def live(request):
    """/healthz/live/: the process answers (no database): the benchmarks' floor."""
    return JsonResponse({"status": "ok"})
