"""At the door: a request id kept only when it is sound; input no field accepts,
refused with a 400 rather than a 500 deeper in; and the headers that keep every answer
private."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control

from .logs import valid_request_id

type GetResponse = Callable[[HttpRequest], HttpResponseBase]

NUL = "\x00"
MESSAGE = "The request holds a NUL character, which no field accepts."


class ValidRequestIdMiddleware:
    """An incoming `X-Request-ID` is kept only when it is 1 to 64 printable ASCII
    characters; any other is dropped here, so the next middleware
    (django-log-request-id's) makes a new one. That one answers it in the response's
    `X-Request-ID` and writes it in every log line of the request (core/logs.py)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        given = request.META.get("HTTP_X_REQUEST_ID")
        if given is not None and not valid_request_id(given):
            del request.META["HTTP_X_REQUEST_ID"]
        return self.get_response(request)


class RefuseNulMiddleware:
    """A NUL character in the path, the query string or a posted form: a 400 (the
    database would refuse it, as a server error)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if _holds_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE}, status=400)
            return HttpResponseBadRequest(render_to_string("400.html", {"message": MESSAGE}))
        return self.get_response(request)


def _holds_nul(request: HttpRequest) -> bool:
    if NUL in request.path:
        return True
    data = [request.GET]
    # The API reads JSON only (a form body there is a 415, which reading it here first
    # would hide); its parser and serializers refuse a NUL in a body themselves.
    if (
        not request.path.startswith("/api/")
        and request.method == "POST"
        and request.content_type
        in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
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

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        patch_cache_control(response, private=True, no_store=True)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class InPlaceAnswersMiddleware:
    """An in-place form (htmx) that is answered "not like that" (400: the form again,
    with its messages) or "not you" (403: the reason) gets its answer as a 200, so the
    browser logs no failed request for an answer the page shows where it was asked.
    `X-Answer-Status` keeps the real status. A refusal swaps nothing: its reason rides
    in the `refused` event (HX-Trigger), which static/js/cascade.js shows inside the
    form that asked. The API, and pages asked for without htmx, keep their statuses."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            response.status_code not in (400, 403)
            or request.headers.get("HX-Request") != "true"
            or request.path.startswith("/api/")
        ):
            return response
        response["X-Answer-Status"] = str(response.status_code)
        if response.status_code == 403:
            refusal = cast(HttpResponse, response)  # a refusal is never streamed
            reason = refusal.content.decode(response.charset or "utf-8", "replace")
            response["HX-Trigger"] = json.dumps({"refused": reason[:2000]})  # ASCII: \u escapes
            response["HX-Reswap"] = "none"
        response.status_code = 200
        response.reason_phrase = "OK"
        return response
