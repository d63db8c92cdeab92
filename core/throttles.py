"""API throttles (DRF's), per caller and per address, at the rates of
settings.API_THROTTLE_RATES (from the environment; read on each request, so a test or
an operator's change applies at once). Over the rate: 429 with `Retry-After`.

Every API answer says where its caller stands, in the fields of the IETF draft
httpapi-ratelimit-headers (RFC 9651 structured fields), one item per policy:

    RateLimit-Policy: "caller";q=1200;w=60, "address";q=3000;w=60
    RateLimit: "caller";r=1187;t=42, "address";r=2990;t=42

`q` requests a window of `w` seconds; `r` of them are left, for at least the next `t`
seconds (until the oldest request counted leaves the window, which frees the next one).
An answer refused before the throttles ran (401, 403) reports the standing without
counting itself.

The counts live in the cache. When the cache is unreachable the request goes through,
uncounted, and its answer carries no rate-limit fields: a throttle must never turn a
cache outage into failed requests, nor report counts it could not read."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from rest_framework.throttling import SimpleRateThrottle

from .cache import unreachable
from .net import client_address

if TYPE_CHECKING:
    # For type hints only: DRF's settings import this module while rest_framework.views loads.
    from rest_framework.request import Request
    from rest_framework.views import APIView

log = logging.getLogger(__name__)

# Where a request's standings wait for its answer (an attribute of the HttpRequest).
STANDINGS = "rate_limit_standings"
# The response fields, for CORS's exposed headers and the schema.
FIELDS = ("RateLimit-Policy", "RateLimit")


@dataclass(frozen=True)
class Standing:
    """Where a caller stands under one policy: `quota` requests a `window` of seconds,
    `remaining` of them left for at least the next `reset` seconds."""

    policy: str
    quota: int
    window: int
    remaining: int
    reset: int


def standings(request: HttpRequest) -> dict[str, Standing]:
    """The request's standing under each policy that counted it (or looked)."""
    found: dict[str, Standing] = vars(request).setdefault(STANDINGS, {})
    return found


def rate_limit_fields(request: HttpRequest) -> dict[str, str]:
    """The draft's two fields for the request's answer; none when no policy could say."""
    known = standings(request).values()
    if not known:
        return {}
    return {
        "RateLimit-Policy": ", ".join(f'"{s.policy}";q={s.quota};w={s.window}' for s in known),
        "RateLimit": ", ".join(f'"{s.policy}";r={s.remaining};t={s.reset}' for s in known),
    }


class _Rate(SimpleRateThrottle):
    scope: str  # a key of settings.API_THROTTLE_RATES
    num_requests: int
    duration: int
    history: list[float]
    now: float

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATES[self.scope]

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            allowed = super().allow_request(request, view)
        except Exception:  # the cache's client errors (Redis down): let it through
            log.warning("API throttle skipped: the cache is unreachable", exc_info=True)
            return True
        self._note(request)
        return allowed

    def look(self, request: Request, view: APIView) -> None:
        """Note where the caller stands without counting this request (an answer given
        before the throttles ran). Best effort: on any trouble, nothing is noted."""
        try:
            key = self.get_cache_key(request, view)
            self.history, self.now = self.cache.get(key, []), self.timer()
        except Exception:  # the cache unreachable, or a caller it cannot name
            return
        self.history = [at for at in self.history if at > self.now - self.duration]
        self._note(request)

    def _note(self, request: Request) -> None:
        if unreachable():  # its counts were stand-ins
            return
        history = getattr(self, "history", [])
        # The oldest request counted (last in DRF's history) leaves the window first.
        reset = math.ceil(history[-1] + self.duration - self.now) if history else self.duration
        standings(request._request)[self.scope] = Standing(
            policy=self.scope,
            quota=self.num_requests,
            window=self.duration,
            remaining=max(0, self.num_requests - len(history)),
            reset=max(0, reset),
        )


class PerCaller(_Rate):
    """Each person, whatever tokens they use, and each service token: its own budget
    (anonymous calls share their address's)."""

    scope = "caller"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        if getattr(request.auth, "is_service", False):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"address-{client_address(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PerAddress(_Rate):
    """Each network address, whoever calls from it."""

    scope = "address"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


def look_unless_counted(request: Request, view: APIView) -> None:
    """For an answer given before the throttles ran (authentication or permission
    refused): note the caller's standing under each of the view's throttles, uncounted.
    Only once the caller is known: naming them must not start authentication here."""
    if standings(request._request) or "_user" not in vars(request):
        return
    for throttle in view.get_throttles():
        if isinstance(throttle, _Rate):
            throttle.look(request, view)


class RateLimitFields:
    """Middleware: the rate-limit fields on every answer whose request a throttle
    counted or looked at (the API's)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        for name, value in rate_limit_fields(request).items():
            response[name] = value
        return response
