"""Error pages: JSON under /api/, HTML elsewhere, plain text to in-place forms."""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from core.logs import current_request_id

log = logging.getLogger("cascade.outage")


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # it changes nothing; a POST there is a 404, not a CSRF page
def api_not_found(request, *args, **kwargs):
    """Any /api/ path no route matches: a JSON 404 (with DEBUG on too, where Django
    would answer its HTML page)."""
    return JsonResponse({"detail": "Not found."}, status=404)


def permission_denied(request, exception):
    """A refused action says why (the service's message) and that nothing changed: as
    plain text to an in-place form (static/js/cascade.js shows it inside the form), as
    a page otherwise."""
    reason = str(exception) or "Your role does not allow this here."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": reason}, status=403)
    if request.headers.get("HX-Request") == "true":
        return HttpResponse(
            f"{reason} Nothing was changed.", status=403, content_type="text/plain; charset=utf-8"
        )
    return render(request, "403.html", {"reason": reason}, status=403)


RETRY_AFTER = 30  # seconds: a database restart or failover


def server_error(request):
    """A 500, or a 503 with `Retry-After` when the database is unreachable (nothing was
    saved, and trying again later is the answer). Both say the request's id, which is
    in every log line of the request, so a report can be matched to its lines.

    A 500 is logged by Django with its traceback. The 503 is an expected outage: it is
    logged here in one line, and Django's traceback for it is left out."""
    request_id = getattr(request, "id", None) or current_request_id() or ""
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        if request.path.startswith("/api/"):
            detail = "The database is unreachable: nothing was saved; try again shortly."
            response = JsonResponse({"detail": detail, "request_id": request_id}, status=503)
        else:
            page = render_to_string("503.html", {"request_id": request_id})
            response = HttpResponse(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        log.warning(
            "Database unreachable: %s %s answered 503 (%s: %s)",
            request.method,
            request.path,
            type(error).__name__,
            str(error).strip().splitlines()[0] if str(error).strip() else "",
        )
        response._has_been_logged = True  # Django's log_response: logged already
        return response
    if request.path.startswith("/api/"):
        detail = "Server error: it was logged; try again."
        return JsonResponse({"detail": detail, "request_id": request_id}, status=500)
    return HttpResponseServerError(render_to_string("500.html", {"request_id": request_id}))
