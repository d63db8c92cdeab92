"""At the door: input no field accepts, refused with a 400 rather than a 500 deeper
in; and the headers that keep every answer private."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control

NUL = "\x00"
MESSAGE = "The request holds a NUL character, which no field accepts."


class RefuseNulMiddleware:
    """A NUL character in the path, the query string or a posted form: a 400 (the
    database would refuse it, as a server error)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _holds_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE}, status=400)
            return HttpResponseBadRequest(render_to_string("400.html", {"message": MESSAGE}))
        return self.get_response(request)


def _holds_nul(request) -> bool:
    if NUL in request.path:
        return True
    data = [request.GET]
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        data.append(request.POST)
    return any(
        NUL in key or any(NUL in value for value in values)
        for query in data
        for key, values in query.lists()
    )


class PrivateResponsesMiddleware:
    """Every page and API answer is for its caller alone: `Cache-Control: private,
    no-store`, so no shared cache keeps a signed-in page; and `Permissions-Policy`
    switching off the browser features Cascade never uses. (Static files are served
    above this, by WhiteNoise, with their own long cache headers.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_cache_control(response, private=True, no_store=True)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
