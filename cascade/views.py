"""Error pages: JSON under /api/, HTML elsewhere, plain text to in-place forms."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt


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
    saved, and trying again later is the answer)."""
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        if request.path.startswith("/api/"):
            detail = "The database is unreachable: nothing was saved; try again shortly."
            response = JsonResponse({"detail": detail}, status=503)
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error: it was logged; try again."}, status=500)
    return defaults.server_error(request)
