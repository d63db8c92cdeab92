"""Error pages: JSON under /api/, HTML elsewhere."""

from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error: it was logged; try again."}, status=500)
    return defaults.server_error(request)
